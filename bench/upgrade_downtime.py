"""
Benchmark: API downtime of the upgrade strategies, 2022.2 -> 2025.1 on the real
stack (salt-master, 3 minions with their own dockerd, MariaDB, HAProxy), under a
steady load through the load balancer. Prints, per strategy: failed requests,
longest outage, p99 latency and total upgrade time.

    bash bench/run.sh upgrade_downtime.py

Strategies: rolling (ours: drain, replace, wait healthy, enable, one host at a
time), all at once (kolla-ansible's behaviour: expand/migrate, restart every
glance_api together, contract), legacy (stop all, db_sync, start all).
Target (issue): rolling = 0 failed requests.
"""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    sys.exit(subprocess.call(
        [sys.executable, "-m", "pytest", str(REPO / "bench" / "upgrade_downtime_run.py"),
         "-s", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-o", "log_level=WARNING",
         f"--rootdir={REPO}"], cwd=REPO))
