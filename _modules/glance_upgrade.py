"""
Rolling upgrade and restart of glance-api across minions: what, in which order, and
how a node leaves and rejoins the load balancer.

Plain functions first (``plan``, ``drift``, ``check_timing``, ``in_flight``, the
HAProxy runtime API helpers), so the unit tests call them without Salt; thin Salt
wrappers at the end (``salt node2 glance_upgrade.prepare``, ``drain_by_healthcheck``,
``salt lb1 glance_upgrade.drain_node glance_api_back node2 ...``).

The order follows glance's rollingupgrades.rst: the database node first (expand
and migrate run while its old container is stopped), then the others in
batches, ``db contract`` only once no old node runs. The formula's HAProxy takes a
node out with ``set server <b>/<s> state drain``; any other balancer that checks
GET /healthcheck (kolla's) takes it out when the node answers 503. Either way no new
requests go there, the ones in flight (image uploads can take hours) finish, then
the node can be stopped.
"""

import csv
import io
import os
import re
import shutil
import socket
import subprocess
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


class UpgradeError(CommandExecutionError):
    """A step of the upgrade cannot go on; the message says what to do."""


def __virtual__():
    return __virtualname__


# ---------------------------------------------------------------- plan

# what is left of the schema change, per `glance-manage db check` answer
EXPAND_STEPS = {"expand": ["expand", "migrate"], "migrate": ["migrate"]}
SCHEMA_BEHIND = ("expand", "migrate", "contract")
# db check answers (with the target image) under which that image runs
OK_FOR_TARGET = ("current", "contract")
# HAProxy's own defaults when kolla's check line leaves a value out (fastinter and
# downinter default to inter)
HAPROXY_CHECK_DEFAULTS = {"inter": 2.0, "rise": 2, "fall": 3, "fastinter": None,
                          "downinter": None}
# HAProxy's httpchk passes on 2xx and 3xx
CHECK_PASSES = range(200, 400)


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


def reports_from_answers(hosts, answers):
    """
    ``salt.execute`` answers of :func:`prepare` -> one report per host; a host that
    did not answer with a report (down, module missing, exception) gets an error.
    """
    answers = answers if isinstance(answers, dict) else {}
    reports = {}
    for host in hosts:
        answer = answers.get(host)
        if isinstance(answer, dict):
            reports[host] = answer
        else:
            why = answer if answer not in (None, "", False) else "no answer"
            reports[host] = {"errors": [
                f"no report from glance_upgrade.prepare ({why}) — is the minion up "
                "and are the custom modules synced (salt '*' saltutil.sync_all)?"]}
    return reports


def normalize(report):
    """A report of :func:`prepare`, an image name (running and healthy) or None."""
    if report is None:
        return {"errors": [], "container": None, "target": {}}
    if isinstance(report, str):
        return {"errors": [], "container": {"image": report, "running": True, "healthy": True},
                "target": {}}
    return {"errors": list(report.get("errors") or []),
            "container": report.get("container"),
            "target": report.get("target") or {}}


def short_id(image_id):
    return str(image_id or "?").split(":")[-1][:12]


def drift(report, target_image):
    """
    Why this host's glance_api must be (re)created: [] when it already runs the target
    image (same name and, once pulled, the same image ID), the rendered config (the
    config-hash label) and answers /healthcheck.
    """
    report = normalize(report)
    running, target = report["container"], report["target"]
    if not running or not running.get("running"):
        return ["glance_api is not running"]
    reasons = []
    if running.get("image") != target_image:
        reasons.append(f"image {running.get('image')} -> {target_image}")
    elif target.get("image_id") and running.get("image_id") != target["image_id"]:
        reasons.append(f"{target_image} changed in the registry (runs "
                       f"{short_id(running.get('image_id'))}, pulled "
                       f"{short_id(target['image_id'])})")
    for key, value in (target.get("labels") or {}).items():
        have = (running.get("labels") or {}).get(key)
        if have != value:
            reasons.append(f"config changed ({key} {have or 'unset'} -> {value})")
    if running.get("healthy") is False:
        reasons.append("/healthcheck does not answer 200")
    return reasons


