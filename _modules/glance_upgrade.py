"""
Rolling upgrade of glance-api across minions: the order, and the load balancer.

Plain functions first (``plan``, the HAProxy runtime API
helpers), so the unit tests call them without Salt; thin Salt wrappers at the
end (``salt lb1 glance_upgrade.drain_node glance_api_back node2 ...``).

The order follows glance's rollingupgrades.rst: the database node first (expand
and migrate run while its old container is stopped), then the others in
batches, ``db contract`` only once no old node runs. HAProxy takes a node out
with ``set server <b>/<s> state drain``: no new requests go there, the ones in
flight (image uploads can take hours) finish, then the node can be stopped.
"""

import csv
import io
import socket
import time
import urllib.error
import urllib.request

from salt.exceptions import CommandExecutionError

__virtualname__ = "glance_upgrade"

SCHEMA_STATES = ("current", "expand", "migrate", "contract")
# the backend name glance_config.haproxy_config writes (kolla's glance_api_back)
DEFAULT_BACKEND = "glance_api_back"
# kolla's haproxy admin socket
DEFAULT_ADMIN_SOCKET = "/var/lib/kolla/haproxy/haproxy.sock"
DEFAULT_CONTAINER = "glance_api"
# kolla's glance backend: a node is DOWN after `fall` failed checks `inter` ms apart
SECONDS_TO_MARK_DOWN = 2000 * 5 / 1000
HEALTHCHECK_PATH = "/healthcheck"
# glance-api-paste.ini: [app:healthcheck] backends = disable_by_file
HEALTHCHECK_DISABLE_PATH = "/etc/glance/healthcheck_disable"


class UpgradeError(CommandExecutionError):
    """A step of the upgrade cannot go on; the message says what to do."""


def __virtual__():
    return __virtualname__


# ---------------------------------------------------------------- plan


def refusal(hosts, rolling, shared_storage, schema_status):
    """Why this upgrade must not start (None when it may)."""
    if not hosts:
        return ("glance:glance_api_hosts lists no API host — nothing runs glance-api, so "
                "there is nothing to upgrade; deploy glance first")
    if schema_status is not None and schema_status not in SCHEMA_STATES:
        return (f"glance-manage db check answered {schema_status!r} — the schema state is "
                "unknown; check the database address and password (glance_db.check shows "
                "the log) before upgrading")
    if not rolling:
        return None
    if not shared_storage:
        return ("glance:glance_enable_rolling_upgrade is on but the file backend keeps images "
                "on the local volume 'glance', so only one host can run glance-api — set "
                "glance_file_datadir_volume to a shared path (e.g. NFS) or set "
                "glance_enable_rolling_upgrade: no for an offline (legacy) upgrade")
    if len(hosts) < 2:
        return (f"glance:glance_enable_rolling_upgrade is on but {hosts[0]} is the only API "
                "host, so draining it stops the service — add API hosts to "
                "glance_api_hosts or set glance_enable_rolling_upgrade: no for an offline "
                "(legacy) upgrade")
    return None


def plan(hosts, current_images, target_image, max_unavailable=1, rolling=True,
         shared_storage=True, schema_status=None):
    """
    Which API hosts to upgrade, in which batches, and when the schema moves.

    ``hosts`` are API host ids in pillar order (the first is the database node) or
    ``{"id": ...}`` dicts; ``current_images`` maps a host id to the image its
    glance_api runs (None or missing: not running). Hosts already on
    ``target_image`` are skipped, so a second run resumes where the first
    stopped. ``schema_status`` is ``glance_db.check`` run with the *target*
    image (current/expand/migrate/contract), or None when unknown.

    Rolling: batches of ``max_unavailable`` (never every host), the database
    node in the first one; ``expand_before`` (expand + migrate) while the
    database node is down, ``contract_after`` once every host runs the target.
    Legacy: one batch of every host still to upgrade and ``db sync`` while all
    are down.
    """
    ids = [host["id"] if isinstance(host, dict) else str(host) for host in hosts]
    images = current_images or {}
    done = [host for host in ids if images.get(host) == target_image]
    todo = [host for host in ids if host not in done]
    db_node = ids[0] if ids else None
    strategy = "rolling" if rolling else "legacy"
    why_not = refusal(ids, rolling, shared_storage, schema_status)
    result = {
        "strategy": strategy,
        "db_node": db_node,
        "batches": [],
        "done": done,
        "min_healthy": len(ids),
        "db_steps": {"expand_before": False, "contract_after": False, "sync": False},
        "refusal": why_not,
    }
    if why_not:
        return result
    schema_behind = schema_status in ("expand", "migrate", "contract")
    if rolling:
        size = max(1, min(int(max_unavailable), len(ids) - 1))
        result["batches"] = [todo[i:i + size] for i in range(0, len(todo), size)]
        result["db_steps"]["expand_before"] = (
            db_node in todo or schema_status in ("expand", "migrate")
        )
        # unknown schema: contract is a no-op when nothing is pending, so run it
        result["db_steps"]["contract_after"] = (
            schema_behind or (schema_status is None and bool(todo))
        )
    else:
        result["batches"] = [todo] if todo else []
        result["db_steps"]["sync"] = schema_behind or (schema_status is None and bool(todo))
    largest = max((len(batch) for batch in result["batches"]), default=0)
    result["min_healthy"] = len(ids) - largest
    return result


