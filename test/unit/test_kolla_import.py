"""salt-run glance.import_kolla's core, without Salt: inventories, conversion, files."""

import os
import pathlib
import stat

import pytest
import yaml

from salt_module_loader import load

runner = load("glance", "runners")

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "test/fixtures/kolla-ansible"
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())
# the formula's keys as the import sees them (defaults.yaml), plus kolla's interface
# names so these tests do not depend on which release of defaults.yaml has them
KNOWN = set(DEFAULTS) | {"api_interface", "network_interface"}
SOURCES = {"globals": "globals.yml", "passwords": "passwords.yml", "inventory": "multinode"}
CONTROL = ["control01", "control02", "control03"]


def ini(text):
    return runner.parse_inventory(text, "multinode")


def convert(globals_=None, passwords=None, inventory=None, known=KNOWN):
    inventory = inventory or ini("[control]\nctl1 ansible_host=10.0.0.11\n"
                                 "[glance:children]\ncontrol\n[glance-api:children]\nglance\n")
    return runner.convert(globals_ or {}, passwords or {}, inventory, known, SOURCES)


def import_fixtures(out, inventory="multinode"):
    return runner.run_import(str(FIXTURES / "globals.yml"), str(FIXTURES / "passwords.yml"),
                             str(FIXTURES / inventory), str(out), KNOWN)


# ---------------------------------------------------------------- inventories


def test_multinode_ini_resolves_glance_api_through_its_children_in_inventory_order():
    inventory = runner.parse_inventory((FIXTURES / "multinode").read_text(), "multinode")
    assert runner.group_hosts(inventory, "glance-api") == CONTROL
    assert runner.group_hosts(inventory, "loadbalancer") == ["network01"]
    assert runner.group_hosts(inventory, "compute") == ["compute01", "compute02"]


def test_yaml_inventory_has_the_same_groups_hosts_and_vars_as_the_ini_one():
    from_ini = runner.parse_inventory((FIXTURES / "multinode").read_text(), "multinode")
    from_yaml = runner.parse_inventory((FIXTURES / "multinode.yml").read_text(), "multinode.yml")
    assert set(from_ini["groups"]) == set(from_yaml["groups"])
    for group in from_ini["groups"]:
        assert runner.group_hosts(from_yaml, group) == runner.group_hosts(from_ini, group), group
    def as_text(variables):  # INI [group:vars] values are strings, YAML's are typed
        return {key: str(value).lower() for key, value in variables.items()}

    for host in CONTROL + ["network01", "localhost"]:
        assert as_text(runner.host_vars(from_yaml, host)) == \
            as_text(runner.host_vars(from_ini, host)), host
    assert runner.host_vars(from_ini, "control02") == {
        "ansible_host": "10.10.10.12", "ansible_user": "kolla", "ansible_become": "true"}


def test_own_hosts_come_first_then_each_childs_once():
    inventory = ini("[a]\nh3\n[b]\nh1\nh3\n[c]\nh2\n[g]\nh9\n[g:children]\nb\nc\na\n")
    assert runner.group_hosts(inventory, "g") == ["h9", "h1", "h3", "h2"]


def test_children_cycles_do_not_loop():
    inventory = ini("[a]\nh1\n[a:children]\nb\n[b:children]\na\n")
    assert runner.group_hosts(inventory, "b") == ["h1"]


@pytest.mark.parametrize("pattern,hosts", [
    ("ctl[01:03]", ["ctl01", "ctl02", "ctl03"]),
    ("ctl[8:10].example.com", ["ctl8.example.com", "ctl9.example.com", "ctl10.example.com"]),
    ("rack-[a:c]", ["rack-a", "rack-b", "rack-c"]),
])
def test_host_ranges_expand_like_ansible(pattern, hosts):
    assert runner.group_hosts(ini(f"[control]\n{pattern}\n"), "control") == hosts


