"""
Draining an API host through a real HAProxy, with glance_upgrade's config and helpers,
and through an HAProxy the formula does not manage (kolla's config shape), where the
node leaves by answering 503 on /healthcheck.

    client ── haproxy 127.0.1.210:19292 ─┬─ node1 stand-in 127.0.1.201:19293
                                         └─ node2 stand-in 127.0.1.202:19293
    client ── kolla-shaped haproxy 127.0.1.211:19292 ── the same stand-ins

The stand-ins answer like glance-api where it matters here: GET /healthcheck
(200, or 503 while "disabled by file"), GET /slow (2 s, an upload in flight)
and GET / (their name, so a test sees who served it).
"""

import http.server
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import glance_config
import glance_upgrade as gu
from harness.daemons import Haproxy
from harness.kolla_haproxy import kolla_glance_cfg
from harness.wait import wait_for

pytestmark = pytest.mark.integration

FRONTEND = ("127.0.1.210", 19292)
API_PORT = 19293
NODES = {"node1": "127.0.1.201", "node2": "127.0.1.202"}
BACKEND = gu.DEFAULT_BACKEND
SLOW_SECONDS = 2
LOOP_MAX_REQUESTS = 1000
LOOP_MAX_SECONDS = 8


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a stopped stand-in keeps no
    # keep-alive connection answering behind HAProxy's back
    def do_GET(self):  # noqa: N802
        api = self.server.api
        if self.path == gu.HEALTHCHECK_PATH:
            status, body = (200, "OK") if api.healthy else (503, "DISABLED BY FILE")
        elif self.path == "/slow":
            time.sleep(SLOW_SECONDS)
            status, body = 200, f"{api.name} slow"
        else:
            status, body = 200, api.name
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # HAProxy's health check resets the connection once it has the status line
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandInApi:
    """A tiny threaded HTTP server standing in for glance-api on one node."""

    def __init__(self, name, address):
        self.name, self.address = name, address
        self.healthy = True
        self.server = None
        self.thread = None

    def start(self):
        self.server = Server((self.address, API_PORT), Handler)
        self.server.api = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def running(self):
        return self.server is not None


def get(path="/", timeout=10, frontend=FRONTEND):
    """(status, body) of GET through the frontend; (None, error) when it failed."""
    url = f"http://{frontend[0]}:{frontend[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:
        return None, repr(exc)


def served_by(count=10):
    return {get()[1] for _ in range(count)}


@pytest.fixture(scope="module")
def apis():
    nodes = {name: StandInApi(name, address) for name, address in NODES.items()}
    try:
        for api in nodes.values():
            api.start()
        yield nodes
    finally:
        for api in nodes.values():
            api.stop()