def healthcheck_disable_path():
    """While this file exists in the container, glance answers 503 on /healthcheck."""
    return HEALTHCHECK_DISABLE_PATH


# ---------------------------------------------------------------- HAProxy runtime API


def haproxy_command(socket_path, cmd, timeout=10):
    """Send one command to the HAProxy admin socket and return its answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(cmd.strip().encode() + b"\n")
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
    except OSError as exc:
        raise UpgradeError(
            f"cannot talk to the HAProxy admin socket {socket_path}: {exc} — is haproxy "
            f"running with 'stats socket {socket_path} mode 600 level admin'?"
        ) from exc
    answer = b"".join(chunks).decode(errors="replace")
    if answer.startswith(("Unknown command", "Permission denied")):
        raise UpgradeError(f"HAProxy refused {cmd!r} on {socket_path}: {answer.strip()} — "
                           "the stats socket needs 'level admin'")
    return answer


def parse_stat(text):
    """``show stat`` CSV -> list of dicts (header line starts with '# ')."""
    return list(csv.DictReader(io.StringIO(text.lstrip("# "))))


def server_state(socket_path, backend, server):
    """
    One server as HAProxy sees it: ``{"status", "scur", "qcur", "check_status", "weight"}``.

    ``status`` is show stat's: UP, DOWN, DRAIN, MAINT, or a transition like
    "UP 1/5" (failing checks) / "DOWN 1/2" (passing checks, not yet up).
    """
    rows = parse_stat(haproxy_command(socket_path, "show stat"))
    for row in rows:
        if row.get("pxname") == backend and row.get("svname") == server:
            return {
                "status": row["status"],
                "scur": int(row["scur"] or 0),
                "qcur": int(row["qcur"] or 0),
                "check_status": row.get("check_status", ""),
                "weight": int(row["weight"] or 0),
            }
    known = sorted({f"{r['pxname']}/{r['svname']}" for r in rows
                    if r.get("svname") not in ("FRONTEND", "BACKEND")})
    raise UpgradeError(f"HAProxy has no server {backend}/{server} — known servers: "
                       f"{', '.join(known) or 'none'}; the server name is the minion id")


def set_state(socket_path, backend, server, state):
    """``set server <backend>/<server> state ready|drain|maint``."""
    answer = haproxy_command(socket_path, f"set server {backend}/{server} state {state}")
    if answer.strip():
        raise UpgradeError(f"HAProxy could not set {backend}/{server} to {state}: "
                           f"{answer.strip()}")
    return server_state(socket_path, backend, server)


def drain(socket_path, backend, server):
    """No new requests for the server; the ones in flight finish."""
    return set_state(socket_path, backend, server, "drain")


def disable(socket_path, backend, server):
    """Maintenance: no traffic and no health checks."""
    return set_state(socket_path, backend, server, "maint")


def enable(socket_path, backend, server):
    """Back in rotation (traffic once its health check passes)."""
    return set_state(socket_path, backend, server, "ready")


def poll(check, timeout, interval, failure):
    """Call ``check`` until it returns a truthy state; (state, seconds waited)."""
    start = time.monotonic()
    while True:
        state = check()
        if state:
            return state, round(time.monotonic() - start, 3)
        if time.monotonic() - start >= timeout:
            raise UpgradeError(failure())
        time.sleep(interval)


def wait_drained(socket_path, backend, server, timeout=300, interval=0.2):
    """
    Wait until no request is in flight on the server (scur and qcur 0).

    Returns ``{"state", "waited"}``; raises after ``timeout`` seconds.
    """
    last = {}

    def check():
        last.update(server_state(socket_path, backend, server))
        return dict(last) if last["scur"] == 0 and last["qcur"] == 0 else None

    state, waited = poll(check, timeout, interval, lambda: (
        f"{backend}/{server} still has {last['scur']} request(s) in flight after "
        f"{timeout}s — long image uploads may still run: wait longer (timeout) or look at "
        "'show sess' on the admin socket before stopping the node"))
    return {"state": state, "waited": waited}


def wait_up(socket_path, backend, server, timeout=120, interval=0.5):
    """Wait until HAProxy's health check has the server UP; ``{"state", "waited"}``."""
    last = {}

    def check():
        last.update(server_state(socket_path, backend, server))
        return dict(last) if last["status"] == "UP" else None

    state, waited = poll(check, timeout, interval, lambda: (
        f"{backend}/{server} is {last['status']} (check: {last['check_status']}) after "
        f"{timeout}s — GET {HEALTHCHECK_PATH} on the node must answer 200; look at its "
        "glance_api log"))
    return {"state": state, "waited": waited}


