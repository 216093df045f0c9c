"""The formula against real storage servers: Ceph (one mon + one memstore OSD, cephx,
client.glance with kolla's caps) and Swift (SAIO behind keystoneauth + authtoken).

Three minions deploy glance-api (every test release) with the backend on; an image
uploaded with the openstack client on one node lands in the cluster (an RBD image in
pool ``images``, an object in container ``glance``), downloads with the same sha256
from every node, and a delete through another node removes it from the cluster.
"""

import hashlib
import json

import pytest

from harness.glance_client import random_payload
from harness.loopback import hosts
from harness.openstack_cli import OpenStackCLI

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
MB = 1024 * 1024
RELEASES = ["2022.2", "2025.1", "2026.2"]


def sha(payload):
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture(scope="module")
def cli(stack, keystone, tmp_path_factory):
    """clouds.yaml: admin pinned to each node's glance-api."""
    cli = OpenStackCLI(tmp_path_factory.mktemp("os"), keystone.auth_url)
    for node, address in ADDRESSES.items():
        cli.add_cloud(node, "admin", keystone.admin_password, "admin",
                      image_endpoint=f"http://{address}:9292")
    return cli


def upload_then_download_everywhere(cli, name, payload, tmp_path):
    """Upload through node1, download through every node; returns the image as shown."""
    path = tmp_path / f"{name}.img"
    path.write_bytes(payload)
    image = cli.json("node1", "image", "create", "--disk-format", "raw",
                     "--container-format", "bare", "--file", path, name)
    for node in ADDRESSES:
        out = tmp_path / f"{name}.{node}"
        cli.run(node, "image", "save", "--file", out, image["id"])
        assert sha(out.read_bytes()) == sha(payload), node
    return cli.json("node3", "image", "show", image["id"])


@pytest.mark.parametrize("release", RELEASES)
def test_ceph_backend_stores_images_as_rbd_images_in_the_pool(
        stack, ceph, cli, custom_files, tmp_path, release):  # pylint: disable=unused-argument
    # custom_files removes <node_custom_config>/glance (the client files) afterwards
    ceph.write_client_files(stack.work / "custom")
    run = stack.deploy(glance_backend_ceph="yes", openstack_release=release,
                       glance_database_name="glance_ceph_" + release.replace(".", "_"))
    assert run.ok(), run
    assert all(stack.container_ids().values())
    service = stack.work / "etc-kolla/node2/glance-api"
    conf = (service / "glance-api.conf").read_text()
    assert "default_backend = rbd" in conf and "[file]" not in conf
    # glance gets its own key only, never the admin keyring
    assert sorted(p.name for p in (service / "ceph").iterdir()) == [
        "ceph.client.glance.keyring", "ceph.conf"]
    payload = random_payload(9 * MB + 123, f"ceph-{release}")
    shown = upload_then_download_everywhere(cli, f"ceph-{release}", payload, tmp_path)
    assert shown["status"] == "active"
    assert shown["properties"]["stores"] == "rbd"   # glance multi-store: where it landed
    assert shown["id"] in ceph.rbd_ls("images")
    info = json.loads(ceph.exec("rbd", "info", "--format", "json",
                                f"images/{shown['id']}").stdout)
    assert info["size"] == len(payload)
    cli.run("node2", "image", "delete", shown["id"])
    assert shown["id"] not in ceph.rbd_ls("images")


@pytest.mark.parametrize("release", RELEASES)
def test_swift_backend_stores_images_as_objects_in_the_container(stack, swift, cli, tmp_path,
                                                                  release):
    run = stack.deploy(glance_backend_swift="yes", openstack_release=release,
                       glance_database_name="glance_swift_" + release.replace(".", "_"))
    assert run.ok(), run
    assert all(stack.container_ids().values())
    swift_conf = (stack.work / "etc-kolla/node3/glance-api/glance-swift.conf").read_text()
    assert "auth_version = 3" in swift_conf
    payload = random_payload(7 * MB + 45, f"swift-{release}")
    shown = upload_then_download_everywhere(cli, f"swift-{release}", payload, tmp_path)
    assert shown["status"] == "active"
    assert shown["properties"]["stores"] == "swift"   # glance multi-store: where it landed
    objects = {o["name"]: o for o in swift.list_objects("glance")}
    assert shown["id"] in objects
    assert objects[shown["id"]]["bytes"] == len(payload)
    assert objects[shown["id"]]["hash"] == hashlib.md5(payload).hexdigest()
    cli.run("node2", "image", "delete", shown["id"])
    assert shown["id"] not in {o["name"] for o in swift.list_objects("glance")}
