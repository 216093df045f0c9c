"""
The features that only mean something behind Keystone, over the authenticated API,
with python-openstackclient as users run it, on 2025.1 and 2026.2:

* property protection, ``roles`` and ``policies`` formats: a member is refused (403)
  on a protected property that an admin may set;
* interoperable image import on 3 API nodes with node-local staging: glance-direct
  staged through one node and imported through another, web-download from an HTTP
  server on this machine, copy-image from the file store to S3.
"""

import hashlib
import http.server
import json
import threading

import boto3
import pytest

from harness.glance_client import random_payload
from harness.loopback import hosts
from harness.openstack_cli import OpenStackCLI

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
MB = 1024 * 1024
WEB_ADDRESS, WEB_PORT = "127.0.0.6", 8088
MEMBER_PASSWORD = "it-member-pw"

ROLES_RULES = """\
[^os_glance.*]
create = @
read = @
update = @
delete = @

[^x_billing_.*]
create = admin
read = admin,member
update = admin
delete = admin

[.*]
create = @
read = @
update = @
delete = @
"""

POLICIES_RULES = """\
[^os_glance.*]
create = default
read = default
update = default
delete = default

[^x_billing_.*]
create = context_is_admin
read = default
update = context_is_admin
delete = context_is_admin

[.*]
create = default
read = default
update = default
delete = default
"""

# list options take brackets here; a loopback host must be allowed by name (glance's
# SSRF fix refuses loopback and link-local addresses that no allowed_hosts entry names)
IMPORT_CONF = f"""\
[import_filtering_opts]
allowed_hosts = [{WEB_ADDRESS}]
allowed_ports = [80,443,{WEB_PORT}]
"""


def sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory):
    """A plain HTTP server on 127.0.0.6:8088 for web-download; stopped after the module."""
    root = tmp_path_factory.mktemp("web")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # keep the test log clean
            pass

    server = http.server.ThreadingHTTPServer((WEB_ADDRESS, WEB_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def cli(stack, keystone, tmp_path_factory):
    """clouds.yaml: admin (catalog), admin pinned to each node, and a member of project demo."""
    cli = OpenStackCLI(tmp_path_factory.mktemp("os"), keystone.auth_url)
    cli.add_cloud("admin", "admin", keystone.admin_password, "admin")
    for node, address in ADDRESSES.items():
        cli.add_cloud(node, "admin", keystone.admin_password, "admin",
                      image_endpoint=f"http://{address}:9292")
    cli.run("admin", "project", "create", "--or-show", "demo")
    cli.run("admin", "user", "create", "--or-show", "--project", "demo",
            "--password", MEMBER_PASSWORD, "demo-member")
    cli.run("admin", "role", "add", "--project", "demo", "--user", "demo-member", "member")
    cli.add_cloud("member", "demo-member", MEMBER_PASSWORD, "demo",
                  image_endpoint=f"http://{ADDRESSES['node1']}:9292")
    return cli


def feature_pillar(stack, release, s3_keys, rule_format="roles"):
    return {
        "openstack_release": release,
        "glance_database_name": "glance_features_" + release.replace(".", "_"),
        "glance_file_datadir_volume": str(stack.shared / f"features-{release}"),
        "glance_staging_volume": "glance_staging",
        "glance_backend_file": "yes",
        "glance_default_backend": "file",
        "glance_backend_s3": "yes", "s3_url": s3_keys["url"],
        "s3_access_key": s3_keys["access"], "s3_secret_key": s3_keys["secret"],
        "s3_glance_bucket": "glance-features", "glance_backend_s3_bucket_url_format": "path",
        "glance_enable_property_protection": "yes",
        "property_protection_rule_format": rule_format,
        "glance_enable_interoperable_image_import": "yes",
    }


@pytest.fixture(scope="module", params=["2025.1", "2026.2"])
def deployed(request, stack, s3_keys, custom_files_module):
    release = request.param
    (stack.shared / f"features-{release}").mkdir(exist_ok=True)
    custom_files_module("glance/property-protections-rules.conf", ROLES_RULES)
    custom_files_module("glance/glance-image-import.conf", IMPORT_CONF)
    run = stack.deploy(**feature_pillar(stack, release, s3_keys))
    assert run.ok(), run
    return release


def create_with_file(cli, cloud, name, payload, tmp_path, *extra, check=True):
    path = tmp_path / f"{name}.img"
    path.write_bytes(payload)
    return cli.run(cloud, "image", "create", "--disk-format", "raw", "--container-format",
                   "bare", "--file", path, *extra, name, "-f", "json", check=check)


def saved_sha(cli, cloud, image_id, tmp_path):
    out = tmp_path / f"{image_id}.saved"
    cli.run(cloud, "image", "save", "--file", out, image_id)
    return sha(out.read_bytes())


def assert_only_admin_sets_billing(cli, payload, tmp_path, tag):
    """The protected x_billing_* property: member refused with 403, admin allowed."""
    refused = create_with_file(cli, "member", f"member-{tag}", payload, tmp_path,
                               "--property", "x_billing_code=7", check=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr or "Forbidden" in refused.stderr, refused.stderr
    admin = create_with_file(cli, "admin", f"admin-{tag}", payload, tmp_path,
                             "--property", "x_billing_code=42")
    assert '"x_billing_code": "42"' in admin.stdout


def test_rules_file_in_the_container_is_what_the_operator_wrote(stack, deployed):
    out = stack.dockerds["node2"].docker(
        "exec", "glance_api", "cat", "/etc/glance/property-protections-rules.conf")
    assert out.stdout == ROLES_RULES


def test_member_is_refused_a_protected_property_that_admin_may_set(cli, deployed, tmp_path):
    payload = random_payload(MB, "protected")
    assert_only_admin_sets_billing(cli, payload, tmp_path, "roles")
    allowed = create_with_file(cli, "member", "member-free", payload, tmp_path,
                               "--property", "x_note=free")
    assert '"x_note": "free"' in allowed.stdout


def test_glance_direct_staged_on_one_node_is_imported_through_another(
        cli, deployed, tmp_path):
    payload = random_payload(3 * MB, f"direct-{deployed}")
    image = cli.json("node1", "image", "create", "--disk-format", "raw",
                     "--container-format", "bare", "direct")
    path = tmp_path / "direct.img"
    path.write_bytes(payload)
    cli.run("node1", "image", "stage", "--file", path, image["id"])
    assert cli.json("node3", "image", "show", image["id"])["status"] == "uploading"
    cli.run("node2", "image", "import", "--method", "glance-direct", "--wait", image["id"])
    shown = cli.json("node3", "image", "show", image["id"])
    assert shown["status"] == "active"
    assert shown["checksum"] == hashlib.md5(payload).hexdigest()  # noqa: S324
    assert saved_sha(cli, "node3", image["id"], tmp_path) == sha(payload)


def test_web_download_from_a_local_http_server(cli, deployed, web_server, tmp_path):
    payload = random_payload(2 * MB, f"web-{deployed}")
    (web_server / "web.img").write_bytes(payload)
    image = cli.json("node2", "image", "create", "--disk-format", "raw",
                     "--container-format", "bare", "web")
    cli.run("node2", "image", "import", "--method", "web-download", "--uri",
            f"http://{WEB_ADDRESS}:{WEB_PORT}/web.img", "--wait", image["id"])
    shown = cli.json("node1", "image", "show", image["id"])
    assert shown["status"] == "active", (shown, cli.run("admin", "image", "task", "list").stdout)
    assert saved_sha(cli, "node1", image["id"], tmp_path) == sha(payload)


def test_copy_image_from_the_file_store_to_s3(cli, deployed, s3_keys, tmp_path):
    payload = random_payload(2 * MB, f"copy-{deployed}")
    image_id = json.loads(create_with_file(cli, "admin", "copied", payload, tmp_path).stdout)["id"]
    cli.run("node3", "image", "import", "--method", "copy-image", "--store", "s3", "--wait",
            image_id)
    shown = cli.json("admin", "image", "show", image_id)
    # openstackclient lists glance's `stores` attribute among the properties
    stores = shown.get("stores") or shown.get("properties", {}).get("stores", "")
    assert set(stores.split(",")) == {"file", "s3"}, shown
    s3 = boto3.client("s3", endpoint_url=s3_keys["url"], region_name="us-east-1",
                      aws_access_key_id=s3_keys["access"],
                      aws_secret_access_key=s3_keys["secret"])
    body = s3.get_object(Bucket="glance-features", Key=image_id)["Body"].read()
    assert sha(body) == sha(payload)
    assert saved_sha(cli, "admin", image_id, tmp_path) == sha(payload)


def test_policies_format_refuses_a_member_too(stack, cli, deployed, s3_keys,
                                              custom_files_module, tmp_path):
    custom_files_module("glance/property-protections-rules.conf", POLICIES_RULES)
    run = stack.deploy(**feature_pillar(stack, deployed, s3_keys, rule_format="policies"))
    assert run.ok(), run
    out = stack.dockerds["node1"].docker(
        "exec", "glance_api", "cat", "/etc/glance/property-protections-rules.conf")
    assert out.stdout == POLICIES_RULES
    assert_only_admin_sets_billing(cli, random_payload(MB, "policies"), tmp_path, "policies")
    custom_files_module("glance/property-protections-rules.conf", ROLES_RULES)
