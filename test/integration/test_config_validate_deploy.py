"""Operator override files checked with oslo-config-validator in a one-shot container of
the image that will read them, in the precheck, before anything changes (kolla's
validate-config)."""

import pytest

pytestmark = pytest.mark.integration

GOOD_GLOBAL = "[DEFAULT]\ndebug = True\n[oslo_messaging_rabbit]\nheartbeat_rate = 3\n"
# store sections by their enabled_backends names, the reserved staging store and
# keystone_authtoken (whose sample data kolla and oslo know to be incomplete)
GOOD_GLANCE = ("[file]\nfilesystem_store_chunk_size = 131072\n"
               "[os_glance_staging_store]\nfilesystem_store_datadir = /var/lib/glance/staging\n"
               "[keystone_authtoken]\nmemcache_pool_maxsize = 10\n")


def deploy(stack, **glance):
    return stack.deploy(glance_file_datadir_volume=str(stack.shared),
                        glance_database_name="glance_validate", **glance)


def test_valid_overrides_deploy_and_a_reapply_reuses_the_verdict(stack, custom_files):
    custom_files("global.conf", GOOD_GLOBAL)
    custom_files("glance.conf", GOOD_GLANCE)
    custom_files("glance/node3/glance-api.conf", "[paste_deploy]\nflavor = keystone\n")
    run = deploy(stack)
    assert run.ok(), run
    assert "override files valid for" in run.comments("node3")
    assert "glance/node3/glance-api.conf" in run.comments("node3")
    conf = (stack.work / "etc-kolla/node1/glance-api/glance-api.conf").read_text()
    assert "filesystem_store_chunk_size = 131072" in conf
    again = stack.apply(fun="state.highstate")
    assert again.ok(), again
    assert "same image and files as a validation that passed" in again.comments("node1")


def test_unknown_option_and_section_are_named_with_their_file_and_nothing_changes(
        stack, custom_files):
    assert deploy(stack).ok()
    before = stack.container_ids()
    confs = {node: (stack.work / f"etc-kolla/{node}/glance-api/glance-api.conf").read_text()
             for node in before}
    custom = stack.work / "custom"
    custom_files("glance.conf", "[DEFAULT]\nworkerz = 2\n")
    custom_files("glance/node2/glance-api.conf", "[databse]\nmax_retries = 3\n")
    for test in ([], ["test=True"]):
        run = stack.apply("glance", *test) if test else deploy(stack)
        assert run.returncode != 0
        for node in before:
            assert (f"{custom}/glance.conf: [DEFAULT] workerz is not a Glance option"
                    in run.comments(node))
        assert (f"{custom}/glance/node2/glance-api.conf: section [databse] is not a Glance "
                "section (it sets max_retries) — did you mean [database]?"
                in run.comments("node2"))
        assert "databse" not in run.comments("node1")
        assert stack.container_ids() == before
        assert {node: (stack.work / f"etc-kolla/{node}/glance-api/glance-api.conf")
                .read_text() for node in before} == confs