def new_release(report, target_image):
    """True when the host runs another image name (a release change, not a restart)."""
    running = normalize(report)["container"]
    return bool(running and running.get("running") and running.get("image") != target_image)


def plan(hosts, current_images, target_image, max_unavailable=1, rolling=True,
         shared_storage=True, schema_status=None, managed_lb=False):
    """
    Which API hosts to (re)start, in which batches, and when the schema moves.

    ``hosts`` are API host ids in pillar order (the first is the database node) or
    ``{"id": ...}`` dicts; ``current_images`` maps a host id to its :func:`prepare`
    report (or just the image its glance_api runs; None or missing: not running).
    A host is left alone when :func:`drift` finds nothing: same image name and ID,
    same config hash, healthy — so a second run resumes where the first stopped, and
    a config change or a rebuilt tag restarts exactly the hosts it touches.
    ``schema_status`` is ``glance_db.check`` run with the *target* image
    (current/expand/migrate/contract), or None when unknown; ``needs_schema`` in the
    result says when the plan cannot do without it (ask, then plan again).

    Rolling: expand + migrate first, every host still serving; then batches of
    ``max_unavailable`` (never every host), the database node in the first one,
    each drained first (``managed_lb``: the formula's HAProxy; else the node's
    /healthcheck answers 503) and stopped by its own apply (``stop_first``); contract
    after the last batch. Legacy (release change or schema change without
    glance_enable_rolling_upgrade): every host still to do stops, ``db sync``, all
    start. A restart that changes neither release nor schema is always rolling.
    ``steps`` is the order the orchestration runs, nothing else decides it.
    """
    ids = [host["id"] if isinstance(host, dict) else str(host) for host in hosts]
    reports = {host: normalize((current_images or {}).get(host)) for host in ids}
    reasons = {host: drift(reports[host], target_image) for host in ids}
    todo = [host for host in ids if reasons[host]]
    done = [host for host in ids if not reasons[host]]
    db_node = ids[0] if ids else None
    schema_behind = schema_status in SCHEMA_BEHIND
    releasing = [host for host in todo if new_release(reports[host], target_image)]
    if rolling or not (schema_behind or releasing):
        strategy = "rolling"
    else:
        strategy = "legacy"
    problems = [f"{host}: {error}" for host in ids for error in reports[host]["errors"]]
    why_not = refusal(ids, rolling, shared_storage, schema_status)
    if not why_not and problems:
        why_not = "; ".join(problems)
    result = {
        "strategy": strategy,
        "db_node": db_node,
        "batches": [],
        "done": done,
        "reasons": {host: reasons[host] for host in todo},
        "min_healthy": len(ids),
        "drain": "none",
        "db_steps": {"expand_before": False, "contract_after": False, "sync": False},
        # every apply step runs on a schema the target image accepts (checked with it
        # before anything stopped, or expand + migrate / db_sync ran first): the
        # applies need no check container of their own
        "schema_ready": False,
        # ask the database node for db check before running the steps: only when no
        # step would make the schema suit the target whatever state it is in. When the
        # database node changes release, a rolling plan runs expand + migrate first
        # (no-ops when nothing is pending) and contract last, as kolla-ansible does,
        # and a legacy one db_sync: the check container would only add its time.
        "needs_schema": False,
        "steps": [],
        "refusal": why_not,
    }
    if why_not:
        return result
    result["needs_schema"] = schema_status is None and db_node not in releasing
    unknown_schema_moves = schema_status is None and bool(releasing)
    if strategy == "rolling":
        size = max(1, min(int(max_unavailable), len(ids) - 1))
        batches = [todo[i:i + size] for i in range(0, len(todo), size)]
        expand = EXPAND_STEPS.get(schema_status)
        if schema_status is None and db_node in releasing:
            # unknown schema: expand and migrate are no-ops when nothing is pending
            expand = EXPAND_STEPS["expand"]
        contract = schema_behind or unknown_schema_moves
        drain = "haproxy" if managed_lb else ("healthcheck" if len(ids) > 1 else "none")
        # expand + migrate are online (Glance's rolling upgrade runs them with old API
        # nodes serving): first of all, with every host still in the balancer, as
        # kolla-ansible does — a failure there leaves nothing drained or stopped
        steps = [{"action": "db", "hosts": [db_node], "db": expand}] if expand else []
        for number, batch in enumerate(batches, 1):
            following = batches[number] if number < len(batches) else []
            # a batch's hosts must answer before anything is done to them: a drain by
            # health check runs on them; a batch after the first was asked by the
            # previous enable; the first, unless the expand on it just answered
            ping = drain != "healthcheck" and number == 1 and not (
                expand and set(batch) <= {db_node})
            first = {"batch": number, "ping_first": ping}
            if drain != "none":
                steps.append(dict(first, action="drain", hosts=batch))
                first = {"batch": number}
            # the apply stops the drained container itself (glance_api.stopped), in the
            # same salt job: no job of its own per batch
            steps.append(dict(first, action="apply", hosts=batch, stop_first=True))
            if drain != "none":
                # by health check, a next drain follows at once: see wait_balancer_up;
                # through the formula's HAProxy the next batch's hosts answer the same
                # job (answer_hosts), so a host that is gone stops the run undrained
                steps.append({"action": "enable", "hosts": batch, "batch": number,
                              "then_drain": drain == "healthcheck" and bool(following),
                              "answer_hosts": following if drain == "haproxy" else []})
        if contract:
            steps.append({"action": "db", "hosts": [db_node], "db": ["contract"]})
        result.update(batches=batches, drain=drain, steps=steps,
                      schema_ready=bool(expand) or schema_status in OK_FOR_TARGET)
        result["db_steps"].update(expand_before=bool(expand), contract_after=contract)
    else:
        sync = schema_behind or unknown_schema_moves
        steps = [{"action": "stop", "hosts": todo, "batch": 1, "ping_first": True}] if todo else []
        if sync:
            steps.append({"action": "db", "hosts": [db_node], "db": ["sync"]})
        if todo:
            steps.append({"action": "apply", "hosts": todo, "batch": 1})
        result.update(batches=[todo] if todo else [], steps=steps,
                      schema_ready=sync or schema_status in OK_FOR_TARGET)
        result["db_steps"]["sync"] = sync
    largest = max((len(batch) for batch in result["batches"]), default=0)
    result["min_healthy"] = len(ids) - largest
    return result


