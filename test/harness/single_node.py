"""
One simulated host: registry, dockerd, MariaDB, memcached and Keystone (a container
in the same dockerd, like kolla's all-in-one) on loopback addresses, the test images
pushed, and the formula applied with ``salt-call --local`` (this repo as file root).
Used by the demo (scripts/demo.py, which adds a real salt-master + minion) and the
apply benchmark (bench/apply.py).  Keystone is always on.
"""

import json
import os
import pathlib
import secrets
import subprocess
import sys
import textwrap
import time

import yaml

from .daemons import Dockerd, MariaDB, Memcached, Registry
from .keystone import Keystone

REPO = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))
NAMESPACE = "openstack.kolla"
KEYSTONE_RELEASE = "2025.1"
SECRET_NAMES = ("database_password", "glance_database_password", "keystone_admin_password",
                "glance_keystone_password", "memcache_secret_key")


def load_secrets(path):
    """Random passwords made once and kept (0600) so a re-run reuses them."""
    path = pathlib.Path(path)
    known = yaml.safe_load(path.read_text()) if path.exists() else {}
    known = known or {}
    for name in SECRET_NAMES:
        known.setdefault(name, secrets.token_urlsafe(18))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(known))
    path.chmod(0o600)
    return known


class SingleNode:
    def __init__(self, name, address, state_dir, release="2026.2"):
        self.name, self.address, self.release = name, address, release
        self.state_dir = pathlib.Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)
        self.secrets = load_secrets(self.state_dir / "secrets.yaml")
        # Keystone needs its own address: the registry holds <address>:5000
        self.keystone_address = address.rsplit(".", 1)[0] + ".5"
        run = pathlib.Path("/run") / f"gf-{name}"
        self.registry = Registry(root_dir=CACHE / "registry", addr=f"{address}:5000",
                                 run_dir=run / "registry")
        self.dockerd = Dockerd(name, run_dir=run, data_root=CACHE / "docker" / name)
        self.mariadb = MariaDB(run_dir=run, host=address, port=3306,
                               root_password=self.secrets["database_password"])
        self.memcached = Memcached(host=self.keystone_address, run_dir=run / "memcached")
        self.daemons = [self.registry, self.dockerd, self.mariadb, self.memcached]
        self.keystone = Keystone(
            self.dockerd, f"{self.registry.addr}/{NAMESPACE}/keystone:{KEYSTONE_RELEASE}",
            self.mariadb, address=self.keystone_address,
            admin_password=self.secrets["keystone_admin_password"], memcached=self.memcached,
            config_dir=self.state_dir / "keystone")
        self.conf = self.state_dir / "salt"

    def start(self, steps=None):
        """Daemons, images, Keystone; ``steps`` is a context-manager factory for progress."""
        steps = steps or _quiet
        with steps("daemons: registry, dockerd, MariaDB, memcached"):
            for daemon in self.daemons:
                daemon.start()
        with steps(f"images: glance-api:{self.release}, keystone:{KEYSTONE_RELEASE} "
                   "(built once, then cached)"):
            self.use_release(self.release)
            _build().ensure_pushed(KEYSTONE_RELEASE, CACHE, self.dockerd.url,
                                   f"{self.registry.addr}/{NAMESPACE}/keystone", image="keystone")
        with steps(f"keystone {self.keystone.auth_url}"):
            self.keystone.start()
        self.write_minion_config()
        return self

    def use_release(self, release):
        """Deploy ``release`` from now on; its glance-api image is pushed if needed."""
        self.release = release
        _build().ensure_pushed(release, CACHE, self.dockerd.url,
                               f"{self.registry.addr}/{NAMESPACE}/glance-api")

    def remove_glance_containers(self):
        """Every container of the dockerd but Keystone's (benchmarks start clean)."""
        names = self.dockerd.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        gone = [n for n in names if not n.startswith(self.keystone.name)]
        if gone:
            self.dockerd.docker("rm", "-f", *gone)
        return gone

    def stop(self):
        if self.dockerd.running():
            self.keystone.stop()
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
            docker.update_mine: false
            """))
        (self.conf / "pillar" / "top.sls").write_text("base:\n  '*':\n    - glance\n")

    def pillar(self, **glance):
        keystone_url = self.keystone.url
        pillar = {
            "docker_registry": self.registry.addr,
            "docker_namespace": NAMESPACE,
            "openstack_release": self.release,
            "api_interface_address": self.address,
            "node_config_directory": str(self.state_dir / "etc-kolla"),
            "node_custom_config": str(self.state_dir / "config"),
            "enable_keystone": "yes",
            "keystone_internal_url": keystone_url,
            "keystone_public_url": keystone_url,
            "memcached_servers": [self.memcached.address],
            "database_address": self.address,
        }
        pillar.update({name: self.secrets[name] for name in SECRET_NAMES})
        pillar.update(glance)
        return pillar

    def write_pillar(self, pillar_dir=None, **glance):
        path = pathlib.Path(pillar_dir or self.conf / "pillar") / "glance.sls"
        path.write_text(yaml.safe_dump({"glance": self.pillar(**glance)}))
        path.chmod(0o600)

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


def _build():
    sys.path.insert(0, str(REPO / "test" / "images"))
    import build  # pylint: disable=import-outside-toplevel

    return build


class _quiet:
    def __init__(self, _label):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
