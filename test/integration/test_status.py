"""`salt-run glance.status` on the 3-minion stack: what runs where, and drift."""

import pytest

from harness.loopback import hosts
from harness.wait import wait_for

pytestmark = pytest.mark.integration
NODES = tuple(hosts(3))


def pillar(stack):
    return dict(glance_file_datadir_volume=str(stack.shared), glance_database_name="glance_status")


@pytest.fixture(scope="module")
def deployed(stack):
    run = stack.deploy(**pillar(stack))
    assert run.ok(), run
    return run


def status(stack, *args):
    ret = stack.run_cli.run("glance.status", *args)
    assert ret.returncode == 0, ret.stdout + ret.stderr
    return ret


def settled(stack):
    """The status once docker has run its first health check on every host (the
    apply returns as soon as /healthcheck answers; docker's own check runs later and
    says "starting" until then)."""
    def report():
        data = status(stack).data
        return data if all(row["health"] != "starting" for row in data["hosts"]) else None
    return wait_for(report, timeout=120, interval=2, what="docker's first health check")


def test_status_lists_every_api_host_healthy_and_current(stack, deployed):
    report = settled(stack)
    rows = {row["host"].rstrip(" *"): row for row in report["hosts"]}
    assert sorted(rows) == sorted(NODES)
    assert rows["node1"]["host"] == "node1 *"          # the database node is marked
    for node, row in rows.items():
        assert (row["release"], row["health"], row["drift"]) == ("2022.2", "healthy", "none"), node
        assert len(row["image_id"]) == 12, node
    assert report["drift"] == [] and report["problems"] == []
    assert report["schema"].startswith("current")
    assert report["keystone"].startswith("registered in RegionOne")


def test_status_is_a_table_for_people(stack, deployed):
    table = status(stack, "--out=nested").stdout
    assert "HOST" in table and "NEXT PRUNE" in table
    for node in NODES:
        assert node in table
    assert "drift:    none" in table


def test_a_pillar_change_shows_as_drift_until_applied(stack, deployed):
    stack.write_pillar(per_minion={"node2": {"glance_logging_debug": "yes"}}, **pillar(stack))
    report = status(stack).data
    assert report["drift"] == ["node2 (config)"]
    run = stack.apply()
    assert run.ok(), run
    assert status(stack).data["drift"] == []
