"""
Integration tier: the real stack, started once per session and stopped by pid.

    salt-master ── minion node1 ── dockerd node1 ── glance_api @127.0.1.1:9292
               ├─ minion node2 ── dockerd node2 ── glance_api @127.0.1.2:9292
               └─ minion node3 ── dockerd node3 ── glance_api @127.0.1.3:9292
    shared: registry 127.0.0.1:5000 (test images), MariaDB 127.0.0.1:3306,
            Keystone 127.0.0.5:5000 (its own dockerd "infra") + memcached
            127.0.0.5:11211, a host directory standing in for NFS,
            moto S3 on 127.0.0.1:9000
    on demand (only the tests that ask for them): Ceph (mon + memstore OSD, cephx) on
            127.0.0.7, Swift SAIO (keystoneauth) on 127.0.0.8, both on "infra"

Keystone is on in every test: the formula registers glance in it (the database
node's glance.register) and every request carries a token.

Tests change the deployment by writing pillar (``stack.deploy(...)``) and
applying through the master, exactly as an operator would.
"""

import json
import os
import pathlib
import shutil
import sys
import textwrap

import boto3
import pytest
import yaml

from harness import glance_client
from harness.daemons import Dockerd, MariaDB, Memcached, Moto, Registry
from harness.ceph import Ceph
from harness.keystone import Keystone
from harness.swift import Swift
from harness.loopback import hosts

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "images"))
import build  # noqa: E402  pylint: disable=wrong-import-position

CACHE = pathlib.Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))
RUN_DIR = pathlib.Path("/run/gf")
REGISTRY = "127.0.0.1:5000"
NAMESPACE = "openstack.kolla"
RELEASES = ("2022.2", "2025.1", "2026.2")
KEYSTONE_RELEASE = "2025.1"
KEYSTONE_ADDRESS = "127.0.0.5"
ADDRESSES = hosts(3)
NODES = tuple(ADDRESSES)
DB_ROOT_PASSWORD = "it-root-pw"
S3_AUTH_PORT = 9001
KEYSTONE_ADMIN_PASSWORD = "it-admin-pw"
KEYSTONE_URL = f"http://{KEYSTONE_ADDRESS}:5000"
CEPH_RELEASE = "pacific"
CEPH_ADDRESS = "127.0.0.7"
SWIFT_RELEASE = "2022.2"
SWIFT_ADDRESS = "127.0.0.8"


@pytest.fixture(scope="session")
def salt_factories_config():
    return {"code_dir": str(REPO), "inject_sitecustomize": False, "start_timeout": 120}


@pytest.fixture(scope="session")
def registry():
    with Registry(root_dir=CACHE / "registry", addr=REGISTRY, run_dir=RUN_DIR / "registry") as reg:
        yield reg


@pytest.fixture(scope="session")
def dockerds():
    daemons = {name: Dockerd(name, run_dir=RUN_DIR, data_root=CACHE / "docker" / name)
               for name in NODES}
    try:
        for daemon in daemons.values():
            daemon.start()
            daemon.remove_all_containers()
        yield daemons
    finally:
        for daemon in daemons.values():
            daemon.remove_all_containers() if daemon.running() else None
            daemon.stop()


@pytest.fixture(scope="session")
def images(registry, dockerds):
    """Every test release in the local registry (built only when their inputs changed)."""
    repo = f"{REGISTRY}/{NAMESPACE}"
    for release in RELEASES:
        for image in ("glance-api", "haproxy"):
            build.ensure_pushed(release, CACHE, dockerds["node1"].url, f"{repo}/{image}",
                                image=image)
    build.ensure_pushed(KEYSTONE_RELEASE, CACHE, dockerds["node1"].url, f"{repo}/keystone",
                        image="keystone")
    # the dockerds keep their images across sessions and docker_image.present never
    # re-pulls a tag it has: refresh every tag, so a rebuilt image is what runs
    tags = [f"{repo}/{image}:{release}" for release in RELEASES
            for image in ("glance-api", "haproxy")]
    for daemon in dockerds.values():
        for tag in tags:
            daemon.docker("pull", "-q", tag)
    return {release: f"{repo}/glance-api:{release}" for release in RELEASES}


