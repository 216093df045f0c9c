"""Interfaces like kolla (address from the grains) and every bad value refused in settings()."""

import pathlib

import pytest
import yaml

import glance_config as gc

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())
BASE = {"glance_database_password": "pw", "enable_keystone": "no",
        "openstack_release": "2022.2"}
GRAINS = {
    "num_cpus": 2,
    "ip4_interfaces": {"lo": ["127.0.0.1"], "eth0": ["10.0.0.11", "10.0.0.99"],
                       "eth1": ["192.168.1.11"], "bond0": []},
    "ip6_interfaces": {"lo": ["::1"], "eth0": ["fe80::11", "2001:db8::11"],
                       "eth1": ["fe80::12"]},
}


def settings(minion="node1", grains=None, **pillar):
    return gc.settings(DEFAULTS, dict(BASE, **pillar), minion,
                       grains=GRAINS if grains is None else grains)


# ---------------------------------------------------------------- interfaces


def test_network_interface_gives_the_api_address_from_ip4_interfaces():
    s = settings(network_interface="eth0")
    assert s["errors"] == []
    assert s["api_address"] == "10.0.0.11"
    assert s["api_hosts"] == [{"id": "node1", "address": "10.0.0.11"}]


def test_api_interface_wins_over_network_interface():
    assert settings(network_interface="eth0", api_interface="eth1")["api_address"] == \
        "192.168.1.11"


def test_ipv6_family_reads_ip6_interfaces_and_skips_link_local():
    s = settings(network_interface="eth0", network_address_family="ipv6")
    assert s["errors"] == []
    assert s["api_address"] == "2001:db8::11"
    conf = gc.ini_loads(s["files"]["glance-api.conf"]["contents"])
    assert conf["DEFAULT"]["bind_host"] == "2001:db8::11"
    assert conf["DEFAULT"]["worker_self_reference_url"] == "http://[2001:db8::11]:9292"
    assert s["services"]["glance-api"]["url"] == "http://[2001:db8::11]:9292"


def test_api_address_family_overrides_network_address_family():
    s = settings(network_interface="eth0", network_address_family="ipv6",
                 api_address_family="ipv4")
    assert s["api_address"] == "10.0.0.11"


def test_an_explicit_address_wins_over_the_interface():
    assert settings(network_interface="eth0",
                    api_interface_address="10.0.0.50")["api_address"] == "10.0.0.50"
    s = settings(network_interface="eth0",
                 glance_api_hosts=[{"id": "node1", "address": "10.0.0.60"}])
    assert s["api_address"] == "10.0.0.60"


def test_a_hosts_entry_can_name_its_own_interface():
    s = settings(network_interface="eth0",
                 glance_api_hosts=[{"id": "node1", "api_interface": "eth1"}])
    assert s["errors"] == []
    assert s["api_address"] == "192.168.1.11"


def test_a_missing_interface_names_the_interface_and_the_minion():
    s = settings("ctl7", api_interface="eth5")
    assert s["errors"] == [
        "glance:api_interface is 'eth5', but minion ctl7 has no interface 'eth5' (its "
        "ip4_interfaces: bond0, eth0, eth1, lo) — set api_interface to one of its "
        "interfaces (per minion in its pillar), or set api_interface_address"]
    assert s["files"] == {}


def test_an_interface_without_an_address_of_the_family_is_an_error():
    assert settings("ctl7", network_interface="bond0")["errors"] == [
        "glance:network_interface is 'bond0', but interface 'bond0' on minion ctl7 has "
        "no ipv4 address — give it one, pick another interface, or set "
        "api_interface_address"]
    only_link_local = settings(network_interface="eth1", network_address_family="ipv6")
    assert "interface 'eth1' on minion node1 has no ipv6 address" in \
        only_link_local["errors"][0]


def test_an_unknown_address_family_is_an_error():
    assert settings(network_interface="eth0", network_address_family="ip4")["errors"] == [
        "glance:network_address_family is 'ip4' — use ipv4 or ipv6"]


