"""The test harness itself, against real daemons (no mocks).

Ports/names differ from the defaults (registry 5055, MariaDB 3316, moto 9055, HAProxy
127.0.1.200:19292, dockerds ht1/ht2 with data roots under tmp_path) so these tests do
not collide with daemons other developers run at the defaults.
"""
from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # test/ -> import harness

from harness import loopback  # noqa: E402
from harness.daemons import (  # noqa: E402
    DaemonError, Dockerd, Haproxy, MariaDB, Moto, Registry, pid_alive, proc_cmdline)
from harness.wait import port_open, wait_for, wait_http, wait_port  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture
def run_dir():
    """A short private run dir (unix socket paths must stay < 108 chars)."""
    path = Path(tempfile.mkdtemp(prefix="gfht", dir="/run"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def gone(pid: int) -> bool:
    return not pid_alive(pid)


# ----------------------------------------------------------------------------- loopback
def test_loopback_addresses_bind():
    assert loopback.host_address(1) == "127.0.1.1"
    assert loopback.hosts(2) == {"node1": "127.0.1.1", "node2": "127.0.1.2"}
    with pytest.raises(ValueError):
        loopback.host_address(0)
    socks = []
    try:
        for n in (1, 2):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((loopback.host_address(n), 0))
            s.listen()
            socks.append(s)
        for s in socks:
            host, port = s.getsockname()
            assert loopback.is_loopback(host)
            assert port_open(host, port)
    finally:
        for s in socks:
            s.close()


def test_wait_for_timeout_names_what():
    with pytest.raises(TimeoutError, match="the moon"):
        wait_for(lambda: False, timeout=0.3, interval=0.05, what="the moon")
    assert wait_for(lambda: 42, timeout=1) == 42


# ----------------------------------------------------------------------------- dockerd
def test_two_dockerds_side_by_side(run_dir, tmp_path):
    d1 = Dockerd("ht1", run_dir, tmp_path / "docker-ht1")
    d2 = Dockerd("ht2", run_dir, tmp_path / "docker-ht2")
    try:
        d1.start()
        d2.start()
        assert d1.url == f"unix://{run_dir}/ht1/docker.sock"
        assert d1.pid != d2.pid
        ids = set()
        for d in (d1, d2):
            res = subprocess.run(["docker", "-H", d.url, "info", "--format",
                                  "{{.ID}} {{.DockerRootDir}}"],
                                 capture_output=True, text=True, check=True, timeout=30)
            ident, root = res.stdout.split()
            ids.add(ident)
            assert root == str(d.data_root)
            assert d.remove_all_containers() == []
        assert len(ids) == 2, "each socket must reach its own daemon"
        # containers made in ht1 exist only there, and remove_all_containers clears them
        subprocess.run(f"tar cf - --files-from /dev/null | docker -H {d1.url} import - "
                       "gf-empty:1", shell=True, check=True, capture_output=True)
        cid = d1.docker("create", "--network", "host", "--name", "gf_c1", "gf-empty:1",
                        "/bin/true").stdout.strip()
        assert d1.docker("ps", "-aq", "--no-trunc").stdout.split() == [cid]
        assert d2.docker("ps", "-aq").stdout.split() == []
        assert d1.remove_all_containers() == [cid[:12]]
        assert d1.docker("ps", "-aq").stdout.split() == []
    finally:
        pids = [d.pid for d in (d1, d2) if d.pid]
        d1.stop()
        d2.stop()
        d1.stop()  # idempotent
    assert pids and all(gone(pid) for pid in pids)
    # the containerd each dockerd started is gone too
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                 and any(str(run_dir) in part for part in proc_cmdline(int(p.name)))]
    assert leftovers == []


# ----------------------------------------------------------------------------- registry
def test_registry_answers_v2(run_dir, tmp_path):
    with Registry(tmp_path / "registry", "127.0.0.1:5055", run_dir=run_dir / "reg") as reg:
        pid = reg.pid
        assert wait_http("http://127.0.0.1:5055/v2/", 200, timeout=5) == 200
        assert reg.catalog() == []
        assert (run_dir / "reg" / "harness.pid").read_text().strip() == str(pid)
    assert gone(pid)
    assert not port_open("127.0.0.1", 5055)
    assert not (run_dir / "reg" / "harness.pid").exists()


def test_start_failure_raises_with_log_tail(run_dir, tmp_path):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 5056))
    blocker.listen()
    try:
        reg = Registry(tmp_path / "registry", "127.0.0.1:5056", run_dir=run_dir / "reg")
        with pytest.raises(DaemonError, match="address already in use"):
            reg.start()
        assert reg.pid is None
    finally:
        blocker.close()