@pytest.fixture(scope="session")
def mariadb():
    with MariaDB(run_dir=RUN_DIR, port=3306, root_password=DB_ROOT_PASSWORD) as db:
        yield db


@pytest.fixture(scope="session")
def keystone(images, mariadb):
    """Keystone (uWSGI, fernet, memcached token cache) on its own dockerd, once."""
    infra = Dockerd("infra", run_dir=RUN_DIR, data_root=CACHE / "docker" / "infra")
    memcached = Memcached(run_dir=RUN_DIR / "memcached", host=KEYSTONE_ADDRESS)
    with infra, memcached:
        server = Keystone(infra, f"{REGISTRY}/{NAMESPACE}/keystone:{KEYSTONE_RELEASE}",
                          mariadb, address=KEYSTONE_ADDRESS,
                          admin_password=KEYSTONE_ADMIN_PASSWORD, memcached=memcached)
        server.start()
        glance_client.use_keystone(server.auth_url, KEYSTONE_ADMIN_PASSWORD)
        try:
            yield server
        finally:
            server.stop()


class Stack:
    """The master, its minions and the pillar they share."""

    def __init__(self, master, minions, dockerds, pillar_dir, work):
        self.master = master
        self.minions = minions
        self.dockerds = dockerds
        self.pillar_dir = pillar_dir
        self.work = work
        self.shared = work / "shared-datadir"
        self.cli = master.salt_cli(timeout=1200)
        self.run_cli = master.salt_run_cli(timeout=1800)

    def base_pillar(self, **glance):
        pillar = {
            "docker_registry": REGISTRY,
            "docker_namespace": NAMESPACE,
            "openstack_release": "2022.2",
            "glance_api_hosts": [{"id": n, "address": a} for n, a in ADDRESSES.items()],
            "node_custom_config": str(self.work / "custom"),
            "enable_keystone": "yes",
            "keystone_internal_url": KEYSTONE_URL,
            "keystone_public_url": KEYSTONE_URL,
            "keystone_admin_password": KEYSTONE_ADMIN_PASSWORD,
            "glance_keystone_password": "it-glance-ks-pw",
            "memcached_servers": [f"{KEYSTONE_ADDRESS}:11211"],
            "memcache_secret_key": "it-memcache-key",
            "database_address": "127.0.0.1",
            "database_password": DB_ROOT_PASSWORD,
            "glance_database_password": "it-glance-pw",
            "glance_api_workers": 1,
            "default_container_healthcheck_interval": 5,
        }
        pillar.update(glance)
        return pillar

    def write_pillar(self, per_minion=None, **glance):
        """Shared pillar plus per-minion parts (node_config_directory is always per host)."""
        top = {"base": {"*": ["glance"]}}
        (self.pillar_dir / "glance.sls").write_text(
            yaml.safe_dump({"glance": self.base_pillar(**glance)}))
        for name in NODES:
            own = {"node_config_directory": str(self.work / "etc-kolla" / name)}
            own.update((per_minion or {}).get(name, {}))
            (self.pillar_dir / f"{name}.sls").write_text(yaml.safe_dump({"glance": own}))
            top["base"][name] = [name]
        (self.pillar_dir / "top.sls").write_text(yaml.safe_dump(top))
        ret = self.cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt="*")
        assert ret.returncode == 0, ret.stdout

    def apply(self, *args, tgt="*", fun="state.apply"):
        ret = self.cli.run("--timeout=900", fun, *args, minion_tgt=tgt)
        return StateRun(ret, self, tgt)

    def diagnostics(self, lines=25):
        """Each node's glance_api state and last log lines (shown when a run fails)."""
        out = []
        for node in NODES:
            state = self.dockerds[node].docker(
                "ps", "-a", "--filter", "name=^glance_api$", "--format",
                "{{.Status}}", check=False).stdout.strip()
            logs = self.dockerds[node].docker("logs", "--tail", str(lines), "glance_api",
                                              check=False)
            glance_log = self.dockerds[node].docker(
                "exec", "glance_api", "sh", "-c",
                f"tail -n {lines} /var/log/kolla/glance/glance-api*.log", check=False)
            out.append(f"--- {node}: glance_api {state or 'absent'}\n{logs.stdout}{logs.stderr}"
                       f"{glance_log.stdout}")
        return "\n".join(out)

    def deploy(self, per_minion=None, fun="state.apply", **glance):
        """Write the pillar and ``salt '*' state.apply glance`` (``fun="state.highstate"``
        for a highstate). A highstate first runs ``saltutil.sync_all`` and reloads every
        module on each minion (Salt's ``autoload_dynamic_modules``): ~3 s a minion,
        8-15 s for three on this machine, the same for every formula. The tests named
        for highstate (test_deploy, the kolla import, the re-applies) run it; the rest
        apply the formula's sls, as operators also do."""
        self.write_pillar(per_minion, **glance)
        return self.apply(fun=fun) if fun == "state.highstate" else self.apply("glance")

    def orchestrate(self, **glance):
        """salt-run state.orchestrate glance.orch.upgrade pillar='{"glance": {...}}'."""
        return self.run_cli.run("state.orchestrate", "glance.orch.upgrade",
                                "pillar=" + json.dumps({"glance": glance}))

    def container_id(self, node, name="glance_api"):
        out = self.dockerds[node].docker("ps", "-q", "--no-trunc", "--filter", f"name=^{name}$",
                                         check=False)
        return out.stdout.strip() or None

    def container_ids(self):
        return {node: self.container_id(node) for node in NODES}


