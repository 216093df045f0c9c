"""glance_upgrade's plan, drain helpers and haproxy.cfg, without Salt or HAProxy."""

import pytest

import pathlib

import yaml

import glance_config
import glance_upgrade as gu

DEFAULTS = yaml.safe_load((pathlib.Path(__file__).parents[2] / "glance/parameters/defaults.yaml")
                          .read_text())

HOSTS = ["node1", "node2", "node3"]
OLD, NEW = "reg/glance-api:2022.2", "reg/glance-api:2025.1"


def plan(current=None, **kwargs):
    images = {host: OLD for host in HOSTS}
    images.update(current or {})
    return gu.plan(kwargs.pop("hosts", HOSTS), images, NEW, **kwargs)


def sections(text):
    """haproxy.cfg -> {"global": [lines], "backend glance_api_back": [lines], ...}."""
    out, current = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            current = out.setdefault(line.strip(), [])
        else:
            current.append(" ".join(line.split()))
    return out


BACKENDS = [{"id": "node1", "address": "10.0.0.11", "port": 9292},
            {"id": "node2", "address": "10.0.0.12", "port": 9292}]


def config(**kwargs):
    return sections(glance_config.haproxy_config("10.0.0.10", 9292, BACKENDS, "/run/haproxy.sock",
                                      **kwargs))


def report(image=NEW, image_id="sha256:new", config="h1", healthy=True, running=True,
           pulled="sha256:new", wanted="h1", errors=()):
    """What glance_upgrade.prepare answers for one host."""
    return {"errors": list(errors),
            "target": {"image": NEW, "image_id": pulled, "labels": {LABEL: wanted}},
            "container": {"image": image, "image_id": image_id, "labels": {LABEL: config},
                          "running": running, "healthy": healthy}}


LABEL = glance_config.HASH_LABEL


def actions(result):
    """plan steps as short strings: "drain node1", "db expand+migrate", ..."""
    return [f"{step['action']} {'+'.join(step['db']) if 'db' in step else ','.join(step['hosts'])}"
            for step in result["steps"]]


def test_fresh_rolling_upgrade_starts_with_the_db_node_one_host_at_a_time():
    result = plan()
    assert result["strategy"] == "rolling" and result["refusal"] is None
    assert result["db_node"] == "node1"
    assert result["batches"] == [["node1"], ["node2"], ["node3"]]
    assert result["done"] == [] and result["min_healthy"] == 2
    assert result["db_steps"] == {"expand_before": True, "contract_after": True,
                                  "sync": False}


def test_rolling_steps_expand_first_then_drain_apply_enable_then_contract():
    # expand + migrate are online: every host still serves while they run
    result = plan(schema_status="expand")
    assert actions(result) == [
        "db expand+migrate",
        "drain node1", "apply node1", "enable node1",
        "drain node2", "apply node2", "enable node2",
        "drain node3", "apply node3", "enable node3",
        "db contract"]
    assert result["drain"] == "healthcheck"


def test_a_rolling_apply_stops_its_drained_host_itself_a_legacy_one_does_not():
    applies = [step for step in plan(schema_status="expand")["steps"]
               if step["action"] == "apply"]
    assert [step.get("stop_first") for step in applies] == [True, True, True]
    legacy = plan(schema_status="expand", rolling=False)["steps"]
    assert [step.get("stop_first") for step in legacy if step["action"] == "apply"] == [None]


def test_only_a_drain_by_health_check_that_another_drain_follows_may_overlap():
    enables = [step for step in plan(schema_status="expand")["steps"]
               if step["action"] == "enable"]
    assert [step["then_drain"] for step in enables] == [True, True, False]
    enables = [step for step in plan(schema_status="expand", managed_lb=True)["steps"]
               if step["action"] == "enable"]
    assert [step["then_drain"] for step in enables] == [False, False, False]


@pytest.mark.parametrize("kwargs, ready", [
    ({"schema_status": "expand"}, True),  # expand + migrate run before any apply
    ({"schema_status": "contract"}, True),
    ({}, True),  # unknown, the database node releases: expand + migrate run first
    ({"schema_status": "expand", "rolling": False}, True),  # db_sync first
])
def test_the_applies_of_a_plan_that_readies_the_schema_need_no_check(kwargs, ready):
    assert plan(**kwargs)["schema_ready"] is ready