def test_child_group_vars_override_parent_ones_and_host_vars_override_both():
    inventory = ini("[control]\nctl1 ansible_user=root\nctl2\n"
                    "[glance:children]\ncontrol\n"
                    "[all:vars]\nansible_user=kolla\nx=all\n"
                    "[glance:vars]\nx=glance\n[control:vars]\nx=\"control\"\n")
    assert runner.host_vars(inventory, "ctl1") == {"ansible_user": "root", "x": "control"}
    assert runner.host_vars(inventory, "ctl2") == {"ansible_user": "kolla", "x": "control"}


@pytest.mark.parametrize("text,message", [
    ("[control\nctl1\n", "multinode: line 1: '[control' is not a section header"),
    ("[control:hosts]\nctl1\n", "multinode: line 1: '[control:hosts]'"),
    ("[control]\nctl1 ansible_host\n", "multinode: line 2: 'ansible_host' is not <var>=<value>"),
    ("[control:vars]\nansible_user\n", "multinode: line 2: 'ansible_user' in [control:vars]"),
    ("[control]\nctl[01:x]\n", "multinode: line 2: host range 'ctl[01:x]'"),
])
def test_malformed_ini_inventory_names_the_file_and_line(text, message):
    with pytest.raises(runner.KollaImportError, match=None) as err:
        ini(text)
    assert message in str(err.value)


@pytest.mark.parametrize("text,message", [
    ("all:\n  children:\n    control:\n      host:\n        ctl1:\n",
     "multinode.yml: group 'control' has host"),
    ("all:\n  children:\n    control:\n      hosts:\n        ctl1: 10.0.0.1\n",
     "multinode.yml: host 'ctl1' in group 'control' has '10.0.0.1'"),
    ("all:\n  children: [control]\n", "multinode.yml: group 'all'"),
    ("all:\n  children:\n    control: [ctl1]\n", "multinode.yml: group 'control' is a list"),
    ("---\nall:\n  children:\n   - x\n  - y\n", "multinode.yml: line"),
])
def test_malformed_yaml_inventory_names_the_file_and_group(text, message):
    with pytest.raises(runner.KollaImportError) as err:
        runner.parse_inventory(text, "multinode.yml")
    assert message in str(err.value)


# ---------------------------------------------------------------- conversion


def test_known_globals_are_carried_unchanged_and_the_others_listed_with_a_reason():
    plan = convert({"glance_backend_file": "yes", "openstack_release": "2025.1",
                    "neutron_plugin_agent": "ovn", "kolla_base_distro": "rocky",
                    "enable_keepalived": "yes"})
    assert plan["shared"]["glance_backend_file"] == "yes"
    assert plan["shared"]["openstack_release"] == "2025.1"
    left = plan["left_out"]["globals.yml"]
    assert set(left) == {"neutron_plugin_agent", "kolla_base_distro", "enable_keepalived"}
    assert left["neutron_plugin_agent"] == runner.OTHER_SERVICE
    assert "openstack_tag" in left["kolla_base_distro"]
    assert "keepalived" in left["enable_keepalived"]
    assert any("no openstack_tag" in w for w in plan["warnings"])


def test_glance_passwords_go_to_the_secrets_and_the_others_are_listed_by_name():
    plan = convert(passwords={"glance_database_password": "g-db", "database_password": "root",
                              "glance_keystone_password": "g-ks", "keystone_admin_password": "a",
                              "memcache_secret_key": "m", "nova_database_password": "n",
                              "nova_ssh_key": {"private_key": "k", "public_key": "p"}})
    assert plan["secrets"] == {"glance_database_password": "g-db", "database_password": "root",
                               "glance_keystone_password": "g-ks",
                               "keystone_admin_password": "a", "memcache_secret_key": "m"}
    assert not set(plan["secrets"]) & set(plan["shared"])
    assert plan["left_out"]["passwords.yml"] == {
        "nova_database_password": runner.PASSWORD_OF_OTHERS,
        "nova_ssh_key": runner.PASSWORD_OF_OTHERS}


