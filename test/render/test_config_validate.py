"""The override check is wired into the precheck: it runs before any file is written.

This tier has no docker daemon, so the container cannot start here; the check itself
runs in test/integration/test_config_validate.py (and was proven by hand, see README).
"""

NO_DOCKER = "docker.url: unix:///nonexistent/glance-formula/docker.sock\n"
STATE = "glance_precheck_|-glance-precheck-glance_precheck-config_valid"


def test_override_files_are_checked_before_anything_is_written(minion_factory):
    minion = minion_factory("node1", extra_config=NO_DOCKER)
    minion.write_custom("glance.conf", "[DEFAULT]\nworkers = 2\n")
    for test in (False, True):
        run = minion.apply(test=test, glance_validate_config="yes")
        assert run.returncode != 0
        comments = run.comments()
        assert ("the override files could not be validated: starting a container of "
                "quay.io/openstack.kolla/glance-api:2022.2 failed") in comments
        assert 'or set glance_validate_config: "no"' in comments
        assert not minion.service_dir.exists()


def test_without_override_files_no_container_is_needed(minion_factory):
    minion = minion_factory("node1", extra_config=NO_DOCKER)
    run = minion.apply(glance_validate_config="yes")
    assert run.returncode == 0, run.stdout
    assert not any(key.startswith(STATE) for key in run.states)
    assert "glance-api.conf" in run.files()


def test_turned_off_the_override_files_are_not_checked(minion_factory):
    minion = minion_factory("node1", extra_config=NO_DOCKER)
    minion.write_custom("glance.conf", "[DEFAULT]\nworkers = 2\n")
    run = minion.apply(glance_validate_config="no")
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["workers"] == "2"
