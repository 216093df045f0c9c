"""salt-run glance.status: the pure parts (docker's answers -> rows -> the table)."""

import datetime

import pytest
from salt_module_loader import load

st = load("glance_status", "modules")
runner = load("glance", "runners")
IMAGE = "10.0.0.9:4000/openstack.kolla/glance-api:2025.1"
LABEL = st.HASH_LABEL


def inspect(image=IMAGE, image_id="sha256:" + "a" * 64, config_hash="h1", running=True,
            health="healthy"):
    return {"Image": image_id, "Config": {"Image": image, "Labels": {LABEL: config_hash}},
            "State": {"Running": running, "Status": "running" if running else "exited",
                      "Health": {"Status": health}}}


def test_a_current_container_has_no_drift():
    row = st.container_row(inspect(), IMAGE, "sha256:" + "a" * 64, "h1", LABEL)
    assert row == {"container": "running", "health": "healthy", "release": "2025.1",
                   "image_id": "aaaaaaaaaaaa", "drift": []}


@pytest.mark.parametrize("kwargs, wanted, drift", [
    ({"config_hash": "old"}, {}, ["config"]),                         # pillar changed
    ({}, {"image": IMAGE.replace("2025.1", "2026.2")}, ["image"]),    # new release asked
    ({}, {"image_id": "sha256:" + "b" * 64}, ["image"]),              # same tag rebuilt
    ({"running": False}, {}, ["stopped"]),
])
def test_drift_names_what_differs(kwargs, wanted, drift):
    row = st.container_row(inspect(**kwargs), wanted.get("image", IMAGE),
                           wanted.get("image_id", "sha256:" + "a" * 64), "h1", LABEL)
    assert row["drift"] == drift


def test_no_container_is_drift_too():
    assert st.container_row(None, IMAGE, None, "h1", LABEL)["drift"] == ["absent"]


@pytest.mark.parametrize("minutes, hour, now, expected", [
    ("15,45", "*", "2026-12-02 10:20:30", "2026-12-02 10:45"),
    ("15,45", "*", "2026-12-02 10:45:00", "2026-12-02 11:15"),
    ("7", "3", "2026-12-02 10:00:00", "2026-12-03 03:07"),
])
def test_next_run_of_a_cron_line(minutes, hour, now, expected):
    moment = st.next_run(minutes, hour, datetime.datetime.fromisoformat(now))
    assert moment.strftime("%Y-%m-%d %H:%M") == expected


def test_haproxy_words():
    assert [st.lb_word(s) for s in ("UP", "UP 1/5", "DRAIN", "NOLB", "MAINT", "DOWN", "")] == [
        "UP", "UP", "DRAIN", "DRAIN", "MAINT", "DOWN", "-"]


def answer(**extra):
    out = {"glance": True, "api_host": True, "errors": [], "container": "running",
           "health": "healthy", "release": "2025.1", "wanted_release": "2025.1",
           "image_id": "aaaaaaaaaaaa", "drift": [], "cache": "off", "next_prune": "-",
           "db_node": False, "balancer": {}}
    out.update(extra)
    return out


def test_the_report_merges_hosts_balancer_and_deployment():
    hosts = {
        "node1": answer(db_node=True),
        "node2": answer(drift=["config"], health="starting"),
        "node3": None,
        "lb1": {"glance": True, "api_host": False, "errors": [],
                "balancer": {"node1": "UP", "node2": "DRAIN", "node3": "DOWN"}},
        "web1": {"glance": False},
    }
    report = runner.status_report(hosts, {"schema": "current", "keystone": "registered"})
    assert [row["host"] for row in report["hosts"]] == ["node1 *", "node2", "node3"]
    assert [row["lb"] for row in report["hosts"]] == ["lb1:UP", "lb1:DRAIN", "lb1:DOWN"]
    assert report["drift"] == ["node2 (config)"]
    assert report["problems"] == ["node3 did not answer"]
    table = runner.status_table(report)
    assert table.splitlines()[0].split() == ["HOST", "RELEASE", "IMAGE", "HEALTH", "DRIFT",
                                             "LB", "CACHE", "NEXT", "PRUNE"]
    assert "drift:    node2 (config)" in table and "schema:   current" in table


def test_a_host_on_another_release_than_the_pillar_says_so():
    report = runner.status_report({"node1": answer(release="2022.2", drift=["image"])}, {})
    assert report["hosts"][0]["release"] == "2022.2 (pillar: 2025.1)"
    assert report["schema"].startswith("unknown")


def test_one_job_gives_hosts_the_missing_minions_and_the_deployment():
    deployment = {"schema": "current", "keystone": "registered"}
    answers = {"node1": answer(db_node=True, deployment=deployment),
               "node2": answer(),
               "node3": {"failed": True}}
    hosts, found = runner.split_answers(answers)
    assert found == deployment
    assert hosts["node3"] is None and "deployment" not in hosts["node1"]
    report = runner.status_report(hosts, found)
    assert report["problems"] == ["node3 did not answer"]
    assert report["schema"] == "current" and report["keystone"] == "registered"


def test_a_deployment_part_from_a_host_that_is_not_the_database_node_is_ignored():
    hosts, found = runner.split_answers({"node2": answer(deployment={"schema": "expand"})})
    assert found == {} and "deployment" not in hosts["node2"]
