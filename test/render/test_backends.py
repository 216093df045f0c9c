"""Every backend and multi-store combination, read back from the rendered files."""

import pytest

CEPH_CONF = "[global]\nfsid = 1\nmon host = 127.0.0.1:6789\n"
KEYRING = "[client.glance]\nkey = AQBsecretsecret==\n"


def enabled(run):
    return [item.strip() for item in run.ini("glance-api.conf")["DEFAULT"]["enabled_backends"].split(",")]


def default_backend(run):
    return run.ini("glance-api.conf")["glance_store"]["default_backend"]


def add_ceph_files(minion, cluster="ceph", user="glance"):
    minion.write_custom(f"glance/{cluster}.conf", CEPH_CONF)
    minion.write_custom(f"glance/{cluster}.client.{user}.keyring", KEYRING)


def test_file_backend_is_the_default_when_nothing_else_is_on(minion):
    run = minion.apply()
    assert run.returncode == 0, run.stdout
    assert enabled(run) == ["file:file", "http:http"]
    assert default_backend(run) == "file"
    conf = run.ini("glance-api.conf")
    assert conf["file"]["filesystem_store_datadir"] == "/var/lib/glance/images/"
    assert "rbd" not in conf and "s3" not in conf
    assert run.dests()["/etc/glance/glance-api.conf"]["perm"] == "0600"
    assert run.config_json()["command"] == "glance-api --config-file /etc/glance/glance-api.conf"


def test_ceph_backend_renders_rbd_store_and_copies_conf_and_keyring(minion):
    add_ceph_files(minion, cluster="prod", user="img")
    run = minion.apply(glance_backend_ceph="yes", ceph_cluster="prod", ceph_glance_user="img",
                       ceph_glance_pool_name="glance-images")
    assert run.returncode == 0, run.stdout
    assert enabled(run) == ["rbd:rbd", "http:http"]
    assert default_backend(run) == "rbd"
    rbd = run.ini("glance-api.conf")["rbd"]
    assert rbd == {"rbd_store_user": "img", "rbd_store_pool": "glance-images",
                   "rbd_store_ceph_conf": "/etc/ceph/prod.conf"}
    assert (run.service_dir / "ceph/prod.conf").read_text() == CEPH_CONF
    assert (run.service_dir / "ceph/prod.client.img.keyring").read_text() == KEYRING
    assert run.dests()["/etc/ceph"]["perm"] == "0700"


@pytest.mark.parametrize("flag", ["enable_ceph", "external_ceph"])
def test_external_ceph_turns_the_ceph_backend_on(minion, flag):
    add_ceph_files(minion)
    run = minion.apply(**{flag: "yes"})
    assert run.returncode == 0, run.stdout
    assert enabled(run) == ["rbd:rbd", "http:http"]


def test_swift_backend_renders_swift_conf(minion):
    run = minion.apply(glance_backend_swift=True,
                       keystone_internal_url="http://127.0.0.5:5000",
                       glance_keystone_password="ks-pw")
    assert run.returncode == 0, run.stdout
    assert default_backend(run) == "swift"
    assert run.ini("glance-api.conf")["swift"]["swift_store_config_file"] == \
        "/etc/glance/glance-swift.conf"
    swift = run.ini("glance-swift.conf")["swift"]
    assert swift["auth_address"] == "http://127.0.0.5:5000/v3"
    assert swift["auth_version"] == "3"
    assert swift["user"] == "service:glance"
    assert swift["key"] == "ks-pw"
    assert "/etc/glance/glance-swift.conf" in run.dests()


def test_swift_store_follows_the_keystone_user_and_region(minion):
    run = minion.apply(glance_backend_swift=True, keystone_internal_url="http://127.0.0.5:5000",
                       glance_keystone_password="ks-pw", glance_keystone_user="img",
                       openstack_region_name="RegionTwo")
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["swift"]["swift_store_region"] == "RegionTwo"
    assert run.ini("glance-swift.conf")["swift"]["user"] == "service:img"