@pytest.fixture(scope="module")
def lb(apis, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("haproxy")
    daemon = Haproxy(run_dir / "haproxy.cfg", run_dir=run_dir)
    backends = [{"id": name, "address": address, "port": API_PORT}
                for name, address in NODES.items()]
    daemon.config_text = glance_config.haproxy_config(*FRONTEND, backends, str(daemon.admin_socket))
    with daemon:
        yield str(daemon.admin_socket)


@pytest.fixture(autouse=True)
def all_up(apis, lb):
    """Every test starts and ends with both stand-ins serving and UP in HAProxy."""
    def restore():
        for name, api in apis.items():
            api.healthy = True
            if not api.running():
                api.start()
            gu.enable(lb, BACKEND, name)
        for name in apis:
            gu.wait_up(lb, BACKEND, name, timeout=30)

    restore()
    yield
    restore()


def test_config_is_served_by_both_nodes_round_robin(lb):
    assert served_by() == {"node1", "node2"}
    assert gu.server_state(lb, BACKEND, "node1")["status"] == "UP"


def test_drain_sends_new_requests_elsewhere_while_the_slow_one_finishes(lb):
    slow = {}
    clients = [threading.Thread(target=lambda i=i: slow.__setitem__(i, get("/slow")))
               for i in range(2)]
    for client in clients:
        client.start()
    # round robin: one slow request on each node
    wait_for(lambda: gu.server_state(lb, BACKEND, "node1")["scur"] == 1, timeout=5,
             interval=0.05, what="a slow request in flight on node1")

    state = gu.drain(lb, BACKEND, "node1")
    assert state["status"] == "DRAIN" and state["scur"] == 1
    assert served_by() == {"node2"}
    drained = gu.wait_drained(lb, BACKEND, "node1", timeout=10, interval=0.05)
    for client in clients:
        client.join(10)

    assert sorted(slow.values()) == [(200, "node1 slow"), (200, "node2 slow")]
    assert 0.5 < drained["waited"] <= SLOW_SECONDS + 0.5
    assert drained["state"]["scur"] == 0
    print(f"\nwait_drained waited {drained['waited']}s for the in-flight request")


def test_enable_brings_traffic_back(lb):
    gu.drain(lb, BACKEND, "node1")
    assert gu.wait_drained(lb, BACKEND, "node1", timeout=5)["waited"] < 1
    assert served_by() == {"node2"}
    up = gu.enable_node(BACKEND, "node1", socket_path=lb, timeout=10)
    assert up["state"]["status"] == "UP" and up["server"] == f"{BACKEND}/node1"
    assert served_by() == {"node1", "node2"}


def test_healthcheck_503_takes_the_node_out_like_the_disable_file(apis, lb):
    apis["node2"].healthy = False
    start = time.monotonic()
    down = wait_for(lambda: gu.server_state(lb, BACKEND, "node2")["status"] == "DOWN",
                    timeout=gu.SECONDS_TO_MARK_DOWN + 10, interval=0.2,
                    what="node2 DOWN in HAProxy")
    marked_down = time.monotonic() - start
    assert down
    assert gu.server_state(lb, BACKEND, "node2")["check_status"] == "L7STS"
    assert served_by() == {"node1"}
    with pytest.raises(gu.UpgradeError, match="503"):
        gu.wait_healthy(f"http://{NODES['node2']}:{API_PORT}", timeout=1, interval=0.2)

    apis["node2"].healthy = True
    assert gu.wait_healthy(f"http://{NODES['node2']}:{API_PORT}", timeout=5)["status"] == 200
    back = gu.wait_up(lb, BACKEND, "node2", timeout=15)
    print(f"\n503 -> DOWN after {marked_down:.1f}s, 200 -> UP after {back['waited']}s")
    assert served_by() == {"node1", "node2"}


def test_no_request_fails_while_a_node_is_drained_stopped_restarted_enabled(apis, lb):
    outcomes = []
    done = threading.Event()

    def client():
        deadline = time.monotonic() + LOOP_MAX_SECONDS
        while (not done.is_set() and len(outcomes) < LOOP_MAX_REQUESTS
               and time.monotonic() < deadline):
            outcomes.append((time.monotonic(), *get(timeout=5)))
            time.sleep(0.01)

    loop = threading.Thread(target=client)
    loop.start()
    time.sleep(0.3)
    drained = gu.drain_node(BACKEND, "node1", socket_path=lb, timeout=10)
    apis["node1"].stop()
    time.sleep(1)
    apis["node1"].start()
    enabled_at = time.monotonic()
    up = gu.enable_node(BACKEND, "node1", socket_path=lb, timeout=10)
    time.sleep(0.5)
    done.set()
    loop.join(LOOP_MAX_SECONDS + 5)

    failures = [o for o in outcomes if o[1] != 200]
    print(f"\n{len(outcomes)} requests, {len(failures)} failed; drain waited "
          f"{drained['waited']}s, UP again after {up['waited']}s")
    assert failures == []
    assert len(outcomes) > 50
    assert {body for at, _, body in outcomes if at > enabled_at + up["waited"]} == {
        "node1", "node2"}


def node_counters(lb, name):
    rows = gu.parse_stat(gu.haproxy_command(lb, "show stat"))
    return next(row for row in rows if row["pxname"] == BACKEND and row["svname"] == name)


def test_a_request_to_a_node_stopped_without_draining_is_redispatched(apis, lb):
    before = node_counters(lb, "node1")
    apis["node1"].stop()
    start = time.monotonic()
    answers = [get(timeout=15) for _ in range(4)]
    took = time.monotonic() - start
    after = node_counters(lb, "node1")
    print(f"\n4 requests with node1 stopped abruptly: {took:.1f}s, node1 retries "
          f"{int(after['wretr']) - int(before['wretr'])}, redispatches "
          f"{int(after['wredis']) - int(before['wredis'])}, connect errors "
          f"{int(after['econ']) - int(before['econ'])}")
    assert answers == [(200, "node2")] * 4
    assert int(after["wredis"]) > int(before["wredis"])


# ---------------------------------------------------------------- an HAProxy we do not manage

KOLLA_FRONTEND = ("127.0.1.211", 19292)
# kolla's check line, faster: the waits below are computed from it, never fixed
KOLLA_CHECK = "check inter 500 rise 2 fall 3"


def kolla_cfg(admin_socket):
    return kolla_glance_cfg(admin_socket, KOLLA_FRONTEND, {
        name: f"{address}:{API_PORT}" for name, address in NODES.items()}, KOLLA_CHECK)


@pytest.fixture(scope="module")
def kolla_lb(apis, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("kolla-haproxy")
    daemon = Haproxy(run_dir / "haproxy.cfg", run_dir=run_dir)
    daemon.config_text = kolla_cfg(daemon.admin_socket)
    with daemon:
        for name in NODES:
            gu.wait_up(str(daemon.admin_socket), "glance_api", name, timeout=30)
        yield str(daemon.admin_socket)


def kolla_get(path="/", timeout=10):
    return get(path, timeout, frontend=KOLLA_FRONTEND)


def node1_in_flight():
    with open("/proc/net/tcp", encoding="ascii") as handle:
        return gu.in_flight(handle.read(), NODES["node1"], API_PORT)


def test_a_503_health_check_takes_the_node_out_of_kollas_haproxy_within_fall_x_inter(
        apis, kolla_lb):
    timing = gu.check_timing(KOLLA_CHECK)
    apis["node1"].healthy = False
    start = time.monotonic()
    wait_for(lambda: gu.server_state(kolla_lb, "glance_api", "node1")["status"] == "DOWN",
             timeout=timing["down_after"] + 5, interval=0.05, what="node1 DOWN in kolla's LB")
    took = time.monotonic() - start
    print(f"\n503 -> DOWN after {took:.2f}s (fall x inter = {timing['down_after']}s)")
    assert took <= timing["down_after"] + 0.3
    assert {kolla_get()[1] for _ in range(6)} == {"node2"}
    apis["node1"].healthy = True
    start = time.monotonic()
    wait_for(lambda: gu.server_state(kolla_lb, "glance_api", "node1")["status"] == "UP",
             timeout=timing["up_after"] + 5, interval=0.05, what="node1 UP again")
    assert time.monotonic() - start <= timing["up_after"] + 0.3


def test_drain_by_health_check_lets_the_request_in_flight_finish_and_loses_none(
        apis, kolla_lb):
    timing = gu.check_timing(KOLLA_CHECK)
    outcomes, done = [], threading.Event()

    def client():
        deadline = time.monotonic() + 20
        while not done.is_set() and time.monotonic() < deadline:
            outcomes.append(kolla_get(timeout=5))
            time.sleep(0.01)

    slow = {}
    loop = threading.Thread(target=client)
    loop.start()
    # a long request (an upload) on node1 when the drain starts
    slow_client = None
    for _ in range(4):
        slow_client = threading.Thread(target=lambda: slow.update(answer=kolla_get("/slow")))
        slow_client.start()
        time.sleep(0.1)
        if node1_in_flight():
            break
        slow_client.join(SLOW_SECONDS + 2)
    assert node1_in_flight() >= 1

    # what glance_upgrade.drain_by_healthcheck does on the node: 503, wait fall x inter,
    # then wait until no connection is in flight, then stop
    apis["node1"].healthy = False
    time.sleep(timing["down_after"])
    assert gu.server_state(kolla_lb, "glance_api", "node1")["status"] == "DOWN"
    wait_for(lambda: node1_in_flight() == 0, timeout=SLOW_SECONDS + 5, interval=0.05,
             what="node1 idle")
    slow_client.join(5)
    apis["node1"].stop()
    time.sleep(0.5)
    apis["node1"].start()
    apis["node1"].healthy = True
    time.sleep(timing["up_after"] + timing["inter"])
    assert gu.server_state(kolla_lb, "glance_api", "node1")["status"] == "UP"
    done.set()
    loop.join(25)

    failures = [o for o in outcomes if o[0] != 200]
    print(f"\n{len(outcomes)} requests through kolla's HAProxy, {len(failures)} failed")
    assert slow["answer"][0] == 200
    assert failures == [] and len(outcomes) > 50

