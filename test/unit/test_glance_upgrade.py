"""glance_upgrade's plan and haproxy.cfg, without Salt or HAProxy."""

import pytest

import glance_config
import glance_upgrade as gu

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


def test_fresh_rolling_upgrade_starts_with_the_db_node_one_host_at_a_time():
    result = plan()
    assert result["strategy"] == "rolling" and result["refusal"] is None
    assert result["db_node"] == "node1"
    assert result["batches"] == [["node1"], ["node2"], ["node3"]]
    assert result["done"] == [] and result["min_healthy"] == 2
    assert result["db_steps"] == {"expand_before": True, "contract_after": True,
                                  "sync": False}


def test_resume_upgrades_only_what_is_left_and_does_not_expand_again():
    result = plan({"node1": NEW, "node2": NEW}, schema_status="contract")
    assert result["done"] == ["node1", "node2"]
    assert result["batches"] == [["node3"]]
    assert result["db_steps"]["expand_before"] is False
    assert result["db_steps"]["contract_after"] is True


def test_hosts_not_running_count_as_still_to_upgrade():
    result = gu.plan(HOSTS, {"node1": NEW}, NEW)
    assert result["batches"] == [["node2"], ["node3"]]


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
    assert result["batches"] == []
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
    assert plan(rolling=False)["batches"] == [HOSTS]


def test_nothing_to_do_when_every_host_runs_the_target():
    result = plan({host: NEW for host in HOSTS}, schema_status="current")
    assert result["batches"] == [] and result["done"] == HOSTS
    assert result["min_healthy"] == 3
    assert result["db_steps"] == {"expand_before": False, "contract_after": False,
                                  "sync": False}


def test_contract_still_runs_when_all_hosts_are_done_but_the_schema_is_not():
    result = plan({host: NEW for host in HOSTS}, schema_status="contract")
    assert result["batches"] == []
    assert result["db_steps"]["contract_after"] is True


def test_contract_waits_for_the_last_batch_of_old_hosts():
    # contract_after means "after the last batch": no batch is left out of it
    result = plan({"node1": NEW}, schema_status="contract")
    assert result["batches"] == [["node2"], ["node3"]]
    assert result["db_steps"]["contract_after"] is True
    assert result["db_steps"]["expand_before"] is False


def test_a_schema_still_to_expand_is_expanded_even_when_the_db_node_is_done():
    result = plan({"node1": NEW}, schema_status="expand")
    assert result["db_steps"]["expand_before"] is True


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


def test_healthcheck_disable_file_is_glances_paste_default():
    assert gu.healthcheck_disable_path() == "/etc/glance/healthcheck_disable"