def test_vmware_backend_renders_vcenter_settings(minion):
    run = minion.apply(glance_backend_vmware="yes", vmware_vcenter_host_ip="127.0.0.7",
                       vmware_vcenter_host_username="admin",
                       vmware_vcenter_host_password="vc-pw", vmware_vcenter_name="dc1",
                       vmware_datastore_name="ds1", vmware_vcenter_insecure="no")
    assert run.returncode == 0, run.stdout
    vmware = run.ini("glance-api.conf")["vmware"]
    assert vmware == {"vmware_server_host": "127.0.0.7", "vmware_server_username": "admin",
                      "vmware_server_password": "vc-pw", "vmware_datastores": "dc1:ds1",
                      "vmware_insecure": "False"}
    assert default_backend(run) == "vmware"


def test_s3_backend_uses_the_shared_s3_variables(minion, moto_s3):
    run = minion.apply(glance_backend_s3="yes", s3_url="http://127.0.0.1:9000",
                       s3_access_key="minio", s3_secret_key="minio-secret",
                       s3_glance_bucket="images")
    assert run.returncode == 0, run.stdout
    s3 = run.ini("glance-api.conf")["s3"]
    assert s3["s3_store_host"] == "http://127.0.0.1:9000"
    assert s3["s3_store_access_key"] == "minio"
    assert s3["s3_store_secret_key"] == "minio-secret"
    assert s3["s3_store_bucket"] == "images"
    assert enabled(run) == ["s3:s3", "http:http"]


def test_s3_accepts_kollas_s3_bucket_and_glance_specific_overrides(minion, moto_s3):
    run = minion.apply(glance_backend_s3="yes", s3_url="http://127.0.0.9:9999",
                       s3_access_key="shared", s3_secret_key="shared-secret",
                       s3_bucket="kolla-bucket",
                       glance_backend_s3_access_key="own",
                       glance_backend_s3_url="http://127.0.0.1:9000",
                       glance_backend_s3_bucket_url_format="path")
    assert run.returncode == 0, run.stdout
    s3 = run.ini("glance-api.conf")["s3"]
    assert s3["s3_store_bucket"] == "kolla-bucket"
    assert s3["s3_store_access_key"] == "own"
    assert s3["s3_store_secret_key"] == "shared-secret"
    assert s3["s3_store_host"] == "http://127.0.0.1:9000"
    assert s3["s3_store_bucket_url_format"] == "path"


def test_ceph_is_default_store_over_swift_in_a_multi_store_setup(minion):
    add_ceph_files(minion)
    run = minion.apply(glance_backend_file="yes", glance_backend_ceph="yes",
                       glance_backend_swift="yes",
                       keystone_internal_url="http://127.0.0.5:5000")
    assert run.returncode == 0, run.stdout
    assert enabled(run) == ["rbd:rbd", "swift:swift", "file:file", "http:http"]
    assert default_backend(run) == "rbd"


def test_vmware_is_default_store_over_ceph(minion):
    add_ceph_files(minion)
    run = minion.apply(glance_backend_ceph="yes", glance_backend_vmware="yes",
                       vmware_vcenter_host_password="x", vmware_vcenter_name="dc",
                       vmware_datastore_name="ds")
    assert run.returncode == 0, run.stdout
    assert default_backend(run) == "vmware"


def test_explicit_default_backend_overrides_the_priority(minion):
    add_ceph_files(minion)
    run = minion.apply(glance_backend_file="yes", glance_backend_ceph="yes",
                       glance_default_backend="file")
    assert run.returncode == 0, run.stdout
    assert default_backend(run) == "file"
    assert enabled(run) == ["rbd:rbd", "file:file", "http:http"]


def test_unreachable_s3_fails_the_precheck_and_writes_nothing(minion):
    run = minion.apply(glance_backend_s3="yes", s3_url="http://127.0.0.1:9",
                       s3_access_key="a", s3_secret_key="never-shown", s3_glance_bucket="b")
    assert run.returncode != 0
    assert "S3 at http://127.0.0.1:9 cannot be reached" in run.comments()
    assert "never-shown" not in run.stdout
    assert not minion.service_dir.exists()
