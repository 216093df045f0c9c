"""Upgrades across minions through `salt-run state.orchestrate glance.orch.upgrade`:
rolling with zero failed requests through HAProxy (the formula's, and an unmanaged one
in kolla's shape drained through /healthcheck), legacy with a measured outage, a failing
node that stops the run and a re-run that finishes, config-change and same-tag rolling
restarts of exactly the hosts that changed, images pulled before anything stops, operator
files read on each host, the single-host default, and refusals."""

import hashlib
import json
import pathlib
import time

import pytest

import glance_upgrade as gu
from harness.upgrade import (KOLLA_CHECK, KOLLA_LB, kolla_haproxy,  # noqa: F401 (fixture)
                             orchestration_state, upgrade_pillar)
from harness.glance_client import download_sha256, random_payload, upload_image
from harness.load import LoadClient
from harness.loopback import LB_ADDRESS, hosts
from harness.wait import When, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_drain_left_behind(stack):
    """A failed drain by health check leaves the node drained on purpose (the run
    says how to put it back); here the next test must not inherit it."""
    yield
    for path in (stack.work / "etc-kolla").glob("*/glance-api-drain/healthcheck_disable"):
        path.unlink()
ADDRESSES = hosts(3)
NEW = "2025.1"
NEWEST = "2026.2"
MB = 1024 * 1024


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


def assert_images_intact(images, addresses=None):
    for image, digest in images.items():
        for address in addresses or ADDRESSES.values():
            assert download_sha256(address, image) == digest


def running_image_ids(stack):
    """Per node: the image ID its glance_api container was created from."""
    return {node: stack.dockerds[node].docker(
        "inspect", "--format", "{{.Image}}", "glance_api", check=False).stdout.strip() or None
        for node in ADDRESSES}


def push_rebuild(stack, images, tag, mark):
    """A new image ID under <registry>/glance-api:<tag>: the 2025.1 image with one more
    label, pushed to the registry (what a rebuilt image under an unchanged tag is)."""
    dockerd = stack.dockerds["node1"]
    ref = f"{images[NEW].rsplit(':', 1)[0]}:{tag}"
    container = dockerd.docker("create", images[NEW]).stdout.strip()
    try:
        dockerd.docker("commit", "--change", f"LABEL glance_formula_test_rebuild={mark}",
                       container, ref)
    finally:
        dockerd.docker("rm", container)
    dockerd.docker("push", ref)
    return dockerd.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def orchestration_text(ret):
    return json.dumps(ret.data) + str(ret.stdout)


def timed_orchestrate(stack, release):
    """The orchestration to ``release`` and its seconds."""
    start = time.monotonic()
    ret = stack.orchestrate(openstack_release=release, openstack_tag=release)
    return ret, time.monotonic() - start


def say(what, summary, seconds):
    """One line per upgrade run under load, for the log (pytest -s or -rP shows it)."""
    print(f"\n{what}: {summary['failed']} failed / {summary['requests']} requests through "
          f"the LB, longest outage {summary['longest_outage']:.1f} s, p99 "
          f"{summary['p99']:.2f} s; the orchestration took {seconds:.1f} s")


def rolling_to(stack, images, release, before):
    """One more rolling upgrade under load: 0 failed requests, every host on
    ``release``, schema current, every image as it was."""
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret, seconds = timed_orchestrate(stack, release)
    summary = client.stop()
    say(f"rolling to {release}", summary, seconds)
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert summary["requests"] > 100 and summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[release]}
    assert schema(stack, images[release]) == "current"
    assert_images_intact(before)


def legacy_to(stack, images, release, before):
    """One legacy upgrade under load: it completes, its outage is measured (requests
    fail while every host is stopped), every image as it was."""
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=release, openstack_tag=release)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    print(f"\nlegacy upgrade to {release}, outage: {summary}")
    assert summary["failed"] > 0 and summary["longest_outage"] > 0
    assert set(serving(stack).values()) == {images[release]}
    assert schema(stack, images[release]) == "current"
    assert_images_intact(before)


def test_legacy_upgrade_completes_and_its_outage_is_measured(stack, images):
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_legacy", rolling="no"))
    legacy_to(stack, images, NEW, before)
    legacy_to(stack, images, NEWEST, before)