def test_secret_looking_globals_go_to_the_secrets_file_too():
    plan = convert({"glance_backend_s3": "yes", "s3_secret_key": "s3-secret",
                    "s3_access_key": "s3-access", "s3_url": "http://10.0.0.5:9000"})
    assert plan["secrets"] == {"s3_secret_key": "s3-secret", "s3_access_key": "s3-access"}
    assert "s3_url" in plan["shared"] and "s3_secret_key" not in plan["shared"]


def test_passwords_yml_wins_over_a_password_in_globals():
    plan = convert({"database_password": "from-globals"}, {"database_password": "from-pw"})
    assert plan["secrets"]["database_password"] == "from-pw"
    assert plan["carried"]["passwords.yml"] == ["database_password"]
    assert "database_password" not in plan["carried"]["globals.yml"]


def test_an_empty_glance_password_is_a_warning_not_an_empty_pillar_value():
    plan = convert(passwords={"glance_database_password": None})
    assert "glance_database_password" not in plan["secrets"]
    assert any("passwords.yml: glance_database_password is empty" in w
               for w in plan["warnings"])


def test_a_password_that_is_not_a_string_names_the_file_and_key():
    with pytest.raises(runner.KollaImportError,
                       match="passwords.yml: glance_keystone_password is a list"):
        convert(passwords={"glance_keystone_password": ["a"]})


def test_empty_globals_are_left_to_the_formulas_default():
    plan = convert({"vmware_vcenter_name": None})
    assert "vmware_vcenter_name" not in plan["shared"]
    assert "default applies" in plan["left_out"]["globals.yml"]["vmware_vcenter_name"]


def test_references_to_other_globals_resolve_and_expressions_are_left_out():
    plan = convert({"kolla_internal_vip_address": "10.0.0.10",
                    "kolla_external_vip_address": "{{ kolla_internal_vip_address }}",
                    "glance_file_datadir_volume": "/srv/{{ nfs_share }}",
                    "ceph_glance_pool_name": "{{ 'images' if x else 'img' }}"})
    assert plan["shared"]["kolla_external_vip_address"] == "10.0.0.10"
    left = plan["left_out"]["globals.yml"]
    assert "cannot evaluate" in left["glance_file_datadir_volume"]
    assert "cannot evaluate" in left["ceph_glance_pool_name"]
    assert "glance_file_datadir_volume" not in plan["shared"]


def test_keystone_urls_and_database_address_derive_from_the_vip_like_kolla():
    plan = convert({"kolla_internal_vip_address": "10.0.0.10"})
    assert plan["shared"]["database_address"] == "10.0.0.10"
    assert plan["shared"]["keystone_internal_url"] == "http://10.0.0.10:5000"
    assert plan["shared"]["keystone_public_url"] == "http://10.0.0.10:5000"
    assert set(plan["derived"]) >= {"database_address", "keystone_internal_url",
                                    "keystone_public_url"}


def test_fqdns_tls_and_ports_change_the_derived_urls():
    plan = convert({"kolla_internal_vip_address": "10.0.0.10",
                    "kolla_internal_fqdn": "int.example.com",
                    "kolla_external_fqdn": "cloud.example.com",
                    "kolla_enable_tls_internal": "yes", "kolla_enable_tls_external": "yes",
                    "keystone_internal_port": 15000})
    assert plan["shared"]["keystone_internal_url"] == "https://int.example.com:15000"
    assert plan["shared"]["keystone_public_url"] == "https://cloud.example.com:5000"
    assert plan["shared"]["database_address"] == "int.example.com"
    assert plan["left_out"]["globals.yml"]["kolla_internal_fqdn"] == (
        "used to derive database_address, keystone_internal_url")


def test_explicit_values_win_over_derived_ones():
    plan = convert({"kolla_internal_vip_address": "10.0.0.10",
                    "keystone_internal_url": "http://keystone.internal:5000",
                    "openstack_service_workers": "2", "glance_api_workers": 7})
    assert plan["shared"]["keystone_internal_url"] == "http://keystone.internal:5000"
    assert plan["shared"]["glance_api_workers"] == 7
    assert "keystone_internal_url" not in plan["derived"]


