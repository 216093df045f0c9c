"""salt-run glance.import_kolla with real Salt: kolla's files in, a pillar out that the
formula renders on every targeted minion with no hand edits."""

import json
import pathlib
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "test/fixtures/kolla-ansible"
BIN = pathlib.Path(sys.executable).parent


class Master:
    """A master config (no daemon): salt-run loads runners in-process."""

    def __init__(self, root):
        self.root = root
        self.conf = root / "master-conf"
        self.conf.mkdir(parents=True)
        (root / "cache/proc").mkdir(parents=True)
        (self.conf / "master").write_text(textwrap.dedent(f"""\
            root_dir: {root}
            file_roots: {{base: [{REPO}]}}
            runner_dirs: [{REPO}/_runners]
            cachedir: {root}/cache
            pki_dir: {root}/pki
            sock_dir: {root}/sock
            log_file: {root}/master.log
            """))

    def import_kolla(self, out, globals_=FIXTURES / "globals.yml",
                     passwords=FIXTURES / "passwords.yml", inventory=FIXTURES / "multinode"):
        proc = subprocess.run(
            [str(BIN / "salt-run"), "-c", str(self.conf), "--out", "json",
             "glance.import_kolla", f"globals={globals_}", f"passwords={passwords}",
             f"inventory={inventory}", f"out={out}"],
            capture_output=True, text=True, timeout=120, check=False)
        return proc, json.loads(proc.stdout)


