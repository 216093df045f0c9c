"""What every service container of the harness shares (Keystone, Ceph, Swift): a
Kolla-contract test image run by name through a harness ``Dockerd``, host network,
a config dir mounted at /var/lib/kolla/config_files, and a label with the hash of
config + image so that a second ``start()`` can reuse a healthy container.

Subclasses set ``config_label`` and ``error`` and write their own ``start()`` from
``image_id``, ``reusable``, ``write_config``, ``run_service`` and ``wait_ready``.
Containers are only ever handled by name.  Standard library only.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Optional

from .daemons import DaemonError
from .wait import wait_for

KOLLA_CONFIG_DIR = "/var/lib/kolla/config_files"


class ServiceContainer:
    """One named container of a test image on a harness Dockerd."""

    config_label = "glance_formula.service_config"
    error: type[DaemonError] = DaemonError

    def __init__(self, dockerd, image: str, name: str,
                 config_dir: Path | str | None = None, start_timeout: float = 120.0):
        self.dockerd = dockerd
        self.image = image
        self.name = name
        self.config_dir = Path(config_dir) if config_dir else Path(dockerd.dir) / name
        self.start_timeout = start_timeout
        self.start_seconds: Optional[float] = None
        self.reused = False

    def _docker(self, *args, check=True, timeout=600):
        return self.dockerd.docker(*args, check=check, timeout=timeout)

    def image_id(self) -> str:
        """The image's id, pulled first (a local-only image is fine)."""
        pull = self._docker("pull", self.image, check=False)
        found = self._docker("image", "inspect", "--format", "{{.Id}}", self.image,
                             check=False)
        if found.returncode != 0:
            raise self.error(f"image {self.image} is neither pullable nor local: "
                             f"{pull.stderr.strip()}")
        return found.stdout.strip()

    def container_state(self, container: Optional[str] = None) -> tuple[Optional[str], bool]:
        """(config label, running) of the container, (None, False) if absent."""
        res = self._docker("inspect", "--format",
                           '{{index .Config.Labels "%s"}} {{.State.Running}}'
                           % self.config_label, container or self.name, check=False)
        if res.returncode != 0:
            return None, False
        label, _, running = res.stdout.strip().rpartition(" ")
        return label, running == "true"

    def logs(self, container: Optional[str] = None, lines: int = 40) -> str:
        res = self._docker("logs", "--tail", str(lines), container or self.name,
                           check=False)
        return (res.stdout + res.stderr).strip()

    @staticmethod
    def config_hash(*parts) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps(parts, sort_keys=True).encode())
        return digest.hexdigest()[:16]

    def reusable(self, want: str, healthy: Callable[[], bool]) -> bool:
        """The container runs with this config hash and answers healthy."""
        label, running = self.container_state()
        return running and label == want and healthy()

    def write_config(self, files: dict[str, str]) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (self.config_dir / name).write_text(text)

    def common_args(self) -> list[str]:
        """host network, Kolla's config strategy and the config dir."""
        return ["--network", "host", "-e", "KOLLA_CONFIG_STRATEGY=COPY_ALWAYS",
                "-v", f"{self.config_dir}:{KOLLA_CONFIG_DIR}:ro"]

    def run_service(self, want: str, *extra_args: str) -> None:
        """(Re)create the service container, labelled with the config hash."""
        self._docker("rm", "-f", self.name, check=False)
        self._docker("run", "-d", "--name", self.name, "--label",
                     f"{self.config_label}={want}", *self.common_args(), *extra_args,
                     self.image)

    def wait_ready(self, ready: Callable[[], bool], what: str) -> None:
        """Until ready() is true; an error with the log when the container stops
        or the time is up."""
        try:
            wait_for(lambda: not self.container_state()[1] or ready(),
                     timeout=self.start_timeout, interval=0.5, what=what)
        except TimeoutError as exc:
            raise self.error(f"{exc}\n{self.logs()}") from exc
        if not self.container_state()[1]:
            raise self.error(f"container {self.name} stopped:\n{self.logs()}")

    def stop(self) -> None:
        """Remove the container (by name)."""
        self._docker("rm", "-f", self.name, check=False)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self):
        raise NotImplementedError


__all__ = ["ServiceContainer", "KOLLA_CONFIG_DIR"]