def healthcheck_disable_path(drain_dir):
    """While this host file exists, glance on the node answers 503 on /healthcheck
    (the drain dir is mounted in the container; api_paste points glance at it)."""
    return f"{str(drain_dir).rstrip('/')}/healthcheck_disable"


def check_timing(line):
    """
    kolla's ``haproxy_health_check`` ("check inter 2000 rise 2 fall 5") -> seconds
    until a balancer has surely marked a node that fails its checks DOWN (the next
    check comes within ``inter``, then fall - 1 more ``fastinter`` apart: fall x inter
    with kolla's line) and a node that passes them UP again (``downinter``, then
    rise - 1 x ``fastinter``: rise x inter). ``inter``, ``fastinter`` and
    ``downinter`` are in ms unless they say ``s``/``ms``; the last two default to
    ``inter``.
    """
    words = str(line).split()
    values = dict(HAPROXY_CHECK_DEFAULTS)
    for key, value in zip(words, words[1:]):
        if key not in values:
            continue
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", value)
        if not match or (key in ("rise", "fall") and match.group(2)):
            raise UpgradeError(
                f"glance:haproxy_health_check has {key} {value!r} — write it like kolla's "
                "'check inter 2000 rise 2 fall 5' (inter in ms)")
        number = float(match.group(1))
        if key in ("rise", "fall"):
            values[key] = int(number)
        else:
            values[key] = number if match.group(2) == "s" else number / 1000
    inter = values["inter"]
    fast = values["fastinter"] or inter
    down = values["downinter"] or inter
    return {"inter": inter, "rise": values["rise"], "fall": values["fall"],
            "down_after": inter + (values["fall"] - 1) * fast,
            "up_after": down + (values["rise"] - 1) * fast,
            # a node that starts failing its checks now is DOWN at the earliest
            # after fall - 1 more fastinter (the first failing check may come at once)
            "down_not_before": (values["fall"] - 1) * fast}


