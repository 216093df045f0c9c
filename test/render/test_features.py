"""Cache, property protection, import, keystone, releases, overrides, host placement."""

import pytest

RULES = """\
[^os_glance.*]
create = @
read = @
update = @
delete = @

[^x_owner_.*]
create = admin,member
read = admin,member
update = admin
delete = admin
"""


@pytest.mark.parametrize("value,expected", [
    ("yes", True), ("no", False), ("true", True), ("False", False),
    (True, True), (False, False), ("on", True), ("0", False),
])
def test_yes_no_strings_and_booleans_mean_what_they_say(minion, value, expected):
    run = minion.apply(enable_glance_image_cache=value)
    assert run.returncode == 0, run.stdout
    assert ("glance-cache.conf" in run.files()) is expected
    assert ("image_cache_dir" in run.ini("glance-api.conf")["DEFAULT"]) is expected


def test_cache_renders_cache_conf_flavor_and_max_size(minion):
    run = minion.apply(enable_glance_image_cache="yes", glance_cache_max_size="8388608")
    assert run.returncode == 0, run.stdout
    api = run.ini("glance-api.conf")
    assert api["DEFAULT"]["image_cache_dir"] == "/var/lib/glance/image-cache"
    assert api["DEFAULT"]["image_cache_max_size"] == "8388608"
    assert api["paste_deploy"]["flavor"] == "cachemanagement"
    cache = run.ini("glance-cache.conf")["DEFAULT"]
    assert cache["image_cache_max_size"] == "8388608"
    assert cache["image_cache_dir"] == "/var/lib/glance/image-cache"
    assert cache["filesystem_store_datadir"] == "/var/lib/glance/images/"
    assert cache["worker_self_reference_url"] == "http://127.0.1.1:9292"
    assert "/etc/glance/glance-cache.conf" in run.dests()


def test_cache_with_keystone_uses_keystone_cachemanagement_flavor(minion):
    run = minion.apply(enable_glance_image_cache="yes", enable_keystone="yes",
                       keystone_internal_url="http://127.0.0.5:5000",
                       keystone_public_url="http://127.0.0.6:5000",
                       glance_keystone_password="ks-pw", glance_keystone_register="no")
    assert run.returncode == 0, run.stdout
    api = run.ini("glance-api.conf")
    assert api["paste_deploy"]["flavor"] == "keystone+cachemanagement"
    auth = api["keystone_authtoken"]
    assert auth["auth_url"] == "http://127.0.0.5:5000"
    assert auth["www_authenticate_uri"] == "http://127.0.0.6:5000"
    assert auth["password"] == "ks-pw"
    assert "oslo_policy" not in api
    assert "policy.yaml" not in run.files()


def test_cache_with_ceph_is_a_warning_not_an_error(minion):
    minion.write_custom("glance/ceph.conf", "[global]\n")
    minion.write_custom("glance/ceph.client.glance.keyring", "[client.glance]\n")
    run = minion.apply(enable_glance_image_cache="yes", glance_backend_ceph="yes")
    assert run.returncode == 0, run.stdout
    assert "nova copies images straight from ceph" in run.comments()


@pytest.mark.parametrize("rule_format", ["roles", "policies"])
def test_property_protection_copies_rules_and_sets_format(minion, rule_format):
    rules = RULES if rule_format == "roles" else RULES.replace("admin,member", "admin")
    minion.write_custom("glance/property-protections-rules.conf", rules)
    run = minion.apply(glance_enable_property_protection="yes",
                       property_protection_rule_format=rule_format)
    assert run.returncode == 0, run.stdout
    default = run.ini("glance-api.conf")["DEFAULT"]
    assert default["property_protection_file"] == "/etc/glance/property-protections-rules.conf"
    assert default["property_protection_rule_format"] == rule_format
    assert (run.service_dir / "property-protections-rules.conf").read_text() == rules
    assert "/etc/glance/property-protections-rules.conf" in run.dests()