def test_an_unknown_schema_with_the_database_node_done_is_checked_by_every_apply():
    result = plan({"node1": report()}, schema_status=None)
    assert result["db_steps"]["expand_before"] is False
    assert result["schema_ready"] is False


def test_the_formulas_haproxy_drains_through_its_runtime_api():
    assert plan(managed_lb=True)["drain"] == "haproxy"


def test_resume_upgrades_only_what_is_left_and_does_not_expand_again():
    result = plan({"node1": NEW, "node2": NEW}, schema_status="contract")
    assert result["done"] == ["node1", "node2"]
    assert result["batches"] == [["node3"]]
    assert actions(result) == ["drain node3", "apply node3", "enable node3",
                               "db contract"]


def test_resumed_run_with_the_schema_still_at_expand_expands_before_anything_else():
    # the database node runs the target but expand never finished: expand + migrate
    # first, with every other node still serving, and contract only after it
    result = plan({"node1": NEW}, schema_status="expand")
    assert actions(result)[0] == "db expand+migrate"
    assert actions(result)[-1] == "db contract"
    assert result["db_steps"]["expand_before"] is True


def test_resumed_run_at_migrate_runs_only_migrate_before_contract():
    result = plan({host: NEW for host in HOSTS}, schema_status="migrate")
    assert actions(result) == ["db migrate", "db contract"]


@pytest.mark.parametrize("schema", [None, "current", "expand", "migrate", "contract"])
@pytest.mark.parametrize("done", [(), ("node1",), ("node2",), ("node1", "node2"), tuple(HOSTS)])
def test_contract_never_runs_before_the_schema_is_migrated_nor_before_the_last_host(
        schema, done):
    result = plan({host: NEW for host in done}, schema_status=schema)
    steps = actions(result)
    if "db contract" not in steps:
        assert schema in (None, "current") and not (schema is None and len(done) < 3)
        return
    contract = steps.index("db contract")
    assert contract == len(steps) - 1
    if schema in ("expand", "migrate"):
        migrate = [i for i, step in enumerate(steps) if "migrate" in step and "db" in step]
        assert migrate and migrate[0] < contract


def test_hosts_not_running_count_as_still_to_upgrade():
    result = gu.plan(HOSTS, {"node1": NEW}, NEW)
    assert result["batches"] == [["node2"], ["node3"]]
    assert result["reasons"]["node2"] == ["glance_api is not running"]


def test_max_unavailable_never_takes_every_host_down():
    result = plan(max_unavailable=5)
    assert result["batches"] == [["node1", "node2"], ["node3"]]
    assert result["min_healthy"] == 1


def test_max_unavailable_two_of_five_hosts():
    hosts = [f"node{i}" for i in range(1, 6)]
    result = gu.plan(hosts, {}, NEW, max_unavailable=2)
    assert result["batches"] == [["node1", "node2"], ["node3", "node4"], ["node5"]]
    assert result["min_healthy"] == 3


def test_host_dicts_from_settings_are_accepted():
    hosts = [{"id": "node1", "address": "a"}, {"id": "node2", "address": "b"}]
    assert gu.plan(hosts, {}, NEW)["batches"] == [["node1"], ["node2"]]


def test_rolling_on_a_single_api_host_is_refused_with_the_fix():
    result = plan(hosts=["node1"])
    assert result["batches"] == [] and result["steps"] == []
    assert "glance_enable_rolling_upgrade" in result["refusal"]
    assert "only API host" in result["refusal"]
    assert "glance_enable_rolling_upgrade: no" in result["refusal"]


def test_rolling_with_the_file_backend_on_a_local_volume_is_refused():
    result = plan(shared_storage=False)
    assert result["batches"] == []
    assert "glance_enable_rolling_upgrade" in result["refusal"]
    assert "glance_file_datadir_volume" in result["refusal"]


def test_an_unreadable_schema_state_is_refused():
    assert "db check" in plan(schema_status="error")["refusal"]


def test_legacy_stops_every_host_and_syncs_the_schema():
    result = plan(rolling=False, hosts=["node1"], shared_storage=False)
    assert result["refusal"] is None and result["strategy"] == "legacy"
    assert result["batches"] == [["node1"]] and result["min_healthy"] == 0
    assert result["db_steps"] == {"expand_before": False, "contract_after": False,
                                  "sync": True}
    assert actions(result) == ["stop node1", "db sync", "apply node1"]
    assert plan(rolling=False)["batches"] == [HOSTS]