def _proc_address(text):
    """/proc/net/tcp{,6} "0100007F:2454" -> ("127.0.0.1", 9300)."""
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        # four little-endian 32-bit words
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        address = socket.inet_ntop(socket.AF_INET6, words)
        if address.startswith("::ffff:") and "." in address:
            address = address[len("::ffff:"):]
    return address, int(port, 16)


def in_flight(proc_net_tcp, address, port):
    """
    Established connections to ``address:port`` in /proc/net/tcp(6) text: requests
    still being served (glance_api runs with the host network, so the host sees them).
    ``address`` "" or 0.0.0.0 counts every local address.
    """
    count = 0
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != "01":
            continue
        local, local_port = _proc_address(fields[1])
        if local_port == int(port) and (address in ("", "0.0.0.0", "::") or local == address):
            count += 1
    return count


#: a connection whose server answered last and that has been quiet this long is a
#: balancer's idle keep-alive connection, not a request (HAProxy's http-reuse keeps one)
IDLE_QUIET_MS = 5000


def _ss_local(field):
    host, _, port = field.rpartition(":")
    host = host.strip("[]")
    if host.startswith("::ffff:"):
        host = host[len("::ffff:"):]
    return host.split("%")[0], int(port)


def busy_connections(ss_text, address, port, quiet_ms=IDLE_QUIET_MS):
    """
    Pure: established connections to ``address:port`` in ``ss -Htin state
    established`` text that may still carry a request. Idle (not counted): nothing
    queued either way, the server sent last (``lastsnd`` <= ``lastrcv``, ms ago) and
    nothing was sent for ``quiet_ms`` — a response fully written and no new request:
    the keep-alive connection a balancer holds open. A client that spoke after the
    last answer, or data still moving, counts as busy; so does a line without timers.
    """
    busy = 0
    current = None
    entries = []
    for line in ss_text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            fields = line.split()
            current = {"fields": fields, "info": ""}
            entries.append(current)
        elif current is not None:
            current["info"] += " " + line.strip()
    for entry in entries:
        fields = entry["fields"]
        if len(fields) < 4:
            continue
        try:
            local, local_port = _ss_local(fields[2])
            queued = int(fields[0]) or int(fields[1])
        except ValueError:
            continue
        if local_port != int(port) or (address not in ("", "0.0.0.0", "::")
                                       and local != address):
            continue
        timers = dict(re.findall(r"\b(lastsnd|lastrcv):(\d+)", entry["info"]))
        if queued or len(timers) < 2:
            busy += 1
            continue
        lastsnd, lastrcv = int(timers["lastsnd"]), int(timers["lastrcv"])
        if lastsnd > lastrcv or lastsnd < quiet_ms:
            busy += 1
    return busy


def _ss_established(port):
    """``ss -Htin`` for established connections with local port ``port``; None
    without iproute2's ss (then every established connection counts)."""
    ss = shutil.which("ss") or next((p for p in ("/usr/bin/ss", "/bin/ss", "/sbin/ss")
                                     if os.path.exists(p)), None)
    if ss is None:
        return None
    run = subprocess.run([ss, "-Htin", "state", "established", f"( sport = :{int(port)} )"],
                         capture_output=True, text=True, timeout=10, check=False)
    return run.stdout if run.returncode == 0 else None


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


def hold(check, seconds, timeout, interval, failure, clock=time.monotonic, sleep=time.sleep):
    """
    Call ``check`` every ``interval`` until it has been true for ``seconds`` in a row
    (a false answer starts the count again); seconds waited. Raises ``failure()``
    after ``timeout`` seconds. What a balancer sees of the node is watched the whole
    time, not assumed: a node that stops failing (or passing) its checks during the
    wait does not count as out (or back).
    """
    start = clock()
    since = None
    while True:
        now = clock()
        if check():
            since = now if since is None else since
            if now - since >= seconds:
                return round(now - start, 3)
        else:
            since = None
        if now - start >= timeout:
            raise UpgradeError(failure())
        sleep(interval)


def wait_drained(socket_path, backend, server, timeout=300, interval=0.1):
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


def wait_up(socket_path, backend, server, timeout=120, interval=0.1):
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


