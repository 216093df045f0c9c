"""glance_config's plain functions, without Salt."""

import json
import pathlib

import pytest
import yaml

import glance_config as gc

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())
BASE = {"api_interface_address": "127.0.1.1", "glance_database_password": "pw",
        "enable_keystone": "no", "openstack_release": "2022.2"}


def settings(files=None, minion="node1", **pillar):
    files = files or {}
    return gc.settings(DEFAULTS, dict(BASE, **pillar), minion, grains={"num_cpus": 8},
                       read_file=files.get)


@pytest.mark.parametrize("value", ["yes", "Yes", "true", "TRUE", "on", "1", True, 1])
def test_truthy_words_are_true(value):
    assert gc.to_bool(value, "k") is True


@pytest.mark.parametrize("value", ["no", "No", "false", "off", "0", "", False, 0])
def test_falsy_words_are_false(value):
    assert gc.to_bool(value, "k") is False


@pytest.mark.parametrize("value", ["maybe", 2, None, [], "yess"])
def test_other_values_name_the_key(value):
    with pytest.raises(gc.PillarError, match="glance:enable_x is"):
        gc.to_bool(value, "enable_x")


def test_file_is_on_only_when_no_other_store_is():
    assert settings()["stores"] == ["file"]
    assert settings(glance_backend_s3="yes", s3_url="http://h:1", s3_access_key="a",
                    s3_secret_key="b", s3_glance_bucket="c")["stores"] == ["s3"]


def test_store_priority_vmware_ceph_swift_s3_file():
    flags = dict(DEFAULTS, glance_backend_file=True, glance_backend_ceph=True,
                 glance_backend_swift=True, glance_backend_s3=True,
                 glance_backend_vmware=True)
    assert gc.enabled_stores(flags) == ["vmware", "rbd", "swift", "s3", "file"]


def test_ceph_alias_is_accepted_as_default_backend():
    errors = []
    assert gc.default_store(["rbd", "file"], "ceph", errors) == "rbd" and not errors


def test_enable_swift_turns_the_swift_backend_on_unless_overridden():
    flags = dict(DEFAULTS, enable_swift=True, glance_backend_swift=None,
                 glance_backend_ceph=None, glance_backend_file=None)
    assert gc.enabled_stores(flags) == ["swift"]
    flags["glance_backend_swift"] = False
    assert gc.enabled_stores(flags) == ["file"]


def test_glance_major_follows_the_release_train():
    assert [gc.glance_major(r) for r in ("2022.2", "2023.1", "2025.1", "2026.2")] == \
        [25, 26, 30, 33]


@pytest.mark.parametrize("release, server", [
    ("2022.2", "eventlet"), ("2025.1", "eventlet"), ("2025.2", "eventlet"),
    ("2026.1", "uwsgi"), ("2026.2", "uwsgi"),
])
def test_auto_server_is_what_kolla_ansible_of_the_release_runs(release, server):
    assert settings(openstack_release=release)["server"] == server


def test_eventlet_is_refused_on_33_and_uwsgi_before_the_wsgi_module():
    errors = settings(openstack_release="2026.2", glance_api_server="eventlet")["errors"]
    assert any("has no standalone server" in e for e in errors)
    errors = settings(openstack_release="2022.2", glance_api_server="uwsgi")["errors"]
    assert any("no glance.wsgi.api module" in e for e in errors)
    assert settings(openstack_release="2025.1", glance_api_server="uwsgi")["errors"] == []


def test_uwsgi_ini_loads_glance_as_a_module_with_kollas_settings():
    s = settings(openstack_release="2026.2", glance_api_workers=3)
    ini = gc.ini_loads(s["files"]["glance-api-uwsgi.ini"]["contents"])["uwsgi"]
    assert ini["module"] == "glance.wsgi.api:application"
    assert "wsgi-file" not in ini
    assert ini["http-socket"] == "127.0.1.1:9292"
    assert ini["processes"] == "3"
    assert ini["chunked-input-limit"] == str(64 * 1024 * 1024)
    assert ini["http-chunked-input"] == "True" and ini["lazy-apps"] == "True"
    assert ini["logto2"] == "/var/log/kolla/glance/glance-api-uwsgi.log"
    command = json.loads(s["files"]["config.json"]["contents"])["command"]
    assert command == "uwsgi /etc/glance/glance-api-uwsgi.ini"


