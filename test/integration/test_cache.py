"""The image cache on real Glance: cron-scheduled prune/clean per minion (Glance
prunes nothing by itself), run exactly as cron runs it."""

import os
import pathlib
import subprocess
import time

import pytest

from harness.glance_client import api, random_payload, upload_image
from harness.loopback import hosts

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
NODES = tuple(ADDRESSES)
MB = 1024 * 1024
MAX = 8 * MB
CRON_USERS = {node: f"gfcron{i}" for i, node in enumerate(NODES, 1)}


@pytest.fixture(scope="module")
def cron_users():
    """One throwaway crontab owner per simulated host: they share this machine's cron."""
    made = []
    for user in CRON_USERS.values():
        if subprocess.run(["id", user], capture_output=True, check=False).returncode:
            subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", user], check=True)
            made.append(user)
    yield CRON_USERS
    for user in CRON_USERS.values():
        subprocess.run(["crontab", "-r", "-u", user], capture_output=True, check=False)
    for user in made:
        subprocess.run(["userdel", user], check=True)


def crontab(user):
    proc = subprocess.run(["crontab", "-l", "-u", user], capture_output=True, text=True,
                          check=False)
    return [line for line in proc.stdout.splitlines()
            if line.strip() and not line.startswith("#")]


def cron_entry(user, job):
    """(minute field, command) of the glance_cache.<job> line."""
    line = next(line for line in crontab(user) if f"glance_cache.{job}" in line)
    fields = line.split(None, 5)
    return fields[0], fields[5]


def run_as_cron(command):
    """What cron does: /bin/sh -c <command> with a minimal environment."""
    return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": "/root", "SHELL": "/bin/sh"},
                          timeout=300, check=False)


def usage(stack, node="node1"):
    data = stack.cli.run("glance_cache.usage", minion_tgt=node).data
    return dict(data, ids={image["id"] for image in data["images"]})


def prune_requests(stack, node="node1"):
    """POST /v2/cache/prune requests node's uWSGI has logged (0 under eventlet)."""
    out = stack.dockerds[node].docker(
        "exec", "glance_api", "sh", "-c",
        "cat /var/log/kolla/glance/glance-api-uwsgi.log 2>/dev/null || true")
    return out.stdout.count("POST /v2/cache/prune")


def deploy(stack, release, cache="yes"):
    return stack.deploy(
        per_minion={node: {"glance_cache_cron_user": user} for node, user in CRON_USERS.items()},
        openstack_release=release, glance_database_name="glance_cache_" + release.replace(".", "_"),
        glance_file_datadir_volume=str(stack.shared), enable_glance_image_cache=cache,
        glance_cache_max_size=str(MAX))


# 2022.2 and 2025.1 run glance-cache-pruner/-cleaner in the container; 2026.2 (glance
# 33) calls POST /v2/cache/prune|clean on the node itself with a Keystone token
@pytest.mark.parametrize("release", ["2022.2", "2025.1", "2026.2"])
def test_scheduled_prune_and_clean_keep_the_cache_under_its_size(stack, cron_users, release):
    for daemon in stack.dockerds.values():
        daemon.remove_all_containers()
        daemon.docker("volume", "rm", "-f", "glance_image_cache", check=False)
    run = deploy(stack, release)
    assert run.ok(), run
    address = ADDRESSES["node1"]
    images = [upload_image(address, f"cache-{n}", random_payload(5 * MB, f"{release}-{n}"))
              for n in range(3)]
    for image in images:  # the last one downloaded is the most recently used
        assert api(address, f"/v2/images/{image}/file", timeout=120)[0] == 200
        time.sleep(1.1)
    before = usage(stack)
    assert before["bytes"] >= 15 * MB and set(images) <= before["ids"], before

    minute, command = cron_entry(cron_users["node1"], "prune")
    api_prunes = prune_requests(stack)
    proc = run_as_cron(command)
    assert proc.returncode == 0, proc.stderr
    assert prune_requests(stack) - api_prunes == (1 if release == "2026.2" else 0)
    after = usage(stack)
    assert after["bytes"] <= MAX, after
    assert images[-1] in after["ids"]

    mountpoint = pathlib.Path(stack.cli.run("docker.inspect_volume", "glance_image_cache",
                                            minion_tgt="node1").data["Mountpoint"])
    invalid = mountpoint / "invalid" / "00000000-0000-0000-0000-00000000dead"
    stalled = mountpoint / "incomplete" / "00000000-0000-0000-0000-00000000beef"
    for path in (invalid, stalled):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"partial")
    old = time.time() - 2 * 86400
    os.utime(stalled, (old, old))
    _, clean = cron_entry(cron_users["node1"], "clean")
    proc = run_as_cron(clean)
    assert proc.returncode == 0, proc.stderr
    assert not invalid.exists() and not stalled.exists()
    assert images[-1] in usage(stack)["ids"]


def test_schedules_differ_per_minion_are_stable_and_go_away_with_the_cache(stack, cron_users):
    assert deploy(stack, "2022.2").ok()
    first = {node: crontab(user) for node, user in cron_users.items()}
    minutes = {cron_entry(user, "prune")[0] for user in cron_users.values()}
    assert len(minutes) == 3 and all(len(lines) == 2 for lines in first.values()), first
    again = deploy(stack, "2022.2")
    assert again.ok(), again
    assert {node: crontab(user) for node, user in cron_users.items()} == first
    assert all(again.changed(node) == {} for node in NODES)
    off = deploy(stack, "2022.2", cache="no")
    assert off.ok(), off
    assert all(crontab(user) == [] for user in cron_users.values())
    conf = (stack.work / "etc-kolla/node2/glance-api/glance-api.conf").read_text()
    assert "cachemanagement" not in conf and "image_cache_dir" not in conf
