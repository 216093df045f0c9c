"""Override files against Glance's options: the validator's output -> errors naming the file."""

import pathlib
import subprocess

import yaml

import glance_config as gc
import glance_validate as gv

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())

IMAGE = "reg:5000/openstack.kolla/glance-api:2025.1"
PATHS = ["/etc/kolla/config/glance.conf", "/etc/kolla/config/glance/ctl1/glance-api.conf"]
GROUPS = ("@@glance-validate groups DEFAULT database file glance_store keystone_authtoken "
          "oslo_messaging_rabbit paste_deploy rbd os_glance_staging_store")


def logs(*files, groups=GROUPS):
    """Container output as the validation script prints it (lines copied from a real run)."""
    out = ["WARNING:stevedore.named:Could not load osprofiler", groups]
    for index, (lines, code) in enumerate(files):
        out += [f"@@glance-validate file {index}", *lines, f"@@glance-validate exit {code}"]
    return "\n".join(out) + "\n"


CLEAN = ([], 0)
KEYSTONE_INFO = ('INFO:root:Ignoring missing option "whatever" from group "keystone_authtoken" '
                 "because the group is known to have incomplete sample config data and thus "
                 "cannot be validated properly.")


def test_clean_files_give_no_errors():
    assert gv.findings(logs(CLEAN, ([KEYSTONE_INFO], 0)), PATHS, IMAGE) == \
        {"errors": [], "warnings": []}


def test_an_unknown_option_is_named_with_its_file_and_section():
    out = logs((["ERROR:root:DEFAULT/workerz is not part of the sample config"], 1), CLEAN)
    assert gv.findings(out, PATHS, IMAGE)["errors"] == [
        "/etc/kolla/config/glance.conf: [DEFAULT] workerz is not a Glance option — remove "
        "it or fix its name (oslo-config-validator with Glance's option definitions in "
        f"{IMAGE})"]


def test_an_unknown_section_is_named_once_with_its_options_and_a_suggestion():
    out = logs(CLEAN, (["ERROR:root:databse/max_retries is not part of the sample config",
                        "ERROR:root:databse/connection is not part of the sample config"], 1))
    assert gv.findings(out, PATHS, IMAGE)["errors"] == [
        "/etc/kolla/config/glance/ctl1/glance-api.conf: section [databse] is not a Glance "
        "section (it sets max_retries, connection) — did you mean [database]?"]


def test_an_unknown_section_without_a_close_name_says_remove_it():
    out = logs((["ERROR:root:nova/foo is not part of the sample config"], 1), CLEAN)
    assert gv.findings(out, PATHS, IMAGE)["errors"] == [
        "/etc/kolla/config/glance.conf: section [nova] is not a Glance section (it sets "
        "foo) — remove it or fix its name"]


def test_oslo_config_10_logging_as_its_module_is_understood():
    # glance 33 (2026.2, oslo.config 10.7) logs through oslo_config.validator
    out = logs((["ERROR:oslo_config.validator:DEFAULT/workerz is not part of the sample "
                 "config"], 1), CLEAN)
    assert gv.findings(out, PATHS, IMAGE)["errors"][0].startswith(
        "/etc/kolla/config/glance.conf: [DEFAULT] workerz is not a Glance option")


def test_the_first_validators_not_found_wording_is_understood():
    out = logs((["ERROR:root:DEFAULT/workerz not found"], 1), CLEAN)
    assert "[DEFAULT] workerz is not a Glance option" in \
        gv.findings(out, PATHS, IMAGE)["errors"][0]


def test_a_deprecated_option_is_a_warning_naming_the_file():
    out = logs((["WARNING:root:Deprecated opt DEFAULT/show_multiple_locations found"], 0),
               CLEAN)
    result = gv.findings(out, PATHS, IMAGE)
    assert result["errors"] == []
    assert result["warnings"] == [
        "/etc/kolla/config/glance.conf: [DEFAULT] show_multiple_locations is deprecated — "
        "move to its replacement before it is removed"]


def test_a_validator_crash_without_findings_is_an_error_with_its_output():
    out = logs((["Traceback (most recent call last):", "ImportError: yaml"], 1), CLEAN)
    (error,) = gv.findings(out, PATHS, IMAGE)["errors"]
    assert error.startswith(f"/etc/kolla/config/glance.conf: oslo-config-validator failed "
                            f"in {IMAGE} (exit 1)")
    assert "ImportError: yaml" in error