KEYSTONE = {"enable_keystone": "yes", "keystone_internal_url": "http://127.0.0.5:5000",
            "glance_keystone_password": "ks-secret-pw"}


def test_memcache_secret_key_is_its_own_secret():
    s = settings(memcached_servers=["127.0.0.5:11211"], memcache_secret_key="mc-key",
                 **KEYSTONE)
    auth = gc.ini_loads(s["files"]["glance-api.conf"]["contents"])["keystone_authtoken"]
    assert auth["memcache_secret_key"] == "mc-key"
    assert auth["password"] == "ks-secret-pw"
    errors = settings(memcached_servers=["127.0.0.5:11211"], **KEYSTONE)["errors"]
    assert any(e.startswith("glance:memcache_secret_key is empty") for e in errors)


def test_a_job_return_masks_every_secret_and_file():
    s = settings(memcached_servers=["127.0.0.5:11211"], memcache_secret_key="mc-key",
                 glance_database_password="db-secret-pw", **KEYSTONE)
    raw = json.dumps(s)
    assert "ks-secret-pw" in raw and "db-secret-pw" in raw and "mc-key" in raw
    out = json.dumps(gc.for_output(s))
    for secret in ("ks-secret-pw", "db-secret-pw", "mc-key"):
        assert secret not in out
    assert set(json.loads(out)["files"]) == set(s["files"])


def test_settings_called_as_a_job_is_masked_and_called_from_jinja_is_not():
    pillar = dict(BASE, glance_database_password="db-secret-pw")
    direct = gc.settings(DEFAULTS, pillar, "node1")
    as_job = gc.settings(DEFAULTS, pillar, "node1", __pub_fun="glance_config.settings",
                         __pub_jid="1")
    assert direct["database"]["password"] == "db-secret-pw"
    assert as_job["database"]["password"] == "********"


def test_the_loader_exposes_only_the_entry_points():
    assert sorted(gc.__all__) == ["current", "ini_loads", "render", "settings", "show",
                                  "url_host"]


def test_merge_ini_later_layers_win_and_keys_never_repeat():
    merged = gc.merge_ini({"DEFAULT": {"a": 1, "b": 2}}, {"DEFAULT": {"b": 3}, "x": {"c": 4}},
                          {"DEFAULT": {"a": 5}})
    assert merged == {"DEFAULT": {"a": 5, "b": 3}, "x": {"c": 4}}


def test_override_paths_are_kollas_order():
    assert gc.override_paths("/c", "n1", "glance-api.conf") == [
        "/c/global.conf", "/c/glance.conf", "/c/glance/glance-api.conf",
        "/c/glance/n1/glance-api.conf"]
    assert gc.override_paths("/c", "n1", "glance-swift.conf")[0] == "/c/glance-swift.conf"


def test_ini_round_trip_keeps_default_first():
    text = gc.ini_dumps({"b": {"k": True}, "DEFAULT": {"x": [1, 2]}})
    assert text.startswith("[DEFAULT]\nx = 1, 2\n")
    assert gc.ini_loads(text) == {"DEFAULT": {"x": "1, 2"}, "b": {"k": "True"}}


def test_closest_key_suggests_a_typo_fix():
    assert gc.closest_key("glance_cache_maxsize", DEFAULTS) == "glance_cache_max_size"
    assert gc.closest_key("zzzz", DEFAULTS) is None


@pytest.mark.parametrize("text,fragment", [
    ("[.*]\ncreate = @\nread = @\nupdate = @\n", "lacks delete"),
    ("[.*]\ncreate = @,!\nread = @\nupdate = @\ndelete = @\n", "mixes '@'"),
    ("", "has no rules"),
])
def test_property_rule_errors(text, fragment):
    assert any(fragment in e for e in gc.property_rule_errors(text, "roles", "f"))


def test_valid_property_rules_have_no_errors():
    text = "[^os_glance.*]\ncreate = @\nread = @\nupdate = @\ndelete = @\n"
    assert gc.property_rule_errors(text, "roles", "f") == []