def test_kollas_role_defaults_fill_glance_keys_from_shared_globals():
    plan = convert({"openstack_service_workers": "3", "openstack_logging_debug": "True"})
    assert plan["shared"]["glance_api_workers"] == "3"
    assert plan["shared"]["glance_logging_debug"] == "True"


@pytest.mark.parametrize("text,group", [
    ("[control]\nc1\n[glance]\ng1\n[glance-api]\na1\na2\n", "glance-api"),
    ("[control]\nc1\n[glance]\ng1\ng2\n[glance-api]\n", "glance"),
    ("[control]\nc1\nc2\n[glance:children]\n", "control"),
])
def test_api_hosts_come_from_glance_api_else_glance_else_control(text, group):
    inventory = ini(text)
    plan = convert(inventory=inventory)
    assert plan["shared"]["glance_api_hosts"] == runner.group_hosts(inventory, group)
    assert plan["derived"]["glance_api_hosts"].startswith(f"the {group} group")


def test_an_inventory_without_any_glance_group_is_an_error_naming_it():
    with pytest.raises(runner.KollaImportError,
                       match="multinode: no host in any of the groups glance-api, glance, "
                             "control"):
        convert(inventory=ini("[compute]\ncmp1\n"))


def test_api_host_addresses_come_from_api_interface_address_then_ansible_host():
    inventory = ini("[control]\n"
                    "ctl1 ansible_host=10.0.0.11\n"
                    "ctl2 ansible_host=10.0.0.12 api_interface_address=10.1.0.12\n"
                    "ctl3 ansible_host=ctl3.example.com\n"
                    "ctl4 ansible_host=10.0.0.14 api_interface=bond1\n")
    plan = convert(inventory=inventory)
    assert plan["shared"]["glance_api_hosts"] == [
        {"id": "ctl1", "address": "10.0.0.11"}, {"id": "ctl2", "address": "10.1.0.12"},
        "ctl3", "ctl4"]
    # ctl4 names its own interface: the formula resolves it from that minion's grains
    assert plan["hosts"]["ctl4"] == {"api_interface": "bond1"}
    assert plan["hosts"]["ctl2"] == {"api_interface_address": "10.1.0.12"}
    assert plan["left_out"]["inventory"]["ctl1:ansible_host"] == runner.CONNECTION_VAR


def test_ansible_host_with_a_named_interface_in_globals_is_a_warning():
    plan = convert({"network_interface": "eth0"})
    assert plan["shared"]["network_interface"] == "eth0"
    assert plan["shared"]["glance_api_hosts"] == [{"id": "ctl1", "address": "10.0.0.11"}]
    assert any("addresses from ansible_host although globals.yml names network_interface"
               in w for w in plan["warnings"])


def test_loadbalancer_group_becomes_the_formulas_haproxy_hosts():
    inventory = ini("[control]\nctl1\nctl2\n[network]\nnet1\n[loadbalancer:children]\n"
                    "network\n")
    plan = convert({"kolla_internal_vip_address": "10.0.0.10"}, inventory=inventory)
    assert plan["shared"]["glance_loadbalancer_hosts"] == ["net1"]
    assert plan["targets"] == ["ctl1", "ctl2", "net1"]


def test_loadbalancer_hosts_without_a_vip_are_a_warning():
    inventory = ini("[control]\nctl1\n[haproxy]\nlb1\n")
    plan = convert(inventory=inventory)
    assert plan["shared"]["glance_loadbalancer_hosts"] == ["lb1"]
    assert any("no kolla_internal_vip_address" in w for w in plan["warnings"])


def test_memcached_servers_come_from_the_memcached_group():
    inventory = ini("[control]\nctl1 ansible_host=10.0.0.11\nctl2 ansible_host=10.0.0.12\n"
                    "[memcached:children]\ncontrol\n")
    plan = convert({"memcached_port": 11222}, inventory=inventory)
    assert plan["shared"]["memcached_servers"] == ["10.0.0.11:11222", "10.0.0.12:11222"]
    assert plan["left_out"]["globals.yml"]["memcached_port"] == "used to derive " \
                                                                 "memcached_servers"