def healthcheck_status(url, timeout=5):
    """HTTP status of GET <url>/healthcheck, or the connection error as text."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + HEALTHCHECK_PATH,
                                    timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError) as exc:
        return str(getattr(exc, "reason", exc))


# ---------------------------------------------------------------- Salt wrappers


def drain_node(backend, server, socket_path=DEFAULT_ADMIN_SOCKET, timeout=300):
    """
    Drain one API host in HAProxy and wait until its requests in flight finished.

    Run it on every load balancer host. CLI Example::

        salt lb1 glance_upgrade.drain_node glance_api_back node2 timeout=600
    """
    drain(socket_path, backend, server)
    result = wait_drained(socket_path, backend, server, timeout=float(timeout))
    return dict(result, server=f"{backend}/{server}")


def enable_node(backend, server, socket_path=DEFAULT_ADMIN_SOCKET, timeout=120):
    """
    Put an API host back in rotation and wait until HAProxy has it UP.

    CLI Example::

        salt lb1 glance_upgrade.enable_node glance_api_back node2
    """
    enable(socket_path, backend, server)
    result = wait_up(socket_path, backend, server, timeout=float(timeout))
    return dict(result, server=f"{backend}/{server}")


def wait_healthy(url, timeout=300, interval=2):
    """
    Poll GET <url>/healthcheck until it answers 200.

    CLI Example::

        salt node2 glance_upgrade.wait_healthy http://10.0.0.12:9292
    """
    last = {}

    def check():
        last["status"] = healthcheck_status(url)
        return last["status"] == 200

    def failure():
        hint = (f"{HEALTHCHECK_DISABLE_PATH} may still exist in the container (drained by "
                "file); remove it" if last["status"] == 503 else "look at the glance_api log")
        return f"{url}{HEALTHCHECK_PATH} answered {last['status']} for {timeout}s — {hint}"

    _, waited = poll(check, float(timeout), float(interval), failure)
    return {"url": url, "status": 200, "waited": waited}


def running_image(container=DEFAULT_CONTAINER):
    """
    The image the running glance_api container was created from (None if not running).

    CLI Example::

        salt -L node1,node2,node3 glance_upgrade.running_image
    """
    docker = __salt__  # noqa: F821
    if not docker["docker.exists"](container):
        return None
    info = docker["docker.inspect_container"](container)
    return info["Config"]["Image"] if info["State"]["Running"] else None


def serving_image():
    """
    The image this node's glance_api runs, if it also answers /healthcheck (a node
    that runs the new image but is unhealthy still needs its upgrade step).

    CLI Example::

        salt -L node1,node2,node3 glance_upgrade.serving_image
    """
    api = __salt__["glance_config.current"]()["services"]["glance-api"]  # noqa: F821
    image = running_image(api["container_name"])
    return image if image and healthcheck_status(api["url"]) == 200 else None


def stop_api(timeout=60):
    """
    Stop this node's glance_api (drained first by the orchestration).

    CLI Example::

        salt node2 glance_upgrade.stop_api
    """
    docker = __salt__  # noqa: F821
    name = docker["glance_config.current"]()["services"]["glance-api"]["container_name"]
    if not docker["docker.exists"](name):
        return {"container": name, "stopped": False, "why": "no such container"}
    if docker["docker.inspect_container"](name)["State"]["Running"]:
        docker["docker.stop"](name, timeout=int(timeout))
        return {"container": name, "stopped": True}
    return {"container": name, "stopped": False, "why": "not running"}


def _lb_socket():
    lb = __salt__["glance_config.current"]()["loadbalancer"]  # noqa: F821
    volume = __salt__["docker.inspect_volume"](lb["socket_volume"])  # noqa: F821
    return lb["backend"], f"{volume['Mountpoint']}/haproxy.sock"


def lb_drain(server, timeout=300):
    """
    On a load balancer host: drain API host ``server`` and wait for its requests.

    CLI Example::

        salt lb1 glance_upgrade.lb_drain node2
    """
    backend, socket_path = _lb_socket()
    return drain_node(backend, server, socket_path, timeout)


def lb_enable(server, timeout=120):
    """On a load balancer host: put ``server`` back and wait until HAProxy has it UP."""
    backend, socket_path = _lb_socket()
    return enable_node(backend, server, socket_path, timeout)


def plan_for(current_images, schema_status=None, target_image=None):
    """
    :func:`plan` with this minion's glance settings (hosts, image, rolling flag).

    ``current_images`` is what ``running_image`` returned per API host.
    CLI Example::

        salt node1 glance_upgrade.plan_for '{node1: reg/glance-api:2025.1, node2: null}'
    """
    settings = __salt__["glance_config.show"]()  # noqa: F821
    if settings["errors"]:
        raise UpgradeError("the glance pillar has errors, fix them first: "
                           + "; ".join(settings["errors"]))
    return plan(
        settings["api_hosts"],
        current_images,
        target_image or settings["image"],
        max_unavailable=settings["numbers"]["glance_upgrade_max_unavailable"],
        rolling=settings["flags"]["glance_enable_rolling_upgrade"],
        shared_storage=settings["shared_storage"],
        schema_status=schema_status,
    )
