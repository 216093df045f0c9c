"""glance_db.current: the schema hint of the upgrade orchestration, without Salt."""

import pytest
from salt_module_loader import load

state = load("glance_db", "states")
DATABASE = {"host": "10.0.0.5", "port": 3306, "name": "glance"}
IMAGE = "reg/glance-api:2025.1"


@pytest.fixture
def salt(monkeypatch):
    calls = []
    funcs = {
        "glance_db.revision": lambda database: calls.append("revision") or "rev1",
        "glance_db.check_cached": lambda image, binds, database: calls.append("check") or {
            "status": "contract", "exit_code": 5, "timed_out": False, "logs": ""},
    }
    monkeypatch.setattr(state, "__salt__", funcs, raising=False)
    monkeypatch.setattr(state, "__opts__", {"test": False}, raising=False)
    return funcs, calls


def current(**kwargs):
    return state.current("schema", IMAGE, [], "/etc/kolla/glance-api", "node1", DATABASE,
                         **kwargs)


def test_an_orchestrated_apply_runs_no_check_container(salt):
    _, calls = salt
    ret = current(schema_ready=True)
    assert ret["result"] is True and ret["changes"] == {}
    assert "glance.orch.upgrade brought the schema" in ret["comment"]
    assert calls == ["revision"]


def test_without_the_hint_the_schema_is_checked(salt):
    _, calls = salt
    ret = current()
    assert ret["result"] is True and "expanded for this release" in ret["comment"]
    assert calls == ["check"]


def test_the_hint_on_a_database_without_schema_still_checks(salt):
    funcs, calls = salt
    funcs["glance_db.revision"] = lambda database: calls.append("revision")
    current(schema_ready=True)
    assert calls == ["revision", "check"]


class Clock:
    """time.monotonic / time.sleep without waiting."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def waiting(salt, monkeypatch):
    """A non-database node whose first check finds the schema behind."""
    funcs, calls = salt
    clock = Clock()
    monkeypatch.setattr(state, "time", clock)
    funcs["glance_db.check_cached"] = lambda image, binds, database: calls.append(
        "check") or {"status": "expand", "exit_code": 3, "timed_out": False, "logs": ""}
    funcs["glance_db.populated"] = lambda database: True
    return funcs, calls, clock


def test_a_behind_schema_that_does_not_move_is_refused_after_the_grace(waiting):
    funcs, calls, clock = waiting
    funcs["glance_db.check"] = lambda image, binds: calls.append("check") or {
        "status": "expand", "exit_code": 3, "timed_out": False, "logs": ""}
    ret = current(upgrade_grace=20, wait=600)
    assert ret["result"] is False and "glance.orch.upgrade" in ret["comment"]
    # the refusal comes after the grace, not after `wait`
    assert 20 <= clock.now < 30
    # the first check and one last look: none while the revision stood still
    assert calls.count("check") == 2


def test_a_bootstrap_in_progress_is_waited_for_past_the_grace(waiting):
    funcs, calls, clock = waiting
    revisions = iter(f"rev{n}" for n in range(100))
    funcs["glance_db.revision"] = lambda database: next(revisions)

    def check(image, binds):
        calls.append("check")
        status = "current" if clock.now >= 45 else "migrate"
        return {"status": status, "exit_code": 0, "timed_out": False, "logs": ""}

    funcs["glance_db.check"] = check
    ret = current(upgrade_grace=20, wait=600)
    assert ret["result"] is True and "brought the schema up to date" in ret["comment"]
    assert clock.now >= 45