class StateRun:
    """A ``salt '*' state.*`` result, per minion."""

    def __init__(self, ret, stack=None, tgt="*"):
        self.ret = ret
        self.stack = stack
        self.returncode = ret.returncode
        data = ret.data if isinstance(ret.data, dict) else {}
        # the factories' cli unwraps a one-minion target's return: key it by the minion
        self.data = {tgt: data} if tgt in NODES else data

    def states(self, node):
        value = self.data.get(node)
        return value if isinstance(value, dict) else {}

    def failed(self):
        return {f"{node}: {sid}": s.get("comment") for node in self.data
                for sid, s in self.states(node).items() if not s.get("result")}

    def changed(self, node):
        return {s["__id__"]: s["changes"] for s in self.states(node).values() if s.get("changes")}

    def comments(self, node):
        value = self.data.get(node)
        if not isinstance(value, dict):
            return str(value)
        return "\n".join(str(s.get("comment", "")) + " " + str(s.get("name", ""))
                         for s in value.values())

    def ok(self):
        return self.returncode == 0 and not self.failed() and set(self.data) == set(NODES)

    def __repr__(self):
        missing = sorted(set(NODES) - set(self.data))
        head = f"returncode={self.returncode} missing={missing} failed="
        body = self.failed() or {n: v for n, v in self.data.items() if not isinstance(v, dict)}
        diagnostics = self.stack.diagnostics() if self.stack and not self.ok() else ""
        return head + json.dumps(body, indent=1, default=str)[:6000] + "\n" + str(
            self.ret.stderr)[-2000:] + "\n" + diagnostics[-8000:]


