"""Every bad pillar value: a message naming the key and the fix, and nothing written."""

import pytest

S3_OK = {"glance_backend_s3": "yes", "s3_url": "http://127.0.0.1:9000",
         "s3_access_key": "a", "s3_secret_key": "s", "s3_glance_bucket": "b"}
VALID_RULES = "[.*]\ncreate = admin\nread = @\nupdate = admin\ndelete = admin\n"

CASES = {
    "rolling_upgrade_on_local_file_volume": (
        {"glance_enable_rolling_upgrade": "yes"},
        "glance:glance_enable_rolling_upgrade is on but the file backend keeps images",
    ),
    "s3_without_url": (
        dict(S3_OK, s3_url=""),
        "glance:s3_url is empty but glance_backend_s3 is on — set s3_url",
    ),
    "s3_without_secret": (
        dict(S3_OK, s3_secret_key=""),
        "glance:s3_secret_key is empty but glance_backend_s3 is on",
    ),
    "s3_without_bucket": (
        dict(S3_OK, s3_glance_bucket=""),
        "glance:s3_glance_bucket is empty but glance_backend_s3 is on",
    ),
    "s3_malformed_url": (
        dict(S3_OK, s3_url="127.0.0.1:9000"),
        "glance:s3_url is '127.0.0.1:9000', which is not an http(s) URL",
    ),
    "s3_bad_port": (
        dict(S3_OK, s3_url="http://127.0.0.1:nine"),
        "whose port is not a number",
    ),
    "ceph_without_conf": (
        {"glance_backend_ceph": "yes"},
        "glance_backend_ceph is on but {custom}/glance/ceph.conf is missing",
    ),
    "property_protection_without_file": (
        {"glance_enable_property_protection": "yes"},
        "{custom}/glance/property-protections-rules.conf is missing",
    ),
    "import_without_file": (
        {"glance_enable_interoperable_image_import": "yes"},
        "{custom}/glance/glance-image-import.conf is missing",
    ),
    "unknown_rule_format": (
        {"property_protection_rule_format": "regex"},
        "glance:property_protection_rule_format is 'regex' — use roles or policies",
    ),
    "typo_key": (
        {"glance_backend_cepth": "yes"},
        "glance:glance_backend_cepth is not a key this formula knows — did you mean "
        "'glance_backend_ceph'?",
    ),
    "non_numeric_cache_size": (
        {"enable_glance_image_cache": "yes", "glance_cache_max_size": "10G"},
        "glance:glance_cache_max_size is '10G', which is not a whole number",
    ),
    "no_backend": (
        {"glance_backend_file": "no"},
        "no image store is enabled",
    ),
    "not_a_bool": (
        {"enable_glance_image_cache": "maybe"},
        "glance:enable_glance_image_cache is 'maybe', which is not a yes/no value",
    ),
    "default_backend_not_enabled": (
        {"glance_default_backend": "swift"},
        "glance:glance_default_backend is 'swift', which is not an enabled store",
    ),
    "keystone_without_url": (
        {"enable_keystone": "yes", "glance_keystone_password": "x"},
        "glance:keystone_internal_url is empty but enable_keystone is on",
    ),
    "vmware_without_datastore": (
        {"glance_backend_vmware": "yes", "vmware_vcenter_host_password": "p",
         "vmware_vcenter_name": "dc"},
        "glance:vmware_datastore_name is empty but glance_backend_vmware is on",
    ),
    "bad_release": (
        {"openstack_release": "zed"},
        "glance:openstack_release is 'zed'",
    ),
}
# values that passed the prechecks before and failed later, half-applied (issue 10);
# each is also checked in test mode
VALUE_CASES = {
    "api_port_out_of_range": (
        {"glance_api_port": 65536},
        "glance:glance_api_port is 65536, which is not a TCP port — use a port from 1 "
        "to 65535",
    ),
    "database_port_out_of_range": (
        {"database_port": 70000},
        "glance:database_port is 70000, which is not a TCP port",
    ),
    "datadir_neither_volume_nor_path": (
        {"glance_file_datadir_volume": "nfs:/srv/glance"},
        "glance:glance_file_datadir_volume is 'nfs:/srv/glance', which is neither a "
        "docker volume name nor an absolute path",
    ),
    "tag_docker_refuses": (
        {"openstack_tag": "2025.1 latest"},
        "glance:openstack_tag is '2025.1 latest', which docker refuses as a tag",
    ),
    "glance_tag_docker_refuses": (
        {"glance_tag": "-rc1"},
        "glance:glance_tag is '-rc1', which docker refuses as a tag",
    ),
    "namespace_docker_refuses": (
        {"docker_namespace": "Kolla"},
        "glance:docker_namespace is 'Kolla', which docker refuses in an image name",
    ),
    "registry_with_scheme": (
        {"docker_registry": "http://10.0.0.5:4000"},
        "glance:docker_registry is 'http://10.0.0.5:4000' — docker takes a registry as "
        "host[:port] without a scheme: set docker_registry: 10.0.0.5:4000",
    ),
    "same_host_twice": (
        {"glance_api_hosts": [{"id": "node1", "address": "127.0.1.1"},
                              {"id": "node1", "address": "127.0.1.2"}]},
        "glance:glance_api_hosts lists the id 'node1' twice — list each API host once",
    ),
    "api_address_not_an_ip": (
        {"api_interface_address": "node1.example.com"},
        "glance:api_interface_address is 'node1.example.com', which is not an IP address",
    ),
    "database_address_not_an_address": (
        {"database_address": "10.0.0.20:3306"},
        "glance:database_address is '10.0.0.20:3306', which is not an IP address or host "
        "name — set it to an IP address or host name without a port",
    ),
    "internal_vip_not_an_ip": (
        {"kolla_internal_vip_address": "10.0.0.300"},
        "glance:kolla_internal_vip_address is '10.0.0.300', which is not an IP address",
    ),
    "external_vip_not_an_ip": (
        {"kolla_external_vip_address": "https://cloud.example.com"},
        "glance:kolla_external_vip_address is 'https://cloud.example.com', which is not "
        "an IP address",
    ),
    "prune_interval_not_dividing_60": (
        {"enable_glance_image_cache": "yes", "glance_cache_prune_interval": 25},
        "glance:glance_cache_prune_interval is 25, which does not divide 60",
    ),
    "clean_hour_out_of_range": (
        {"enable_glance_image_cache": "yes", "glance_cache_clean_hour": 24},
        "glance:glance_cache_clean_hour is 24, which is not an hour of the day — use 0 "
        "to 23",
    ),
    "rolling_upgrade_with_one_api_host": (
        {"glance_enable_rolling_upgrade": "yes",
         "glance_file_datadir_volume": "/srv/nfs/glance"},
        "glance:glance_enable_rolling_upgrade is on but node1 is the only API host",
    ),
}
CASES.update(VALUE_CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_pillar_fails_with_key_and_fix_and_writes_nothing(minion, case):
    pillar, message = CASES[case]
    run = minion.apply(**pillar)
    assert run.returncode != 0
    assert message.format(custom=minion.custom) in run.comments()
    assert not minion.service_dir.exists()


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_bad_pillar_fails_the_same_way_in_test_mode(minion, case):
    pillar, message = CASES[case]
    run = minion.apply(test=True, **pillar)
    assert run.returncode != 0
    assert message in run.comments()
    assert not minion.service_dir.exists()


RULE_CASES = {
    "missing_op": ("[.*]\ncreate = admin\nread = admin\nupdate = admin\n",
                   "section [.*] lacks delete"),
    "everyone_and_no_one": ("[.*]\ncreate = @,!\nread = @\nupdate = !\ndelete = !\n",
                            "mixes '@' (everyone) and '!' (no one)"),
    "bad_regex": ("[x_(]\ncreate = @\nread = @\nupdate = @\ndelete = @\n",
                  "section [x_(] is not a valid regex"),
    "not_ini": ("create = @\n", "is not a valid INI file"),
}


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_property_rules_glance_would_refuse_are_rejected(minion, case):
    text, message = RULE_CASES[case]
    minion.write_custom("glance/property-protections-rules.conf", text)
    run = minion.apply(glance_enable_property_protection="yes")
    assert run.returncode != 0
    assert message in run.comments()
    assert not minion.service_dir.exists()


def test_policies_format_takes_one_rule_per_operation(minion):
    minion.write_custom("glance/property-protections-rules.conf",
                        VALID_RULES.replace("read = @", "read = a,b"))
    run = minion.apply(glance_enable_property_protection="yes",
                       property_protection_rule_format="policies")
    assert run.returncode != 0
    assert "the policies format takes one policy rule name per operation" in run.comments()


def test_precheck_runs_on_its_own_and_lists_every_error(minion):
    run = minion.apply(sls="glance.precheck", glance_backend_file="no",
                       glance_cache_max_size="big", enable_glance_image_cache="yes")
    assert run.returncode != 0
    comments = run.comments()
    assert "2 error(s)" in comments
    assert "no image store is enabled" in comments
    assert "glance:glance_cache_max_size is 'big'" in comments


def test_failed_precheck_leaves_an_existing_deployment_untouched(minion):
    good = minion.apply()
    assert good.returncode == 0, good.stdout
    before = {p: (minion.service_dir / p).read_text() for p in good.files()}
    bad = minion.apply(glance_backend_s3="yes", enable_glance_image_cache="yes")
    assert bad.returncode != 0
    assert {p: (minion.service_dir / p).read_text() for p in bad.files()} == before


def test_precheck_errors_also_stop_test_mode(minion):
    run = minion.apply(test=True, glance_backend_s3="yes")
    assert run.returncode != 0
    assert "glance:s3_url is empty" in run.comments()
