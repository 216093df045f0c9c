"""Interfaces like kolla: the API address comes from the minion's grains."""

GRAINS = {
    "ip4_interfaces": {"lo": ["127.0.0.1"], "gfa0": ["127.0.1.41"],
                       "gfb0": ["127.0.1.42"], "gfdown": []},
    "ip6_interfaces": {"lo": ["::1"], "gfa0": ["fe80::41", "fd00:10::41"]},
}


def apply(minion_factory, **glance):
    minion = minion_factory("node1", grains=GRAINS)
    return minion, minion.apply(**dict({"api_interface_address": ""}, **glance))


def refused_in_both_modes(minion_factory, message, **glance):
    minion = minion_factory("node1", grains=GRAINS)
    for test in (False, True):
        run = minion.apply(test=test, **dict({"api_interface_address": ""}, **glance))
        assert run.returncode != 0
        assert message in run.comments()
        assert not minion.service_dir.exists()


def test_network_interface_gives_bind_host_and_self_url(minion_factory):
    _, run = apply(minion_factory, network_interface="gfa0")
    assert run.returncode == 0, run.stdout
    conf = run.ini("glance-api.conf")
    assert conf["DEFAULT"]["bind_host"] == "127.0.1.41"
    assert conf["DEFAULT"]["worker_self_reference_url"] == "http://127.0.1.41:9292"


def test_api_interface_wins_over_network_interface(minion_factory):
    _, run = apply(minion_factory, network_interface="gfa0", api_interface="gfb0")
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["bind_host"] == "127.0.1.42"


def test_a_hosts_entry_names_its_own_interface(minion_factory):
    _, run = apply(minion_factory, network_interface="gfa0",
                   glance_api_hosts=[{"id": "node1", "api_interface": "gfb0"}])
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["bind_host"] == "127.0.1.42"


def test_ipv6_reads_ip6_interfaces(minion_factory):
    _, run = apply(minion_factory, network_interface="gfa0",
                   network_address_family="ipv6")
    assert run.returncode == 0, run.stdout
    conf = run.ini("glance-api.conf")
    assert conf["DEFAULT"]["bind_host"] == "fd00:10::41"
    assert conf["DEFAULT"]["worker_self_reference_url"] == "http://[fd00:10::41]:9292"


def test_an_explicit_address_wins(minion_factory):
    _, run = apply(minion_factory, network_interface="gfa0",
                   api_interface_address="127.0.1.50")
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["bind_host"] == "127.0.1.50"


def test_a_missing_interface_names_it_and_the_minion_and_writes_nothing(minion_factory):
    refused_in_both_modes(
        minion_factory,
        "glance:api_interface is 'eth7', but minion node1 has no interface 'eth7' (its "
        "ip4_interfaces: gfa0, gfb0, gfdown, lo)",
        api_interface="eth7")


def test_an_interface_without_an_address_is_refused(minion_factory):
    refused_in_both_modes(
        minion_factory,
        "glance:network_interface is 'gfdown', but interface 'gfdown' on minion node1 has "
        "no ipv4 address",
        network_interface="gfdown")
