"""Run by bench/upgrade_downtime.py (not part of the test suite): the three upgrade
strategies on the same stack under the same steady load; prints a table."""

import time

from harness.glance_client import random_payload, upload_image
from harness.load import LoadClient
from harness.loopback import LB_ADDRESS

NEW = "2025.1"
RATE = 20.0
RESULTS = []


def prepare(stack, database, rolling):
    run = stack.deploy(glance_file_datadir_volume=str(stack.shared),
                       glance_enable_rolling_upgrade=rolling,
                       glance_loadbalancer_hosts=["node1"],
                       kolla_internal_vip_address=LB_ADDRESS,
                       glance_database_name=database)
    assert run.ok(), run
    return upload_image(LB_ADDRESS, "bench", random_payload(1024 * 1024, database))


def measure(name, image, upgrade):
    client = LoadClient(LB_ADDRESS, image, rate=RATE).start()
    time.sleep(3)
    start = time.monotonic()
    upgrade()
    total = time.monotonic() - start
    time.sleep(3)
    summary = client.stop()
    RESULTS.append((name, summary, total))


def kolla_all_at_once(stack, images):
    """kolla-ansible's rolling path: expand + migrate, restart every API at once, contract."""
    pillar = f'pillar={{"glance": {{"openstack_release": "{NEW}", "openstack_tag": "{NEW}"}}}}'
    for steps in (["expand", "migrate"],):
        ret = stack.cli.run("glance_db.upgrade", images[NEW], str(steps).replace("'", ""),
                            minion_tgt="node1")
        assert ret.returncode == 0, ret.stdout
    ret = stack.cli.run("--timeout=900", "state.apply",
                        "glance.precheck,glance.config,glance.service", pillar, minion_tgt="*")
    assert ret.returncode == 0, ret.stdout
    ret = stack.cli.run("glance_db.upgrade", images[NEW], "[contract]", minion_tgt="node1")
    assert ret.returncode == 0, ret.stdout


def test_upgrade_downtime(stack, images):
    rolling = prepare(stack, "glance_bench_rolling", "yes")
    measure("rolling (glance.orch.upgrade)", rolling, lambda: stack.orchestrate(
        openstack_release=NEW, openstack_tag=NEW))
    allatonce = prepare(stack, "glance_bench_kolla", "yes")
    measure("all at once (kolla-ansible)", allatonce, lambda: kolla_all_at_once(stack, images))
    legacy = prepare(stack, "glance_bench_legacy", "no")
    measure("legacy (glance.orch.upgrade)", legacy, lambda: stack.orchestrate(
        openstack_release=NEW, openstack_tag=NEW))

    print(f"\n2022.2 -> {NEW}, 3 API hosts behind HAProxy, load {RATE:.0f} req/s "
          "(list, show, download 1 MB, upload 64 KB)")
    print(f"  {'strategy':<32} {'requests':>8} {'failed':>7} {'longest outage':>15} "
          f"{'p99':>8} {'upgrade':>9}")
    for name, s, total in RESULTS:
        print(f"  {name:<32} {s['requests']:>8} {s['failed']:>7} "
              f"{s['longest_outage']:>13.1f} s {s['p99']:>6.2f} s {total:>7.1f} s")
    assert RESULTS[0][1]["failed"] == 0, RESULTS[0]
