"""Swift all-in-one (proxy + account/container/object servers, one replica) in a
container of the ``swift`` test image (test/images), authenticating through the
stack's Keystone, for the integration tests.

    swift = Swift(dockerd, "127.0.0.1:5000/openstack.kolla/swift:2022.2", keystone,
                  memcache_servers="127.0.0.5:11211").start()
    swift.list_objects("glance")   # names in the service project's container
    swift.stop()

``start()``: Swift in Keystone as kolla's service-ks-register does it (service
``swift`` of type ``object-store``, public/internal endpoints
``http://<address>:8080/v1/AUTH_%(tenant_id)s`` and admin ``.../v1`` in the
Keystone's region, user ``swift`` with role ``admin`` in project ``service``, role
``ResellerAdmin``), a config dir (swift.conf, the four server confs, config.json),
then the ``swift`` container (host network, storage servers on
``<address>:6210-6212``, proxy on ``<address>:8080`` with authtoken + keystoneauth,
operator roles admin and member) until ``/healthcheck`` answers and the swift user
can HEAD its account.  The data lives in the container: a new container is an empty
cluster.  A second ``start()`` with the same config and image while the container is
up does nothing (``.reused``).  ``stop()`` removes the container by name through the
given harness ``Dockerd`` (the Keystone entries stay).

Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

from .container import KOLLA_CONFIG_DIR, ServiceContainer
from .daemons import DaemonError
from .wait import http_status

SERVICE_PROJECT = "service"
STORAGE_PORTS = {"object": 6210, "container": 6211, "account": 6212}
PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats "
            "authtoken keystoneauth copy dlo slo proxy-logging proxy-server")
SIMPLE_FILTERS = {"catch_errors": "catch_errors", "gatekeeper": "gatekeeper",
                  "healthcheck": "healthcheck", "proxy-logging": "proxy_logging",
                  "listing_formats": "listing_formats", "copy": "copy", "dlo": "dlo",
                  "slo": "slo"}


class SwiftError(DaemonError):
    """The swift container, its Keystone registration or a request failed."""


def ini(sections: dict[str, dict]) -> str:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


class Swift(ServiceContainer):
    """Swift SAIO served by the ``swift`` test image through a harness Dockerd."""

    config_label = "glance_formula.swift_config"
    error = SwiftError

    def __init__(self, dockerd, image: str, keystone, address: str = "127.0.0.8",
                 port: int = 8080, password: str = "swift-ks-pw",
                 memcache_servers: Optional[str] = None, name: str = "swift",
                 config_dir: Path | str | None = None, start_timeout: float = 120.0):
        super().__init__(dockerd, image, name, config_dir, start_timeout)
        self.keystone = keystone
        self.address, self.port = address, int(port)
        self.password = password
        self.memcache_servers = memcache_servers

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def endpoints(self) -> dict[str, str]:
        """kolla's swift endpoints (interface -> URL)."""
        account = f"{self.url}/v1/AUTH_%(tenant_id)s"
        return {"public": account, "internal": account, "admin": f"{self.url}/v1"}

    # ------------------------------------------------------------------ keystone
    def _keystone(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        request = urllib.request.Request(
            f"{self.keystone.auth_url}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-Auth-Token": self.keystone.token(),
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise SwiftError(f"keystone {method} {path}: {exc.code} "
                             f"{exc.read()[:500]!r}") from exc
        return json.loads(text) if text else {}

    def _find_or_create(self, kind: str, query: dict, body: dict) -> dict:
        found = self._keystone("GET", f"/{kind}s?" + urllib.parse.urlencode(query))[f"{kind}s"]
        if found:
            return found[0]
        return self._keystone("POST", f"/{kind}s", {kind: body})[kind]

    def register(self) -> None:
        """Service, endpoints, project, user and roles, each only when missing."""
        service = self._find_or_create(
            "service", {"type": "object-store"},
            {"name": "swift", "type": "object-store",
             "description": "Openstack Object Storage", "enabled": True})
        existing = self._keystone("GET", f"/endpoints?service_id={service['id']}")
        have = {(e["interface"], e["url"]) for e in existing["endpoints"]}
        for interface, url in self.endpoints.items():
            if (interface, url) not in have:
                self._keystone("POST", "/endpoints", {"endpoint": {
                    "service_id": service["id"], "interface": interface, "url": url,
                    "region_id": self.keystone.region, "enabled": True}})
        project = self._find_or_create(
            "project", {"name": SERVICE_PROJECT, "domain_id": "default"},
            {"name": SERVICE_PROJECT, "domain_id": "default",
             "description": "Service Project"})
        user = self._find_or_create(
            "user", {"name": "swift", "domain_id": "default"},
            {"name": "swift", "domain_id": "default", "password": self.password})
        self._keystone("PATCH", f"/users/{user['id']}", {"user": {"password": self.password}})
        admin = self._find_or_create("role", {"name": "admin"}, {"name": "admin"})
        self._find_or_create("role", {"name": "ResellerAdmin"}, {"name": "ResellerAdmin"})
        self._keystone("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/"
                              f"{admin['id']}")

    def token(self, username: str = "swift", password: Optional[str] = None,
              project: str = SERVICE_PROJECT) -> tuple[str, str]:
        """(token, storage URL of its project's account) for a Default-domain user."""
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"id": "default"},
                "password": password or self.password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        request = urllib.request.Request(
            f"{self.keystone.auth_url}/auth/tokens", data=json.dumps(body).encode(),
            method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            project_id = json.load(response)["token"]["project"]["id"]
            return response.headers["X-Subject-Token"], f"{self.url}/v1/AUTH_{project_id}"

    # ------------------------------------------------------------------ config
    def config_files(self) -> dict[str, str]:
        """The files of the config dir (mounted at /var/lib/kolla/config_files)."""
        secret = hashlib.sha256(f"swift-{self.address}".encode()).hexdigest()[:16]
        files = {"swift.conf": ini({
            "swift-hash": {"swift_hash_path_suffix": secret,
                           "swift_hash_path_prefix": secret[::-1]},
            "storage-policy:0": {"name": "Policy-0", "default": "yes"}})}
        common = {"bind_ip": self.address, "devices": "/srv/node", "mount_check": "false",
                  "user": "swift", "swift_dir": "/etc/swift", "workers": 1}
        for server, port in STORAGE_PORTS.items():
            files[f"{server}-server.conf"] = ini({
                "DEFAULT": {**common, "bind_port": port},
                "pipeline:main": {"pipeline": f"{server}-server"},
                f"app:{server}-server": {"use": f"egg:swift#{server}"}})
        keystone_url = self.keystone.url
        proxy = {
            "DEFAULT": {"bind_ip": self.address, "bind_port": self.port, "workers": 1,
                        "user": "swift", "swift_dir": "/etc/swift"},
            "pipeline:main": {"pipeline": PIPELINE},
            "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": "true"},
            **{f"filter:{name}": {"use": f"egg:swift#{egg}"}
               for name, egg in SIMPLE_FILTERS.items()},
            "filter:cache": {"use": "egg:swift#memcache",
                             "memcache_servers": self.memcache_servers or "127.0.0.1:11211"},
            "filter:authtoken": {
                "paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
                "www_authenticate_uri": keystone_url, "auth_url": keystone_url,
                "auth_type": "password", "project_domain_id": "default",
                "user_domain_id": "default", "project_name": SERVICE_PROJECT,
                "username": "swift", "password": self.password,
                "delay_auth_decision": "True",
                **({"memcached_servers": self.memcache_servers}
                   if self.memcache_servers else {})},
            "filter:keystoneauth": {"use": "egg:swift#keystoneauth",
                                    "operator_roles": "admin,member",
                                    "reseller_admin_role": "ResellerAdmin"},
        }
        files["proxy-server.conf"] = ini(proxy)
        config_json = {
            "command": "swift_saio",
            "config_files": [{"source": f"{KOLLA_CONFIG_DIR}/{name}", "dest": f"/etc/swift/{name}",
                              "owner": "swift", "perm": "0640"} for name in sorted(files)]}
        files["config.json"] = json.dumps(config_json, indent=2) + "\n"
        return files

    # ------------------------------------------------------------------ API
    def request(self, method: str, path: str = "", token: Optional[str] = None,
                storage_url: Optional[str] = None, timeout: float = 30):
        """(status, headers, body) of a request to the account URL + path."""
        if token is None:
            token, storage_url = self.token()
        request = urllib.request.Request(f"{storage_url}{path}", method=method,
                                         headers={"X-Auth-Token": token})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def list_objects(self, container: str) -> list[dict]:
        """The objects (name, bytes, hash, ...) of a container of the swift user's
        project (``service``, where glance's single-tenant store writes)."""
        status, _, body = self.request("GET", f"/{container}?format=json")
        if status != 200:
            raise SwiftError(f"GET container {container} answered {status}: {body[:300]!r}")
        return json.loads(body)

    def healthy(self) -> bool:
        """/healthcheck answers and the swift user can HEAD its account."""
        try:
            return (http_status(f"{self.url}/healthcheck") == 200
                    and self.request("HEAD")[0] in (200, 204))
        except (OSError, urllib.error.URLError):
            return False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Swift":
        t0 = time.monotonic()
        self.register()
        files = self.config_files()
        want = self.config_hash(files, self.image_id())
        self.reused = self.reusable(want, self.healthy)
        if not self.reused:
            self.write_config(files)
            self.run_service(want)
            self.wait_ready(self.healthy, what=f"swift proxy at {self.url}")
        self.start_seconds = time.monotonic() - t0
        return self

    def __repr__(self) -> str:
        return f"<Swift {self.name} {self.url} image={self.image}>"


__all__ = ["Swift", "SwiftError", "STORAGE_PORTS"]
