"""Image cache cleanup: the schedule, the cache summary and the cron command, without Salt."""

import collections
import os
import shlex

import pytest
from salt_module_loader import load



cache = load("glance_cache", "modules")
state = load("glance_cache", "states")

HOSTS = ["ctl1", "ctl2", "ctl3"]


def minutes(fields):
    return [int(m) for m in fields["minute"].split(",")]


def test_three_hosts_prune_at_distinct_minutes_and_clean_at_distinct_minutes():
    plans = {h: cache.schedule(h, HOSTS) for h in HOSTS}
    prunes = [m for plan in plans.values() for m in minutes(plan["prune"])]
    cleans = [plan["clean"]["minute"] for plan in plans.values()]
    assert len(prunes) == len(set(prunes)) == 6  # every 30 min, 2 per host
    assert len(set(cleans)) == 3
    assert all(plan["clean"]["hour"] == "3" and plan["prune"]["hour"] == "*"
               for plan in plans.values())


def test_prune_runs_every_interval_and_not_on_the_hour():
    plan = cache.schedule("ctl2", HOSTS, prune_interval=15)
    got = minutes(plan["prune"])
    assert [b - a for a, b in zip(got, got[1:])] == [15, 15, 15]
    assert 0 not in got
    assert {k: plan["prune"][k] for k in ("daymonth", "month", "dayweek")} == {
        "daymonth": "*", "month": "*", "dayweek": "*"}


def test_clean_never_coincides_with_the_hosts_own_prune():
    for interval in (2, 5, 10, 30, 60):
        for host in HOSTS:
            plan = cache.schedule(host, HOSTS, prune_interval=interval)
            assert int(plan["clean"]["minute"]) not in minutes(plan["prune"])


def test_schedule_is_stable_and_depends_only_on_the_host_list():
    first = [cache.schedule(h, HOSTS) for h in HOSTS]
    assert [cache.schedule(h, list(HOSTS)) for h in HOSTS] == first
    reordered = ["ctl3", "ctl1", "ctl2"]
    assert cache.schedule("ctl3", reordered) == first[0]  # first in the list, same slot
    assert cache.schedule("ctl1", reordered) == first[1]


def test_a_minion_not_in_the_host_list_gets_nothing():
    assert cache.schedule("compute7", HOSTS) == {}


def test_disabled_gets_nothing():
    assert cache.schedule("ctl1", HOSTS, enabled=False) == {}


def test_5000_hosts_spread_evenly_over_the_interval():
    hosts = [f"node{i:04d}" for i in range(5000)]
    plans = [cache.schedule(h, hosts) for h in hosts]
    per_minute = collections.Counter(m for p in plans for m in minutes(p["prune"]))
    assert sorted(per_minute) == list(range(60))
    assert max(per_minute.values()) - min(per_minute.values()) <= 1
    cleans = collections.Counter(p["clean"]["minute"] for p in plans)
    assert len(cleans) == 60 and max(cleans.values()) - min(cleans.values()) <= 1


def test_up_to_interval_hosts_never_share_a_prune_minute():
    for interval in (5, 30, 60):
        hosts = [f"n{i}" for i in range(interval)]
        prunes = [m for h in hosts
                  for m in minutes(cache.schedule(h, hosts, interval)["prune"])]
        assert len(prunes) == len(set(prunes))


def test_up_to_60_hosts_clean_at_distinct_minutes():
    hosts = [f"n{i}" for i in range(60)]
    for interval in (1, 5, 30):
        cleans = {cache.schedule(h, hosts, interval)["clean"]["minute"] for h in hosts}
        assert len(cleans) == 60


@pytest.mark.parametrize("interval", [7, 45, 90, 0])
def test_interval_that_does_not_divide_60_names_the_key_and_the_choices(interval):
    with pytest.raises(ValueError, match="glance:glance_cache_prune_interval is") as err:
        cache.schedule("ctl1", HOSTS, prune_interval=interval)
    if 1 <= interval <= 60:
        assert "1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60" in str(err.value)


@pytest.mark.parametrize("hour", [24, -1, "3am", True])
def test_clean_hour_must_be_0_to_23(hour):
    with pytest.raises(ValueError, match="glance:glance_cache_clean_hour is"):
        cache.schedule("ctl1", HOSTS, clean_hour=hour)


def test_bad_values_are_refused_even_when_disabled():
    with pytest.raises(ValueError):
        cache.schedule("ctl1", HOSTS, prune_interval=7, enabled=False)