def salt_call(root, minion_id, pillar_dir, *args):
    """salt-call --local as ``minion_id`` with the written pillar as its pillar_roots."""
    conf = root / f"conf-{minion_id}"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "minion").write_text(textwrap.dedent(f"""\
        id: {minion_id}
        file_client: local
        file_roots: {{base: [{REPO}]}}
        pillar_roots: {{base: [{pillar_dir}]}}
        module_dirs: [{REPO}]
        root_dir: {root}/{minion_id}
        cachedir: {root}/{minion_id}/cache
        pki_dir: {root}/{minion_id}/pki
        sock_dir: {root}/{minion_id}/sock
        log_file: {root}/{minion_id}/minion.log
        grains: {{num_cpus: 4}}
        """))
    proc = subprocess.run([str(BIN / "salt-call"), "--local", "-c", str(conf), "--out", "json",
                           *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["local"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("kolla-import")
    master = Master(root)
    proc, summary = master.import_kolla(root / "pillar")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"root": root, "pillar": root / "pillar", "summary": summary, "master": master}


@pytest.mark.parametrize("minion_id", ["control01", "control02", "control03", "network01"])
def test_every_targeted_minion_renders_the_formula_without_errors(imported, minion_id):
    shown = salt_call(imported["root"], minion_id, imported["pillar"], "glance_config.show")
    assert shown["errors"] == []
    assert [h["id"] for h in shown["api_hosts"]] == ["control01", "control02", "control03"]
    assert shown["image"] == "10.10.10.5:4000/openstack.kolla/glance-api:2025.1-rocky-9"
    assert shown["stores"] == ["file"]
    assert shown["loadbalancer"]["hosts"] == ["network01"]
    assert shown["database"]["host"] == "10.10.10.254"
    assert shown["database"]["password"] == "********"


def test_the_api_hosts_highstate_compiles_with_kollas_container_knobs(imported):
    high = salt_call(imported["root"], "control02", imported["pillar"],
                     "state.show_sls", "glance")
    assert isinstance(high, dict), high
    args = {}
    for item in high["glance-service-docker_container-running"]["docker_container"]:
        if isinstance(item, dict):
            args.update(item)
    assert args["image"] == "10.10.10.5:4000/openstack.kolla/glance-api:2025.1-rocky-9"
    assert "/mnt/glance-nfs:/var/lib/glance/" in args["binds"]
    assert "/etc/pki/ca-trust/extracted:/etc/pki/ca-trust/extracted:ro" in args["binds"]
    assert args["mem_limit"] == 4 * 1024 ** 3
    assert args["cpu_shares"] == 1024
    assert args["ulimits"] == ["nofile=65536:65536"]
    assert args["environment"]["https_proxy"] == "http://10.10.10.3:3128"
    assert args["environment"]["no_proxy"] == "localhost,127.0.0.1,10.10.10.12,10.10.10.254"


def test_the_minions_pillar_carries_kollas_values_and_passwords(imported):
    # pillar.raw: pillar.items stars out password-like values in its output
    glance = salt_call(imported["root"], "control01", imported["pillar"], "pillar.raw",
                       "glance")
    passwords = yaml.safe_load((FIXTURES / "passwords.yml").read_text())
    assert glance["glance_keystone_password"] == passwords["glance_keystone_password"]
    assert glance["keystone_internal_url"] == "http://10.10.10.254:5000"
    assert glance["memcached_servers"] == ["10.10.10.11:11211", "10.10.10.12:11211",
                                           "10.10.10.13:11211"]
    assert glance["glance_enable_rolling_upgrade"] == "yes"


def test_hosts_outside_the_glance_groups_get_no_glance_pillar(imported):
    pillar = salt_call(imported["root"], "compute01", imported["pillar"], "pillar.items")
    assert "glance" not in pillar


def test_secrets_are_0600_and_the_summary_names_no_password(imported):
    secrets = imported["pillar"] / "glance_kolla/secrets.sls"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    passwords = yaml.safe_load((FIXTURES / "passwords.yml").read_text())
    text = json.dumps(imported["summary"])
    assert not [k for k, v in passwords.items() if isinstance(v, str) and v in text]
    assert "glance_database_password" in imported["summary"]["carried"]["passwords.yml"]
    assert imported["summary"]["left_out"]["passwords.yml"]["nova_keystone_password"]


def test_a_second_run_changes_no_byte(imported):
    before = {p: p.read_bytes() for p in imported["pillar"].rglob("*") if p.is_file()}
    proc, summary = imported["master"].import_kolla(imported["pillar"])
    assert proc.returncode == 0, proc.stdout
    assert set(summary["files"].values()) == {"unchanged"}
    assert {p: p.read_bytes() for p in imported["pillar"].rglob("*") if p.is_file()} == before


def test_a_password_with_jinja_braces_reaches_the_pillar_verbatim(tmp_path):
    passwords = tmp_path / "passwords.yml"
    data = yaml.safe_load((FIXTURES / "passwords.yml").read_text())
    data["glance_database_password"] = "{{ not_jinja }}{% raw %}x"
    passwords.write_text(yaml.safe_dump(data))
    master = Master(tmp_path / "master")
    proc, _ = master.import_kolla(tmp_path / "pillar", passwords=passwords)
    assert proc.returncode == 0, proc.stdout
    glance = salt_call(tmp_path, "control01", tmp_path / "pillar", "pillar.raw", "glance")
    assert glance["glance_database_password"] == "{{ not_jinja }}{% raw %}x"


def test_the_yaml_inventory_gives_a_pillar_the_formula_renders_the_same(tmp_path):
    master = Master(tmp_path / "master")
    proc, summary = master.import_kolla(tmp_path / "pillar",
                                        inventory=FIXTURES / "multinode.yml")
    assert proc.returncode == 0, proc.stdout
    assert summary["glance_api_hosts"] == ["control01", "control02", "control03"]
    shown = salt_call(tmp_path, "control03", tmp_path / "pillar", "glance_config.show")
    assert shown["errors"] == []
    assert shown["api_address"] == "10.10.10.13"


def test_bad_input_fails_the_run_naming_the_file(tmp_path):
    broken = tmp_path / "globals.yml"
    shutil.copy(FIXTURES / "globals.yml", broken)
    broken.write_text(broken.read_text() + "glance_api_dimensions: [\n")
    proc, summary = Master(tmp_path / "master").import_kolla(tmp_path / "pillar",
                                                             globals_=broken)
    assert proc.returncode != 0
    assert summary["error"].startswith(f"{broken}: line ")
    assert "is not valid YAML" in summary["error"]
    assert not (tmp_path / "pillar").exists()


def test_a_hosts_own_inventory_var_reaches_that_minion_only(tmp_path):
    inventory = tmp_path / "multinode"
    inventory.write_text((FIXTURES / "multinode").read_text().replace(
        "control02 ansible_host=10.10.10.12",
        "control02 ansible_host=10.10.10.12 glance_api_workers=7"))
    proc, summary = Master(tmp_path / "master").import_kolla(tmp_path / "pillar",
                                                             inventory=inventory)
    assert proc.returncode == 0, proc.stdout
    assert summary["carried"]["inventory"] == {"control02": ["glance_api_workers"]}
    workers = {minion: salt_call(tmp_path, minion, tmp_path / "pillar",
                                 "glance_config.show")["numbers"]["glance_api_workers"]
               for minion in ("control01", "control02")}
    assert workers == {"control01": 4, "control02": 7}