def force_up(socket_path, backend, server, url):
    """
    A server HAProxy still has DOWN goes UP now when ``url``/healthcheck answers
    200 to this host (the request its check sends): ``set server <b>/<s> health up``
    instead of waiting rise x inter for its checks. Its checks go on as before (a
    failing one takes it out again). True when forced.
    """
    if not url or server_state(socket_path, backend, server)["status"] == "UP":
        return False
    if healthcheck_status(url) != 200:
        return False
    answer = haproxy_command(socket_path, f"set server {backend}/{server} health up")
    return not answer.strip()


def enable_node(backend, server, socket_path=DEFAULT_ADMIN_SOCKET, timeout=120, url=None):
    """
    Put an API host back in rotation and wait until HAProxy has it UP. With ``url``
    (the node's API, as the backend line has it) a node that answers 200 on
    /healthcheck is UP at once (:func:`force_up`).

    CLI Example::

        salt lb1 glance_upgrade.enable_node glance_api_back node2
    """
    enable(socket_path, backend, server)
    forced = force_up(socket_path, backend, server, url)
    result = wait_up(socket_path, backend, server, timeout=float(timeout))
    return dict(result, server=f"{backend}/{server}", forced_up=forced)


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
        hint = ("the node may still be drained: remove healthcheck_disable from its drain "
                "dir (glance_upgrade.stop_api does)" if last["status"] == 503
                else "look at the glance_api log")
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
    Stop this node's glance_api (drained first by the orchestration) and end a drain by
    health check: the next container must not start with /healthcheck answering 503.

    CLI Example::

        salt node2 glance_upgrade.stop_api
    """
    docker = __salt__  # noqa: F821
    settings = docker["glance_config.current"]()
    name = settings["services"]["glance-api"]["container_name"]
    result = {"container": name, "stopped": False}
    if not docker["docker.exists"](name):
        result["why"] = "no such container"
    elif docker["docker.inspect_container"](name)["State"]["Running"]:
        docker["docker.stop"](name, timeout=int(timeout))
        result["stopped"] = True
    else:
        result["why"] = "not running"
    disable = healthcheck_disable_path(settings["drain_dir"])
    if os.path.exists(disable):
        os.remove(disable)
        result["undrained"] = disable
    return result


def container_facts(api):
    """What this node's glance_api runs: image name and ID, our labels, running, healthy."""
    docker = __salt__  # noqa: F821
    if not docker["docker.exists"](api["container_name"]):
        return None
    info = docker["docker.inspect_container"](api["container_name"])
    labels = info["Config"].get("Labels") or {}
    running = bool(info["State"]["Running"])
    return {
        "image": info["Config"]["Image"],
        "image_id": info["Image"],
        "labels": {key: labels.get(key) for key in api["labels"]},
        "running": running,
        "healthy": running and healthcheck_status(api["url"]) == 200,
    }


def prepare(pillar=None, db_check=False, **kwargs):  # pylint: disable=unused-argument
    """
    Before an upgrade touches anything: this node's settings with ``pillar`` (the
    orchestration's glance overrides) merged over its own — so its own operator files
    under node_custom_config are read and checked here — then ``docker pull`` of the
    target image, and what the container runs now. With ``db_check`` the database
    node also runs ``db check`` with the pulled target image (``schema``: current,
    expand, migrate, contract or error) while the other hosts still pull. Never
    raises: problems are in ``errors`` and the orchestration refuses with nothing
    stopped.

    CLI Example::

        salt -L node1,node2 glance_upgrade.prepare '{openstack_release: "2025.1"}'
    """
    docker = __salt__  # noqa: F821
    glance = dict(__pillar__.get("glance") or {})  # noqa: F821
    glance.update(pillar or {})
    settings = docker["glance_config.current"](pillar=glance)
    api = settings["services"]["glance-api"]
    me = settings["minion_id"]
    report = {"id": me, "errors": list(settings["errors"]),
              "target": {"image": settings["image"], "labels": api["labels"]},
              "container": None}
    if not settings["am_i_api_host"]:
        report["errors"].append(
            f"{me} is not an API host by its own pillar (glance_api_hosts) — the master and "
            "the minion see different pillars; refresh them (saltutil.refresh_pillar)")
    try:
        report["container"] = container_facts(api)
    except CommandExecutionError as exc:
        report["errors"].append(f"cannot inspect {api['container_name']} on {me}: {exc}")
    if report["errors"]:
        return report
    image = settings["image"]
    try:
        pulled = docker["docker.pull"](image)
        failed = "; ".join(str(e) for e in pulled.get("Errors", [])) if pulled.get(
            "retcode") else ""
    except CommandExecutionError as exc:
        failed = str(exc)
    if failed:
        report["errors"].append(
            f"cannot pull {image} on {me}: {failed} — check that the registry answers and "
            "has that tag (docker_registry, docker_namespace, openstack_tag)")
        return report
    report["target"]["image_id"] = docker["docker.inspect_image"](image)["Id"]
    if str(db_check).lower() in ("true", "1", "yes") and settings["am_i_db_node"]:
        try:
            report["schema"] = docker["glance_db.check"](image, api["volumes"])["status"]
        except CommandExecutionError:
            report["schema"] = "error"
    return report