def test_memcached_hosts_without_addresses_leave_memcached_servers_to_the_operator():
    inventory = ini("[control]\nctl1\n[memcached:children]\ncontrol\n")
    plan = convert(inventory=inventory)
    assert "memcached_servers" not in plan["shared"]
    assert any("ctl1 in the memcached group has no" in w for w in plan["warnings"])


def test_only_glance_hosts_are_targeted_and_their_own_known_vars_kept_per_host():
    inventory = ini("[control]\nctl1 node_config_directory=/srv/kolla-1 ansible_port=2222\n"
                    "ctl2\n[compute]\ncmp1 glance_api_workers=9\n")
    plan = convert(inventory=inventory)
    assert plan["targets"] == ["ctl1", "ctl2"]
    assert plan["hosts"] == {"ctl1": {"node_config_directory": "/srv/kolla-1"}}
    assert plan["carried"]["inventory"] == {"ctl1": ["node_config_directory"]}
    assert "ctl1:ansible_port" in plan["left_out"]["inventory"]


# ---------------------------------------------------------------- files


def test_rerun_on_the_same_input_writes_byte_identical_files(tmp_path):
    first = import_fixtures(tmp_path)
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    second = import_fixtures(tmp_path)
    assert set(first["files"].values()) == {"written"}
    assert set(second["files"].values()) == {"unchanged"}
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == snapshot
    assert first["carried"] == second["carried"]


def test_the_secrets_file_is_0600_and_the_only_one_with_passwords(tmp_path):
    import_fixtures(tmp_path)
    passwords = yaml.safe_load((FIXTURES / "passwords.yml").read_text())
    secrets = tmp_path / "glance_kolla/secrets.sls"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    pillar = yaml.safe_load(secrets.read_text())["glance"]
    assert pillar["glance_database_password"] == passwords["glance_database_password"]
    assert pillar["memcache_secret_key"] == passwords["memcache_secret_key"]
    for path in tmp_path.rglob("*.sls"):
        if path != secrets:
            text = path.read_text()
            assert not [k for k, v in passwords.items() if isinstance(v, str) and v in text]
    # passwords of other services are named in the secrets file, never their values
    assert "nova_database_password" in secrets.read_text()
    assert passwords["nova_database_password"] not in secrets.read_text()


def test_a_secrets_file_loosened_by_hand_is_set_back_to_0600(tmp_path):
    import_fixtures(tmp_path)
    secrets = tmp_path / "glance_kolla/secrets.sls"
    os.chmod(secrets, 0o644)
    assert import_fixtures(tmp_path)["files"][str(secrets)] == "written"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


def test_written_files_hold_the_planned_pillar_and_top(tmp_path):
    summary = import_fixtures(tmp_path)
    shared = yaml.safe_load((tmp_path / "glance_kolla/init.sls").read_text())["glance"]
    assert shared["glance_api_hosts"] == [
        {"id": "control01", "address": "10.10.10.11"},
        {"id": "control02", "address": "10.10.10.12"},
        {"id": "control03", "address": "10.10.10.13"}]
    assert shared["glance_loadbalancer_hosts"] == ["network01"]
    assert shared["glance_file_datadir_volume"] == "/mnt/glance-nfs"
    assert shared["glance_api_dimensions"]["ulimits"] == {"nofile": {"soft": 65536,
                                                                     "hard": 65536}}
    assert shared["memcached_servers"] == [f"10.10.10.1{n}:11211" for n in (1, 2, 3)]
    top = yaml.safe_load((tmp_path / "top.sls").read_text())
    assert top == {"base": {"control01,control02,control03,network01": [
        {"match": "list"}, "glance_kolla", "glance_kolla.secrets"]}}
    assert summary["glance_api_hosts"] == CONTROL


