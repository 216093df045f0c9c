"""A single-node Ceph cluster (one mon + one memstore OSD, cephx on) in a container of
the ``ceph`` test image (test/images), for the integration tests.

    ceph = Ceph(dockerd, "127.0.0.1:5000/openstack.kolla/ceph:pacific").start()
    ceph.write_client_files(node_custom_config)   # <dir>/glance/ceph.conf + keyring
    ceph.rbd_ls("images")                         # RBD image names, as client.admin
    ceph.stop()

``start()``: a config dir (ceph.conf, config.json), the ``ceph`` container (host
network, the mon on ``<address>:6789``, the OSD on the same address) until the OSD is
up, then the pool (``rbd pool init``) and the client key with kolla's caps for glance:
``mon 'profile rbd' osd 'profile rbd pool=<pool>' mgr 'profile rbd pool=<pool>'``.
Memstore keeps nothing: every new container is a new, empty cluster with new keys.
A second ``start()`` with the same config and image while the container is up does
nothing (``.reused`` is then True).  ``stop()`` removes the container, by name,
through the given harness ``Dockerd``.

Standard library only.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Optional

from .container import KOLLA_CONFIG_DIR, ServiceContainer
from .daemons import DaemonError

MON_PORT = 6789


class CephError(DaemonError):
    """The ceph container or a ceph command failed (the message has the log)."""


class Ceph(ServiceContainer):
    """One mon + one memstore OSD served by the ``ceph`` test image."""

    config_label = "glance_formula.ceph_config"
    error = CephError

    def __init__(self, dockerd, image: str, address: str = "127.0.0.7",
                 pool: str = "images", client: str = "glance", name: str = "ceph",
                 config_dir: Path | str | None = None, fsid: Optional[str] = None,
                 memstore_bytes: int = 2 * 1024 ** 3, start_timeout: float = 120.0):
        super().__init__(dockerd, image, name, config_dir, start_timeout)
        self.address = address
        self.pool = pool
        self.client = client
        # a fixed fsid per address keeps the config hash (and so reuse) stable
        self.fsid = fsid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"ceph://{address}"))
        self.memstore_bytes = int(memstore_bytes)
        self.keyring: Optional[str] = None

    # ------------------------------------------------------------------ config
    @property
    def mon_host(self) -> str:
        return f"{self.address}:{MON_PORT}"

    @property
    def caps(self) -> list[str]:
        """kolla-ansible's caps for the glance client (external ceph guide)."""
        return ["mon", "profile rbd", "osd", f"profile rbd pool={self.pool}",
                "mgr", f"profile rbd pool={self.pool}"]

    def client_conf(self) -> str:
        """What an operator copies to <node_custom_config>/glance/ceph.conf."""
        return "\n".join([
            "[global]", f"fsid = {self.fsid}", f"mon host = {self.mon_host}",
            "auth cluster required = cephx", "auth service required = cephx",
            "auth client required = cephx", ""])

    def config_files(self) -> dict[str, str]:
        """The files of the config dir (mounted at /var/lib/kolla/config_files)."""
        server_conf = "\n".join([
            self.client_conf().rstrip("\n"),
            "osd pool default size = 1", "osd pool default min size = 1",
            "mon allow pool size one = true", "mon warn on pool no redundancy = false",
            "osd crush chooseleaf type = 0", "",
            "[mon.a]", f"public addr = {self.address}", "",
            "[osd]", f"public addr = {self.address}", f"cluster addr = {self.address}",
            "osd objectstore = memstore", f"memstore device bytes = {self.memstore_bytes}",
            ""])
        config_json = {
            "command": "ceph_single_node",
            "config_files": [{"source": f"{KOLLA_CONFIG_DIR}/ceph.conf",
                              "dest": "/etc/ceph/ceph.conf", "owner": "ceph",
                              "perm": "0640"}]}
        return {"ceph.conf": server_conf,
                "config.json": json.dumps(config_json, indent=2) + "\n"}

    # ------------------------------------------------------------------ commands
    def logs(self, container: Optional[str] = None, lines: int = 40) -> str:
        """The container's output and the tail of the daemons' logs."""
        daemon_logs = self._docker("exec", self.name, "sh", "-c",
                                   f"tail -n {lines} /var/log/ceph/*.log", check=False)
        return (super().logs(container, lines) + "\n" + daemon_logs.stdout).strip()

    def exec(self, *args, check=True, timeout=120):
        """Run a command in the container as client.admin (ceph, rbd, ...)."""
        res = self._docker("exec", self.name, *map(str, args), check=False,
                           timeout=timeout)
        if check and res.returncode != 0:
            raise CephError(f"{' '.join(map(str, args))} exited {res.returncode}: "
                            f"{res.stderr.strip()}\n{self.logs(lines=15)}")
        return res

    def ceph(self, *args, **kw) -> str:
        return self.exec("ceph", "--connect-timeout", "30", *args, **kw).stdout

    def rbd_ls(self, pool: Optional[str] = None) -> list[str]:
        """The RBD images of the pool, as client.admin sees them."""
        out = self.exec("rbd", "ls", "--format", "json", "--pool", pool or self.pool).stdout
        return json.loads(out or "[]")

    def booted(self) -> bool:
        """ceph_single_node saw the OSD up (it touches /run/ceph/ready)."""
        return self.exec("test", "-e", "/run/ceph/ready", check=False).returncode == 0

    def healthy(self) -> bool:
        if not self.container_state()[1]:
            return False
        res = self.exec("ceph", "--connect-timeout", "5", "osd", "dump", "--format",
                        "json", check=False, timeout=30)
        if res.returncode != 0:
            return False
        return any(osd.get("up") == 1 for osd in json.loads(res.stdout)["osds"])

    # ------------------------------------------------------------------ lifecycle
    def _setup_pool_and_client(self) -> None:
        self.ceph("osd", "pool", "create", self.pool, "8")
        self.exec("rbd", "pool", "init", self.pool)
        self.keyring = self.ceph("auth", "get-or-create", f"client.{self.client}",
                                 *self.caps)
        if f"[client.{self.client}]" not in self.keyring:
            raise CephError(f"no keyring for client.{self.client}: {self.keyring!r}")

    def start(self) -> "Ceph":
        t0 = time.monotonic()
        files = self.config_files()
        want = self.config_hash(files, self.image_id(), self.pool, self.client)
        self.reused = self.reusable(want, self.healthy)
        if not self.reused:
            self.write_config(files)
            self.run_service(want)
            self.wait_ready(self.booted, what=f"ceph mon {self.mon_host} and its OSD")
        self._setup_pool_and_client()
        self.start_seconds = time.monotonic() - t0
        return self

    def write_client_files(self, custom_dir: Path | str, cluster: str = "ceph") -> list[Path]:
        """kolla's layout: <node_custom_config>/glance/<cluster>.conf and
        <cluster>.client.<client>.keyring (what glance_config.service_files reads)."""
        if self.keyring is None:
            raise CephError("start() the cluster before asking for its client files")
        target = Path(custom_dir) / "glance"
        target.mkdir(parents=True, exist_ok=True)
        paths = [target / f"{cluster}.conf", target / f"{cluster}.client.{self.client}.keyring"]
        paths[0].write_text(self.client_conf())
        paths[1].write_text(self.keyring)
        paths[1].chmod(0o600)
        return paths

    def stop(self) -> None:
        """Remove the container (by name); memstore takes the cluster with it."""
        super().stop()
        self.keyring = None

    def __repr__(self) -> str:
        return f"<Ceph {self.name} mon {self.mon_host} pool={self.pool} image={self.image}>"


__all__ = ["Ceph", "CephError", "MON_PORT"]