def test_digit_strings_from_the_pillar_work():
    assert cache.schedule("ctl1", HOSTS, "20", "4") == cache.schedule("ctl1", HOSTS, 20, 4)


# ---------------------------------------------------------------- summary


def put(root, relpath, size, age=0):
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if age:
        stamp = path.stat().st_mtime - age
        os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def cache_dir(tmp_path):
    """A cache dir laid out as glance writes it."""
    put(tmp_path, "aaaa-1111", 5000)
    put(tmp_path, "bbbb-2222", 3000)
    put(tmp_path, "cache.db", 12288)
    put(tmp_path, "cache.db-journal", 512)
    put(tmp_path, "incomplete/cccc-3333", 700, age=2 * 86400)
    put(tmp_path, "invalid/dddd-4444", 300)
    put(tmp_path, "queue/eeee-5555", 0)
    (tmp_path / "incomplete").mkdir(exist_ok=True)
    return tmp_path


def test_complete_images_are_top_level_files_other_than_cache_db(cache_dir):
    summary = cache.summarize(cache.walk(str(cache_dir)))
    assert [image["id"] for image in summary["images"]] == ["aaaa-1111", "bbbb-2222"]
    assert summary["bytes"] == 8000 and summary["files"] == 2
    assert summary["db_bytes"] == 12288 + 512


def test_incomplete_invalid_and_queued_are_reported_apart(cache_dir):
    summary = cache.summarize(cache.walk(str(cache_dir)))
    assert summary["incomplete"] == {"ids": ["cccc-3333"], "bytes": 700}
    assert summary["invalid"] == {"ids": ["dddd-4444"], "bytes": 300}
    assert summary["queued"] == ["eeee-5555"]
    assert summary["disk_bytes"] == 5000 + 3000 + 12288 + 512 + 700 + 300


def test_walk_gives_sizes_and_times(cache_dir):
    entries = {path: (size, mtime) for path, size, mtime, _ in cache.walk(str(cache_dir))}
    assert entries["aaaa-1111"][0] == 5000
    assert entries["incomplete/cccc-3333"][1] < entries["aaaa-1111"][1] - 86400


def test_an_empty_cache_is_all_zero(tmp_path):
    summary = cache.summarize(cache.walk(str(tmp_path)))
    assert (summary["bytes"], summary["files"], summary["images"]) == (0, 0, [])


def test_removed_lists_what_left_between_two_summaries(cache_dir):
    before = cache.summarize(cache.walk(str(cache_dir)))
    (cache_dir / "aaaa-1111").unlink()
    (cache_dir / "invalid/dddd-4444").unlink()
    after = cache.summarize(cache.walk(str(cache_dir)))
    assert cache.removed(before, after) == {
        "images": ["aaaa-1111"], "incomplete": [], "invalid": ["dddd-4444"],
        "bytes_freed": 5300}


# ---------------------------------------------------------------- prune / clean


def test_tools_read_api_conf_then_cache_conf():
    assert cache.tool_command("prune") == [
        "glance-cache-pruner", "--config-file", "/etc/glance/glance-api.conf",
        "--config-file", "/etc/glance/glance-cache.conf"]
    assert cache.tool_command("clean")[0] == "glance-cache-cleaner"


def test_cache_volume_comes_from_the_services_volumes():
    volumes = ["/etc/kolla/glance-api/:/var/lib/kolla/config_files/:ro",
               "glance:/var/lib/glance/", "my_cache:/var/lib/glance/image-cache/"]
    assert cache.cache_volume(volumes) == "my_cache"
    assert cache.cache_volume(volumes[:2]) is None


def test_token_request_scopes_glance_service_user_to_its_project():
    url, body = cache.token_request({
        "auth_url": "http://10.0.0.5:5000", "username": "glance", "password": "pw",
        "project_name": "service", "user_domain_id": "default",
        "project_domain_id": "default"})
    assert url == "http://10.0.0.5:5000/v3/auth/tokens"
    assert body["auth"]["identity"]["password"]["user"]["name"] == "glance"
    assert body["auth"]["scope"]["project"]["name"] == "service"
    assert cache.token_request({"auth_url": "http://k/v3/", "username": "g",
                                "password": "p"})[0] == "http://k/v3/auth/tokens"


# ---------------------------------------------------------------- cron entries


def test_cron_command_is_salt_call_with_this_minions_config_dir():
    command = state.cron_command("/etc/salt", "prune", "/usr/bin/salt-call")
    assert shlex.split(command) == ["/usr/bin/salt-call", "-c", "/etc/salt",
                                    "--out-file=/dev/null", "glance_cache.prune"]