def test_unhealthy_node_stops_the_upgrade_and_a_rerun_finishes(stack, images, custom_files):
    pillar = upgrade_pillar(stack, "glance_failure", glance_api_healthy_timeout=120)
    before = deploy_with_images(stack, pillar)
    # node2's new config cannot load the API pipeline: its new container never gets healthy
    custom_files("glance/node2/glance-api.conf", "[paste_deploy]\nflavor = missing\n")
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret, seconds = timed_orchestrate(stack, NEW)
    summary = client.stop()
    say("a new container that never gets healthy (node2)", summary, seconds)
    assert ret.returncode != 0
    # glance-api exits on start and is restarted: the health wait says so with its log
    # lines at once instead of waiting out its 120 s
    assert "fails on start" in orchestration_text(ret), orchestration_text(ret)[-4000:]
    # node2 was drained before it was replaced and stays out: nobody saw it fail
    assert summary["requests"] > 50 and summary["failed"] == 0, summary
    now = serving(stack)
    assert now["node1"] == images[NEW] and now["node3"] == images["2022.2"]
    assert now["node2"] is None
    assert schema(stack, images[NEW]) == "contract"  # contract never ran
    for address in (ADDRESSES["node1"], ADDRESSES["node3"], LB_ADDRESS):
        for image, digest in before.items():
            assert download_sha256(address, image) == digest

    (stack.work / "custom/glance/node2/glance-api.conf").unlink()
    again, seconds = timed_orchestrate(stack, NEW)
    print(f"the re-run after the fix took {seconds:.1f} s")
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


# ---------------------------------------------------------------- restarts: config and digest


def test_a_config_change_restarts_only_that_host_drained_and_a_rerun_touches_nothing(
        stack, images, custom_files):
    pillar = upgrade_pillar(stack, "glance_config_change", openstack_release=NEW,
                            openstack_tag=NEW)
    before = deploy_with_images(stack, pillar)
    ids = stack.container_ids()
    custom_files("glance/node2/glance-api.conf", "[DEFAULT]\nimage_size_cap = 1099511627775\n")
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    after = stack.container_ids()
    assert after["node2"] != ids["node2"]
    assert {after["node1"], after["node3"]} == {ids["node1"], ids["node3"]}
    assert summary["requests"] > 20 and summary["failed"] == 0, summary

    again = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    assert again.returncode == 0, again.stdout[-4000:]
    assert stack.container_ids() == after
    assert_images_intact(before)


def test_a_rebuilt_image_under_the_same_tag_rolls_through_every_host(stack, images):
    tag = f"rebuilt-{int(time.time())}"
    first = push_rebuild(stack, images, tag, "1")
    # glance_tag (kolla's): only the glance-api image is rebuilt; HAProxy stays on the release
    pillar = upgrade_pillar(stack, "glance_same_tag", openstack_release=NEW, glance_tag=tag)
    before = deploy_with_images(stack, pillar)
    assert set(running_image_ids(stack).values()) == {first}
    second = push_rebuild(stack, images, tag, "2")
    assert second != first
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, glance_tag=tag)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert set(running_image_ids(stack).values()) == {second}
    assert summary["requests"] > 50 and summary["failed"] == 0, summary
    assert_images_intact(before)


# ---------------------------------------------------------------- images first


@pytest.mark.parametrize("change", [
    {"openstack_tag": "no-such-tag"},
    # nothing listens there: the registry is unreachable
    {"docker_registry": "127.0.0.1:5999", "openstack_tag": NEW},
], ids=["missing-tag", "unreachable-registry"])
def test_an_image_that_cannot_be_pulled_stops_the_run_with_nothing_stopped(
        stack, images, change):
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_pull_fails"))
    ids = stack.container_ids()
    ret = stack.orchestrate(openstack_release=NEW, **change)
    assert ret.returncode != 0
    text = orchestration_text(ret)
    assert "cannot pull" in text and "nothing was stopped" in text
    assert stack.container_ids() == ids
    assert set(serving(stack).values()) == {images["2022.2"]}
    assert_images_intact(before)


# ---------------------------------------------------------------- operator files, single host

# kolla's rules shape: [^os_glance.*] open first (releases before 2026.1 need it)
RULES = (pathlib.Path(__file__).parents[1] / "fixtures/kolla-config/glance/"
         "property-protections-rules.conf").read_text()
IMPORT_CONF = "[image_import_opts]\nimage_import_plugins = []\n"
FEATURES = {"glance_enable_property_protection": "yes",
            "glance_enable_interoperable_image_import": "yes"}


def test_rolling_upgrade_on_ceph_with_property_protection_and_import(
        stack, images, ceph, custom_files):
    # every operator file kolla keeps under node_custom_config: the Ceph conf and the
    # client.glance keyring, the property rules, the import conf — each host reads its own
    ceph.write_client_files(stack.work / "custom")
    custom_files("glance/property-protections-rules.conf", RULES)
    custom_files("glance/glance-image-import.conf", IMPORT_CONF)
    pillar = upgrade_pillar(stack, "glance_ceph_features", glance_backend_ceph="yes",
                            **FEATURES)
    before = deploy_with_images(stack, pillar)
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert summary["requests"] > 100 and summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert set(before) <= set(ceph.rbd_ls("images"))
    assert_images_intact(before)
    rolling_to(stack, images, NEWEST, before)
    assert set(before) <= set(ceph.rbd_ls("images"))