def deployed():
    """
    True when glance is deployed here (a glance_api container or its service dir):
    the orchestration's API host when glance_api_hosts is empty (one host per minion).

    CLI Example::

        salt '*' glance_upgrade.deployed
    """
    settings = __salt__["glance_config.current"]()  # noqa: F821
    name = settings["services"]["glance-api"]["container_name"]
    return bool(__salt__["docker.exists"](name)) or os.path.isdir(  # noqa: F821
        settings["service_dir"])


def _own_check():
    settings = __salt__["glance_config.current"]()  # noqa: F821
    timing = check_timing(settings["flags"]["haproxy_health_check"])
    return settings, timing


def drain_by_healthcheck(timeout=None):
    """
    Take this node out of any load balancer that checks GET /healthcheck (kolla's
    HAProxy): the disable file makes glance answer 503, the balancer needs
    fall x inter of haproxy_health_check to mark it DOWN, then wait until no request
    is in flight on the API port (at most ``timeout``, default glance_drain_timeout).

    CLI Example::

        salt node2 glance_upgrade.drain_by_healthcheck
    """
    settings, timing = _own_check()
    api = settings["services"]["glance-api"]
    timeout = float(timeout or settings["numbers"]["glance_drain_timeout"])
    disable = healthcheck_disable_path(settings["drain_dir"])
    facts = container_facts(api)
    if not facts or not facts["running"]:
        return {"drained": False, "why": "glance_api is not running"}
    os.makedirs(settings["drain_dir"], mode=0o755, exist_ok=True)
    with open(disable, "w", encoding="utf-8") as handle:
        handle.write("drained by glance_upgrade.drain_by_healthcheck\n")
    last = {}

    def answers_503():
        last["status"] = healthcheck_status(api["url"])
        return last["status"] == 503

    noticed = None
    # an unhealthy node is out of the balancer already: keep it out, nothing to prove
    try:
        if facts["healthy"]:
            _, noticed = poll(answers_503, 30, 0.1, lambda: (
                f"{api['url']}{HEALTHCHECK_PATH} still answers {last['status']} with "
                f"{disable} in place — glance does not use the formula's "
                "glance-api-paste.ini; apply glance.config to this node first"))
    except UpgradeError:
        os.remove(disable)
        raise

    def fails_checks():
        last["status"] = healthcheck_status(api["url"])
        return last["status"] not in CHECK_PASSES

    # the balancer's checks fail from now on: after down_after it has the node DOWN
    balancer_wait = hold(fails_checks, timing["down_after"], timing["down_after"] + timeout,
                         0.2, lambda: (
                             f"{api['url']}{HEALTHCHECK_PATH} answered {last['status']} "
                             f"again with {disable} in place — the balancer may still "
                             "send requests; look at the drain dir mount"))
    address, port = settings["api_address"], settings["listen_port"]

    def idle():
        text = _ss_established(port)
        if text is not None:
            count = busy_connections(text, address, port)
        else:
            count = 0
            for name in ("/proc/net/tcp", "/proc/net/tcp6"):
                if os.path.exists(name):
                    with open(name, encoding="ascii") as handle:
                        count += in_flight(handle.read(), address, port)
        last["in_flight"] = count
        return count == 0

    _, waited = poll(idle, timeout, 0.2, lambda: (
        f"{address}:{port} still has {last['in_flight']} connection(s) in flight after "
        f"{timeout}s — long image uploads may still run; the node stays drained: wait "
        f"and re-run, or remove {disable} to put it back"))
    return {"drained": True, "disable_file": disable, "answers_503_after": noticed,
            "balancer_wait": balancer_wait, "in_flight_wait": waited}