def test_default_volume_pins_the_api_to_the_first_host():
    hosts = [{"id": "a", "address": "127.0.1.1"}, {"id": "b", "address": "127.0.1.2"}]
    first, second = settings(minion="a", glance_api_hosts=hosts), settings(
        minion="b", glance_api_hosts=hosts)
    assert first["am_i_api_host"] and not second["am_i_api_host"]
    assert [h["id"] for h in second["api_hosts"]] == ["a"]
    assert "glance-api runs only on a" in second["notes"][0]
    shared = settings(minion="b", glance_api_hosts=hosts, glance_file_datadir_volume="/nfs")
    assert shared["am_i_api_host"] and shared["api_address"] == "127.0.1.2"
    assert first["shared_storage"] is False and shared["shared_storage"] is True


def test_config_hash_changes_with_any_rendered_file():
    plain, cached = settings(), settings(enable_glance_image_cache="yes")
    assert plain["config_hash"] != cached["config_hash"]
    assert settings()["config_hash"] == plain["config_hash"]
    assert plain["services"]["glance-api"]["labels"] == {gc.HASH_LABEL: plain["config_hash"]}


def test_cache_gets_a_node_local_volume_even_with_a_shared_datadir():
    volumes = settings(enable_glance_image_cache="yes", glance_file_datadir_volume="/nfs")[
        "services"]["glance-api"]["volumes"]
    assert "/nfs:/var/lib/glance/" in volumes
    assert "glance_image_cache:/var/lib/glance/image-cache/" in volumes


def test_healthcheck_is_in_nanoseconds():
    check = settings()["services"]["glance-api"]["healthcheck"]
    assert check["interval"] == 30 * 10**9 and check["start_period"] == 5 * 10**9
    assert check["test"] == ["CMD-SHELL", "healthcheck_curl http://127.0.1.1:9292/healthcheck"]


def test_masked_hides_every_secret():
    shown = gc.masked({"database": {"password": "x", "host": "h"},
                       "s3": {"secret_key": "y", "access_key": "z", "bucket": "b"}})
    assert shown == {"database": {"password": "********", "host": "h"},
                     "s3": {"secret_key": "********", "access_key": "********", "bucket": "b"}}


def test_errors_leave_no_files_to_write():
    result = settings(glance_backend_file="no")
    assert result["errors"] and result["files"] == {}


def test_database_password_is_url_quoted():
    conf = gc.ini_loads(settings(glance_database_password="p@ss/word")["files"][
        "glance-api.conf"]["contents"])
    assert conf["database"]["connection"].startswith("mysql+pymysql://glance:p%40ss%2Fword@")


def test_s3_endpoint_for_salts_s3_client():
    import glance_store

    assert glance_store.s3_endpoint("http://127.0.0.1:9000") == ("127.0.0.1:9000", False, True)
    assert glance_store.s3_endpoint("https://s3.example:443", "virtual") == (
        "s3.example:443", True, False)


@pytest.mark.parametrize("message,status", [
    ("Failed s3 operation. NoSuchBucket: The specified bucket does not exist", "ok"),
    ("Failed s3 operation. SignatureDoesNotMatch: ...", "credentials"),
    ("Failed s3 operation. InvalidAccessKeyId: ...", "credentials"),
    ("Connection refused", "unreachable"),
])
def test_s3_errors_are_classified(message, status):
    import glance_store

    assert glance_store.classify_s3_error(message) == status


def test_render_works_out_the_settings_once_per_run(monkeypatch):
    """Every sls of a run imports map.jinja: the second import reuses the first's
    settings, a different pillar does not, and a caller's changes do not leak."""
    calls, original = [], gc.settings

    def counting(*args, **kwargs):
        calls.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(gc, "settings", counting)
    monkeypatch.setattr(gc, "__context__", {}, raising=False)
    monkeypatch.setattr(gc, "__grains__", {"id": "node1", "num_cpus": 8}, raising=False)
    first = gc.render(DEFAULTS, dict(BASE))
    first["listen_port"] = 1
    second = gc.render(DEFAULTS, dict(BASE))
    assert calls == ["node1"] and second["listen_port"] == 9292
    other = gc.render(DEFAULTS, dict(BASE, glance_api_listen_port=9393))
    assert calls == ["node1", "node1"] and other["listen_port"] == 9393