def test_legacy_upgrades_on_ceph_through_both_paths(stack, images, ceph, custom_files):
    ceph.write_client_files(stack.work / "custom")
    pillar = upgrade_pillar(stack, "glance_ceph_legacy", rolling="no",
                            glance_backend_ceph="yes")
    before = deploy_with_images(stack, pillar)
    legacy_to(stack, images, NEW, before)
    legacy_to(stack, images, NEWEST, before)
    assert set(before) <= set(ceph.rbd_ls("images"))


def test_an_operator_file_missing_on_one_host_refuses_before_anything_stops(
        stack, images, custom_files):
    custom_files("glance/property-protections-rules.conf", RULES)
    custom_files("glance/glance-image-import.conf", IMPORT_CONF)
    pillar = upgrade_pillar(stack, "glance_features_missing", **FEATURES)
    before = deploy_with_images(stack, pillar)
    ids = stack.container_ids()
    # node3 reads its operator files from an empty directory from now on
    empty = stack.work / "custom-empty"
    empty.mkdir(exist_ok=True)
    stack.write_pillar(per_minion={"node3": {"node_custom_config": str(empty)}}, **pillar)
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    assert ret.returncode != 0
    text = orchestration_text(ret)
    assert (f"node3: glance_enable_property_protection is on but {empty}/glance/"
            "property-protections-rules.conf is missing") in text
    assert stack.container_ids() == ids
    assert_images_intact(before)


def test_the_single_host_default_upgrades_without_glance_api_hosts(stack, images):
    # glance_api_hosts empty: each minion that applies glance is its own API host;
    # only node1 applies it here, so the orchestration finds node1 alone
    for node in ("node2", "node3"):
        assert stack.apply("glance.clean", tgt=node).returncode == 0
    own = {node: {"api_interface_address": address} for node, address in ADDRESSES.items()}
    stack.write_pillar(per_minion=own, glance_api_hosts=[],
                       glance_database_name="glance_single_host")
    run = stack.apply("glance", tgt="node1")
    assert run.returncode == 0, run
    payload = random_payload(2 * MB, "single-host")
    image = upload_image(ADDRESSES["node1"], "single", payload)
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert "api_interface_address is empty" not in orchestration_text(ret)
    now = serving(stack)
    assert now["node1"] == images[NEW] and now["node2"] is None and now["node3"] is None
    assert schema(stack, images[NEW]) == "current"
    assert download_sha256(ADDRESSES["node1"], image) == hashlib.sha256(payload).hexdigest()


# ---------------------------------------------------------------- any HAProxy: drain by /healthcheck

def test_rolling_upgrade_behind_an_unmanaged_kolla_haproxy_drains_by_health_check(
        stack, images, kolla_haproxy):
    pillar = upgrade_pillar(stack, "glance_unmanaged_lb", haproxy_health_check=KOLLA_CHECK)
    del pillar["glance_loadbalancer_hosts"], pillar["kolla_internal_vip_address"]
    run = stack.deploy(**pillar)
    assert run.ok(), run
    for node in ADDRESSES:
        gu.wait_up(kolla_haproxy.admin_socket, "glance_api", node, timeout=60)
    before = {}
    for n in range(2):
        payload = random_payload(3 * MB, f"unmanaged-lb-{n}")
        before[upload_image(KOLLA_LB[0], f"before-{n}", payload)] = \
            hashlib.sha256(payload).hexdigest()
    client = LoadClient(KOLLA_LB[0], next(iter(before)), rate=20).start()
    ret = stack.orchestrate(openstack_release=NEW, openstack_tag=NEW)
    summary = client.stop()
    assert ret.returncode == 0, ret.stdout[-4000:]
    text = orchestration_text(ret)
    assert "drain_by_healthcheck" in text and "lb_drain" not in text
    assert summary["requests"] > 100 and summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[NEW]}
    # every node is back in the unmanaged balancer and no drain file is left behind
    assert {gu.server_state(kolla_haproxy.admin_socket, "glance_api", node)["status"]
            for node in ADDRESSES} == {"UP"}
    for node in ADDRESSES:
        assert not (stack.work / "etc-kolla" / node / "glance-api-drain" /
                    "healthcheck_disable").exists()
    assert_images_intact(before, [KOLLA_LB[0]])


# ---------------------------------------------------------------- faults mid-upgrade


def glance_api_runs(stack, node, image):
    """True when node's glance_api container was created from ``image`` (a ref)."""
    return stack.dockerds[node].docker(
        "inspect", "--format", "{{.Config.Image}}", "glance_api",
        check=False).stdout.strip() == image


def container_exists(stack, node, name):
    return bool(stack.dockerds[node].docker(
        "ps", "-q", "--filter", f"name=^{name}$", check=False).stdout.strip())