def test_an_image_without_the_validator_says_what_it_needs():
    out = "bash: line 2: oslo-config-generator: command not found\n" \
          "@@glance-validate generator-failed\n"
    (error,) = gv.findings(out, PATHS, IMAGE, exit_code=3)["errors"]
    assert error.startswith(f"the override files ({', '.join(PATHS)}) could not be "
                            f"validated in {IMAGE} (exit 3)")
    assert "command not found" in error
    assert "oslo-config-validator (python3-oslo.config)" in error
    assert 'glance_validate_config: "no"' in error


def test_a_file_the_script_never_reached_is_reported():
    out = logs(CLEAN)
    (error,) = gv.findings(out, PATHS, IMAGE, exit_code=137)["errors"]
    assert f"({PATHS[1]}) could not be validated" in error


def test_store_sections_alias_their_driver_and_the_reserved_stores_are_file():
    assert gv.store_groups("file:file, fast:rbd, http:http") == {
        "file": "file", "fast": "rbd", "http": "http",
        "os_glance_tasks_store": "file", "os_glance_staging_store": "file"}
    assert gv.store_groups(["s3:s3"])["s3"] == "s3"


def test_environment_carries_each_file_and_the_aliases():
    env = gv.environment(["[DEFAULT]\na = 1\n", "[rbd]\nb = 2\n"], {"fast": "rbd"})
    assert env["GLANCE_VALIDATE_0"] == "[DEFAULT]\na = 1\n"
    assert env["GLANCE_VALIDATE_1"] == "[rbd]\nb = 2\n"
    assert env["GLANCE_STORE_GROUPS"] == "fast=rbd"
    assert 'print("@@glance-validate groups "' in env["GLANCE_ALIAS_SCRIPT"]


def test_the_script_is_valid_bash_and_validates_every_file():
    cmd = gv.command(3)
    assert cmd[:2] == ["bash", "-c"]
    subprocess.run(["bash", "-n", "-c", cmd[2]], check=True)
    assert "for i in $(seq 0 2); do" in cmd[2]
    assert "oslo-config-validator --opt-data /tmp/glance-opt-data.yaml" in cmd[2]
    assert cmd[2].count("--namespace ") == len(gv.NAMESPACES)


def test_the_alias_script_compiles():
    compile(gv.ALIAS_SCRIPT % gv.MARK, "alias", "exec")


def test_a_pass_is_remembered_per_image_files_and_stores():
    key = gv.verdict_key("sha256:1", ["[DEFAULT]\n"], {"file": "file"})
    assert key == gv.verdict_key("sha256:1", ["[DEFAULT]\n"], {"file": "file"})
    assert key != gv.verdict_key("sha256:2", ["[DEFAULT]\n"], {"file": "file"})
    assert key != gv.verdict_key("sha256:1", ["[DEFAULT]\nx = 1\n"], {"file": "file"})
    assert key != gv.verdict_key("sha256:1", ["[DEFAULT]\n"], {"fast": "rbd"})


# ---------------------------------------------------------------- what settings() hands over

def settings(files, minion="node1", **pillar):
    base = {"api_interface_address": "127.0.1.1", "glance_database_password": "pw",
            "enable_keystone": "no", "openstack_release": "2022.2",
            "node_custom_config": "/c"}
    return gc.settings(DEFAULTS, dict(base, **pillar), minion, grains={"num_cpus": 2},
                       read_file=files.get)


OVERRIDES = {"/c/glance.conf": "[DEFAULT]\n", "/c/global.conf": "[DEFAULT]\n",
             "/c/glance/node1/glance-api.conf": "[DEFAULT]\n",
             "/c/glance/glance-cache.conf": "[DEFAULT]\n",
             "/c/glance/node2/glance-api.conf": "[DEFAULT]\n"}


def test_settings_list_this_hosts_existing_override_files_in_kolla_order():
    validation = settings(OVERRIDES)["config_validation"]
    assert validation == {
        "enabled": True,
        "files": ["/c/global.conf", "/c/glance.conf", "/c/glance/node1/glance-api.conf"],
        "enabled_backends": "file:file, http:http"}


def test_the_cache_files_overrides_join_when_the_cache_is_on():
    files = settings(OVERRIDES, enable_glance_image_cache="yes")["config_validation"]["files"]
    assert files[-1] == "/c/glance/glance-cache.conf" and files.count("/c/glance.conf") == 1


def test_nothing_to_validate_without_override_files_or_when_turned_off():
    assert settings({})["config_validation"]["enabled"] is False
    assert settings(OVERRIDES, glance_validate_config="no")["config_validation"][
        "enabled"] is False


def test_a_host_that_runs_no_api_validates_nothing():
    s = settings(OVERRIDES, minion="node2",
                 glance_api_hosts=[{"id": "node1", "address": "127.0.1.1"}])
    assert s["config_validation"]["files"] == []