def test_import_conf_is_copied_and_passed_to_eventlet_glance_api(minion):
    text = "[image_import_opts]\nimage_import_plugins = ['image_conversion']\n"
    minion.write_custom("glance/glance-image-import.conf", text)
    run = minion.apply(glance_enable_interoperable_image_import="yes")
    assert run.returncode == 0, run.stdout
    assert (run.service_dir / "glance-image-import.conf").read_text() == text
    # the paste file is looked up beside the last --config-file: glance-api.conf
    assert run.config_json()["command"] == (
        "glance-api --config-file /etc/glance/glance-image-import.conf "
        "--config-file /etc/glance/glance-api.conf")


@pytest.mark.parametrize("pillar", [{"openstack_release": "2026.2"},
                                    {"openstack_release": "2025.1", "glance_api_server": "uwsgi"}])
def test_uwsgi_gets_kollas_ini_with_the_wsgi_module(minion, pillar):
    minion.write_custom("glance/glance-image-import.conf", "[image_import_opts]\n")
    run = minion.apply(glance_enable_interoperable_image_import="yes", **pillar)
    assert run.returncode == 0, run.stdout
    assert run.config_json()["command"] == "uwsgi /etc/glance/glance-api-uwsgi.ini"
    uwsgi = run.ini("glance-api-uwsgi.ini")["uwsgi"]
    assert uwsgi["http-socket"] == "127.0.1.1:9292"
    assert uwsgi["module"] == "glance.wsgi.api:application"
    assert "wsgi-file" not in uwsgi
    assert uwsgi["processes"] == "4"
    assert "/etc/glance/glance-image-import.conf" in run.dests()


def test_workers_and_port_come_from_pillar(minion):
    run = minion.apply(glance_api_workers=3, glance_api_port=19292)
    assert run.returncode == 0, run.stdout
    default = run.ini("glance-api.conf")["DEFAULT"]
    assert default["workers"] == "3"
    assert default["bind_port"] == "19292"
    assert default["worker_self_reference_url"] == "http://127.0.1.1:19292"


def test_operator_overrides_merge_in_kolla_order(minion):
    minion.write_custom("global.conf", "[DEFAULT]\ndebug = True\nworkers = 1\nx_level = global\n")
    minion.write_custom("glance.conf", "[DEFAULT]\nx_level = glance\n[x_section]\na = 1\n")
    minion.write_custom("glance/glance-api.conf", "[DEFAULT]\nx_level = service\n")
    minion.write_custom("glance/node1/glance-api.conf", "[x_section]\na = 2\n")
    minion.write_custom("glance/node2/glance-api.conf", "[x_section]\na = other-host\n")
    run = minion.apply()
    assert run.returncode == 0, run.stdout
    conf = run.ini("glance-api.conf")  # strict parser: a duplicate key would raise
    assert conf["DEFAULT"]["debug"] == "True"
    assert conf["DEFAULT"]["workers"] == "1"
    assert conf["DEFAULT"]["x_level"] == "service"
    assert conf["x_section"]["a"] == "2"


def test_node_custom_config_can_live_on_the_salt_fileserver(minion):
    run = minion.apply(node_custom_config="salt://test/fixtures/kolla-config",
                       glance_enable_property_protection="yes")
    assert run.returncode == 0, run.stdout
    assert "property-protections-rules.conf" in run.files()
    assert run.ini("glance-api.conf")["DEFAULT"]["x_from_fileserver"] == "yes"


def test_default_glance_volume_runs_the_api_on_the_first_host_only(minion_factory):
    hosts = [{"id": "node1", "address": "127.0.1.1"}, {"id": "node2", "address": "127.0.1.2"}]
    first, second = minion_factory("node1"), minion_factory("node2")
    run1 = first.apply(glance_api_hosts=hosts)
    run2 = second.apply(glance_api_hosts=hosts)
    assert run1.returncode == 0 and run2.returncode == 0, run2.stdout
    assert "glance-api.conf" in run1.files()
    assert run2.files() == set()
    assert "glance-api runs only on node1" in run2.comments()


def test_shared_datadir_runs_the_api_on_every_host(minion_factory):
    hosts = [{"id": "node1", "address": "127.0.1.1"}, {"id": "node2", "address": "127.0.1.2"}]
    second = minion_factory("node2")
    run = second.apply(glance_api_hosts=hosts, glance_file_datadir_volume="/srv/shared")
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["bind_host"] == "127.0.1.2"
