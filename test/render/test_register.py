"""Keystone registration through real Salt: where glance.register renders, and the
Keystone precheck stopping the run before anything is written."""

import http.server
import json
import pathlib
import sys
import socket
import subprocess
import threading

import pytest

# every tier shares one pytest run: take nothing from a conftest by name
SALT_CALL = pathlib.Path(sys.executable).parent / "salt-call"
ADMIN_PW = "admin-very-secret"
HOSTS = [{"id": "node1", "address": "127.0.1.1"}, {"id": "node2", "address": "127.0.1.2"}]
REGISTERED = "glance-register-glance_keystone-registered"
PRECHECK = "glance-precheck-glance_keystone-reachable"
REMOVED = "glance-register-clean-glance_keystone-absent"


def free_port(host):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def keystone_pillar(url, **extra):
    pillar = {"enable_keystone": "yes", "keystone_internal_url": url,
              "glance_keystone_password": "glance-very-secret",
              "keystone_admin_password": ADMIN_PW, "glance_api_hosts": HOSTS,
              "glance_file_datadir_volume": "/srv/nfs/glance"}
    pillar.update(extra)
    return pillar


def show_sls(minion, sls, **glance):
    """The rendered states of ``sls`` (state.show_sls: renders, runs nothing)."""
    cmd = [str(SALT_CALL), "--local", "-c", str(minion.conf), "--out", "json",
           "state.show_sls", sls, "pillar=" + json.dumps({"glance": minion.base_pillar(**glance)})]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["local"]


def args(rendered, state_id):
    return {key: value for arg in rendered[state_id]["glance_keystone"]
            if isinstance(arg, dict) for key, value in arg.items()}


def test_register_renders_on_the_database_node_only(minion_factory):
    pillar = keystone_pillar("http://127.0.0.5:5000", kolla_internal_vip_address="127.0.1.10")
    first = show_sls(minion_factory("node1"), "glance.register", **pillar)
    wanted = args(first, REGISTERED)
    assert wanted["endpoints"] == {"internal": "http://127.0.1.10:9292",
                                   "public": "http://127.0.1.10:9292"}
    assert (wanted["name"], wanted["service_type"], wanted["region"]) == (
        "glance", "image", "RegionOne")
    assert (wanted["user"], wanted["project"], wanted["role"]) == ("glance", "service", "admin")
    assert wanted["auth"]["username"] == "admin" and wanted["auth"]["project_name"] == "admin"
    assert {"sls": "glance.service"} in wanted["require"]
    assert PRECHECK in first
    second = show_sls(minion_factory("node2"), "glance.register", **pillar)
    assert REGISTERED not in second and PRECHECK not in second


def test_register_does_not_render_without_keystone_or_with_registration_off(minion):
    off = show_sls(minion, "glance.register", **keystone_pillar(
        "http://127.0.0.5:5000", enable_keystone="no"))
    assert REGISTERED not in off and PRECHECK not in off
    manual = show_sls(minion, "glance.register", **keystone_pillar(
        "http://127.0.0.5:5000", glance_keystone_register=False, keystone_admin_password=""))
    assert REGISTERED not in manual and PRECHECK not in manual


def test_clean_removes_the_registration_only_with_remove_data(minion_factory):
    first, second = minion_factory("node1"), minion_factory("node2")
    pillar = keystone_pillar("http://127.0.0.5:5000")
    assert REMOVED not in show_sls(first, "glance.clean", **pillar)
    pillar["glance_clean_remove_data"] = "yes"
    assert REMOVED in show_sls(first, "glance.clean", **pillar)
    assert REMOVED not in show_sls(second, "glance.clean", **pillar)


@pytest.mark.parametrize("test_mode", [False, True])
def test_unreachable_keystone_stops_the_run_before_anything_is_written(minion, test_mode):
    url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    run = minion.apply("glance.config", test=test_mode, **keystone_pillar(url))
    assert run.returncode != 0
    check = run.states[next(k for k in run.states if PRECHECK in k)]
    assert check["result"] is False
    assert f"Keystone at {url} cannot be reached" in check["comment"]
    assert f"check glance:keystone_internal_url ({url})" in check["comment"]
    assert not minion.service_dir.exists()
    assert ADMIN_PW not in run.stdout and "glance-very-secret" not in run.stdout


def test_missing_admin_password_is_listed_with_the_other_errors(minion):
    run = minion.apply(**keystone_pillar("http://127.0.0.5:5000", keystone_admin_password="",
                                         glance_cache_max_size="10G"))
    assert run.returncode != 0
    comments = run.comments()
    assert "ERROR: glance:keystone_admin_password is empty but enable_keystone is on" in comments
    assert "ERROR: glance:glance_cache_max_size is '10G'" in comments
    assert not minion.service_dir.exists()


def test_non_database_nodes_do_not_ask_keystone(minion_factory):
    minion = minion_factory("node2")
    url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    run = minion.apply(**keystone_pillar(url, keystone_admin_password=""))
    assert run.returncode == 0, run.stdout
    assert not [k for k in run.states if PRECHECK in k]


class RefusingKeystone(http.server.BaseHTTPRequestHandler):
    """Keystone's version document, and 401 for every login."""

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 — http.server's name
        base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        self.reply(200, {"versions": {"values": [{
            "id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}]}})

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply(401, {"error": {"code": 401, "title": "Unauthorized",
                                   "message": "The request you have made requires "
                                              "authentication."}})


@pytest.fixture
def refusing_keystone():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingKeystone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_wrong_admin_password_stops_the_run_naming_it(minion, refusing_keystone):
    run = minion.apply("glance.config", **keystone_pillar(refusing_keystone))
    assert run.returncode != 0
    check = run.states[next(k for k in run.states if PRECHECK in k)]
    assert "(HTTP 401) — fix glance:keystone_admin_password" in check["comment"]
    assert not minion.service_dir.exists()
    assert ADMIN_PW not in run.stdout
