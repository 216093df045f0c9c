"""
State: glance_api answers its health check (and the balancer in front listens).

Salt's ``http.wait_for_successful_query`` waits its whole timeout in test mode
and then reports a change that is not real; a dry run here probes once and
says what it sees. Waiting is never a change.
"""

import functools
import socket
import time
import urllib.error
import urllib.request

__virtualname__ = "glance_api"

LISTENING = "listening"


def __virtual__():
    return __virtualname__


def probe(url, timeout=3.0):
    """HTTP status of a GET of ``url``, or the reason there is none (a string)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


def verdict(seen):
    """Pure: how to say what the last probe saw."""
    return f"HTTP {seen}" if isinstance(seen, int) else f"no answer ({seen})"


def tcp_probe(host, port, timeout=3.0):
    """LISTENING when ``host``:``port`` accepts a TCP connection, else the reason (a string)."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return LISTENING
    except OSError as exc:
        return str(exc)


def wait(probe_fn, timeout, interval, clock=time.monotonic, sleep=time.sleep, want=200,
         give_up=None, give_up_every=2.0):
    """
    Pure loop: probe until ``want`` or ``timeout`` seconds; returns (ok, last seen,
    seconds). ``give_up`` (looked at every ``give_up_every`` seconds) returns why
    waiting longer is pointless, or None; its reason is then the last thing seen.
    """
    start = clock()
    look = start + give_up_every
    while True:
        seen = probe_fn()
        elapsed = clock() - start
        if seen == want:
            return True, seen, elapsed
        if elapsed >= timeout:
            return False, seen, elapsed
        if give_up is not None and clock() >= look:
            reason = give_up()
            if reason:
                return False, GaveUp(reason), elapsed
            look = clock() + give_up_every
        sleep(min(interval, max(timeout - elapsed, 0)))


class GaveUp(str):
    """What :func:`wait` returns as last seen when ``give_up`` ended the wait."""


def crash_loop(first, now):
    """
    Pure: why a container will not get healthy, from two ``docker inspect`` results
    (the first of the wait and the latest), or None. A glance-api that exits on start
    (a config it cannot load, a missing file) is restarted by its restart policy
    again and again; waiting out the health timeout shows nothing more.
    """
    state = now.get("State") or {}
    restarts = int(now.get("RestartCount") or 0) - int(first.get("RestartCount") or 0)
    if restarts >= 2:
        return (f"it exited and was restarted {restarts} times while waiting (last exit "
                f"code {state.get('ExitCode')}): it fails on start")
    if state.get("Status") in ("exited", "dead"):
        return f"it is {state['Status']} (exit code {state.get('ExitCode')})"
    return None


def _await(name, probe_fn, want, timeout, interval, say, give_up=None):
    """
    The shape of :func:`healthy` and :func:`listening`: with ``test=True`` one probe,
    ``want`` reported as True and anything else as "would wait" (None), never the full
    timeout and never a change; a real run waits. ``say`` words each outcome:
    ``now(seen)``, ``would(seen)``, ``after(elapsed)``, ``failed(seen)``.
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if __opts__["test"]:  # noqa: F821
        seen = probe_fn()
        if seen == want:
            ret["comment"] = say["now"](seen)
        else:
            ret["result"] = None
            ret["comment"] = say["would"](seen)
        return ret
    ok, seen, elapsed = wait(probe_fn, timeout, interval, want=want, give_up=give_up)
    if ok:
        ret["comment"] = say["after"](elapsed)
        return ret
    ret["result"] = False
    ret["comment"] = say["failed"](seen)
    return ret


def _inspect(container):
    try:
        return __salt__["docker.inspect_container"](container)  # noqa: F821
    except Exception:  # pylint: disable=broad-except — gone or no docker: keep probing
        return {}


def _log_tail(container, lines=15):
    try:
        return str(__salt__["docker.logs"](container, tail=lines))  # noqa: F821
    except Exception:  # pylint: disable=broad-except
        return ""


def healthy(name, timeout=300, interval=0.2, container="glance_api"):
    """
    ``name`` (the /healthcheck URL) answers 200 within ``timeout`` seconds. A
    container that keeps exiting (restarted twice during the wait, or exited) fails
    the state at once with its last log lines, instead of after the whole timeout.

    With ``test=True`` one probe: 200 is reported as healthy (result True), anything
    else as "would wait" (result None) — never the full timeout.
    """
    first = {}

    def give_up():
        if not first:
            first.update(_inspect(container) or {"RestartCount": 0})
            return None
        reason = crash_loop(first, _inspect(container))
        return f"{container}: {reason}. Last log lines:\n{_log_tail(container)}" \
            if reason else None

    return _await(name, lambda: probe(name), 200, timeout, interval, {
        "now": lambda seen: f"{container} answers 200 at {name}",
        "would": lambda seen: (f"{container} gives {verdict(seen)} at {name} now: a real "
                               f"run waits up to {timeout} s for 200"),
        "after": lambda elapsed: f"{container} answers 200 at {name} (after {elapsed:.1f} s)",
        "failed": lambda seen: (
            f"{container} does not answer 200 at {name}: {seen}" if isinstance(
                seen, GaveUp) else
            f"{container} did not answer 200 at {name} within {timeout} s (last: "
            f"{verdict(seen)}) — see `docker logs {container}` and "
            "/var/log/kolla/glance/ on this host; glance_api_healthy_timeout sets the wait"),
    }, give_up=give_up)


def listening(name, port, timeout=60, interval=0.2, container="glance_haproxy"):
    """
    ``name``:``port`` (the load balancer's address) accepts connections within
    ``timeout`` seconds: kolla's "wait for haproxy to listen on VIP", so an apply
    that returns has a balancer clients can reach. ``test=True`` probes once.
    """
    where = f"{__salt__['glance_config.url_host'](name)}:{port}"  # noqa: F821
    return _await(name, functools.partial(tcp_probe, name, port), LISTENING, timeout,
                  interval, {
                      "now": lambda seen: f"{container} listens on {where}",
                      "would": lambda seen: (f"nothing listens on {where} now ({seen}): a "
                                             f"real run waits up to {timeout} s for "
                                             f"{container}"),
                      "after": lambda elapsed: (f"{container} listens on {where} (after "
                                                f"{elapsed:.1f} s)"),
                      "failed": lambda seen: (
                          f"nothing listens on {where} within {timeout} s (last: {seen}) — "
                          f"see `docker logs {container}` on the load balancer hosts, and "
                          "that the address is up on one of them"),
                  })


def stopped(name, timeout=60):
    """
    ``name`` (glance_api, drained by the orchestration) is stopped, and a drain by
    health check ended, before the same run replaces it: glance.orch.upgrade sets
    ``glance_orchestration:stop_first`` for its rolling applies, so the stop needs
    no salt job of its own. See ``glance_upgrade.stop_api``.
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    if __opts__["test"]:  # noqa: F821
        ret["result"] = None
        ret["comment"] = f"{name} would be stopped (if running) before it is replaced"
        return ret
    done = __salt__["glance_upgrade.stop_api"](timeout=timeout)  # noqa: F821
    ret["changes"] = {key: done[key] for key in ("stopped", "undrained") if done.get(key)}
    ret["comment"] = (f"{name} stopped" if done.get("stopped")
                      else f"{name}: {done.get('why', 'nothing to stop')}")
    return ret
