"""glance_api.healthy: the wait loop and the test-mode answer, without a network."""

import itertools

import pytest
from salt_module_loader import load

api = load("glance_api", "states")


def fake_clock(step):
    ticks = itertools.count(0, step)
    return lambda: next(ticks)


def test_the_wait_stops_at_the_first_200():
    seen = iter([503, "Connection refused", 200, 503])
    slept = []
    ok, last, _ = api.wait(lambda: next(seen), 300, 1, clock=fake_clock(1), sleep=slept.append)
    assert (ok, last, len(slept)) == (True, 200, 2)


def test_the_wait_gives_up_at_the_timeout_with_what_it_saw_last():
    ok, last, elapsed = api.wait(lambda: 503, 10, 1, clock=fake_clock(2), sleep=lambda _: None)
    assert (ok, last) == (False, 503) and elapsed >= 10


@pytest.mark.parametrize("seen, result, words", [
    (200, True, "answers 200"),
    (503, None, "gives HTTP 503"),
    ("Connection refused", None, "no answer (Connection refused)"),
])
def test_test_mode_probes_once_and_never_reports_a_change(monkeypatch, seen, result, words):
    calls = []
    monkeypatch.setattr(api, "probe", lambda url, timeout=3.0: calls.append(url) or seen)
    monkeypatch.setattr(api, "__opts__", {"test": True}, raising=False)
    ret = api.healthy("http://10.0.0.1:9292/healthcheck", timeout=300)
    assert ret["result"] is result and ret["changes"] == {} and words in ret["comment"]
    assert calls == ["http://10.0.0.1:9292/healthcheck"]


def test_a_real_run_that_never_gets_200_fails_naming_the_container(monkeypatch):
    monkeypatch.setattr(api, "probe", lambda url, timeout=3.0: 503)
    monkeypatch.setattr(api, "wait", lambda probe_fn, timeout, interval: (False, probe_fn(), 5))
    monkeypatch.setattr(api, "__opts__", {"test": False}, raising=False)
    ret = api.healthy("http://10.0.0.1:9292/healthcheck", timeout=5)
    assert ret["result"] is False and "docker logs glance_api" in ret["comment"]
    assert "HTTP 503" in ret["comment"]


@pytest.mark.parametrize("done, changes, words", [
    ({"container": "glance_api", "stopped": True, "undrained": "/d/healthcheck_disable"},
     {"stopped": True, "undrained": "/d/healthcheck_disable"}, "glance_api stopped"),
    ({"container": "glance_api", "stopped": False, "why": "not running"}, {}, "not running"),
])
def test_stopped_reports_what_stop_api_did(monkeypatch, done, changes, words):
    calls = []
    monkeypatch.setattr(api, "__opts__", {"test": False}, raising=False)
    monkeypatch.setattr(api, "__salt__", {"glance_upgrade.stop_api": lambda timeout: (
        calls.append(timeout) or done)}, raising=False)
    ret = api.stopped("glance_api", timeout=30)
    assert ret["result"] is True and ret["changes"] == changes and words in ret["comment"]
    assert calls == [30]


def test_stopped_in_test_mode_stops_nothing(monkeypatch):
    monkeypatch.setattr(api, "__opts__", {"test": True}, raising=False)
    monkeypatch.setattr(api, "__salt__", {}, raising=False)
    ret = api.stopped("glance_api")
    assert ret["result"] is None and ret["changes"] == {} and "would be stopped" in ret["comment"]
