"""glance_api.healthy / listening: the wait loop and the test-mode answer (a local socket
stands in for the balancer)."""

import functools
import itertools
import socket

import glance_config
import pytest
from salt_module_loader import load

api = load("glance_api", "states")


@pytest.fixture(autouse=True)
def salt_modules(monkeypatch):
    """The execution module the state words its addresses with (IPv6 in brackets)."""
    monkeypatch.setattr(api, "__salt__", {"glance_config.url_host": glance_config.url_host},
                        raising=False)


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
    monkeypatch.setattr(api, "wait",
                        lambda probe_fn, timeout, interval, want, **_: (False, probe_fn(), 5))
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


@pytest.fixture
def free_port():
    """A port on 127.0.0.1 nothing listens on, and a way to start listening on it."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    listeners = []

    def listen():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        listeners.append(sock)

    yield port, listen
    for sock in listeners:
        sock.close()


def test_listening_waits_for_the_balancer_port(monkeypatch, free_port):
    port, listen = free_port
    monkeypatch.setattr(api, "__opts__", {"test": False}, raising=False)
    seen = []
    real = api.tcp_probe

    def probe_then_listen(host, port_, timeout=3.0):
        seen.append(real(host, port_, timeout))
        if len(seen) == 2:
            listen()
        return seen[-1]

    monkeypatch.setattr(api, "tcp_probe", probe_then_listen)
    ret = api.listening("127.0.0.1", port, timeout=30, interval=0.01)
    assert ret["result"] is True and f"listens on 127.0.0.1:{port}" in ret["comment"]
    assert seen[0] != api.LISTENING and seen[-1] == api.LISTENING and len(seen) == 3


def test_listening_gives_up_naming_the_address_and_the_container(monkeypatch, free_port):
    port, _ = free_port
    monkeypatch.setattr(api, "__opts__", {"test": False}, raising=False)
    ret = api.listening("127.0.0.1", port, timeout=0.05, interval=0.01)
    assert ret["result"] is False and ret["changes"] == {}
    assert f"nothing listens on 127.0.0.1:{port}" in ret["comment"]
    assert "docker logs glance_haproxy" in ret["comment"]


def test_listening_in_test_mode_probes_once(monkeypatch, free_port):
    port, listen = free_port
    monkeypatch.setattr(api, "__opts__", {"test": True}, raising=False)
    ret = api.listening("127.0.0.1", port, timeout=300)
    assert ret["result"] is None and "a real run waits up to 300 s" in ret["comment"]
    listen()
    assert api.listening("127.0.0.1", port)["result"] is True


def test_an_ipv6_balancer_is_shown_in_brackets(monkeypatch, free_port):
    port, _ = free_port
    monkeypatch.setattr(api, "__opts__", {"test": True}, raising=False)
    ret = api.listening("::1", port, timeout=300)
    assert f"nothing listens on [::1]:{port} now" in ret["comment"]


def test_the_wait_gives_up_early_when_told_why():
    looks = iter([None, None, "it keeps exiting"])
    ok, last, elapsed = api.wait(lambda: "Connection refused", 300, 1, clock=fake_clock(1),
                                 sleep=lambda _: None, give_up=lambda: next(looks),
                                 give_up_every=2)
    assert ok is False and isinstance(last, api.GaveUp) and last == "it keeps exiting"
    assert elapsed < 20


@pytest.mark.parametrize("first, now, words", [
    ({"RestartCount": 3}, {"RestartCount": 5, "State": {"Status": "restarting",
                                                        "ExitCode": 1}},
     "restarted 2 times"),
    ({"RestartCount": 0}, {"RestartCount": 0, "State": {"Status": "exited", "ExitCode": 2}},
     "it is exited (exit code 2)"),
])
def test_a_container_that_keeps_exiting_is_a_reason_to_stop_waiting(first, now, words):
    assert words in api.crash_loop(first, now)


@pytest.mark.parametrize("now", [
    {"RestartCount": 4, "State": {"Status": "running"}},  # one restart: may still come up
    {"RestartCount": 3, "State": {"Status": "running"}},
    {},  # inspect failed: keep probing
])
def test_a_running_or_unknown_container_is_waited_for(now):
    assert api.crash_loop({"RestartCount": 3}, now) is None


def test_a_crash_looping_container_fails_the_state_with_its_logs(monkeypatch):
    inspections = iter([{"RestartCount": 0, "State": {"Status": "running"}},
                        {"RestartCount": 1, "State": {"Status": "restarting"}},
                        {"RestartCount": 2, "State": {"Status": "restarting",
                                                      "ExitCode": 1}}])
    monkeypatch.setattr(api, "__salt__", {
        "docker.inspect_container": lambda name: next(inspections),
        "docker.logs": lambda name, tail: "paste.deploy: LookupError: No section 'missing'",
    }, raising=False)
    monkeypatch.setattr(api, "__opts__", {"test": False}, raising=False)
    monkeypatch.setattr(api, "probe", lambda url, timeout=3.0: "Connection refused")
    monkeypatch.setattr(api, "wait", functools.partial(api.wait, clock=fake_clock(1),
                                                       sleep=lambda _: None))
    ret = api.healthy("http://10.0.0.1:9292/healthcheck", timeout=300)
    assert ret["result"] is False
    assert "restarted 2 times" in ret["comment"] and "No section 'missing'" in ret["comment"]
    assert "within 300 s" not in ret["comment"]
