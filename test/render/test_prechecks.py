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


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_pillar_fails_with_key_and_fix_and_writes_nothing(minion, case):
    pillar, message = CASES[case]
    run = minion.apply(**pillar)
    assert run.returncode != 0
    assert message.format(custom=minion.custom) in run.comments()
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
