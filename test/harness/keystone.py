"""Keystone in a Kolla-contract container (test/images, image ``keystone``) for the
integration tests and the demo.

    ks = Keystone(dockerd, "127.0.0.1:5000/openstack.kolla/keystone:2025.1", mariadb,
                  admin_password="admin-pw", memcached=memcached).start()
    ks.auth_url      # http://127.0.0.5:5000/v3
    ks.token()       # a fresh admin token (project-scoped)
    ks.stop()

``start()``: database ``keystone`` and user ``keystone`` in the harness MariaDB, a
config dir (keystone.conf, keystone-uwsgi.ini, config.json), the one-shot bootstrap
container (``KOLLA_BOOTSTRAP``: db_sync, fernet_setup, credential_setup, bootstrap of
admin/admin/RegionOne and the identity endpoints; memcached is flushed first, as the
database may be new), then the ``keystone`` container
(uWSGI, host network) until ``GET /v3`` is 200 and admin gets a token.  Fernet and
credential keys live in named volumes (``<name>_fernet_keys``,
``<name>_credential_keys``), so a restart or re-create keeps every issued token valid.
A second ``start()`` with the same config and image while the container is healthy
does nothing (``.reused`` is then True).  ``stop()`` removes the containers (the
volumes stay; ``stop(volumes=True)`` removes them too).

Containers are only ever handled by name, through the given harness ``Dockerd``.
Standard library only.
"""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from .container import KOLLA_CONFIG_DIR, ServiceContainer
from .daemons import DaemonError
from .wait import http_status

# the Python module keystone 27 (trixie) and 30 (sid) both ship; Debian's
# /usr/bin/keystone-wsgi-public exists in 27 only (pass wsgi_file= for older ones)
WSGI_MODULE = "keystone.wsgi.api:application"


class KeystoneError(DaemonError):
    """Keystone's bootstrap or service container failed (the message has its log)."""