def balancer_up_wait(timing, then_drain=False):
    """
    Pure: seconds of 200 answers in a row :func:`wait_balancer_up` needs. The
    balancer has the node UP within ``up_after``; when the next batch's drain
    follows at once (``then_drain``), that node stays UP in the balancer for at
    least ``down_not_before`` after it starts answering 503, so only what the
    first exceeds the second is waited here (kolla's line: 4 s - 8 s -> 0): never
    two batches out of the balancer at once.
    """
    if then_drain:
        return max(0.0, timing["up_after"] - timing["down_not_before"])
    return timing["up_after"]


def wait_balancer_up(timeout=60, then_drain=False):
    """
    After a restart that ended a drain by health check: wait until /healthcheck has
    answered 200 in a row (watched every 0.2 s) for rise x inter of
    haproxy_health_check, the time a balancer needs to put the node back — or, when
    the next batch's drain follows at once (``then_drain``), only for what that
    exceeds the next node's fall time (:func:`balancer_up_wait`).

    CLI Example::

        salt node2 glance_upgrade.wait_balancer_up
    """
    settings, timing = _own_check()
    url = settings["services"]["glance-api"]["url"]
    last = {"status": healthcheck_status(url)}
    if last["status"] != 200:
        raise UpgradeError(f"{url}{HEALTHCHECK_PATH} answers {last['status']} — the balancer "
                           "will not put this node back; look at the glance_api log")

    def passes():
        last["status"] = healthcheck_status(url)
        return last["status"] == 200

    # the balancer's checks pass from now on: after up_after it has the node UP
    needed = balancer_up_wait(timing, str(then_drain).lower() in ("true", "1", "yes"))
    waited = hold(passes, needed, needed + float(timeout), 0.2,
                  lambda: (f"{url}{HEALTHCHECK_PATH} keeps failing ({last['status']}) — "
                           "the balancer will not put this node back; look at the "
                           "glance_api log"))
    return {"url": url, "waited": waited, "balancer_up_within": timing["up_after"]}


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


def backend_url(backends, server):
    """Pure: ``http://<address>:<port>`` of API host ``server`` in the backend list
    (glance_config's services["glance-api"]["haproxy"]["backends"]), or None."""
    for backend in backends or []:
        if backend.get("id") == server:
            address = str(backend["address"])
            host = f"[{address}]" if ":" in address else address
            return f"http://{host}:{int(backend['port'])}"
    return None


def lb_enable(server, timeout=120, lb_hosts=None):
    """
    On a load balancer host: put ``server`` back and wait until HAProxy has it UP —
    at once when the node answers 200 on /healthcheck from here (:func:`force_up`).

    With ``lb_hosts`` (glance.orch.upgrade targets the next batch's hosts with the
    same job, so they prove they answer before they are drained) a minion not in it
    only answers.
    """
    me = __grains__["id"]  # noqa: F821
    if lb_hosts is not None and me not in lb_hosts:
        return {"answered": me}
    backend, socket_path = _lb_socket()
    backends = __salt__["glance_config.current"]()[  # noqa: F821
        "services"]["glance-api"]["haproxy"]["backends"]
    return enable_node(backend, server, socket_path, timeout, url=backend_url(backends, server))


def plan_for(current_images, schema_status=None, target_image=None):
    """
    :func:`plan` with this minion's glance settings (hosts, image, rolling flag).

    ``current_images`` is what ``prepare`` (or ``running_image``) returned per API host.
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
        managed_lb=bool(settings["loadbalancer"]["hosts"]),
    )
