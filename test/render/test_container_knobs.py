"""kolla's container knobs on glance_api: extra binds, dimensions, proxy environment,
each falling back to the globals the way kolla's role defaults do."""

import json
import pathlib
import subprocess
import sys

import pytest

SALT_CALL = pathlib.Path(sys.executable).parent / "salt-call"
CONFIG_BIND = "/var/lib/kolla/config_files/:ro"
# the drain switch for balancers the formula does not manage (glance_upgrade)
DRAIN_BIND = "/var/lib/kolla/glance-drain/:ro"


def container(minion, **glance):
    """The glance_api docker_container.running arguments, as state.show_sls renders them."""
    proc = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(minion.conf), "--out", "json",
         "state.show_sls", "glance.service",
         "pillar=" + json.dumps({"glance": minion.base_pillar(**glance)})],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    high = json.loads(proc.stdout)["local"]
    state = high["glance-service-docker_container-running"]["docker_container"]
    args = {}
    for item in state:
        if isinstance(item, dict):
            args.update(item)
    args["__states__"] = set(high)
    return args


def extra_binds(args):
    default = {"/etc/localtime:/etc/localtime:ro", "glance:/var/lib/glance/",
               "kolla_logs:/var/log/kolla/"}
    return [b for b in args["binds"] if b not in default and not b.endswith(CONFIG_BIND)
            and not b.endswith(DRAIN_BIND)]


CERTS = "/etc/pki/corp:/etc/pki/corp:ro"
NFS = "/mnt/nfs/glance-conversion:/var/lib/glance/conversion"


@pytest.mark.parametrize("pillar,expected", [
    ({}, []),
    ({"default_extra_volumes": [CERTS]}, [CERTS]),
    ({"default_extra_volumes": [CERTS], "glance_extra_volumes": [NFS]}, [NFS]),
    ({"default_extra_volumes": [CERTS], "glance_extra_volumes": [NFS],
      "glance_api_extra_volumes": [CERTS, NFS]}, [CERTS, NFS]),
    # an explicit empty list stops the fallback, as in kolla
    ({"default_extra_volumes": [CERTS], "glance_api_extra_volumes": []}, []),
    # kolla drops empty entries (its conditional volumes render as '')
    ({"glance_extra_volumes": ["", CERTS]}, [CERTS]),
])
def test_extra_volumes_fall_back_like_kolla(minion, pillar, expected):
    assert extra_binds(container(minion, **pillar)) == expected


def test_named_extra_volume_is_created_but_never_removed_by_clean(minion):
    args = container(minion, glance_api_extra_volumes=["glance_certs:/etc/glance/certs:ro"])
    assert "glance_certs:/etc/glance/certs:ro" in args["binds"]
    assert "glance-service-docker_volume-present-glance_certs" in args["__states__"]
    proc = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(minion.conf), "--out", "json",
         "state.show_sls", "glance.service.clean",
         "pillar=" + json.dumps({"glance": minion.base_pillar(
             glance_clean_remove_data="yes",
             glance_api_extra_volumes=["glance_certs:/etc/glance/certs:ro"])})],
        capture_output=True, text=True, timeout=120, check=True)
    clean = json.loads(proc.stdout)["local"]
    assert "glance-service-clean-docker_volume-absent-glance" in clean
    assert not [sid for sid in clean if sid.endswith("glance_certs")]


def test_default_dimensions_become_container_arguments(minion):
    args = container(minion, default_container_dimensions={
        "mem_limit": "2g", "mem_reservation": 536870912, "cpu_shares": 512,
        "cpuset_cpus": "0-3,6", "ulimits": {"nofile": {"soft": 65536, "hard": 131072},
                                            "core": {"soft": 0, "hard": 0}}})
    assert args["mem_limit"] == 2 * 1024 ** 3
    assert args["mem_reservation"] == 536870912
    assert args["cpu_shares"] == 512
    assert args["cpuset_cpus"] == "0-3,6"
    assert args["ulimits"] == ["core=0:0", "nofile=65536:131072"]


def test_glance_api_dimensions_replace_the_default_ones(minion):
    args = container(minion, default_container_dimensions={"mem_limit": "2g", "cpu_shares": 512},
                     glance_api_dimensions={"mem_limit": "8g", "cpu_period": 100000,
                                            "cpu_quota": 200000})
    assert args["mem_limit"] == 8 * 1024 ** 3
    assert (args["cpu_period"], args["cpu_quota"]) == (100000, 200000)
    assert "cpu_shares" not in args