def test_legacy_release_change_without_schema_change_still_stops_every_host():
    result = plan(rolling=False, schema_status="current")
    assert result["strategy"] == "legacy"
    assert actions(result) == ["stop node1,node2,node3", "apply node1,node2,node3"]


def test_nothing_to_do_when_every_host_runs_the_target():
    result = plan({host: NEW for host in HOSTS}, schema_status="current")
    assert result["batches"] == [] and result["done"] == HOSTS
    assert result["min_healthy"] == 3 and result["steps"] == []
    assert result["db_steps"] == {"expand_before": False, "contract_after": False,
                                  "sync": False}


def test_contract_still_runs_when_all_hosts_are_done_but_the_schema_is_not():
    result = plan({host: NEW for host in HOSTS}, schema_status="contract")
    assert result["batches"] == []
    assert actions(result) == ["db contract"]


def test_contract_waits_for_the_last_batch_of_old_hosts():
    result = plan({"node1": NEW}, schema_status="contract")
    assert result["batches"] == [["node2"], ["node3"]]
    assert actions(result)[-1] == "db contract"
    assert result["db_steps"]["expand_before"] is False


# ---------------------------------------------------------------- drift: config and digest


def test_a_config_change_restarts_exactly_the_hosts_whose_hash_differs():
    reports = {"node1": report(), "node2": report(config="h0"), "node3": report()}
    result = gu.plan(HOSTS, reports, NEW, schema_status="current")
    assert result["batches"] == [["node2"]] and result["done"] == ["node1", "node3"]
    assert result["reasons"]["node2"] == [f"config changed ({LABEL} h0 -> h1)"]
    assert actions(result) == ["drain node2", "apply node2", "enable node2"]


def test_a_rebuilt_image_under_the_same_tag_restarts_the_hosts_on_the_old_digest():
    reports = {host: report(image_id="sha256:old") for host in HOSTS}
    reports["node3"] = report()
    result = gu.plan(HOSTS, reports, NEW, schema_status="current")
    assert result["batches"] == [["node1"], ["node2"]]
    assert "changed in the registry" in result["reasons"]["node1"][0]


def test_config_restarts_roll_even_when_upgrades_are_legacy():
    # no schema or release change: nothing needs every API down at once
    reports = {host: report(config="h0") for host in HOSTS}
    result = gu.plan(HOSTS, reports, NEW, rolling=False, schema_status="current")
    assert result["strategy"] == "rolling" and result["batches"] == [[h] for h in HOSTS]
    assert result["drain"] == "healthcheck"


def test_a_config_restart_of_the_only_host_needs_no_drain():
    result = gu.plan(["node1"], {"node1": report(config="h0")}, NEW, rolling=False,
                     shared_storage=False, schema_status="current")
    assert result["refusal"] is None and result["drain"] == "none"
    assert actions(result) == ["apply node1"]


def test_an_unhealthy_host_on_the_target_is_restarted():
    reports = {host: report() for host in HOSTS}
    reports["node2"] = report(healthy=False)
    assert gu.plan(HOSTS, reports, NEW, schema_status="current")["batches"] == [["node2"]]


def test_hosts_already_current_are_untouched():
    reports = {host: report() for host in HOSTS}
    result = gu.plan(HOSTS, reports, NEW, schema_status="current")
    assert result["steps"] == [] and result["done"] == HOSTS


# ---------------------------------------------------------------- refusals before anything stops


def test_a_failed_pull_on_any_host_refuses_the_whole_run():
    reports = {host: report(image=OLD) for host in HOSTS}
    reports["node3"] = report(image=OLD, errors=["cannot pull reg/glance-api:2025.1 on node3: "
                                                 "manifest unknown"])
    result = gu.plan(HOSTS, reports, NEW)
    assert result["refusal"] == ("node3: cannot pull reg/glance-api:2025.1 on node3: "
                                 "manifest unknown")
    assert result["steps"] == [] and result["batches"] == []


def test_a_minion_that_does_not_answer_refuses_the_run():
    reports = gu.reports_from_answers(HOSTS, {"node1": report(), "node2": report(),
                                              "node3": "Minion did not return. [No response]"})
    result = gu.plan(HOSTS, reports, NEW)
    assert result["refusal"].startswith("node3: no report from glance_upgrade.prepare "
                                        "(Minion did not return. [No response])")
    assert result["steps"] == []


