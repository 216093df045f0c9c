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


def wait(probe_fn, timeout, interval, clock=time.monotonic, sleep=time.sleep, want=200):
    """Pure loop: probe until ``want`` or ``timeout`` seconds; returns (ok, last seen, seconds)."""
    start = clock()
    while True:
        seen = probe_fn()
        elapsed = clock() - start
        if seen == want:
            return True, seen, elapsed
        if elapsed >= timeout:
            return False, seen, elapsed
        sleep(min(interval, max(timeout - elapsed, 0)))


def _await(name, probe_fn, want, timeout, interval, say):
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
    ok, seen, elapsed = wait(probe_fn, timeout, interval, want=want)
    if ok:
        ret["comment"] = say["after"](elapsed)
        return ret
    ret["result"] = False
    ret["comment"] = say["failed"](seen)
    return ret


def healthy(name, timeout=300, interval=0.2, container="glance_api"):
    """
    ``name`` (the /healthcheck URL) answers 200 within ``timeout`` seconds.

    With ``test=True`` one probe: 200 is reported as healthy (result True), anything
    else as "would wait" (result None) — never the full timeout.
    """
    return _await(name, lambda: probe(name), 200, timeout, interval, {
        "now": lambda seen: f"{container} answers 200 at {name}",
        "would": lambda seen: (f"{container} gives {verdict(seen)} at {name} now: a real "
                               f"run waits up to {timeout} s for 200"),
        "after": lambda elapsed: f"{container} answers 200 at {name} (after {elapsed:.1f} s)",
        "failed": lambda seen: (
            f"{container} did not answer 200 at {name} within {timeout} s (last: "
            f"{verdict(seen)}) — see `docker logs {container}` and "
            "/var/log/kolla/glance/ on this host; glance_api_healthy_timeout sets the wait"),
    })


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