def test_every_key_left_out_is_named_in_a_written_file(tmp_path):
    summary = import_fixtures(tmp_path)
    shared = (tmp_path / "glance_kolla/init.sls").read_text()
    secrets = (tmp_path / "glance_kolla/secrets.sls").read_text()
    assert summary["left_out"]["globals.yml"]
    for key in summary["left_out"]["globals.yml"]:
        assert f" {key}" in shared, key
    for key in summary["left_out"]["inventory"]:
        assert f"inventory {key}" in shared, key
    for key in summary["left_out"]["passwords.yml"]:
        assert f" {key}" in secrets, key


def test_generated_files_are_plain_yaml_for_salt_not_jinja(tmp_path):
    import_fixtures(tmp_path)
    for path in tmp_path.rglob("*.sls"):
        assert path.read_text().startswith("#!yaml\n" + runner.MARKER), path


def test_the_yaml_inventory_writes_the_same_pillar_as_the_ini_one(tmp_path):
    import_fixtures(tmp_path / "ini", "multinode")
    import_fixtures(tmp_path / "yaml", "multinode.yml")
    for rel in ("top.sls", "glance_kolla/init.sls", "glance_kolla/secrets.sls"):
        assert yaml.safe_load((tmp_path / "ini" / rel).read_text()) == \
            yaml.safe_load((tmp_path / "yaml" / rel).read_text()), rel


def test_refuses_to_overwrite_a_top_sls_it_did_not_write(tmp_path):
    (tmp_path / "top.sls").write_text("base:\n  '*':\n    - mine\n")
    with pytest.raises(runner.KollaImportError, match=f"{tmp_path}/top.sls exists and was "
                                                      "not written by glance.import_kolla"):
        import_fixtures(tmp_path)
    assert (tmp_path / "top.sls").read_text() == "base:\n  '*':\n    - mine\n"
    assert not (tmp_path / "glance_kolla").exists()


def test_host_files_of_hosts_gone_from_the_inventory_are_removed(tmp_path):
    paths = {}
    for name, inventory in (("before", "[control]\nctl1 node_config_directory=/a\n"
                                       "ctl2 node_config_directory=/b\n"),
                            ("after", "[control]\nctl1 node_config_directory=/a\n")):
        paths[name] = tmp_path / f"{name}.ini"
        paths[name].write_text(inventory)
    for name in ("globals", "passwords"):
        (tmp_path / f"{name}.yml").write_text("{}\n")
    run = [str(tmp_path / "globals.yml"), str(tmp_path / "passwords.yml")]
    out = tmp_path / "pillar"
    runner.run_import(*run, str(paths["before"]), str(out), KNOWN)
    assert (out / "glance_kolla/host_ctl2.sls").exists()
    summary = runner.run_import(*run, str(paths["after"]), str(out), KNOWN)
    assert summary["files"][str(out / "glance_kolla/host_ctl2.sls")] == "removed"
    assert not (out / "glance_kolla/host_ctl2.sls").exists()
    top = yaml.safe_load((out / "top.sls").read_text())["base"]
    assert top["ctl1"] == ["glance_kolla.host_ctl1"] and "ctl2" not in top


@pytest.mark.parametrize("name,text,message", [
    ("globals", "kolla_internal_vip_address: [\n", "globals.yml: line 2, column 1 is not "
                                                   "valid YAML"),
    ("globals", "- a\n- b\n", "globals.yml is not a mapping of kolla variables (it holds "
                              "a list)"),
    ("passwords", "glance_database_password: x\n\tbad: tab\n", "passwords.yml: line 2"),
    ("globals", "1: one\n", "globals.yml: key 1 is not a variable name"),
])
def test_malformed_input_names_the_file_and_where(tmp_path, name, text, message):
    files = {"globals": "openstack_release: '2025.1'\n", "passwords": "{}\n"}
    files[name] = text
    for key, body in files.items():
        (tmp_path / f"{key}.yml").write_text(body)
    with pytest.raises(runner.KollaImportError) as err:
        runner.run_import(str(tmp_path / "globals.yml"), str(tmp_path / "passwords.yml"),
                          str(FIXTURES / "multinode"), str(tmp_path / "out"), KNOWN)
    assert str(tmp_path / f"{name}.yml") + message.split(name + ".yml", 1)[1] in \
        str(err.value)


