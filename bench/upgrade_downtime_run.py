"""Run by bench/upgrade_downtime.py (not part of the test suite): the upgrade
strategies on the same stack under the same steady load, for the file backend (the
shared directory) and for Ceph; prints a table, the rolling / all-at-once ratios and
where each line's time went."""

import os
import statistics
import time
import traceback

import pytest

import glance_upgrade as gu
from harness.glance_client import random_payload, upload_image
from harness.load import LoadClient
from harness.loopback import LB_ADDRESS
from harness.upgrade import (ADDRESSES, KOLLA_LB, kolla_haproxy,  # noqa: F401 (fixture)
                             orchestration_states, unmanaged_lb_pillar, upgrade_pillar)

OLD, NEW = "2022.2", "2025.1"
RATE = 20.0
# seconds of load before and after the upgrade call
AROUND = 3.0
TARGET = 1.5
# bench/upgrade_downtime.py --backend sets it; both when run directly
BACKENDS = tuple(os.environ.get("GLANCE_BENCH_BACKENDS", "file,ceph").split(","))
# glance_api_workers: "" is the formula's default (CPUs up to 5), not the suite's 1
WORKERS = os.environ.get("GLANCE_BENCH_WORKERS", "")
ROLLING = "rolling, formula HAProxy"
UNMANAGED = "rolling, unmanaged HAProxy"
ALL_AT_ONCE = "all at once (kolla)"
LEGACY = "legacy"
LINES = (ROLLING, UNMANAGED, ALL_AT_ONCE, LEGACY)
# bench/upgrade_downtime.py --line / --rounds: which lines, how many times each
# (round after round: every line of a round runs before the next round starts)
LINE_NAMES = {"rolling": ROLLING, "unmanaged": UNMANAGED, "all-at-once": ALL_AT_ONCE,
              "legacy": LEGACY}
CHOSEN = tuple(LINE_NAMES[name] for name in os.environ.get(
    "GLANCE_BENCH_LINES", ",".join(LINE_NAMES)).split(","))
ROUNDS = int(os.environ.get("GLANCE_BENCH_ROUNDS", "1"))


def deploy(stack, pillar, address, ready=None):
    run = stack.deploy(**pillar)
    assert run.ok(), run
    if ready:
        ready()
    return upload_image(address, "bench", random_payload(1024 * 1024, pillar[
        "glance_database_name"]))


def orchestrate(stack):
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    return ret.returncode == 0, ret.stdout[-3000:], orchestration_parts(ret.data)


# which part of the upgrade an orchestration state ID is
PARTS = (("test-show_notification", "plan"), ("test-ping", "ping"),
         ("lb_drain", "drain"), ("drain_by_healthcheck", "drain"), ("stop_api", "stop"),
         ("glance_db", "db"), ("salt-state", "apply"), ("lb_enable", "enable"),
         ("wait_balancer_up", "enable"), ("salt-runner", "status"))


# inside an apply step (salt.state): which of its states is which part
APPLY_PARTS = (("glance_api-stopped", "apply: stop"),
               ("docker_container-running", "apply: replace container"),
               ("glance_api-healthy", "apply: wait healthy"))


def apply_parts(state):
    """Seconds of one apply step's states per APPLY_PARTS, the rest of its states
    ("apply: other states") and what is left of the step ("apply: salt job"); a step
    on several hosts at once (legacy) counts their mean."""
    parts = {}
    minions = [m for m in (state.get("changes", {}).get("ret") or {}).values()
               if isinstance(m, dict)]
    for minion_states in minions:
        for key, inner_state in minion_states.items():
            if not isinstance(inner_state, dict) or "duration" not in inner_state:
                continue
            seconds = float(inner_state["duration"]) / 1000 / len(minions)
            part = next((name for k, name in APPLY_PARTS if k in key), "apply: other states")
            parts[part] = parts.get(part, 0.0) + seconds
    parts["apply: salt job"] = max(0.0, float(state["duration"]) / 1000 - sum(parts.values()))
    return parts


def orchestration_parts(data):
    """Seconds per part (drain, db, apply and its pieces, enable, status...) of one
    run; the pieces of apply (summed over hosts, which run one batch at a time) add
    up to it."""
    parts = {}
    for state in orchestration_states(data):
        part = next((name for key, name in PARTS if key in state["__id__"]), "other")
        if part == "db":
            part = "db " + str(state.get("changes", {}).get("ret", {}).get(
                "node1", {}).get("ran", "")).replace("db ", "").replace(" ", "")
        if part == "apply":
            for piece, seconds in apply_parts(state).items():
                parts[piece] = parts.get(piece, 0.0) + seconds
            continue
        parts[part] = parts.get(part, 0.0) + float(state["duration"]) / 1000
    return parts