def test_cron_command_quotes_odd_paths():
    command = state.cron_command("/srv/my salt", "clean")
    assert shlex.split(command)[2] == "/srv/my salt"


def test_cron_line_reads_like_the_crontab():
    fields = cache.schedule("ctl1", HOSTS)["prune"]
    assert state.cron_line(fields, "cmd") == "5,35 * * * * cmd"


def test_current_lines_finds_our_entries_by_identifier():
    crons = [
        {"identifier": "glance-cache-prune", "cmd": "p", "minute": "5,35", "hour": "*",
         "daymonth": "*", "month": "*", "dayweek": "*"},
        {"identifier": "other", "cmd": "x", "minute": "1", "hour": "*",
         "daymonth": "*", "month": "*", "dayweek": "*"},
    ]
    assert state.current_lines(crons, "glance-cache") == {"prune": "5,35 * * * * p"}


class FakeCron:
    """Salt's cron.list_tab / cron.present / cron.absent over an in-memory crontab."""

    def __init__(self, test=False):
        self.crons = []
        self.calls = []
        self.opts = {"test": test, "config_dir": "/etc/salt"}

    def list_tab(self, user):
        return {"crons": [dict(c) for c in self.crons]}

    def present(self, name, user, identifier, **fields):
        self.calls.append(("present", identifier))
        if not self.opts["test"]:
            self.crons = [c for c in self.crons if c["identifier"] != identifier]
            self.crons.append(dict(fields, cmd=name, identifier=identifier))
        return {"result": None if self.opts["test"] else True, "comment": f"set {identifier}"}

    def absent(self, name, user, identifier):
        self.calls.append(("absent", identifier))
        if not self.opts["test"]:
            self.crons = [c for c in self.crons if c["identifier"] != identifier]
        return {"result": None if self.opts["test"] else True, "comment": f"rm {identifier}"}


@pytest.fixture
def cron(monkeypatch):
    fake = FakeCron()
    monkeypatch.setattr(state, "__salt__", {"cron.list_tab": fake.list_tab}, raising=False)
    monkeypatch.setattr(state, "__states__", {"cron.present": fake.present,
                                              "cron.absent": fake.absent}, raising=False)
    monkeypatch.setattr(state, "__opts__", fake.opts, raising=False)
    return fake


def apply(plan, **kwargs):
    return state.scheduled("id", plan.get("prune", {}), plan.get("clean", {}),
                           salt_call="/usr/bin/salt-call", **kwargs)


def test_scheduled_adds_both_entries_then_reports_no_changes(cron):
    plan = cache.schedule("ctl2", HOSTS)
    first = apply(plan)
    assert first["result"] is True and set(first["changes"]) == {"prune", "clean"}
    assert first["changes"]["prune"]["new"] == (
        "15,45 * * * * /usr/bin/salt-call -c /etc/salt --out-file=/dev/null "
        "glance_cache.prune")
    cron.calls.clear()
    again = apply(plan)
    assert again["result"] is True and again["changes"] == {} and cron.calls == []


def test_scheduled_changes_only_the_entry_whose_schedule_changed(cron):
    apply(cache.schedule("ctl2", HOSTS))
    cron.calls.clear()
    ret = apply(cache.schedule("ctl2", HOSTS, clean_hour=5))
    assert list(ret["changes"]) == ["clean"] and cron.calls == [("present", "glance-cache-clean")]


def test_scheduled_test_mode_predicts_without_writing(cron):
    cron.opts["test"] = True
    ret = apply(cache.schedule("ctl1", HOSTS))
    assert ret["result"] is None and set(ret["changes"]) == {"prune", "clean"}
    assert cron.crons == []


def test_empty_schedule_removes_both_entries(cron):
    apply(cache.schedule("ctl1", HOSTS))
    ret = apply({})
    assert {job: change["new"] for job, change in ret["changes"].items()} == {
        "prune": None, "clean": None}
    assert cron.crons == []
    assert apply({})["changes"] == {}


def test_absent_is_the_empty_schedule(cron):
    apply(cache.schedule("ctl1", HOSTS))
    assert set(state.absent("id")["changes"]) == {"prune", "clean"} and cron.crons == []


def test_without_crontab_removal_succeeds_and_scheduling_fails(monkeypatch):
    monkeypatch.setattr(state, "__salt__", {}, raising=False)
    assert state.scheduled("id", {}, {})["result"] is True
    failed = state.scheduled("id", cache.schedule("ctl1", HOSTS)["prune"], {})
    assert failed["result"] is False and "install cron" in failed["comment"]
