"""`salt '*' state.highstate` deploys a working Glance on three simulated hosts."""

import hashlib

import pytest

from harness.glance_client import download_sha256, healthy, random_payload, upload_image
from harness.loopback import hosts

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
NODES = tuple(ADDRESSES)
MB = 1024 * 1024


def shared_pillar(stack, **extra):
    """Shared datadir, and a database of its own so the first apply really bootstraps."""
    return dict(glance_file_datadir_volume=str(stack.shared),
                glance_database_name="glance_deploy", **extra)


@pytest.fixture(scope="module")
def shared(stack):
    """Three API hosts on the shared datadir, with one image uploaded through node1."""
    run = stack.deploy(fun="state.highstate", **shared_pillar(stack))
    assert run.ok(), run
    payload = random_payload(5 * MB, "shared")
    image_id = upload_image(ADDRESSES["node1"], "shared-1", payload)
    return {"run": run, "image": image_id, "sha": hashlib.sha256(payload).hexdigest()}


def test_every_api_host_answers_and_serves_images_uploaded_elsewhere(stack, shared):
    for node, address in ADDRESSES.items():
        assert healthy(address), node
        assert download_sha256(address, shared["image"]) == shared["sha"], node
    assert (stack.shared / "images" / shared["image"]).stat().st_size == 5 * MB


def test_first_apply_bootstrapped_the_schema_once_on_the_db_node(shared):
    run = shared["run"]
    assert "glance-service-glance_db-current" in run.changed("node1")
    assert "glance-service-glance_db-current" not in run.changed("node2")


def test_second_apply_changes_nothing_and_restarts_nothing(stack, shared):
    before = stack.container_ids()
    run = stack.apply(fun="state.highstate")
    assert run.ok(), run
    assert {node: run.changed(node) for node in NODES} == {node: {} for node in NODES}
    assert stack.container_ids() == before
    assert download_sha256(ADDRESSES["node3"], shared["image"]) == shared["sha"]


def _bootstrap_states(run):
    return {s["__id__"]: s for s in run.states("node1").values()
            if s["__id__"].startswith("glance-bootstrap-")}


def test_reapply_skips_the_mysql_states_yet_restores_a_revoked_grant(stack, shared, mariadb):
    """The re-apply's one login as glance stands in for the three saltext.mysql states
    only while the account is what they make it: a revoked grant makes them run."""
    run = stack.apply("glance", tgt="node1")
    assert run.returncode == 0, run
    [skipped] = _bootstrap_states(run).values()
    assert skipped["__id__"] == "glance-bootstrap-test-show_notification", skipped
    assert "glance_deploy" in skipped["comment"] and not skipped["changes"], skipped
    # every privilege, whatever form the grant has (saltext.mysql escapes the "_")
    mariadb.execute("REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'glance'@'%'")
    run = stack.apply("glance", tgt="node1")
    assert run.returncode == 0, run
    states = _bootstrap_states(run)
    assert set(states) == {"glance-bootstrap-mysql_database-present",
                           "glance-bootstrap-mysql_user-present",
                           "glance-bootstrap-mysql_grants-present"}, states
    assert states["glance-bootstrap-mysql_grants-present"]["changes"], states
    assert any("ALL PRIVILEGES ON `glance_deploy`" in row[0].replace("\\_", "_")
               for row in mariadb.execute("SHOW GRANTS FOR 'glance'@'%'"))
    assert download_sha256(ADDRESSES["node1"], shared["image"]) == shared["sha"]


def test_changing_one_hosts_option_restarts_only_that_container(stack, shared):
    before = stack.container_ids()
    run = stack.deploy(per_minion={"node2": {"glance_logging_debug": "yes"}},
                       **shared_pillar(stack))
    assert run.ok(), run
    after = stack.container_ids()
    assert after["node2"] != before["node2"]
    assert after["node1"] == before["node1"] and after["node3"] == before["node3"]
    assert healthy(ADDRESSES["node2"])
    assert download_sha256(ADDRESSES["node2"], shared["image"]) == shared["sha"]


def test_bad_pillar_fails_and_leaves_running_containers_alone(stack, shared):
    before = stack.container_ids()
    run = stack.deploy(**shared_pillar(stack, glance_backend_s3="yes"))
    assert run.returncode != 0
    assert "glance:s3_url is empty but glance_backend_s3 is on" in run.comments("node1")
    assert stack.container_ids() == before
    for address in ADDRESSES.values():
        assert download_sha256(address, shared["image"]) == shared["sha"]
