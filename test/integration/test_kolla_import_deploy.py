"""A kolla-ansible multinode deployment moves to the formula in one command:
`salt-run glance.import_kolla` writes the pillar from kolla's files, and a highstate
deploys Glance on the three minions with no hand edits."""

import hashlib
import stat
import textwrap

import pytest
import yaml

from harness.glance_client import download_sha256, healthy, random_payload, upload_image
from harness.loopback import LB_ADDRESS, hosts

pytestmark = pytest.mark.integration
ADDRESSES = hosts(3)
NODES = tuple(ADDRESSES)
MB = 1024 * 1024


def kolla_files(stack):
    """globals.yml, passwords.yml and multinode as a kolla operator has them."""
    # the stack's shared services (registry, MariaDB, Keystone, memcached)
    base = stack.base_pillar()
    keystone_address = base["memcached_servers"][0].split(":")[0]
    kolla = stack.work / "etc-kolla-ansible"
    kolla.mkdir(exist_ok=True)
    (kolla / "globals.yml").write_text(textwrap.dedent(f"""\
        ---
        # Kolla options
        kolla_base_distro: "debian"
        openstack_release: "2022.2"
        #openstack_tag_suffix: ""
        node_custom_config: "{stack.work / 'custom'}"
        kolla_internal_vip_address: "{LB_ADDRESS}"
        #kolla_internal_fqdn: "{{{{ kolla_internal_vip_address }}}}"
        kolla_external_vip_address: "{{{{ kolla_internal_vip_address }}}}"

        # Docker options
        docker_registry: "{base['docker_registry']}"
        docker_namespace: "{base['docker_namespace']}"
        docker_registry_insecure: "yes"

        # Neutron - Networking Options
        neutron_external_interface: "eth1"
        neutron_plugin_agent: "openvswitch"
        keepalived_virtual_router_id: "51"

        # Keystone and MariaDB run outside this Glance (their own hosts here)
        keystone_internal_url: "{base['keystone_internal_url']}"
        keystone_public_url: "{base['keystone_public_url']}"
        database_address: "{base['database_address']}"

        # OpenStack options
        openstack_logging_debug: "False"
        openstack_service_workers: "1"
        enable_cinder: "no"

        # Glance - Image Options
        glance_backend_file: "yes"
        glance_file_datadir_volume: "{stack.shared}"
        glance_database_name: "glance_kolla_import"
        default_container_healthcheck_interval: 5
        glance_api_dimensions:
          mem_limit: "1g"
          ulimits:
            nofile:
              soft: 4096
              hard: 4096
        """))
    (kolla / "passwords.yml").write_text(textwrap.dedent(f"""\
        ---
        ceph_cluster_fsid: 5b3b7a5e-5a0c-4d0c-9d0e-1f0a4c2b7e11
        database_password: {base['database_password']}
        mariadb_backup_database_password: it-backup-pw
        docker_registry_password:
        keystone_admin_password: {base['keystone_admin_password']}
        keystone_database_password: it-keystone-db-pw
        glance_database_password: it-kolla-glance-db-pw
        glance_keystone_password: {base['glance_keystone_password']}
        nova_database_password: it-nova-db-pw
        nova_keystone_password: it-nova-ks-pw
        memcache_secret_key: it-memcache-key
        rabbitmq_password: it-rabbit-pw
        nova_ssh_key:
          private_key: not-a-key
          public_key: not-a-key-either
        """))
    control = "\n".join(
        f"{node} ansible_host={address} "
        f"node_config_directory={stack.work / 'etc-kolla' / node}"
        for node, address in ADDRESSES.items())
    (kolla / "multinode").write_text(textwrap.dedent("""\
        [control]
        {control}

        [network]
        node1

        [compute]
        node3

        [infra]
        keystone-infra ansible_host={keystone}

        [deployment]
        localhost       ansible_connection=local

        [loadbalancer:children]
        network

        [memcached:children]
        infra

        [keystone:children]
        infra

        [glance:children]
        control

        [nova:children]
        control

        [glance-api:children]
        glance
        """).format(control=control, keystone=keystone_address))
    return kolla


@pytest.fixture(scope="module")
def imported(stack):
    """The import into the stack's pillar root, the highstate, one image through HAProxy."""
    kolla = kolla_files(stack)
    # the stack's own top.sls would stop the import from writing its top
    (stack.pillar_dir / "top.sls").unlink(missing_ok=True)
    ret = stack.run_cli.run("glance.import_kolla", f"globals={kolla / 'globals.yml'}",
                            f"passwords={kolla / 'passwords.yml'}",
                            f"inventory={kolla / 'multinode'}", f"out={stack.pillar_dir}")
    assert ret.returncode == 0, ret.stdout
    refresh = stack.cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
    assert refresh.returncode == 0, refresh.stdout
    try:
        run = stack.apply(fun="state.highstate")
        assert run.ok(), run
        payload = random_payload(4 * MB, "kolla-import")
        image = upload_image(LB_ADDRESS, "kolla-import", payload)
        yield {"summary": ret.data, "run": run, "image": image,
               "sha": hashlib.sha256(payload).hexdigest()}
    finally:
        # the next tests write their own pillar (stack.write_pillar) and top.sls
        for path in sorted((stack.pillar_dir / "glance_kolla").glob("*.sls")):
            path.unlink()
        (stack.pillar_dir / "top.sls").unlink(missing_ok=True)


def test_the_import_writes_the_pillar_and_lists_what_it_leaves_out(stack, imported):
    summary = imported["summary"]
    assert summary["glance_api_hosts"] == list(NODES)
    assert summary["glance_loadbalancer_hosts"] == ["node1"]
    assert {"neutron_plugin_agent", "kolla_base_distro"} <= set(summary["left_out"]
                                                                 ["globals.yml"])
    assert "nova_database_password" in summary["left_out"]["passwords.yml"]
    secrets = stack.pillar_dir / "glance_kolla/secrets.sls"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    shared = yaml.safe_load((stack.pillar_dir / "glance_kolla/init.sls").read_text())
    assert shared["glance"]["memcached_servers"] == stack.base_pillar()["memcached_servers"]


def test_every_api_host_serves_the_image_uploaded_through_the_load_balancer(imported):
    for node, address in ADDRESSES.items():
        assert healthy(address), node
        assert download_sha256(address, imported["image"]) == imported["sha"], node


def test_kollas_dimensions_reach_the_container(stack, imported):
    for node in NODES:
        memory = stack.dockerds[node].docker(
            "inspect", "--format", "{{.HostConfig.Memory}} {{json .HostConfig.Ulimits}}",
            "glance_api").stdout.split(" ", 1)
        assert memory[0] == str(1024 ** 3), node
        assert '"Name":"nofile","Hard":4096,"Soft":4096' in memory[1], node


def test_a_second_highstate_changes_nothing(stack, imported):
    before = stack.container_ids()
    run = stack.apply(fun="state.highstate")
    assert run.ok(), run
    assert {node: run.changed(node) for node in NODES} == {node: {} for node in NODES}
    assert stack.container_ids() == before