def test_no_answer_at_all_is_an_error_for_every_host():
    reports = gu.reports_from_answers(["node1", "node2"], None)
    assert all("no answer" in r["errors"][0] for r in reports.values())


def test_operator_file_errors_found_by_a_host_refuse_the_run():
    error = ("glance_backend_ceph is on but /etc/kolla/config/glance/ceph.conf is missing")
    reports = {host: report(image=OLD) for host in HOSTS}
    reports["node2"]["errors"] = [error]
    assert gu.plan(HOSTS, reports, NEW)["refusal"] == f"node2: {error}"


# ---------------------------------------------------------------- drain by health check


@pytest.mark.parametrize("line, down, up", [
    ("check inter 2000 rise 2 fall 5", 10.0, 4.0),
    ("check inter 500 rise 3 fall 2", 1.0, 1.5),
    ("check inter 2s fall 4", 8.0, 4.0),
    ("check", 6.0, 4.0),  # HAProxy's own defaults: inter 2s, rise 2, fall 3
])
def test_balancer_wait_is_fall_and_rise_times_inter_of_kollas_check_line(line, down, up):
    timing = gu.check_timing(line)
    assert (timing["down_after"], timing["up_after"]) == (down, up)


@pytest.mark.parametrize("line, down, up", [
    # the next check within inter, then fall - 1 / rise - 1 more fastinter apart
    ("check inter 2000 fastinter 500 rise 2 fall 5", 4.0, 2.5),
    # a DOWN node is checked every downinter
    ("check inter 2000 downinter 5s rise 2 fall 3", 6.0, 7.0),
])
def test_balancer_wait_counts_fastinter_and_downinter(line, down, up):
    timing = gu.check_timing(line)
    assert (timing["down_after"], timing["up_after"]) == (down, up)


@pytest.mark.parametrize("line, then_drain, wait", [
    ("check inter 2000 rise 2 fall 5", False, 4.0),
    # the next node stays UP >= 8 s after its first 503: this one is UP within 4 s
    ("check inter 2000 rise 2 fall 5", True, 0.0),
    ("check inter 1000 rise 5 fall 2", True, 4.0),  # UP within 5 s, next DOWN after 1 s
])
def test_the_balancer_up_wait_overlaps_the_next_drain_only_as_far_as_it_is_safe(
        line, then_drain, wait):
    assert gu.balancer_up_wait(gu.check_timing(line), then_drain) == wait


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_hold_waits_until_the_answer_held_for_the_whole_window():
    clock = Clock()
    waited = gu.hold(lambda: True, 4.0, 30, 0.5, lambda: "never", clock, clock.sleep)
    assert waited == 4.0


def test_hold_starts_the_window_again_when_the_answer_changes():
    clock = Clock()
    answers = iter([True, True, False] + [True] * 100)
    waited = gu.hold(lambda: next(answers), 2.0, 30, 0.5, lambda: "never", clock, clock.sleep)
    # true at 0 and 0.5, false at 1.0, then true from 1.5: held from 1.5 to 3.5
    assert waited == 3.5


def test_hold_raises_when_the_answer_never_holds():
    clock = Clock()
    answers = iter([True, False] * 100)
    with pytest.raises(gu.UpgradeError, match="flaps"):
        gu.hold(lambda: next(answers), 2.0, 10, 0.5, lambda: "flaps", clock, clock.sleep)


def test_the_backend_url_is_the_address_haproxy_checks():
    backends = [{"id": "node1", "address": "10.0.0.11", "port": 9292},
                {"id": "node2", "address": "fd00::12", "port": 9292}]
    assert gu.backend_url(backends, "node1") == "http://10.0.0.11:9292"
    assert gu.backend_url(backends, "node2") == "http://[fd00::12]:9292"
    assert gu.backend_url(backends, "node3") is None


def test_a_node_haproxy_has_down_is_forced_up_only_when_it_answers_200(monkeypatch):
    sent = []
    status = {"server": "DOWN", "health": 200}
    monkeypatch.setattr(gu, "server_state", lambda *a: {"status": status["server"]})
    monkeypatch.setattr(gu, "healthcheck_status", lambda url: status["health"])
    monkeypatch.setattr(gu, "haproxy_command", lambda sock, cmd: sent.append(cmd) or "")
    assert gu.force_up("s", "glance_api_back", "node2", "http://10.0.0.12:9292")
    assert sent == ["set server glance_api_back/node2 health up"]
    status["health"] = 503
    assert not gu.force_up("s", "glance_api_back", "node2", "http://10.0.0.12:9292")
    status.update(server="UP", health=200)
    assert not gu.force_up("s", "glance_api_back", "node2", "http://10.0.0.12:9292")
    assert not gu.force_up("s", "glance_api_back", "node2", None)
    assert len(sent) == 1