# ----------------------------------------------------------------------------- mariadb
def test_mariadb_root_tcp_login(run_dir):
    import pymysql
    with MariaDB(run_dir, host="127.0.0.1", port=3316, root_password="s3cret") as db:
        pid = db.pid
        conn = pymysql.connect(host="127.0.0.1", port=3316, user="root", password="s3cret")
        with conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@server_id")
            assert cur.fetchone() == (1, 1)
            cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User=''")
            assert cur.fetchone() == (0,)
        conn.close()
        for wrong in ("nope", ""):
            with pytest.raises(pymysql.err.OperationalError) as exc:
                pymysql.connect(host="127.0.0.1", port=3316, user="root", password=wrong)
            assert exc.value.args[0] == 1045  # access denied
        # a user made for '%' is not shadowed by an anonymous localhost account
        db.execute("CREATE USER 'glance'@'%' IDENTIFIED BY 'gpw'")
        db.connect("glance", "gpw").close()
    assert gone(pid)
    assert not port_open("127.0.0.1", 3316)


# ----------------------------------------------------------------------------- moto
def test_moto_s3_roundtrip(run_dir):
    import boto3
    with Moto("127.0.0.1", 9055, run_dir=run_dir / "moto") as moto:
        pid = moto.pid
        s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9055",
                          aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")
        s3.create_bucket(Bucket="glance")
        s3.put_object(Bucket="glance", Key="img", Body=b"x" * 1000)
        assert s3.get_object(Bucket="glance", Key="img")["Body"].read() == b"x" * 1000
        moto.reset()
        assert s3.list_buckets()["Buckets"] == []
    assert gone(pid)


def test_stale_pidfile_of_ours_is_stopped_by_pid(run_dir):
    first = Moto("127.0.0.1", 9055, run_dir=run_dir / "moto").start()
    try:
        # a second harness with the same dirs finds first's pidfile, checks the
        # cmdline and stops it by pid before starting its own
        with Moto("127.0.0.1", 9055, run_dir=run_dir / "moto") as second:
            assert gone(first.pid)
            assert second.pid != first.pid
            assert (run_dir / "moto" / "harness.pid").read_text().strip() == str(second.pid)
    finally:
        first.stop()


def test_stale_pidfile_of_other_process_is_left_alone(run_dir):
    other = subprocess.Popen(["sleep", "60"])
    try:
        (run_dir / "moto").mkdir()
        (run_dir / "moto" / "harness.pid").write_text(f"{other.pid}\n")
        with Moto("127.0.0.1", 9055, run_dir=run_dir / "moto") as moto:
            assert moto.pid != other.pid
            assert other.poll() is None, "an unrelated process must not be killed"
    finally:
        other.kill()
        other.wait()


# ----------------------------------------------------------------------------- haproxy
class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = self.server.backend_name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def backends():
    servers = []
    for name, n in (("a", 201), ("b", 202)):
        srv = http.server.ThreadingHTTPServer((loopback.host_address(n), 18080), _Named)
        srv.backend_name = name
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    yield {s.backend_name: "%s:%d" % s.server_address for s in servers}
    for srv in servers:
        srv.shutdown()
        srv.server_close()


HAPROXY_CFG = """\
global
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.1.200:19292
    default_backend be
backend be
    server {name} {addr} check inter 1s
"""


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def test_haproxy_forwards_and_reloads(run_dir, backends):
    cfg = run_dir / "haproxy.cfg"
    hap = Haproxy(cfg, run_dir / "hap")
    text_a = HAPROXY_CFG.format(sock=hap.admin_socket, name="a", addr=backends["a"])
    text_b = HAPROXY_CFG.format(sock=hap.admin_socket, name="b", addr=backends["b"])
    hap.config_text = text_a
    with hap:
        first = hap.pid
        assert hap.bind_address() == ("127.0.1.200", 19292)
        assert wait_port("127.0.1.200", 19292, timeout=5)
        assert _get("http://127.0.1.200:19292/") == "a"
        assert "Name: HAProxy" in hap.admin("show info")
        with pytest.raises(DaemonError, match="invalid haproxy config"):
            hap.reload("this is not a config\n")
        assert hap.pid == first and cfg.read_text() == text_a
        hap.reload(text_b)
        assert hap.pid != first and gone(first)
        assert cfg.read_text() == text_b
        assert _get("http://127.0.1.200:19292/") == "b"
        state = hap.admin("show servers state be")
        assert " b " in state and " a " not in state
        second = hap.pid
    assert gone(second)
    assert not port_open("127.0.1.200", 19292)