class Keystone(ServiceContainer):
    """Keystone served by the ``keystone`` test image through a harness Dockerd."""

    config_label = "glance_formula.keystone_config"
    error = KeystoneError

    def __init__(self, dockerd, image: str, mariadb, address: str = "127.0.0.5",
                 port: int = 5000, admin_password: str = "keystone-admin-pw",
                 memcached=None, region: str = "RegionOne",
                 db_password: str = "keystone-db-pw", name: str = "keystone",
                 config_dir: Path | str | None = None, processes: int = 2,
                 wsgi_file: Optional[str] = None, start_timeout: float = 120.0):
        super().__init__(dockerd, image, name, config_dir, start_timeout)
        self.mariadb = mariadb
        self.address, self.port = address, int(port)
        self.admin_password = admin_password
        self.memcached = memcached
        self.region = region
        self.db_password = db_password
        self.processes = int(processes)
        self.wsgi_file = wsgi_file

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/v3"

    @property
    def bootstrap_container(self) -> str:
        return f"{self.name}_bootstrap"

    @property
    def volumes(self) -> dict[str, str]:
        """named volume -> mount point in the container"""
        return {f"{self.name}_fernet_keys": "/etc/keystone/fernet-keys",
                f"{self.name}_credential_keys": "/etc/keystone/credential-keys"}

    @property
    def memcache_servers(self) -> Optional[str]:
        if self.memcached is None:
            return None
        return getattr(self.memcached, "address", None) or str(self.memcached)

    @property
    def db_url(self) -> str:
        return (f"mysql+pymysql://keystone:{self.db_password}@{self.mariadb.host}:"
                f"{self.mariadb.port}/keystone")

    def openstack_env(self) -> dict[str, str]:
        """OS_* variables for the openstack CLI / openstacksdk as admin."""
        return {"OS_AUTH_URL": self.auth_url, "OS_USERNAME": "admin",
                "OS_PASSWORD": self.admin_password, "OS_PROJECT_NAME": "admin",
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_REGION_NAME": self.region, "OS_IDENTITY_API_VERSION": "3"}

    # ------------------------------------------------------------------ config
    def config_files(self) -> dict[str, str]:
        """The files of the config dir (mounted at /var/lib/kolla/config_files)."""
        cache = ["[cache]", "enabled = false"]
        if self.memcache_servers:
            cache = ["[cache]", "enabled = true", "backend = oslo_cache.memcache_pool",
                     f"memcache_servers = {self.memcache_servers}"]
        keystone_conf = "\n".join([
            "[DEFAULT]", "debug = false", "",
            "[database]", f"connection = {self.db_url}", "max_retries = -1", "",
            "[token]", "provider = fernet", "expiration = 86400", "",
            "[fernet_tokens]", "key_repository = /etc/keystone/fernet-keys/",
            "max_active_keys = 3", "",
            "[credential]", "key_repository = /etc/keystone/credential-keys/", "",
            *cache, ""])
        app = (f"wsgi-file = {self.wsgi_file}" if self.wsgi_file
               else f"module = {WSGI_MODULE}")
        uwsgi_ini = "\n".join([
            "[uwsgi]", "plugins-dir = /usr/lib/uwsgi/plugins", "plugins = python3",
            f"http-socket = {self.address}:{self.port}", app,
            "master = true", f"processes = {self.processes}", "threads = 1",
            "lazy-apps = true", "enable-threads = true", "die-on-term = true",
            "exit-on-reload = false", "buffer-size = 65535",
            "add-header = Connection: close", "procname-prefix = keystone-", ""])
        src = KOLLA_CONFIG_DIR
        config_json = {
            "command": "uwsgi /etc/keystone/keystone-uwsgi.ini",
            "config_files": [
                {"source": f"{src}/keystone.conf", "dest": "/etc/keystone/keystone.conf",
                 "owner": "keystone", "perm": "0600"},
                {"source": f"{src}/keystone-uwsgi.ini",
                 "dest": "/etc/keystone/keystone-uwsgi.ini", "owner": "keystone",
                 "perm": "0600"}],
            "permissions": [
                {"path": "/etc/keystone/fernet-keys", "owner": "keystone:keystone",
                 "perm": "0700"},
                {"path": "/etc/keystone/credential-keys", "owner": "keystone:keystone",
                 "perm": "0700"},
                {"path": "/var/log/kolla/keystone", "owner": "keystone:keystone",
                 "recurse": True}]}
        return {"keystone.conf": keystone_conf, "keystone-uwsgi.ini": uwsgi_ini,
                "config.json": json.dumps(config_json, indent=2) + "\n"}

    def bootstrap_env(self) -> dict[str, str]:
        """What extend_start.keystone reads when KOLLA_BOOTSTRAP is set."""
        return {"KOLLA_BOOTSTRAP": "", "KEYSTONE_BOOTSTRAP_PASSWORD": self.admin_password,
                "KEYSTONE_BOOTSTRAP_URL": self.auth_url,
                "KEYSTONE_BOOTSTRAP_REGION": self.region}

    # ------------------------------------------------------------------ docker
    def common_args(self) -> list[str]:
        args = super().common_args()
        for volume, path in self.volumes.items():
            args += ["-v", f"{volume}:{path}"]
        return args

    def _remove_containers(self) -> None:
        for container in (self.name, self.bootstrap_container):
            self._docker("rm", "-f", container, check=False)

    # ------------------------------------------------------------------ database
    def _create_database(self) -> None:
        pw = (self.db_password,)
        self.mariadb.execute("CREATE DATABASE IF NOT EXISTS keystone")
        self.mariadb.execute("CREATE USER IF NOT EXISTS 'keystone'@'%%' IDENTIFIED BY %s",
                             pw)
        self.mariadb.execute("ALTER USER 'keystone'@'%%' IDENTIFIED BY %s", pw)
        self.mariadb.execute("GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%'")

    def flush_cache(self) -> None:
        """``flush_all`` on the memcached servers: a fresh database (the harness MariaDB
        starts empty) behind a cache that still holds the old rows makes the bootstrap
        fail (the cached region RegionOne is "there", the endpoint insert then violates
        fk_endpoint_region_id)."""
        for server in (self.memcache_servers or "").split(","):
            if not server:
                continue
            host, _, port = server.strip().rpartition(":")
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                sock.sendall(b"flush_all\r\n")
                answer = sock.recv(64)
            if not answer.startswith(b"OK"):
                raise KeystoneError(f"memcached {server}: flush_all answered {answer!r}")

    # ------------------------------------------------------------------ health
    def token(self, timeout: float = 10.0) -> str:
        """A project-scoped token for admin (raises urllib errors when refused)."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"name": "Default"},
                "password": self.admin_password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
        req = urllib.request.Request(f"{self.auth_url}/auth/tokens",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            if resp.status != 201:
                raise KeystoneError(f"token request answered {resp.status}")
            return resp.headers["X-Subject-Token"]

    def healthy(self) -> bool:
        """GET /v3 answers 200 and admin gets a token."""
        try:
            return http_status(self.auth_url) == 200 and bool(self.token())
        except (OSError, urllib.error.URLError, KeystoneError):
            return False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Keystone":
        t0 = time.monotonic()
        files = self.config_files()
        want = self.config_hash(files, self.image_id(), self.bootstrap_env(),
                                sorted(self.volumes))
        self.reused = self.reusable(want, self.healthy)
        if self.reused:
            self.start_seconds = time.monotonic() - t0
            return self
        self._create_database()
        self.write_config(files)
        self._remove_containers()
        self.flush_cache()
        boot = ["run", "--name", self.bootstrap_container, *self.common_args()]
        for key, value in self.bootstrap_env().items():
            boot += ["-e", f"{key}={value}"]
        res = self._docker(*boot, self.image, check=False, timeout=self.start_timeout)
        if res.returncode != 0:
            log = self.logs(self.bootstrap_container)
            raise KeystoneError(f"keystone bootstrap exited {res.returncode}:\n{log}\n"
                                f"{res.stderr.strip()}")
        self._docker("rm", self.bootstrap_container, check=False)
        self.run_service(want)
        self.wait_ready(self.healthy, what=f"keystone at {self.auth_url}")
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self, volumes: bool = False) -> None:
        """Remove the containers (by name); the key volumes too with volumes=True."""
        self._remove_containers()
        if volumes:
            for volume in self.volumes:
                self._docker("volume", "rm", "-f", volume, check=False)

    def __repr__(self) -> str:
        return f"<Keystone {self.name} {self.auth_url} image={self.image}>"


__all__ = ["Keystone", "KeystoneError", "WSGI_MODULE"]
