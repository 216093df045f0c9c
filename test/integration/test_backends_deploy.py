"""Backends and placement on the real stack: pinned file volume, S3 (moto), uWSGI release,
ceph/swift/vmware at config level, bad input and clean."""

import hashlib
import json

import boto3
import pytest

from harness.glance_client import download_sha256, healthy, random_payload, upload_image
from harness.loopback import hosts

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
MB = 1024 * 1024


def sha(payload):
    return hashlib.sha256(payload).hexdigest()


def test_default_glance_volume_runs_the_api_on_the_first_host_only(stack):
    run = stack.deploy(glance_database_name="glance_pinned")
    assert run.ok(), run
    ids = stack.container_ids()
    assert ids["node1"] and ids["node2"] is None and ids["node3"] is None
    assert "glance-api does not run on node2: glance-api runs only on node1" in run.comments("node2")
    payload = random_payload(2 * MB, "pinned")
    image = upload_image(ADDRESSES["node1"], "pinned", payload)
    assert download_sha256(ADDRESSES["node1"], image) == sha(payload)
    assert not healthy(ADDRESSES["node2"])


def s3_pillar(keys, secret=None):
    return {"glance_backend_s3": "yes", "s3_url": keys["url"], "s3_access_key": keys["access"],
            "s3_secret_key": secret or keys["secret"], "s3_glance_bucket": "glance-images",
            "glance_backend_s3_bucket_url_format": "path", "glance_database_name": "glance_s3"}


def test_s3_backend_stores_images_in_the_bucket(stack, s3_keys):
    run = stack.deploy(**s3_pillar(s3_keys))
    assert run.ok(), run
    assert all(stack.container_ids().values())
    payload = random_payload(5 * MB, "s3")
    image = upload_image(ADDRESSES["node1"], "s3-1", payload)
    for address in ADDRESSES.values():
        assert download_sha256(address, image) == sha(payload)
    s3 = boto3.client("s3", endpoint_url=s3_keys["url"], region_name="us-east-1",
                      aws_access_key_id=s3_keys["access"],
                      aws_secret_access_key=s3_keys["secret"])
    objects = s3.list_objects_v2(Bucket="glance-images").get("Contents", [])
    assert [(o["Key"], o["Size"]) for o in objects] == [(image, 5 * MB)]


def test_wrong_s3_secret_fails_the_apply_and_changes_nothing(stack, s3_keys):
    assert stack.deploy(**s3_pillar(s3_keys)).ok()
    before = stack.container_ids()
    run = stack.deploy(**s3_pillar(s3_keys, secret="wrong-secret"))
    assert run.returncode != 0
    comments = run.comments("node1")
    assert "rejected the keys (Failed s3 operation. SignatureDoesNotMatch" in comments
    assert "wrong-secret" not in json.dumps(run.data)
    assert stack.container_ids() == before


# 2025.1 under uWSGI is config-tested only (test/render): Debian's glance 30 package
# leaves out upstream's glance/wsgi/api.py (a directory without __init__.py), which
# the official Kolla image, installed from upstream, has
@pytest.mark.parametrize("pillar", [{"openstack_release": "2026.2"}], ids=["2026.2-auto"])
def test_uwsgi_deploys_and_serves_images(stack, pillar):
    database = "glance_uwsgi_" + pillar["openstack_release"].replace(".", "_")
    run = stack.deploy(glance_database_name=database,
                       glance_file_datadir_volume=str(stack.shared), **pillar)
    assert run.ok(), run
    config = json.loads((stack.work / "etc-kolla/node2/glance-api/config.json").read_text())
    assert config["command"] == "uwsgi /etc/glance/glance-api-uwsgi.ini"
    top = stack.dockerds["node2"].docker("exec", "glance_api", "cat", "/proc/1/cmdline").stdout
    assert top.split("\0")[0] == "uwsgi"
    payload = random_payload(3 * MB, "uwsgi")
    image = upload_image(ADDRESSES["node2"], "uwsgi-1", payload)
    for address in ADDRESSES.values():
        assert download_sha256(address, image) == sha(payload)


@pytest.mark.parametrize("pillar,message", [
    ({"glance_enable_rolling_upgrade": "yes", "glance_file_datadir_volume": "glance"},
     "glance:glance_enable_rolling_upgrade is on but the file backend keeps images"),
    ({"glance_backend_cepth": "yes"}, "did you mean 'glance_backend_ceph'?"),
    ({"glance_cache_max_size": "10G", "enable_glance_image_cache": "yes"},
     "glance:glance_cache_max_size is '10G'"),
])
def test_bad_input_leaves_running_containers_untouched(stack, pillar, message):
    good = {"glance_file_datadir_volume": str(stack.shared),
            "glance_database_name": "glance_bad_input"}
    assert stack.deploy(**good).ok()
    before = stack.container_ids()
    run = stack.deploy(**{**good, **pillar})
    assert run.returncode != 0
    assert message in run.comments("node1")
    assert stack.container_ids() == before


CEPH_CONF = "[global]\nfsid = 9a4b\nmon host = 127.0.0.1:6789\n"


@pytest.mark.parametrize("backend,pillar,section", [
    ("ceph", {"glance_backend_ceph": "yes"}, "rbd"),
    ("swift", {"glance_backend_swift": "yes", "keystone_internal_url": "http://127.0.0.5:5000",
               "glance_keystone_password": "ks"}, "swift"),
    ("vmware", {"glance_backend_vmware": "yes", "vmware_vcenter_host_password": "vc",
                "vmware_vcenter_name": "dc", "vmware_datastore_name": "ds"}, "vmware"),
])
def test_backends_without_a_cluster_render_on_every_minion(stack, custom_files, backend,
                                                             pillar, section):
    custom_files("glance/ceph.conf", CEPH_CONF)
    custom_files("glance/ceph.client.glance.keyring", "[client.glance]\nkey = AQB==\n")
    stack.write_pillar(**pillar)
    run = stack.apply("glance.config")
    assert run.ok(), run
    for node in ADDRESSES:
        service = stack.work / "etc-kolla" / node / "glance-api"
        conf = (service / "glance-api.conf").read_text()
        assert f"[{section}]" in conf and f"default_backend = {section}" in conf
        entries = {e["dest"] for e in json.loads((service / "config.json").read_text())[
            "config_files"]}
        if backend == "ceph":
            assert (service / "ceph/ceph.conf").read_text() == CEPH_CONF
            assert "/etc/ceph" in entries
        if backend == "swift":
            assert "/etc/glance/glance-swift.conf" in entries
    shown = stack.cli.run("glance_config.show", minion_tgt="node3").data
    assert f"{stack.work}/etc-kolla/node3/glance-api/:/var/lib/kolla/config_files/:ro" in \
        shown["services"]["glance-api"]["volumes"]


def test_clean_removes_containers_and_keeps_images(stack):
    run = stack.deploy(glance_file_datadir_volume=str(stack.shared),
                       glance_database_name="glance_clean")
    assert run.ok(), run
    payload = random_payload(1 * MB, "clean")
    image = upload_image(ADDRESSES["node1"], "clean-1", payload)
    cleaned = stack.apply("glance.clean")
    assert cleaned.ok(), cleaned
    assert set(stack.container_ids().values()) == {None}
    assert not (stack.work / "etc-kolla/node1/glance-api").exists()
    again = stack.apply(fun="state.highstate")
    assert again.ok(), again
    assert download_sha256(ADDRESSES["node3"], image) == sha(payload)