def test_a_check_line_that_is_not_kollas_shape_is_an_error_naming_the_key():
    with pytest.raises(gu.UpgradeError, match="haproxy_health_check has fall 'x'"):
        gu.check_timing("check inter 2000 fall x")


PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 0101007F:2454 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0
   1: 0101007F:2454 0A01007F:D431 01 00000000:00000000 00:00000000 00000000 0
   2: 0201007F:2454 0A01007F:D432 01 00000000:00000000 00:00000000 00000000 0
   3: 0101007F:2454 0A01007F:D433 06 00000000:00000000 00:00000000 00000000 0
   4: 0101007F:0CEA 0A01007F:D434 01 00000000:00000000 00:00000000 00000000 0
"""
PROC_TCP6 = """  sl  local_address                         remote_address                        st
   0: 0000000000000000FFFF00000101007F:2454 0000000000000000FFFF00000A01007F:D435 01
"""


def test_in_flight_counts_established_connections_to_this_nodes_api_port_only():
    # listening (0A), time-wait (06), another node's address, another port: not counted
    assert gu.in_flight(PROC_TCP, "127.0.1.1", 9300) == 1
    assert gu.in_flight(PROC_TCP, "127.0.1.2", 9300) == 1
    assert gu.in_flight(PROC_TCP, "", 9300) == 2
    assert gu.in_flight(PROC_TCP6, "127.0.1.1", 9300) == 1


def test_the_drain_file_is_in_a_dir_the_container_mounts_and_glance_can_enter():
    # the service dir is 0750 root: glance (uid 42415) in the container cannot see into
    # it, so the switch has its own bind
    s = glance_config.settings(DEFAULTS, {"api_interface_address": "10.0.0.11",
                                          "enable_keystone": "no", "openstack_release": "2025.1",
                                          "glance_database_password": "pw"}, "node1")
    assert s["errors"] == [] and s["drain_dir"] == "/etc/kolla/glance-api-drain"
    assert "/etc/kolla/glance-api-drain/:/var/lib/kolla/glance-drain/:ro" in \
        s["services"]["glance-api"]["volumes"]
    assert gu.healthcheck_disable_path(s["drain_dir"]) == \
        "/etc/kolla/glance-api-drain/healthcheck_disable"
    paste = glance_config.ini_loads(s["files"]["glance-api-paste.ini"]["contents"])
    assert paste["app:healthcheck"]["disable_by_file_path"] == \
        "/var/lib/kolla/glance-drain/healthcheck_disable"


@pytest.mark.parametrize("release, section, factory", [
    ("2022.2", "filter:healthcheck", "paste.filter_factory"),
    ("2025.1", "app:healthcheck", "paste.app_factory"),
    ("2026.2", "app:healthcheck", "paste.app_factory"),
])
def test_glances_health_check_reads_the_drain_file_from_the_mounted_service_dir(
        release, section, factory):
    paste = glance_config.api_paste({"glance_major": glance_config.glance_major(release)})
    assert paste[section][factory].startswith("oslo_middleware:Healthcheck.")
    assert paste[section]["disable_by_file_path"] == \
        "/var/lib/kolla/glance-drain/healthcheck_disable"


@pytest.mark.parametrize("flavor", ["", "caching", "cachemanagement", "keystone",
                                    "keystone+caching", "keystone+cachemanagement"])
def test_every_paste_flavor_glance_can_ask_for_routes_healthcheck(flavor):
    name = "glance-api" + (f"-{flavor}" if flavor else "")
    new = glance_config.api_paste({"glance_major": 33})
    assert new[f"composite:{name}"]["/healthcheck"] == "healthcheck"
    assert new["composite:api"][flavor or "default"].endswith("rootapp")
    old = glance_config.api_paste({"glance_major": 25})
    assert old[f"pipeline:{name}"]["pipeline"].split()[:2] == ["cors", "healthcheck"]


def test_haproxy_frontend_binds_the_vip_and_uses_the_glance_backend():
    cfg = config()
    assert cfg["frontend glance_api_front"] == ["bind 10.0.0.10:9292",
                                                "default_backend glance_api_back"]


def test_haproxy_backend_checks_healthcheck_like_kolla():
    backend = config()["backend glance_api_back"]
    assert "option httpchk GET /healthcheck" in backend
    assert "server node1 10.0.0.11:9292 check inter 2000 rise 2 fall 5" in backend
    assert "server node2 10.0.0.12:9292 check inter 2000 rise 2 fall 5" in backend


def test_haproxy_retries_elsewhere_and_allows_six_hour_uploads():
    defaults = config()["defaults"]
    for line in ("timeout client 6h", "timeout server 6h", "balance roundrobin",
                 "retries 3", "option redispatch", "http-reuse safe", "mode http"):
        assert line in defaults


def test_haproxy_admin_socket_and_maxconn():
    assert config(maxconn=1234)["global"][:2] == [
        "maxconn 1234", "stats socket /run/haproxy.sock mode 600 level admin"]


def test_haproxy_timeouts_can_be_overridden_one_by_one():
    defaults = config(timeouts={"client": "1h"})["defaults"]
    assert "timeout client 1h" in defaults and "timeout server 6h" in defaults


def test_haproxy_config_is_deterministic():
    first = glance_config.haproxy_config("10.0.0.10", 9292, BACKENDS, "/s")
    assert first == glance_config.haproxy_config("10.0.0.10", 9292, BACKENDS, "/s")


@pytest.mark.parametrize("backends", [[], [{"id": "node1", "address": "", "port": 9292}]])
def test_haproxy_config_names_what_is_missing(backends):
    with pytest.raises(ValueError, match="glance_api_hosts"):
        glance_config.haproxy_config("10.0.0.10", 9292, backends, "/s")


def test_show_stat_csv_is_parsed_by_column_name():
    text = ("# pxname,svname,qcur,qmax,scur,smax,status,weight,check_status,\n"
            "glance_api_back,node1,0,0,2,3,DRAIN,1,L7OK,\n")
    assert gu.parse_stat(text)[0]["scur"] == "2"


# ---------------------------------------------------------------- prepare


def prepare_salt(monkeypatch, db_node):
    checked = []
    settings = {"errors": [], "minion_id": "node1", "am_i_api_host": True,
                "am_i_db_node": db_node, "image": NEW,
                "services": {"glance-api": {"labels": {LABEL: "h1"}, "volumes": ["v:/v"]}}}
    salt = {
        "glance_config.current": lambda pillar=None: settings,
        "docker.pull": lambda image: {"retcode": 0},
        "docker.inspect_image": lambda image: {"Id": "sha256:new"},
        "glance_db.check": lambda image, binds: checked.append((image, binds)) or {
            "status": "expand"},
    }
    monkeypatch.setattr(gu, "__salt__", salt, raising=False)
    monkeypatch.setattr(gu, "__pillar__", {"glance": {}}, raising=False)
    monkeypatch.setattr(gu, "container_facts", lambda api: None)
    return checked


def test_prepare_on_the_database_node_checks_the_schema_with_the_pulled_image(monkeypatch):
    checked = prepare_salt(monkeypatch, db_node=True)
    report = gu.prepare({"openstack_release": "2025.1"}, db_check=True)
    assert report["errors"] == [] and report["schema"] == "expand"
    assert checked == [(NEW, ["v:/v"])]


def test_prepare_elsewhere_or_without_db_check_runs_no_check(monkeypatch):
    elsewhere = prepare_salt(monkeypatch, db_node=False)
    assert "schema" not in gu.prepare({}, db_check=True)
    without = prepare_salt(monkeypatch, db_node=True)
    assert "schema" not in gu.prepare({})
    assert elsewhere == without == []


# ss -Htin state established '( sport = :9292 )': an idle keep-alive connection (the
# server answered last, 9 s ago), an upload in progress (received 3 ms ago), a request
# waiting for its answer (client spoke after the last send), a download still being
# written (sent 40 ms ago), one with bytes queued, and another node's connection
SS = """0      0      127.0.1.1:9292 127.0.1.101:40000
\t bbr wscale:10,10 rto:204 bytes_sent:19 lastsnd:9000 lastrcv:9001 lastack:9000 app_limited
0      0      127.0.1.1:9292 127.0.1.101:40001
\t cubic lastsnd:9000 lastrcv:3 lastack:3
0      0      127.0.1.1:9292 127.0.1.101:40002
\t cubic lastsnd:8000 lastrcv:7000 lastack:7000
0      0      [::ffff:127.0.1.1]:9292 [::ffff:127.0.1.101]:40003
\t cubic lastsnd:40 lastrcv:9000 lastack:40
0      65536  127.0.1.1:9292 127.0.1.101:40004
\t cubic lastsnd:9000 lastrcv:9000 lastack:9000
0      0      127.0.1.2:9292 127.0.1.101:40005
\t cubic lastsnd:1 lastrcv:1 lastack:1
"""


def test_an_idle_keep_alive_connection_is_not_a_request_in_flight():
    # upload, waiting request, download, queued bytes: 4 busy; the keep-alive one is not
    assert gu.busy_connections(SS, "127.0.1.1", 9292) == 4
    assert gu.busy_connections(SS, "0.0.0.0", 9292) == 5
    assert gu.busy_connections(SS, "127.0.1.1", 9300) == 0


def test_a_quiet_answer_is_idle_only_after_the_quiet_time():
    one = "0 0 127.0.1.1:9292 127.0.1.101:1\n\t lastsnd:1200 lastrcv:1200 lastack:1200\n"
    assert gu.busy_connections(one, "127.0.1.1", 9292, quiet_ms=5000) == 1
    assert gu.busy_connections(one, "127.0.1.1", 9292, quiet_ms=1000) == 0


def test_a_connection_without_timers_counts_as_busy():
    assert gu.busy_connections("0 0 127.0.1.1:9292 127.0.1.101:1\n\t cubic\n",
                               "127.0.1.1", 9292) == 1


def pings(result):
    return [f"{step['action']} {','.join(step['hosts'])}" for step in result["steps"]
            if step.get("ping_first")]


def test_through_the_formulas_haproxy_each_batch_answers_before_its_drain():
    # the expand on node1 has just answered for batch 1; each enable job also
    # targets the next batch's hosts (answer_hosts), so no test.ping job of its own
    result = plan(schema_status="expand", managed_lb=True)
    assert pings(result) == []
    enables = [step["answer_hosts"] for step in result["steps"] if step["action"] == "enable"]
    assert enables == [["node2"], ["node3"], []]


def test_a_first_batch_nothing_answered_for_is_pinged():
    # a config restart: no expand ran on the batch before its drain
    reports = {"node1": report(), "node2": report(config="h0"), "node3": report()}
    result = gu.plan(HOSTS, reports, NEW, schema_status="current", managed_lb=True)
    assert pings(result) == ["drain node2"]


def test_a_drain_by_health_check_needs_no_ping_and_legacy_pings_once():
    assert pings(plan(schema_status="expand")) == []
    assert all(step["answer_hosts"] == [] for step in plan(schema_status="expand")["steps"]
               if step["action"] == "enable")
    assert pings(plan(schema_status="expand", rolling=False)) == ["stop node1,node2,node3"]


def test_lb_enable_on_a_host_that_is_no_balancer_only_answers(monkeypatch):
    monkeypatch.setattr(gu, "__grains__", {"id": "node3"}, raising=False)
    monkeypatch.setattr(gu, "_lb_socket", lambda: pytest.fail("touched the balancer"))
    assert gu.lb_enable("node2", lb_hosts=["node1"]) == {"answered": "node3"}


def test_a_release_change_on_the_database_node_needs_no_schema_check_first():
    # expand + migrate first (no-ops when nothing is pending), contract last: the
    # answer of a check container would not change a step
    result = plan()
    assert result["needs_schema"] is False
    assert actions(result)[0] == "db expand+migrate"
    assert actions(result)[-1] == "db contract"


@pytest.mark.parametrize("current", [
    {"node1": NEW},  # resumed after the first batch
    {host: NEW for host in HOSTS},  # every host done: contract may still be pending
])
def test_a_plan_with_the_database_node_on_the_target_asks_for_the_schema(current):
    assert plan(current)["needs_schema"] is True
    assert plan(current, schema_status="current")["needs_schema"] is False


def test_a_refused_plan_asks_for_nothing():
    assert plan(rolling=True, shared_storage=False)["needs_schema"] is False
