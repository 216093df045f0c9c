"""
One simulated host driven masterless: registry, dockerd and MariaDB on one loopback
address, the test image pushed, and ``salt-call --local`` with this repo as file root.
Used by the demo (scripts/demo.py) and the apply benchmark (bench/apply.py).
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time

import yaml

from .daemons import Dockerd, MariaDB, Registry

REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))
NAMESPACE = "openstack.kolla"


class SingleNode:
    def __init__(self, name, address, state_dir, release="2022.2"):
        self.name, self.address, self.release = name, address, release
        self.state_dir = pathlib.Path(state_dir)
        run = pathlib.Path("/run") / f"gf-{name}"
        self.registry = Registry(root_dir=CACHE / "registry", addr=f"{address}:5000",
                                 run_dir=run / "registry")
        self.dockerd = Dockerd(name, run_dir=run, data_root=CACHE / "docker" / name)
        self.mariadb = MariaDB(run_dir=run, host=address, port=3306,
                               root_password=f"{name}-root-pw")
        self.daemons = [self.registry, self.dockerd, self.mariadb]
        self.conf = self.state_dir / "salt"

    def start(self):
        for daemon in self.daemons:
            daemon.start()
        sys.path.insert(0, str(REPO / "test" / "images"))
        import build  # pylint: disable=import-outside-toplevel

        build.ensure_pushed(self.release, CACHE, self.dockerd.url,
                            f"{self.registry.addr}/{NAMESPACE}/glance-api")
        self.write_minion_config()
        return self

    def stop(self):
        for daemon in reversed(self.daemons):
            daemon.stop()

    def detach(self):
        for daemon in self.daemons:
            daemon.detach()

    def stop_from_pidfiles(self):
        for daemon in reversed(self.daemons):
            daemon.stop_from_pidfile()

    def write_minion_config(self):
        (self.conf / "pillar").mkdir(parents=True, exist_ok=True)
        (self.conf / "minion").write_text(textwrap.dedent(f"""\
            id: {self.name}
            file_client: local
            file_roots: {{base: [{REPO}]}}
            pillar_roots: {{base: [{self.conf / 'pillar'}]}}
            module_dirs: [{REPO}]
            root_dir: {self.conf}
            cachedir: {self.conf}/cache
            pki_dir: {self.conf}/pki
            sock_dir: {self.conf}/sock
            log_file: {self.conf}/minion.log
            docker.url: {self.dockerd.url}
            """))
        (self.conf / "pillar" / "top.sls").write_text("base:\n  '*':\n    - glance\n")

    def pillar(self, **glance):
        pillar = {
            "docker_registry": self.registry.addr,
            "docker_namespace": NAMESPACE,
            "openstack_release": self.release,
            "api_interface_address": self.address,
            "node_config_directory": str(self.state_dir / "etc-kolla"),
            "node_custom_config": str(self.state_dir / "config"),
            "enable_keystone": "no",
            "database_address": self.address,
            "database_password": self.mariadb.root_password,
            "glance_database_password": f"{self.name}-glance-pw",
        }
        pillar.update(glance)
        return pillar

    def write_pillar(self, **glance):
        (self.conf / "pillar" / "glance.sls").write_text(
            yaml.safe_dump({"glance": self.pillar(**glance)}))

    def salt_call(self, *args, output="json"):
        """Run salt-call --local; returns (seconds, returncode, parsed or raw output)."""
        salt_call = pathlib.Path(sys.executable).parent / "salt-call"
        cmd = [str(salt_call), "--local", "-c", str(self.conf), "--retcode-passthrough"]
        cmd += ["--out", "json"] if output == "json" else ["--state-output=terse"]
        start = time.monotonic()
        proc = subprocess.run(cmd + list(args), capture_output=output == "json", text=True,
                              check=False)
        seconds = time.monotonic() - start
        data = proc.stdout
        if output == "json":
            try:
                data = json.loads(proc.stdout)["local"]
            except (ValueError, KeyError, TypeError):
                pass
        return seconds, proc.returncode, data

    @property
    def url(self):
        return f"http://{self.address}:9292"