@pytest.fixture(scope="session")
def stack(salt_factories, dockerds, images, mariadb, keystone, tmp_path_factory):
    work = tmp_path_factory.mktemp("stack")
    states, pillar = work / "states", work / "pillar"
    states.mkdir()
    pillar.mkdir()
    (work / "custom").mkdir()
    (work / "shared-datadir").mkdir()
    (states / "top.sls").write_text("base:\n  '*':\n    - glance\n")
    master = salt_factories.salt_master_daemon(
        "glance-master",
        overrides={
            "file_roots": {"base": [str(REPO), str(states)]},
            "pillar_roots": {"base": [str(pillar)]},
            "log_level_logfile": "info",
        },
    )
    (pillar / "top.sls").write_text("base: {}\n")
    with master.started():
        minions = {}
        for name in NODES:
            minions[name] = master.salt_minion_daemon(
                name,
                overrides={"docker.url": dockerds[name].url, "grains": {"num_cpus": 2},
                           # README's recommended minion setting: the formula reads no
                           # mine; without it every docker create/rm/start refreshes it
                           "docker.update_mine": False},
            )
        started = [m.started() for m in minions.values()]
        for ctx in started:
            ctx.__enter__()
        try:
            result = Stack(master, minions, dockerds, pillar, work)
            sync = result.cli.run("saltutil.sync_all", minion_tgt="*")
            assert sync.returncode == 0, sync.stdout
            # the orchestration renders with glance_config / glance_upgrade on the master
            sync = result.run_cli.run("saltutil.sync_all")
            assert sync.returncode == 0, sync.stdout
            yield result
        finally:
            for ctx in reversed(started):
                ctx.__exit__(None, None, None)


def _custom_files(stack):
    written = []

    def write(relpath, text):
        path = stack.work / "custom" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        written.append(path)
        return path

    yield write
    for path in written:
        path.unlink(missing_ok=True)
    shutil.rmtree(stack.work / "custom" / "glance", ignore_errors=True)


@pytest.fixture
def custom_files(stack):
    """Write operator files under node_custom_config; removed after the test."""
    yield from _custom_files(stack)


@pytest.fixture(scope="module")
def custom_files_module(stack):
    """The same, removed after the test module."""
    yield from _custom_files(stack)


@pytest.fixture(scope="session")
def s3_keys():
    """moto with authentication on: the free first calls create a user whose key works,
    the rest are spent so that every later call is authenticated."""
    server = Moto(host="127.0.0.1", port=S3_AUTH_PORT, env={"INITIAL_NO_AUTH_ACTION_COUNT": "10"},
                  run_dir=f"/run/gf/moto-{S3_AUTH_PORT}")
    with server:
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="glance")
        key = iam.create_access_key(UserName="glance")["AccessKey"]
        iam.put_user_policy(UserName="glance", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        spend = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                             aws_access_key_id="nobody", aws_secret_access_key="nothing")
        for _ in range(12):
            try:
                spend.list_buckets()
            except spend.exceptions.ClientError:
                break
        else:
            pytest.fail("moto never started to check credentials")
        yield {"url": server.url, "access": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def _pushed(keystone, image, release):
    """image:release of the test images in the registry, built when its inputs changed."""
    repo = f"{REGISTRY}/{NAMESPACE}/{image}"
    build.ensure_pushed(release, CACHE, keystone.dockerd.url, repo, image=image)
    return f"{repo}:{release}"


@pytest.fixture(scope="session")
def ceph(keystone):
    """One mon + one memstore OSD with cephx, pool images, client.glance (kolla's caps),
    on the infra dockerd; started only for the tests that ask for it."""
    server = Ceph(keystone.dockerd, _pushed(keystone, "ceph", CEPH_RELEASE),
                  address=CEPH_ADDRESS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def swift(keystone):
    """Swift SAIO behind keystoneauth, registered in the stack's Keystone, on the infra
    dockerd; started only for the tests that ask for it."""
    server = Swift(keystone.dockerd, _pushed(keystone, "swift", SWIFT_RELEASE), keystone,
                   address=SWIFT_ADDRESS, memcache_servers=keystone.memcache_servers)
    server.start()
    try:
        yield server
    finally:
        server.stop()
