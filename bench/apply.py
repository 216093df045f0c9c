"""
Benchmark: wall time of `state.apply glance` on one minion — first apply, no-op
re-apply, one-option change — against a baseline measured in the same run: the raw
`docker run` of the same bootstrap (db_sync + metadefs) and glance_api containers,
with the same config, waiting for /healthcheck the same way.

The applies go the way operators run them: `salt bench state.apply glance` through a
running salt-master and salt-minion (the demo's setup, harness.salt_daemons). The
no-op is also timed as `salt-call --local` (a fresh process: imports and grains on
every run), labelled as such.

    bash bench/run.sh apply.py [--release 2026.2] [--repeat 3]

Target (issue 10): no-op re-apply <= 1.5 s per minion with 0 changes. "Per minion" is
timed from the master's publish to the minion's return (a LocalClient in this process,
as the upgrade orchestration's steps run); the `salt` CLI line adds the command's own
start, paid once per command whatever the number of minions.
Uses 127.0.3.1 (registry, dockerd "bench", MariaDB, salt-master) so it never meets the
tests.
"""

import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from harness.glance_client import healthy  # noqa: E402
from harness.salt_daemons import MasteredNode  # noqa: E402
from harness.single_node import SingleNode  # noqa: E402
from harness.wait import wait_for  # noqa: E402


def state_seconds(states):
    """The minion's own time in the states (Salt's per-state durations, ms)."""
    return sum(s.get("duration", 0) for s in states.values()) / 1000


def changes(states):
    return sum(1 for s in states.values() if s.get("changes")) if isinstance(states, dict) else -1


def raw_docker(node, image, service_dir):
    """The baseline: what the formula does, by hand, with the docker CLI."""
    binds = ["-v", f"{service_dir}/:/var/lib/kolla/config_files/:ro",
             "-v", "bench_raw_data:/var/lib/glance/", "-v", "kolla_logs:/var/log/kolla/"]
    env = ["-e", "KOLLA_CONFIG_STRATEGY=COPY_ALWAYS"]
    docker = ["docker", "-H", node.dockerd.url]
    start = time.monotonic()
    subprocess.run(docker + ["run", "--rm", "--network", "host", *env, "-e", "KOLLA_BOOTSTRAP=",
                             *binds, image], check=True, capture_output=True)
    subprocess.run(docker + ["run", "-d", "--name", "bench_raw", "--network", "host", *env,
                             *binds, image], check=True, capture_output=True)
    wait_for(lambda: healthy(node.address), timeout=300, interval=0.2, what="raw glance_api")
    seconds = time.monotonic() - start
    subprocess.run(docker + ["rm", "-f", "bench_raw"], check=True, capture_output=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", default="2026.2")
    parser.add_argument("--repeat", type=int, default=3, help="no-op re-applies to time")
    args = parser.parse_args()
    node = SingleNode("bench", "127.0.3.1", tempfile.mkdtemp(prefix="glance-bench-"),
                      release=args.release)
    salted = MasteredNode(node, node.state_dir / "salt-master")
    node.start()
    try:
        salted.start()
        node.remove_glance_containers()
        image = node.pillar()["docker_registry"] + f"/openstack.kolla/glance-api:{args.release}"
        subprocess.run(["docker", "-H", node.dockerd.url, "pull", image], check=True,
                       capture_output=True)
        # the baseline gets its own database, rendered by the formula's config states
        node.write_pillar(glance_database_name="glance_raw")
        for sls in ("glance.config", "glance.bootstrap"):
            _, rc, out = node.salt_call("state.apply", sls)
            assert rc == 0, out
        baseline = raw_docker(node, image, node.state_dir / "etc-kolla/glance-api")

        # the same pillar for the minion and salt-call --local: one deployment, two ways
        formula = {"glance_database_name": "glance_formula",
                   "glance_api_hosts": [{"id": node.name, "address": node.address}]}
        node.write_pillar(**formula)
        salted.write_pillar(**formula)
        salted.sync_all()
        first, rc, out = salted.apply("glance")
        assert rc == 0, out
        noops, in_states = [], []
        for _ in range(args.repeat):
            seconds, rc, out = salted.apply("glance")
            assert rc == 0 and changes(out) == 0, out
            noops.append(seconds)
            in_states.append(state_seconds(out))
        pings = []
        for _ in range(args.repeat):
            start = time.monotonic()
            code, data = salted.conf.salt(node.name, "test.ping")
            assert code == 0 and data == {node.name: True}, data
            pings.append(time.monotonic() - start)
        # per minion: publish -> the minion's return, through a LocalClient in this
        # process (the orchestration's and salt-api's path; no CLI start per command)
        client = salted.client()
        jobs, job_pings = [], []
        for _ in range(args.repeat):
            seconds, out = salted.job(client, "state.apply", "glance")
            assert changes(out) == 0 and all(s.get("result") for s in out.values()), out
            jobs.append(seconds)
            seconds, out = salted.job(client, "test.ping")
            assert out is True, out
            job_pings.append(seconds)
        # salt-call keeps its own cache dir: one untimed run to warm it, like the minion's
        _, rc, out = node.salt_call("state.apply", "glance")
        assert rc == 0 and changes(out) == 0, out
        local_noops = []
        for _ in range(args.repeat):
            seconds, rc, out = node.salt_call("state.apply", "glance")
            assert rc == 0 and changes(out) == 0, out
            local_noops.append(seconds)
        salted.write_pillar(glance_logging_debug="yes", **formula)
        change, rc, out = salted.apply("glance")
        assert rc == 0, out
        changed = changes(out)
    finally:
        salted.stop()
        node.stop()

    noop = statistics.median(noops)
    rows = [
        ("baseline: raw docker run (bootstrap + api + healthy)", baseline, 1.0),
        ("first apply (db, bootstrap, container, healthy)", first, first / baseline),
        (f"no-op re-apply (median of {len(noops)}, 0 changes)", noop, noop / baseline),
        ("  of which in the minion's states (median)", statistics.median(in_states),
         statistics.median(in_states) / baseline),
        ("  floor: salt bench test.ping (CLI, master, minion; median)",
         statistics.median(pings), statistics.median(pings) / baseline),
        (f"no-op per minion: publish -> return (LocalClient, median of {len(jobs)})",
         statistics.median(jobs), statistics.median(jobs) / baseline),
        ("  floor: test.ping publish -> return (median)",
         statistics.median(job_pings), statistics.median(job_pings) / baseline),
        (f"no-op, salt-call --local (fresh process, median of {len(local_noops)})",
         statistics.median(local_noops), statistics.median(local_noops) / baseline),
        (f"one-option change ({changed} states changed)", change, change / baseline),
    ]
    print(f"\nglance {args.release}, one minion (docker.update_mine: false), `salt bench "
          "state.apply glance` through a salt-master unless labelled, seconds (ratio to "
          "baseline)")
    for label, seconds, ratio in rows:
        print(f"  {label:<62} {seconds:7.2f} s  x{ratio:.2f}")
    local = statistics.median(local_noops)
    ping = statistics.median(pings)
    job = statistics.median(jobs)

    def verdict(seconds):
        return f"{'met' if seconds <= 1.5 else 'MISSED'} ({seconds:.2f} s)"

    # the issue measured its 3.3-3.9 s with salt-call --local; through the salt CLI its
    # own start and the master round trip (test.ping) come on top, once per command
    print(f"  no-op target <= 1.5 s per minion: per minion (publish -> return) "
          f"{verdict(job)}; salt-call --local {verdict(local)}; `salt` CLI "
          f"{verdict(noop)}, of which {ping:.2f} s is test.ping's round trip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
