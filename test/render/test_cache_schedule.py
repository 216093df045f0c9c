"""
glance.cache through the real salt-call, with test=True only: the machine's crontab
is read, never written.
"""

import getpass
import shutil

import pytest

pytestmark = pytest.mark.skipif(not shutil.which("crontab"),
                                reason="Salt's cron module needs the crontab command (cron)")

STATE = ("glance_cache_|-glance-cache-glance_cache-scheduled_|-"
         "glance-cache-glance_cache-scheduled_|-scheduled")
HOSTS = [{"id": f"node{i}", "address": f"127.0.1.{i}"} for i in (1, 2, 3)]
# a shared datadir, so that glance-api (and its cache) runs on every host
ON = {"enable_glance_image_cache": "yes", "glance_api_hosts": HOSTS,
      "glance_file_datadir_volume": "/srv/glance-shared",
      "glance_cache_cron_user": getpass.getuser()}


def plan(run):
    """{job: cron timing fields} the state would write (the test minion's command is new)."""
    assert run.returncode == 0, run.stdout
    changes = run.states[STATE]["changes"]
    return {job: change["new"].split()[:5] for job, change in changes.items()}


def test_cache_on_schedules_prune_and_clean_at_different_minutes_per_host(minion_factory):
    plans = {host["id"]: plan(minion_factory(host["id"]).apply("glance.cache", test=True, **ON))
             for host in HOSTS}
    assert all(set(p) == {"prune", "clean"} for p in plans.values())
    prunes = [m for p in plans.values() for m in p["prune"][0].split(",")]
    assert len(prunes) == len(set(prunes)) == 6
    assert len({p["clean"][0] for p in plans.values()}) == 3
    assert {p["clean"][1] for p in plans.values()} == {"3"}


def test_schedule_is_the_same_on_every_run(minion_factory):
    node = minion_factory("node2")
    assert plan(node.apply("glance.cache", test=True, **ON)) == plan(
        node.apply("glance.cache", test=True, **ON))


def test_interval_and_hour_come_from_the_pillar(minion_factory):
    got = plan(minion_factory("node1").apply(
        "glance.cache", test=True, glance_cache_prune_interval=20, glance_cache_clean_hour=5,
        **ON))
    assert len(got["prune"][0].split(",")) == 3 and got["clean"][1] == "5"


def test_the_command_is_salt_call_with_this_minions_config(minion_factory):
    node = minion_factory("node3")
    run = node.apply("glance.cache", test=True, **ON)
    assert run.returncode == 0, run.stdout
    command = run.states[STATE]["changes"]["prune"]["new"].split(None, 5)[5]
    assert command.endswith(f"-c {node.conf} --out-file=/dev/null glance_cache.prune")


@pytest.mark.parametrize("pillar", [
    {"enable_glance_image_cache": "no"},
    {"glance_cache_cleanup_enabled": "no"},
    {"glance_api_hosts": [{"id": "elsewhere", "address": "127.0.1.9"}]},
], ids=["cache-off", "cleanup-off", "not-an-api-host"])
def test_no_cache_here_means_no_entries(minion_factory, pillar):
    run = minion_factory("node1").apply("glance.cache", test=True, **dict(ON, **pillar))
    assert run.returncode == 0, run.stdout
    state = run.states[STATE]
    assert all(change["new"] is None for change in state["changes"].values())
    if not state["changes"]:
        assert "no image cache cleanup is scheduled" in state["comment"]


def test_interval_that_does_not_divide_60_stops_the_run(minion):
    run = minion.apply("glance.cache", test=True, glance_cache_prune_interval=7, **ON)
    assert run.returncode != 0
    assert "glance_cache_prune_interval is 7, which does not divide 60" in run.stdout


def test_clean_removes_both_entries(minion):
    run = minion.apply("glance.cache.clean", test=True, **ON)
    assert run.returncode == 0, run.stdout
    (state,) = run.states.values()
    assert all(change["new"] is None for change in state["changes"].values())
