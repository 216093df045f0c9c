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
