"""Upgrades across minions through `salt-run state.orchestrate glance.orch.upgrade`:
rolling with zero failed requests through HAProxy, legacy with a measured outage,
a failing node that stops the run and a re-run that finishes, and refusals."""

import hashlib
import json

import pytest

from harness.glance_client import download_sha256, random_payload, upload_image
from harness.load import LoadClient
from harness.loopback import LB_ADDRESS, hosts

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
NEW = "2025.1"
MB = 1024 * 1024


def upgrade_pillar(stack, database, rolling="yes", **extra):
    return dict(glance_file_datadir_volume=str(stack.shared),
                glance_enable_rolling_upgrade=rolling,
                glance_loadbalancer_hosts=["node1"],
                kolla_internal_vip_address=LB_ADDRESS,
                glance_database_name=database, **extra)


def deploy_with_images(stack, pillar, count=2):
    run = stack.deploy(**pillar)
    assert run.ok(), run
    images = {}
    for n in range(count):
        payload = random_payload(3 * MB, f"{pillar['glance_database_name']}-{n}")
        images[upload_image(LB_ADDRESS, f"before-{n}", payload)] = \
            hashlib.sha256(payload).hexdigest()
    return images


def serving(stack):
    return stack.cli.run("glance_upgrade.serving_image", minion_tgt="*").data


def schema(stack, image):
    return stack.cli.run("glance_db.status", image, minion_tgt="node1").data["status"]


def assert_images_intact(images):
    for image, digest in images.items():
        for address in ADDRESSES.values():
            assert download_sha256(address, image) == digest


def test_rolling_upgrade_serves_every_request(stack, images):
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_rolling"))
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert summary["requests"] > 100 and summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert_images_intact(before)


def test_legacy_upgrade_completes_and_its_outage_is_measured(stack, images):
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_legacy", rolling="no"))
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    print(f"\nlegacy upgrade outage: {summary}")
    assert summary["failed"] > 0 and summary["longest_outage"] > 0
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert_images_intact(before)


def test_unhealthy_node_stops_the_upgrade_and_a_rerun_finishes(stack, images, custom_files):
    pillar = upgrade_pillar(stack, "glance_failure", glance_api_healthy_timeout=40)
    before = deploy_with_images(stack, pillar)
    # node2's new config cannot load the API pipeline: its new container never gets healthy
    custom_files("glance/node2/glance-api.conf", "[paste_deploy]\nflavor = missing\n")
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    assert ret.returncode != 0
    now = serving(stack)
    assert now["node1"] == images[NEW] and now["node3"] == images["2022.2"]
    assert now["node2"] is None
    assert schema(stack, images[NEW]) == "contract"  # contract never ran
    for address in (ADDRESSES["node1"], ADDRESSES["node3"], LB_ADDRESS):
        for image, digest in before.items():
            assert download_sha256(address, image) == digest

    (stack.work / "custom/glance/node2/glance-api.conf").unlink()
    again = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    assert again.returncode == 0, again.stdout[-4000:]
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert_images_intact(before)


def test_rolling_on_a_local_file_volume_is_refused_and_nothing_changes(stack):
    run = stack.deploy(glance_database_name="glance_refused")
    assert run.ok(), run
    ids = stack.container_ids()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW,
                            glance_enable_rolling_upgrade="yes")
    assert ret.returncode != 0
    assert "glance:glance_enable_rolling_upgrade is on but the file backend keeps images" in \
        json.dumps(ret.data)
    assert stack.container_ids() == ids


def test_plain_apply_of_a_newer_release_refuses_instead_of_migrating(stack, images):
    run = stack.deploy(glance_file_datadir_volume=str(stack.shared),
                       glance_database_name="glance_plain")
    assert run.ok(), run
    ids = stack.container_ids()
    newer = stack.deploy(glance_file_datadir_volume=str(stack.shared),
                         glance_database_name="glance_plain", openstack_release=NEW)
    assert newer.returncode != 0
    assert "upgrade with `salt-run state.orchestrate glance.orch.upgrade`" in \
        newer.comments("node1")
    assert stack.container_ids()["node1"] == ids["node1"]