def kolla_all_at_once(stack, images):
    """kolla-ansible's path: expand + migrate, restart every API at once, contract."""
    pillar = f'pillar={{"glance": {{"openstack_release": "{NEW}", "openstack_tag": "{NEW}"}}}}'
    parts, out = {}, ""
    for part, args, tgt in (
            ("db expand+migrate", ("glance_db.upgrade", images[NEW], "[expand, migrate]"),
             "node1"),
            ("apply", ("--timeout=900", "state.apply",
                       "glance.precheck,glance.config,glance.service", pillar), "*"),
            ("db contract", ("glance_db.upgrade", images[NEW], "[contract]"), "node1")):
        start = time.monotonic()
        ret = stack.cli.run(*args, minion_tgt=tgt)
        parts[part] = parts.get(part, 0.0) + time.monotonic() - start
        out += str(ret.stdout)[-1500:]
        if ret.returncode != 0:
            return False, out, parts
    return True, out, parts


def measure(address, image, upgrade):
    """The load runs from AROUND s before the upgrade call to AROUND s after it; the
    upgrade time is the call alone."""
    client = LoadClient(address, image, rate=RATE).start()
    time.sleep(AROUND)
    start = time.monotonic()
    ok, out, parts = upgrade()
    total = time.monotonic() - start
    time.sleep(AROUND)
    summary = client.stop()
    parts["other"] = total - sum(parts.values())
    return {"ok": ok, "out": out, "summary": summary, "total": total, "parts": parts}


def undrain(stack):
    """What the failed drain's message asks for: a node an earlier line left drained
    by health check (healthcheck_disable in its drain dir) is put back, so the next
    line starts with every node serving."""
    for path in (stack.work / "etc-kolla").glob("*/glance-api-drain/healthcheck_disable"):
        path.unlink()


def run_line(stack, images, backend, line, extra, balancer, round_=0):
    # a database per line and round: each starts from a fresh 2022.2 schema
    database = "glance_bench_{}_{}".format(backend, LINES.index(line)) + (
        f"_{round_}" if round_ else "")
    undrain(stack)
    extra = dict(extra, glance_api_workers=WORKERS)
    if line == UNMANAGED:
        def every_node_up():
            for node in ADDRESSES:
                gu.wait_up(balancer.admin_socket, "glance_api", node, timeout=60)

        image = deploy(stack, unmanaged_lb_pillar(stack, database, **extra), KOLLA_LB[0],
                       every_node_up)
        return measure(KOLLA_LB[0], image, lambda: orchestrate(stack))
    rolling = "no" if line == LEGACY else "yes"
    image = deploy(stack, upgrade_pillar(stack, database, rolling=rolling, **extra),
                   LB_ADDRESS)
    if line == ALL_AT_ONCE:
        return measure(LB_ADDRESS, image, lambda: kolla_all_at_once(stack, images))
    return measure(LB_ADDRESS, image, lambda: orchestrate(stack))


def ratio(results, backend, line, round_):
    """rolling / all at once of one round, None when either did not run or failed."""
    base = results.get((backend, ALL_AT_ONCE, round_))
    mine = results.get((backend, line, round_))
    if not base or not mine or not base["ok"] or not mine["ok"]:
        return None
    return mine["total"] / base["total"]


def ratio_lines(results, backend, line):
    """The line's ratio per round against the same round's all at once; with more
    than one round, their median decides the verdict."""
    found = [(r, ratio(results, backend, line, r)) for r in range(ROUNDS)]
    if all(value is None for _, value in found):
        return [f"  {backend:<5} {line} / all at once: n/a (a run failed or did not run)"]
    out = []
    for r, value in found:
        if value is None:
            out.append(f"  {backend:<5} {line} / all at once{_round(r)}: n/a (a run failed)")
            continue
        mine, base = results[(backend, line, r)], results[(backend, ALL_AT_ONCE, r)]
        out.append(f"  {backend:<5} {line} / all at once{_round(r)}: {mine['total']:.1f} s / "
                   f"{base['total']:.1f} s = {value:.2f}x" + (
                       "" if ROUNDS > 1 else f" (target <= {TARGET}x: "
                       f"{'met' if value <= TARGET else 'MISSED'})"))
    values = [value for _, value in found if value is not None]
    if ROUNDS > 1:
        middle = statistics.median(values)
        out.append(f"  {backend:<5} {line} / all at once, median of {len(values)} rounds: "
                   f"{middle:.2f}x ({min(values):.2f}-{max(values):.2f}; target <= "
                   f"{TARGET}x: {'met' if middle <= TARGET else 'MISSED'})")
    return out


