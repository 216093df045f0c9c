"""
Render tier: the real ``salt-call --local`` applies the formula into a temp dir.

Each call gets its own minion config, service dir and node_custom_config, so the
tests can assert on the files Salt wrote (or did not write).
"""

import configparser
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

SALT_CALL = pathlib.Path(sys.executable).parent / "salt-call"


class Run:
    def __init__(self, proc, service_dir):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.service_dir = service_dir
        try:
            self.states = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            self.states = proc.stdout

    def ini(self, name):
        parser = configparser.ConfigParser(
            interpolation=None, strict=True, default_section="\x00"
        )
        parser.optionxform = str
        parser.read_string((self.service_dir / name).read_text())
        return {s: dict(parser.items(s, raw=True)) for s in parser.sections()}

    def config_json(self):
        return json.loads((self.service_dir / "config.json").read_text())

    def dests(self):
        return {e["dest"]: e for e in self.config_json()["config_files"]}

    def files(self):
        if not self.service_dir.exists():
            return set()
        return {str(p.relative_to(self.service_dir)) for p in self.service_dir.rglob("*")
                if p.is_file()}

    def comments(self):
        if isinstance(self.states, str):
            return self.states
        return "\n".join(str(s.get("comment", "")) for s in self.states.values())

    def changed(self):
        return {k: v for k, v in self.states.items() if v.get("changes")}


class Minion:
    """One masterless minion with its own dirs; ``apply`` runs state.apply."""

    def __init__(self, root, minion_id="node1", grains=None, extra_config=""):
        self.root = root
        self.service_root = root / "kolla"
        self.custom = root / "custom"
        self.custom.mkdir(parents=True)
        conf = root / "conf"
        conf.mkdir()
        (conf / "minion").write_text(textwrap.dedent(f"""\
            id: {minion_id}
            file_client: local
            file_roots: {{base: [{REPO}]}}
            module_dirs: [{REPO}]
            root_dir: {root}
            cachedir: {root}/cache
            pki_dir: {root}/pki
            sock_dir: {root}/sock
            log_file: {root}/minion.log
            grains: {json.dumps(dict({"num_cpus": 4}, **(grains or {})))}
            """) + extra_config)
        self.conf = conf

    @property
    def service_dir(self):
        return self.service_root / "glance-api"

    def write_custom(self, relpath, text):
        path = self.custom / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def base_pillar(self, **glance):
        pillar = {
            "node_config_directory": str(self.service_root),
            "node_custom_config": str(self.custom),
            "api_interface_address": "127.0.1.1",
            "enable_keystone": "no",
            "glance_database_password": "db-secret-pw",
            "openstack_release": "2022.2",
            # no docker daemon in this tier: test/render/test_config_validate.py
            # turns the override check on where it tests it
            "glance_validate_config": "no",
        }
        pillar.update(glance)
        return pillar

    def apply(self, sls="glance.config", test=False, raw_pillar=None, **glance):
        pillar = raw_pillar if raw_pillar is not None else self.base_pillar(**glance)
        cmd = [str(SALT_CALL), "--local", "-c", str(self.conf), "--out", "json",
               "--retcode-passthrough", "state.apply", sls,
               "pillar=" + json.dumps({"glance": pillar})]
        if test:
            cmd.append("test=True")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        return Run(proc, self.service_dir)


@pytest.fixture
def minion(tmp_path):
    return Minion(tmp_path)


@pytest.fixture
def minion_factory(tmp_path):
    def make(minion_id, grains=None, extra_config=""):
        return Minion(tmp_path / minion_id, minion_id, grains, extra_config)

    return make
