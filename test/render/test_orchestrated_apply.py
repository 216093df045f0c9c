"""The rolling upgrade's applies (glance.orch.upgrade's pillar) render what they need."""

import json
import pathlib
import subprocess
import sys

SALT_CALL = pathlib.Path(sys.executable).parent / "salt-call"
STOPPED = "glance-service-glance_api-stopped"


def service_states(minion, **top):
    """state.show_sls glance.service with extra top-level pillar (renders, runs nothing)."""
    pillar = dict({"glance": minion.base_pillar()}, **top)
    proc = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(minion.conf), "--out", "json",
         "state.show_sls", "glance.service", "pillar=" + json.dumps(pillar)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["local"]


def requires(high, state_id, module):
    for item in high[state_id][module]:
        if isinstance(item, dict) and "require" in item:
            return item["require"]
    return []


def test_a_rolling_batch_stops_its_container_in_its_own_apply(minion):
    high = service_states(minion, glance_orchestration={"stop_first": True})
    stopped = high[STOPPED]["glance_api"]
    assert "stopped" in stopped
    # stopped only once the schema is known good, and before the container is replaced
    assert {"glance_db": "glance-service-glance_db-current"} in requires(
        high, STOPPED, "glance_api")
    assert {"glance_api": STOPPED} in requires(
        high, "glance-service-docker_container-running", "docker_container")


def test_a_plain_apply_never_stops_the_container_first(minion):
    high = service_states(minion)
    assert STOPPED not in high
    assert {"glance_api": STOPPED} not in requires(
        high, "glance-service-docker_container-running", "docker_container")