def _round(r):
    return f" (round {r + 1})" if ROUNDS > 1 else ""


def report(results):
    print(f"\n{OLD} -> {NEW}, 3 API hosts behind HAProxy, load {RATE:.0f} req/s "
          f"(list, show, download 1 MB, upload 64 KB) from {AROUND:.0f} s before to "
          f"{AROUND:.0f} s after the upgrade call; upgrade = the call; glance_api_workers "
          f"{WORKERS or f'unset (the formula default: {min(os.cpu_count() or 1, 5)} here)'}")
    print(f"  {'backend':<7} {'strategy':<27} {'failed / requests':>17} "
          f"{'longest outage':>14} {'p99':>7} {'upgrade':>8}")
    for (backend, line, r), res in results.items():
        s = res["summary"]
        flag = "" if res["ok"] else "  (upgrade FAILED)"
        print(f"  {backend:<7} {line:<27} {s['failed']:>7} / {s['requests']:<7} "
              f"{s['longest_outage']:>12.1f} s {s['p99']:>5.2f} s {res['total']:>6.1f} s"
              f"{_round(r)}{flag}")
    print("\nratios (same run):")
    for backend in BACKENDS:
        for line in (ROLLING, UNMANAGED):
            if line in CHOSEN and ALL_AT_ONCE in CHOSEN:
                print("\n".join(ratio_lines(results, backend, line)))
    print("\nwhere the time went (s; other = salt-run/CLI start and the orchestration's "
          "render: settings, prepare + pull on every host, db check; an apply step "
          "(glance.orch.upgrade) is shown by its states: stop, replace container, wait "
          "healthy, other states, and the salt job around them):")
    for (backend, line, r), res in results.items():
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(
            res["parts"].items(), key=lambda kv: -kv[1]))
        print(f"  {backend:<5} {line:<27} {parts}{_round(r)}")
    for (backend, line, r), res in results.items():
        if not res["ok"] or (line in (ROLLING, UNMANAGED) and res["summary"]["failed"]):
            print(f"\n{backend} {line}{_round(r)}: errors {res['summary']['errors']}\n"
                  f"{res['out']}")


@pytest.fixture
def ceph_files(stack, ceph):
    """kolla's ceph.conf + client keyring under node_custom_config, as the Ceph
    upgrade test writes them; removed afterwards."""
    written = ceph.write_client_files(stack.work / "custom")
    yield
    for path in written:
        path.unlink(missing_ok=True)


def test_upgrade_downtime(stack, images, kolla_haproxy, request):
    results = {}
    for backend in BACKENDS:
        extra = {}
        if backend == "ceph":
            request.getfixturevalue("ceph_files")
            extra = {"glance_backend_ceph": "yes"}
        for r in range(ROUNDS):
            for line in (line for line in LINES if line in CHOSEN):
                started = time.monotonic()
                try:
                    results[(backend, line, r)] = run_line(stack, images, backend, line, extra,
                                                           kolla_haproxy, r)
                except Exception:  # pylint: disable=broad-except — the table shows it
                    results[(backend, line, r)] = {
                        "ok": False, "out": traceback.format_exc()[-3000:], "total": 0.0,
                        "parts": {}, "summary": {"requests": 0, "failed": 0,
                                                 "longest_outage": 0.0, "p99": 0.0,
                                                 "errors": ["the line did not run"]}}
                print(f"{backend} {line}{_round(r)}: {results[(backend, line, r)]['total']:.1f} s "
                      f"(line {time.monotonic() - started:.0f} s)", flush=True)
    report(results)
    bad = [f"{backend} {line}{_round(r)}" for (backend, line, r), res in results.items()
           if not res["ok"] or (line in (ROLLING, UNMANAGED) and res["summary"]["failed"])]
    assert not bad, f"failed upgrade or failed requests on a rolling line: {bad}"