def test_an_unreadable_file_and_a_missing_argument_are_named(tmp_path):
    with pytest.raises(runner.KollaImportError,
                       match=f"passwords.yml {tmp_path}/none.yml cannot be read"):
        runner.run_import(str(FIXTURES / "globals.yml"), str(tmp_path / "none.yml"),
                          str(FIXTURES / "multinode"), str(tmp_path), KNOWN)
    with pytest.raises(runner.KollaImportError, match="inventory= is missing"):
        runner.run_import(str(FIXTURES / "globals.yml"), str(FIXTURES / "passwords.yml"),
                          None, str(tmp_path), KNOWN)


def test_formula_defaults_are_found_in_the_file_roots(tmp_path):
    known = runner.formula_defaults({"file_roots": {"base": [str(tmp_path), str(REPO)]}})
    assert known == DEFAULTS
    with pytest.raises(runner.KollaImportError, match="defaults=<path to defaults.yaml>"):
        runner.formula_defaults({"file_roots": {"base": [str(tmp_path)]}})


def test_globals_win_over_inventory_vars_as_kollas_extra_vars_do():
    inventory = ini("[control]\nctl1 glance_api_workers=9 node_config_directory=/srv/k\n")
    plan = convert({"glance_api_workers": 3}, inventory=inventory)
    assert plan["shared"]["glance_api_workers"] == 3
    assert plan["hosts"] == {"ctl1": {"node_config_directory": "/srv/k"}}
    assert "globals.yml sets it" in plan["left_out"]["inventory"]["ctl1:glance_api_workers"]


def test_the_top_lists_the_shared_pillar_before_the_per_host_files(tmp_path):
    inventory = tmp_path / "multinode"
    inventory.write_text((FIXTURES / "multinode").read_text().replace(
        "control02 ansible_host=10.10.10.12",
        "control02 ansible_host=10.10.10.12 glance_api_workers=7"))
    runner.run_import(str(FIXTURES / "globals.yml"), str(FIXTURES / "passwords.yml"),
                      str(inventory), str(tmp_path / "out"), KNOWN)
    top = (tmp_path / "out/top.sls").read_text()
    assert top.index("control01,control02,control03,network01:") < top.index("  control02:")
    host = yaml.safe_load((tmp_path / "out/glance_kolla/host_control02.sls").read_text())
    assert host == {"glance": {"glance_api_workers": "7"}}


def test_references_inside_lists_and_mappings_resolve_too():
    plan = convert({"node_config": "/etc/kolla",
                    "glance_extra_volumes": ["{{ node_config }}/certs:/etc/glance/certs:ro"],
                    "glance_api_dimensions": {"mem_limit": "{{ glance_mem }}"}})
    assert plan["shared"]["glance_extra_volumes"] == ["/etc/kolla/certs:/etc/glance/certs:ro"]
    assert "glance_api_dimensions" not in plan["shared"]
    assert "cannot evaluate" in plan["left_out"]["globals.yml"]["glance_api_dimensions"]


def test_a_bad_host_range_in_a_yaml_inventory_names_its_group():
    with pytest.raises(runner.KollaImportError,
                       match=r"multinode.yml: group 'control': host range 'ctl\[3:1\]' is "
                             "empty"):
        runner.parse_inventory("all:\n  children:\n    control:\n      hosts:\n"
                               "        ctl[3:1]:\n", "multinode.yml")


def test_api_hosts_set_in_globals_win_over_the_inventory():
    plan = convert({"glance_api_hosts": ["ctl9"]})
    assert plan["shared"]["glance_api_hosts"] == ["ctl9"]
    assert any("glance_api_hosts comes from globals.yml" in w for w in plan["warnings"])


def test_a_password_left_out_of_globals_can_still_come_from_passwords_yml():
    plan = convert({"database_password": None}, {"database_password": "root-pw"})
    assert plan["secrets"]["database_password"] == "root-pw"