def test_no_dimensions_no_resource_arguments(minion):
    args = container(minion)
    assert not {"mem_limit", "cpu_shares", "ulimits", "cpu_quota"} & set(args)


def test_container_proxy_is_built_from_kollas_proxy_globals(minion):
    args = container(minion, container_http_proxy="http://10.0.0.2:3128",
                     container_https_proxy="http://10.0.0.2:3129",
                     kolla_internal_vip_address="10.0.0.10")
    assert args["environment"] == {
        "KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS",
        "http_proxy": "http://10.0.0.2:3128",
        "https_proxy": "http://10.0.0.2:3129",
        "no_proxy": "localhost,127.0.0.1,127.0.1.1,10.0.0.10",
    }


def test_glance_api_container_proxy_wins_over_the_globals(minion):
    args = container(minion, container_http_proxy="http://10.0.0.2:3128",
                     container_proxy={"http_proxy": "http://global:3128"},
                     glance_api_container_proxy={"https_proxy": "http://glance-only:3128",
                                                 "no_proxy": "10.0.0.0/8"})
    assert args["environment"] == {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS",
                                   "https_proxy": "http://glance-only:3128",
                                   "no_proxy": "10.0.0.0/8"}


def test_without_a_proxy_the_environment_is_unchanged(minion):
    assert container(minion)["environment"] == {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS"}


@pytest.mark.parametrize("pillar,message", [
    ({"glance_api_extra_volumes": "/a:/b"}, "glance:glance_api_extra_volumes is '/a:/b', "
                                            "which is not a list"),
    ({"glance_extra_volumes": ["/etc/pki"]}, "glance:glance_extra_volumes has '/etc/pki', "
                                             "which is not a bind"),
    ({"default_extra_volumes": ["/a:relative"]}, "glance:default_extra_volumes has "
                                                 "'/a:relative'"),
    ({"glance_api_dimensions": {"mem_limit": "lots"}},
     "glance:glance_api_dimensions:mem_limit is 'lots', which is not a size"),
    ({"default_container_dimensions": {"cpu_shares": "half"}},
     "glance:default_container_dimensions:cpu_shares is 'half', which is not a whole number"),
    ({"glance_api_dimensions": {"memory": "2g"}},
     "glance:glance_api_dimensions:memory is not a container dimension kolla supports"),
    ({"glance_api_dimensions": {"ulimits": {"nofile": 1024}}},
     "glance:glance_api_dimensions:ulimits is {'nofile': 1024} — write it as kolla does"),
    ({"glance_api_dimensions": ["mem_limit=2g"]},
     "glance:glance_api_dimensions is ['mem_limit=2g'], which is not a mapping"),
    ({"glance_api_container_proxy": "http://proxy:3128"},
     "glance:glance_api_container_proxy is 'http://proxy:3128' — write it as kolla does"),
])
def test_bad_container_knobs_are_refused_before_anything_is_written(minion, pillar, message):
    run = minion.apply(sls="glance", **pillar)
    assert run.returncode != 0
    assert message in run.comments()
    assert not minion.service_dir.exists()


def test_the_balancer_apply_waits_until_its_address_listens(minion):
    """kolla's "wait for haproxy to listen on VIP": the loadbalancer sls ends with a
    wait on the VIP and port, after the haproxy container."""
    proc = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(minion.conf), "--out", "json",
         "state.show_sls", "glance.loadbalancer",
         "pillar=" + json.dumps({"glance": minion.base_pillar(
             glance_api_hosts=[{"id": "node1", "address": "127.0.1.1"}],
             glance_loadbalancer_hosts=["node1"], kolla_internal_vip_address="127.0.1.10",
             glance_api_port=9393)})],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    high = json.loads(proc.stdout)["local"]
    wait = high["glance-loadbalancer-glance_api-listening"]["glance_api"]
    args = {k: v for item in wait if isinstance(item, dict) for k, v in item.items()}
    assert args["name"] == "127.0.1.10" and args["port"] == 9393
    assert args["require"] == [{"docker_container": "glance-loadbalancer-docker_container-running"}]