def serves(address, before):
    """Every image downloads from ``address`` with its checksum (waits for a host whose
    database just came back: its first requests may still fail)."""
    wait_for(lambda: all(download_sha256(address, image) == digest
                         for image, digest in before.items()),
             timeout=60, interval=1, what=f"{address} to serve every image")
    return True


def test_the_database_down_during_expand_stops_the_run_and_a_rerun_finishes(
        stack, images, mariadb):
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_fault_db"))
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    try:
        # the database stops as soon as the expand container exists on the database node
        with When(lambda: container_exists(stack, "node1", "glance_db_upgrade"),
                  mariadb.stop) as fault:
            ret, seconds = timed_orchestrate(stack, NEW)
        assert fault.fired_at is not None, ret.stdout[-4000:]
    finally:
        mariadb.resume()
    # requests that need the database fail while it is down: not the upgrade's doing
    say("the database down during db expand", client.stop(), seconds)
    assert ret.returncode != 0
    text = orchestration_text(ret)
    assert "127.0.0.1:3306 stopped answering during db expand" in text, text[-4000:]
    assert "run the same orchestration again" in text
    # expand runs first, every host still in the balancer: none was drained or
    # stopped, all still run the old release and serve
    now = serving(stack)
    assert now == {node: images["2022.2"] for node in ADDRESSES}, now
    for address in (*ADDRESSES.values(), LB_ADDRESS):
        assert serves(address, before)

    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    again, seconds = timed_orchestrate(stack, NEW)
    summary = client.stop()
    say("the re-run once the database is back", summary, seconds)
    assert again.returncode == 0, again.stdout[-4000:]
    assert summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert_images_intact(before)


def test_rolling_upgrades_serve_every_request_through_registry_and_minion_faults(
        stack, images, registry):
    """2022.2 -> 2025.1 under load with the registry gone after the first node: every
    host pulled the new image before the first one was drained, so the run finishes
    with 0 failed requests, the schema current and the status it prints clean.
    Then 2025.1 -> 2026.2 with node3's minion gone after the first node: the run stops
    before node3 is drained or stopped (it keeps serving through the balancer); once
    the minion is back the same command finishes."""
    before = deploy_with_images(stack, upgrade_pillar(stack, "glance_faults"))
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    try:
        with When(lambda: glance_api_runs(stack, "node1", images[NEW]),
                  registry.stop) as fault:
            ret, seconds = timed_orchestrate(stack, NEW)
        summary = client.stop()
        say("the registry gone after the first node", summary, seconds)
        assert fault.fired_at is not None and not registry.running()
    finally:
        registry.start()
    assert ret.returncode == 0, ret.stdout[-4000:]
    assert summary["requests"] > 100 and summary["failed"] == 0, summary
    assert set(serving(stack).values()) == {images[NEW]}
    assert schema(stack, images[NEW]) == "current"
    assert_images_intact(before)
    # the run ends with glance.status (data here: the test's salt-run prints json):
    # every host on the new release, healthy, nothing drifts
    status = orchestration_state(ret.data, "glance-orch-upgrade-salt-runner")["changes"]["return"]
    assert [(h["release"], h["health"], h["drift"]) for h in status["hosts"]] == [
        (NEW, "healthy", "none")] * 3, status
    assert status["drift"] == [] and status["schema"].startswith("current"), status

    ids = stack.container_ids()
    minion = stack.minions["node3"]
    client = LoadClient(LB_ADDRESS, next(iter(before)), rate=20).start()
    try:
        with When(lambda: glance_api_runs(stack, "node1", images[NEWEST]),
                  minion.terminate) as fault:
            ret, seconds = timed_orchestrate(stack, NEWEST)
        summary = client.stop()
        say("node3's minion gone after the first node", summary, seconds)
        assert fault.fired_at is not None
    finally:
        if not minion.is_running():
            minion.start()
    assert ret.returncode != 0
    text = orchestration_text(ret)
    # the enable of node2 asked node3 to answer too (no test.ping job of its own)
    assert "failed on minions: node3" in text, text[-4000:]
    # node3 was neither drained nor stopped: it kept serving through the load balancer
    assert summary["requests"] > 50 and summary["failed"] == 0, summary
    assert stack.container_ids()["node3"] == ids["node3"]
    now = serving(stack)
    assert now["node1"] == now["node2"] == images[NEWEST] and now["node3"] == images[NEW]
    wait_for(lambda: stack.cli.run("test.ping", minion_tgt="node3").data is True,
             timeout=60, what="node3's minion to answer again")
    rows = {row["host"].rstrip(" *"): row
            for row in stack.run_cli.run("glance.status").data["hosts"]}
    # in the formula's HAProxy on node1, still on the release it had
    assert rows["node3"]["lb"] == "node1:UP", rows
    assert rows["node3"]["release"].split()[0] == NEW, rows

    rolling_to(stack, images, NEWEST, before)
