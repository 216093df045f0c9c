"""
Benchmark: API downtime and time of the upgrade strategies, 2022.2 -> 2025.1 on the
real stack (salt-master, 3 minions with their own dockerd, MariaDB, Keystone,
HAProxy), under the same steady load through the load balancer, for the file
backend (the shared directory) and for Ceph, in one run:

    bash bench/run.sh upgrade_downtime.py [--backend file] [--backend ceph] [--workers N]
        [--line rolling --line all-at-once ...] [--rounds N]

--line runs only those lines (rolling, unmanaged, all-at-once, legacy); --rounds N
runs them N times, round after round, and prints each round's ratio and their
median, which then decides the verdict (this 2-core VM moves a single ratio by
0.3x from run to run).

glance-api runs with the formula's default worker count (glance_api_workers unset:
the host's CPUs up to 5, kolla's openstack_service_workers), as operators get it;
--workers pins it (the integration suite pins 1).

Lines, per backend:
  rolling, formula HAProxy    glance.orch.upgrade: drain through the runtime API,
                              stop, replace, wait healthy, enable, one host at a time
  rolling, unmanaged HAProxy  the same behind a kolla-shaped HAProxy the formula does
                              not manage (drained through /healthcheck, kolla's check
                              line "check inter 2000 rise 2 fall 5")
  all at once (kolla)         kolla-ansible's behaviour: expand + migrate, restart
                              every glance_api together, contract
  legacy                      glance.orch.upgrade without rolling: stop all, db_sync,
                              start all

Prints per line failed requests / requests, longest outage, p99 latency and the
upgrade time (the upgrade call alone, the load runs around it), then per backend
rolling / all-at-once for both rolling lines against the issue's target (<= 1.5x)
and where each line's time went. Exits non-zero when an upgrade failed or a rolling
line had a failed request (target: 0).
"""

import argparse
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=("file", "ceph"),
                        help="only these backends (default: both)")
    parser.add_argument("--workers", type=int,
                        help="glance_api_workers (default: the formula's, CPUs up to 5)")
    parser.add_argument("--line", action="append",
                        choices=("rolling", "unmanaged", "all-at-once", "legacy"),
                        help="only these lines (default: all four)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the lines this many times (median ratio decides)")
    args = parser.parse_args()
    env = dict(os.environ, GLANCE_BENCH_BACKENDS=",".join(args.backend or ("file", "ceph")),
               GLANCE_BENCH_WORKERS=str(args.workers or ""),
               GLANCE_BENCH_LINES=",".join(args.line or ("rolling", "unmanaged",
                                                          "all-at-once", "legacy")),
               GLANCE_BENCH_ROUNDS=str(max(1, args.rounds)))
    sys.exit(subprocess.call(
        [sys.executable, "-m", "pytest", str(REPO / "bench" / "upgrade_downtime_run.py"),
         "-s", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-o", "log_level=WARNING",
         f"--rootdir={REPO}"], cwd=REPO, env=env))