def test_no_address_and_no_interface_says_all_three_ways():
    (error,) = settings()["errors"]
    assert error.startswith("glance:api_interface_address is empty for node1")
    assert "api_interface / network_interface" in error


def test_a_host_that_does_not_run_the_api_needs_no_interface():
    s = settings("node2", network_interface="eth9",
                 glance_api_hosts=[{"id": "node1", "address": "10.0.0.11"}])
    assert s["errors"] == [] and not s["am_i_api_host"]


def test_interface_address_is_pure_over_the_grains():
    assert gc.interface_address({"ip4_interfaces": {"e": ["10.1.1.1"]}}, "e", "ipv4",
                                "m", "network_interface") == ("10.1.1.1", None)
    address, error = gc.interface_address({}, "e", "ipv4", "m", "network_interface")
    assert address is None and "(its ip4_interfaces: none)" in error


# ---------------------------------------------------------------- bad values

OK = {"api_interface_address": "10.0.0.11"}

BAD = {
    "api_port_over_65535": (
        {"glance_api_port": 70000},
        "glance:glance_api_port is 70000, which is not a TCP port — use a port from 1 "
        "to 65535, e.g. glance_api_port: 9292"),
    "listen_port_zero": (
        {"glance_api_listen_port": 0},
        "glance:glance_api_listen_port is 0, which is not a whole number >= 1"),
    "database_port_over_65535": (
        {"database_port": 99999},
        "glance:database_port is 99999, which is not a TCP port"),
    "datadir_neither_volume_nor_path": (
        {"glance_file_datadir_volume": "srv/glance"},
        "glance:glance_file_datadir_volume is 'srv/glance', which is neither a docker "
        "volume name nor an absolute path"),
    "staging_volume_with_space": (
        {"glance_staging_volume": "my staging"},
        "glance:glance_staging_volume is 'my staging', which is neither"),
    "tag_with_colon": (
        {"openstack_tag": "2025.1:latest"},
        "glance:openstack_tag is '2025.1:latest', which docker refuses as a tag"),
    "tag_starting_with_dot": (
        {"openstack_tag": ".2025"},
        "glance:openstack_tag is '.2025', which docker refuses as a tag"),
    "glance_tag_with_slash": (
        {"glance_tag": "2025.1/debian"},
        "glance:glance_tag is '2025.1/debian', which docker refuses as a tag — use up to "
        "128 letters, digits, _ . - (not starting with . or -), e.g. glance_tag: "),
    "namespace_upper_case": (
        {"docker_namespace": "OpenStack.Kolla"},
        "glance:docker_namespace is 'OpenStack.Kolla', which docker refuses"),
    "registry_with_scheme": (
        {"docker_registry": "http://10.0.0.5:4000/"},
        "glance:docker_registry is 'http://10.0.0.5:4000/' — docker takes a registry as "
        "host[:port] without a scheme: set docker_registry: 10.0.0.5:4000"),
    "registry_with_path": (
        {"docker_registry": "quay.io/openstack.kolla"},
        "glance:docker_registry is 'quay.io/openstack.kolla', which docker cannot parse"),
    "same_host_twice": (
        {"glance_api_hosts": [{"id": "node1", "address": "10.0.0.11"},
                              {"id": "node1", "address": "10.0.0.12"}],
         "glance_file_datadir_volume": "/srv/nfs/glance"},
        "glance:glance_api_hosts lists the id 'node1' twice — list each API host once"),
    "same_address_twice": (
        {"glance_api_hosts": [{"id": "node1", "address": "10.0.0.11"},
                              {"id": "node2", "address": "10.0.0.11"}],
         "glance_file_datadir_volume": "/srv/nfs/glance"},
        "glance:glance_api_hosts lists the address '10.0.0.11' twice"),
    "api_address_not_ip": (
        {"api_interface_address": "ctl1.example.com"},
        "glance:api_interface_address is 'ctl1.example.com', which is not an IP address"),
    "host_entry_address_not_ip": (
        {"glance_api_hosts": [{"id": "node1", "address": "10.0.0.256"}]},
        "glance:glance_api_hosts entry 'node1' has address '10.0.0.256', which is not "
        "an IP address"),
    "database_address_with_port": (
        {"database_address": "10.0.0.20:3306"},
        "glance:database_address is '10.0.0.20:3306', which is not an IP address or host "
        "name — set it to an IP address or host name without a port"),
    "database_address_bad_octet": (
        {"database_address": "10.0.0.300"},
        "glance:database_address is '10.0.0.300', which is not an IP address or host"),
    "internal_vip_not_ip": (
        {"kolla_internal_vip_address": "vip.example.com"},
        "glance:kolla_internal_vip_address is 'vip.example.com', which is not an IP"),
    "external_vip_with_scheme": (
        {"kolla_external_vip_address": "https://203.0.113.10"},
        "glance:kolla_external_vip_address is 'https://203.0.113.10', which is not an IP "
        "address — set it to an IP address without a scheme or path"),
    "prune_interval_not_dividing_60": (
        {"glance_cache_prune_interval": 7},
        "glance:glance_cache_prune_interval is 7, which does not divide 60"),
    "prune_interval_over_an_hour": (
        {"glance_cache_prune_interval": 120},
        "glance:glance_cache_prune_interval is 120, which does not divide 60"),
    "clean_hour_24": (
        {"glance_cache_clean_hour": 24},
        "glance:glance_cache_clean_hour is 24, which is not an hour of the day — use 0 "
        "to 23"),
    "rolling_upgrade_single_host": (
        {"glance_enable_rolling_upgrade": "yes",
         "glance_file_datadir_volume": "/srv/nfs/glance"},
        "glance:glance_enable_rolling_upgrade is on but node1 is the only API host"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_value_is_an_error_naming_the_key(case):
    pillar, message = BAD[case]
    s = settings(**dict(OK, **pillar))
    assert any(message in error for error in s["errors"]), s["errors"]
    assert s["files"] == {}


GOOD = {
    "registry_with_port": {"docker_registry": "10.0.0.5:4000"},
    "registry_ipv6": {"docker_registry": "[2001:db8::5]:4000"},
    "no_registry": {"docker_registry": ""},
    "namespace_with_slash": {"docker_namespace": "team/openstack.kolla"},
    "kolla_tag": {"openstack_tag": "2025.1-rocky-9"},
    "datadir_path": {"glance_file_datadir_volume": "/srv/nfs/glance"},
    "database_hostname": {"database_address": "db.internal.example.com"},
    "database_ipv6": {"database_address": "2001:db8::20"},
    "vips": {"kolla_internal_vip_address": "10.0.0.10",
             "kolla_external_vip_address": "2001:db8::10"},
    "ports_at_the_edges": {"glance_api_port": 65535, "database_port": 1},
    "prune_every_hour_clean_at_midnight": {"glance_cache_prune_interval": 60,
                                           "glance_cache_clean_hour": 0},
    "rolling_upgrade_two_hosts": {
        "glance_enable_rolling_upgrade": "yes",
        "glance_file_datadir_volume": "/srv/nfs/glance",
        "glance_api_hosts": [{"id": "node1", "address": "10.0.0.11"},
                             {"id": "node2", "address": "10.0.0.12"}]},
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_value_passes(case):
    assert settings(**dict(OK, **GOOD[case]))["errors"] == []


def test_ipv6_database_address_is_bracketed_in_the_connection_url():
    s = settings(**dict(OK, database_address="2001:db8::20"))
    conf = gc.ini_loads(s["files"]["glance-api.conf"]["contents"])
    assert conf["database"]["connection"] == \
        "mysql+pymysql://glance:pw@[2001:db8::20]:3306/glance"


def test_glance_tag_wins_over_openstack_tag_for_the_glance_api_image_only():
    s = settings(**dict(OK, openstack_tag="2025.1-rocky-9", glance_tag="2025.1-rocky-9-fix1"))
    assert s["image"] == "quay.io/openstack.kolla/glance-api:2025.1-rocky-9-fix1"
    assert settings(**dict(OK, openstack_tag="2025.1-rocky-9"))["image"] == \
        "quay.io/openstack.kolla/glance-api:2025.1-rocky-9"
