"""Daemons for the integration tests, each started by hand and stopped by its PID.

Rule for processes (see README.md):
  * every daemon is started here with ``subprocess.Popen(start_new_session=True)``;
    its PID is remembered in memory and in ``<dir>/harness.pid``;
  * it is stopped BY THAT PID: SIGTERM, wait ``stop_timeout`` s, then SIGKILL to its
    process group (whose id is that same PID); ``stop()`` is idempotent;
  * before a start, a ``harness.pid`` left by a crashed run is checked: if that PID is
    alive and ``/proc/PID/cmdline`` is the command we would start, it is stopped by PID;
    otherwise the stale pidfile (and socket) is just removed;
  * output goes to a log file in the daemon's dir; a start timeout raises
    ``DaemonError`` with the last 30 lines of that log.

Only the standard library and pymysql (for ``MariaDB.connect``) are used.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from .wait import http_status, port_open

DEFAULT_RUN_DIR = Path("/run/gf")
DEFAULT_CACHE_DIR = Path("/var/cache/glance-formula")
UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the trailing NUL
LOG_TAIL_LINES = 30

_started: "set[Daemon]" = set()


class DaemonError(RuntimeError):
    """A daemon failed to start (the message carries the tail of its log)."""


# --------------------------------------------------------------------------- helpers
def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return False


def proc_cmdline(pid: int) -> list[str]:
    """argv of ``pid`` from /proc (empty list if gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def cmdline_matches(actual: Sequence[str], expected: Sequence[str]) -> bool:
    """True if ``actual`` (from /proc) is the command ``expected``.

    Also accepts ``[interpreter, *expected]`` (scripts with a shebang, e.g. moto_server
    shows up as ``python .../moto_server -H ...``) and a different spelling of argv[0]
    with the same basename (``dockerd`` vs ``/usr/sbin/dockerd``).
    """
    actual, expected = list(actual), list(expected)
    if not actual or not expected:
        return False
    if actual == expected:
        return True
    if len(actual) == len(expected) + 1 and actual[1:] == expected:
        return True
    return (len(actual) == len(expected) and actual[1:] == expected[1:]
            and os.path.basename(actual[0]) == os.path.basename(expected[0]))


def terminate_pid(pid: int, timeout: float = 15.0, popen: Optional[subprocess.Popen] = None,
                  group: bool = True) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL (its process group too if
    ``group``: the daemons are session leaders, so the group id is that same PID)."""
    def gone() -> bool:
        if popen is not None:
            return popen.poll() is not None
        return not pid_alive(pid)

    if gone():
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone():
            break
        time.sleep(0.1)
    else:
        for kill in ((lambda: os.killpg(pid, signal.SIGKILL)) if group else None,
                     lambda: os.kill(pid, signal.SIGKILL)):
            if kill is None:
                continue
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not gone():
            time.sleep(0.1)
    if popen is not None:
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    elif group:
        # processes left in the group after the leader exited (same pgid == pid)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return f"<no log: {exc}>"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def mountpoints() -> set[str]:
    """Mount points of this mount namespace (from /proc/self/mountinfo)."""
    points = set()
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            field = line.split()[4]
            points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field))
    return points


def _check_unix_path(path: Path) -> None:
    if len(str(path)) > UNIX_PATH_MAX:
        raise ValueError(f"unix socket path too long ({len(str(path))} > {UNIX_PATH_MAX}): "
                         f"{path}; use a shorter run_dir")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


@atexit.register
def _stop_leftovers() -> None:
    """Last resort for a crashed test session: stop, by PID, what this process started."""
    for daemon in list(_started):
        try:
            daemon.stop()
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------- base
class Daemon:
    """One process started with Popen and stopped by its PID.

    Subclasses set ``name``/``dir`` and implement ``argv()`` and ``ready()``; optional
    hooks ``prepare()`` (before Popen) and ``after_ready()``.
    """

    log_name = "daemon.log"
    start_timeout = 60.0
    stop_timeout = 15.0

    def __init__(self, dir: Path, env: Optional[Mapping[str, str]] = None):
        self.dir = Path(dir)
        self.env = dict(env or {})
        self.proc: Optional[subprocess.Popen] = None
        self.start_seconds: Optional[float] = None

    # -- to override
    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """Called after stale cleanup, before Popen."""

    def after_ready(self) -> None:
        """Called once ready() is true, still inside the start timeout handling."""

    def stale_paths(self) -> list[Path]:
        """Files (sockets, pidfiles of the daemon itself) removed after stale cleanup."""
        return []

    def after_stop(self) -> None:
        """Called after the process is gone (e.g. to reap helpers started by it)."""

    # -- common
    @property
    def pidfile(self) -> Path:
        return self.dir / "harness.pid"

    @property
    def log_path(self) -> Path:
        return self.dir / self.log_name

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def _cleanup_stale(self) -> None:
        if self.pidfile.exists():
            try:
                old = int(self.pidfile.read_text().split()[0])
            except (ValueError, IndexError, OSError):
                old = None
            if old and old != os.getpid() and pid_alive(old) and \
                    self._is_ours(proc_cmdline(old)):
                terminate_pid(old, self.stop_timeout)
            _remove(self.pidfile)
        for path in self.stale_paths():
            _remove(path)

    def _is_ours(self, cmdline: Sequence[str]) -> bool:
        return cmdline_matches(cmdline, self.argv())

    def _popen(self, argv: Sequence[str]) -> subprocess.Popen:
        env = os.environ.copy()
        env.update(self.env)
        with open(self.log_path, "ab") as log:
            log.write(f"=== harness start {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                      f"{' '.join(argv)}\n".encode())
            log.flush()
            return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=str(self.dir),
                                    start_new_session=True)

    def _wait_ready(self, proc: subprocess.Popen, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_exc: Optional[BaseException] = None
        while True:
            if proc.poll() is not None:
                raise DaemonError(f"{what} exited with code {proc.returncode} during start; "
                                  f"last lines of {self.log_path}:\n{self.log_tail()}")
            try:
                if self.ready():
                    return
            except Exception as exc:  # noqa: BLE001
                last_exc = exc
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_exc!r})" if last_exc else ""
                raise DaemonError(f"{what} not ready after {self.start_timeout:.0f}s{detail}; "
                                  f"last lines of {self.log_path}:\n{self.log_tail()}")
            time.sleep(0.2)

    def start(self) -> "Daemon":
        if self.running():
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cleanup_stale()
        t0 = time.monotonic()
        self.prepare()
        self.proc = self._popen(self.argv())
        self.pidfile.write_text(f"{self.proc.pid}\n")
        _started.add(self)
        try:
            self._wait_ready(self.proc, repr(self))
            self.after_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            terminate_pid(proc.pid, self.stop_timeout, popen=proc)
            try:
                if self.pidfile.read_text().split()[0] == str(proc.pid):
                    _remove(self.pidfile)
            except (OSError, IndexError):
                pass
        self.after_stop()
        _started.discard(self)

    def detach(self) -> None:
        """Leave the daemon running after this process exits (the demo does this);
        ``stop_from_pidfile()`` stops it later, still by its PID."""
        _started.discard(self)

    def stop_from_pidfile(self) -> None:
        """Stop the daemon a previous process started, by the PID in its pidfile
        (only if that PID still runs our command line)."""
        if self.dir.exists():
            self._cleanup_stale()
            self.after_stop()

    def __enter__(self) -> "Daemon":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.dir} pid={self.pid}>"


# --------------------------------------------------------------------------- dockerd
class Dockerd(Daemon):
    """A private dockerd: ``unix://<run_dir>/<name>/docker.sock``, no bridge, no iptables.

    ``data_root`` (images, containers) persists across runs, so pulled images are cached.
    Containers can only use ``network_mode: host`` (``--bridge=none``).
    """

    log_name = "dockerd.log"
    start_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, name: str, run_dir: Path | str = DEFAULT_RUN_DIR,
                 data_root: Path | str | None = None, log_level: str = "warn",
                 extra_args: Sequence[str] = (), env: Optional[Mapping[str, str]] = None):
        super().__init__(Path(run_dir) / name, env)
        self.name = name
        self.data_root = Path(data_root) if data_root else DEFAULT_CACHE_DIR / "docker" / name
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.socket = self.dir / "docker.sock"
        self.exec_root = self.dir / "exec"
        self.docker_pidfile = self.dir / "docker.pid"
        self.config_file = self.dir / "daemon.json"
        _check_unix_path(self.socket)
        # the managed containerd's socket lives under exec-root as well
        _check_unix_path(self.exec_root / "containerd" / "containerd-debug.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def argv(self) -> list[str]:
        return ["dockerd",
                f"--host={self.url}",
                f"--data-root={self.data_root}",
                f"--exec-root={self.exec_root}",
                f"--pidfile={self.docker_pidfile}",
                f"--config-file={self.config_file}",
                "--bridge=none", "--iptables=false", "--ip6tables=false",
                "--ip-masq=false", "--userland-proxy=false",
                f"--log-level={self.log_level}", *self.extra_args]

    def prepare(self) -> None:
        self.data_root.mkdir(parents=True, exist_ok=True)
        self.exec_root.mkdir(parents=True, exist_ok=True)
        # own config so a host /etc/docker/daemon.json cannot interfere; own identity
        # key (else every daemon shares /etc/docker/key.json and reports the same ID)
        self.config_file.write_text(json.dumps(
            {"deprecated-key-path": str(self.data_root / "key.json")}, indent=2) + "\n")

    def stale_paths(self) -> list[Path]:
        self._stop_managed_containerd()
        self._unmount_data_root()
        return [self.socket, self.docker_pidfile]

    def after_stop(self) -> None:
        self._stop_managed_containerd()
        self._unmount_data_root()

    def _unmount_data_root(self) -> None:
        """When / is not a shared mount (as in this container), dockerd bind-mounts
        data_root onto itself (rshared) and leaves ``<exec-root>/unmount-on-shutdown``;
        a clean shutdown undoes it, a crash leaves the bind mount (then rm -rf of the
        data root fails with EBUSY). Undo it here, once our dockerd is gone."""
        marker = self.exec_root / "unmount-on-shutdown"
        if not marker.exists():
            return
        # os.path.ismount() misses a bind mount of a dir of the same filesystem
        for _ in range(5):
            if str(self.data_root.resolve()) not in mountpoints():
                break
            subprocess.run(["umount", str(self.data_root)], check=False,
                           capture_output=True, timeout=30)
        _remove(marker)

    def _stop_managed_containerd(self) -> None:
        """dockerd starts its own containerd (own process group). If dockerd died hard,
        that containerd stays: stop it by the PID in its pidfile, if it is ours."""
        pidfile = self.exec_root / "containerd" / "containerd.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        cmd = proc_cmdline(pid)
        if pid_alive(pid) and cmd and os.path.basename(cmd[0]) == "containerd" and \
                any(str(self.exec_root) in part for part in cmd):
            terminate_pid(pid, self.stop_timeout)
        _remove(pidfile)

    def docker(self, *args: str, check: bool = True, timeout: float = 600,
               capture: bool = True) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon."""
        return subprocess.run(["docker", "-H", self.url, *args], check=check, text=True,
                              capture_output=capture, timeout=timeout)

    def ready(self) -> bool:
        return self.socket.exists() and \
            self.docker("info", "--format", "{{.ID}}", check=False, timeout=10).returncode == 0

    def remove_all_containers(self) -> list[str]:
        """``docker rm -f $(docker ps -aq)``; returns the removed ids."""
        ids = self.docker("ps", "-aq").stdout.split()
        if ids:
            self.docker("rm", "-f", *ids)
        return ids


# --------------------------------------------------------------------------- registry
class Registry(Daemon):
    """Debian's ``docker-registry serve`` (distribution 2.8) on ``addr``, storing blobs in
    ``root_dir`` (persistent across runs by default). Plain HTTP: docker treats
    127.0.0.0/8 registries as insecure, so push/pull need no TLS."""

    log_name = "registry.log"
    start_timeout = 30.0

    def __init__(self, root_dir: Path | str = DEFAULT_CACHE_DIR / "registry",
                 addr: str = "127.0.0.1:5000", run_dir: Path | str | None = None,
                 env: Optional[Mapping[str, str]] = None):
        host, _, port = addr.rpartition(":")
        self.host, self.port = host, int(port)
        super().__init__(Path(run_dir) if run_dir else
                         DEFAULT_RUN_DIR / f"registry-{self.port}", env)
        self.root_dir = Path(root_dir)
        self.addr = addr
        self.config_path = self.dir / "config.yml"

    @property
    def url(self) -> str:
        return f"http://{self.addr}"

    def argv(self) -> list[str]:
        return ["docker-registry", "serve", str(self.config_path)]

    def prepare(self) -> None:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.root_dir}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.addr}\n")

    def ready(self) -> bool:
        return http_status(f"{self.url}/v2/") == 200

    def catalog(self) -> list[str]:
        with urllib.request.urlopen(f"{self.url}/v2/_catalog", timeout=10) as resp:
            return json.load(resp).get("repositories", [])


# --------------------------------------------------------------------------- mariadb
class MariaDB(Daemon):
    """MariaDB with a fresh datadir on every start, binary log on, root reachable over TCP
    at host:port with ``root_password`` (anonymous accounts dropped)."""

    log_name = "mariadbd.log"
    start_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, run_dir: Path | str = DEFAULT_RUN_DIR, host: str = "127.0.0.1",
                 port: int = 3306, root_password: str = "rootpass",
                 extra_args: Sequence[str] = (), env: Optional[Mapping[str, str]] = None):
        super().__init__(Path(run_dir) / f"mariadb-{port}", env)
        self.host, self.port, self.root_password = host, int(port), root_password
        self.extra_args = list(extra_args)
        self.datadir = self.dir / "data"
        self.socket = self.dir / "mysqld.sock"
        self.mysqld_pidfile = self.dir / "mysqld.pid"
        self._resuming = False
        _check_unix_path(self.socket)

    def resume(self) -> "MariaDB":
        """Start again on the datadir of the last run (after ``stop()`` stood in for a
        database outage): every database, account and password is still there."""
        self._resuming = True
        try:
            return self.start()
        finally:
            self._resuming = False

    def argv(self) -> list[str]:
        return ["mariadbd", "--no-defaults", "--user=root",
                f"--datadir={self.datadir}", f"--socket={self.socket}",
                f"--pid-file={self.mysqld_pidfile}",
                f"--bind-address={self.host}", f"--port={self.port}",
                "--log-bin=mysqld-bin", "--server-id=1", "--skip-name-resolve", *self.extra_args]

    def stale_paths(self) -> list[Path]:
        return [self.socket, Path(f"{self.socket}.lock"), self.mysqld_pidfile]

    def prepare(self) -> None:
        if self._resuming:
            return
        if self.datadir.exists():
            shutil.rmtree(self.datadir)
        self.datadir.mkdir(parents=True)
        install_log = self.dir / "install-db.log"
        with open(install_log, "wb") as log:
            result = subprocess.run(
                ["mariadb-install-db", "--no-defaults", "--user=root",
                 f"--datadir={self.datadir}", "--auth-root-authentication-method=normal",
                 "--skip-test-db"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                timeout=self.start_timeout)
        if result.returncode != 0:
            raise DaemonError(f"mariadb-install-db failed ({result.returncode}); last lines "
                              f"of {install_log}:\n{tail(install_log)}")

    def ready(self) -> bool:
        import pymysql
        conn = pymysql.connect(unix_socket=str(self.socket), user="root",
                               password=self.root_password if self._resuming else "",
                               connect_timeout=2)
        conn.close()
        return True

    def after_ready(self) -> None:
        import pymysql
        if self._resuming:
            self.connect().close()
            return
        conn = pymysql.connect(unix_socket=str(self.socket), user="root", password="",
                               autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT User, Host FROM mysql.user")
                accounts = cur.fetchall()
                kept_root_hosts = ("localhost", "127.0.0.1", "::1", "%")
                for user, host in accounts:
                    # anonymous users shadow real ones ('' @ localhost matches before
                    # 'glance'@'%'); root@<hostname> is ignored under skip-name-resolve
                    if user == "" or (user == "root" and host not in kept_root_hosts):
                        self._drop_account(cur, user, host)
                if not any(u == "root" and h == "%" for u, h in accounts):
                    cur.execute("CREATE USER 'root'@'%%' IDENTIFIED BY %s",
                                (self.root_password,))
                cur.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION")
                for user, host in accounts:
                    if user == "root" and host in kept_root_hosts:
                        cur.execute("ALTER USER %s@%s IDENTIFIED BY %s",
                                    (user, host, self.root_password))
                cur.execute("FLUSH PRIVILEGES")
        finally:
            conn.close()
        self.connect().close()  # TCP login with the password works

    @staticmethod
    def _drop_account(cur, user: str, host: str) -> None:
        import pymysql
        try:
            cur.execute("DROP USER %s@%s", (user, host))
        except pymysql.err.OperationalError:
            # entries ignored by the server (hostname under skip-name-resolve)
            cur.execute("DELETE FROM mysql.global_priv WHERE User=%s AND Host=%s",
                        (user, host))
            cur.execute("DELETE FROM mysql.proxies_priv WHERE User=%s AND Host=%s",
                        (user, host))

    def connect(self, user: str = "root", password: Optional[str] = None,
                database: Optional[str] = None, **kwargs):
        """pymysql connection over TCP to host:port (root with root_password by default)."""
        import pymysql
        if password is None:
            password = self.root_password if user == "root" else ""
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 5)
        return pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database, **kwargs)

    def execute(self, sql: str, args=None) -> list[tuple]:
        """Run one statement as root and return its rows."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()


# --------------------------------------------------------------------------- moto
class Moto(Daemon):
    """moto's S3 (and IAM, ...) server from this interpreter's venv.

    Accepts any key by default; with ``env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"}`` the
    first three calls are free and later ones are authenticated (see
    shared/reference/real-backends-verified.md)."""

    log_name = "moto.log"
    start_timeout = 30.0

    def __init__(self, host: str = "127.0.0.1", port: int = 9000,
                 env: Optional[Mapping[str, str]] = None, run_dir: Path | str | None = None):
        super().__init__(Path(run_dir) if run_dir else DEFAULT_RUN_DIR / f"moto-{port}", env)
        self.host, self.port = host, int(port)
        self.executable = Path(sys.executable).parent / "moto_server"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    endpoint_url = url

    def argv(self) -> list[str]:
        return [str(self.executable), "-H", self.host, "-p", str(self.port)]

    def ready(self) -> bool:
        return http_status(f"{self.url}/") > 0

    def reset(self) -> None:
        """Forget every bucket/user (moto's ``/moto-api/reset``)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).close()


# --------------------------------------------------------------------------- haproxy
_BIND_RE = re.compile(r"^\s*bind\s+(?:ipv4@)?(\S*?):(\d+)\b", re.M)


class Haproxy(Daemon):
    """HAProxy in foreground mode (``-db``). ``reload()`` validates the new config, starts
    a new process with ``-sf <oldpid>`` (old one finishes its connections and exits).

    ``admin_socket`` is a path the config may use: ``stats socket {admin_socket} mode 600
    level admin``; ``admin(cmd)`` sends one command there."""

    log_name = "haproxy.log"
    start_timeout = 20.0

    def __init__(self, config_path: Path | str, run_dir: Path | str = DEFAULT_RUN_DIR / "haproxy",
                 config_text: Optional[str] = None, ready_addr: Optional[tuple[str, int]] = None,
                 env: Optional[Mapping[str, str]] = None):
        super().__init__(Path(run_dir), env)
        self.config_path = Path(config_path)
        self.config_text = config_text
        self.ready_addr = ready_addr
        self.admin_socket = self.dir / "admin.sock"
        self.old_procs: list[subprocess.Popen] = []
        _check_unix_path(self.admin_socket)

    def argv(self) -> list[str]:
        return ["haproxy", "-db", "-f", str(self.config_path)]

    def _is_ours(self, cmdline: Sequence[str]) -> bool:
        # a reloaded process has "-sf <pid>" appended
        cmd = list(cmdline)
        if "-sf" in cmd:
            cmd = cmd[:cmd.index("-sf")]
        return cmdline_matches(cmd, self.argv())

    def stale_paths(self) -> list[Path]:
        return [self.admin_socket]

    def check_config(self, path: Optional[Path] = None) -> None:
        """``haproxy -c -f``; raises DaemonError with its output if invalid."""
        res = subprocess.run(["haproxy", "-c", "-q", "-f", str(path or self.config_path)],
                             capture_output=True, text=True, timeout=30)
        if res.returncode != 0:
            raise DaemonError(f"invalid haproxy config {path or self.config_path}:\n"
                              f"{res.stdout}{res.stderr}")

    def bind_address(self) -> tuple[str, int]:
        """First ``bind host:port`` of the config (or ``ready_addr``)."""
        if self.ready_addr:
            return self.ready_addr
        m = _BIND_RE.search(self.config_path.read_text())
        if not m:
            raise DaemonError(f"no 'bind host:port' in {self.config_path}")
        host = m.group(1) or "127.0.0.1"
        return ("127.0.0.1" if host in ("*", "0.0.0.0") else host), int(m.group(2))

    def prepare(self) -> None:
        if self.config_text is not None:
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            self.config_path.write_text(self.config_text)
        self.check_config()

    def ready(self) -> bool:
        return port_open(*self.bind_address())

    def reload(self, new_config_text: Optional[str] = None, timeout: float = 30.0) -> None:
        """Validate and install ``new_config_text`` (or re-read the current file), start a
        new haproxy with ``-sf <oldpid>`` and wait until the old one has exited."""
        if not self.running():
            raise DaemonError("haproxy is not running")
        if new_config_text is not None:
            fd, tmp = tempfile.mkstemp(prefix=".haproxy-", suffix=".cfg",
                                       dir=self.config_path.parent)
            with os.fdopen(fd, "w") as fh:
                fh.write(new_config_text)
            try:
                self.check_config(Path(tmp))
            except BaseException:
                os.unlink(tmp)
                raise
            os.replace(tmp, self.config_path)
            self.config_text = new_config_text
        else:
            self.check_config()
        old = self.proc
        assert old is not None
        new = self._popen([*self.argv(), "-sf", str(old.pid)])
        self.proc = new
        self.pidfile.write_text(f"{new.pid}\n")
        self.old_procs.append(old)
        try:
            self._wait_ready(new, f"{self!r} (reload)")
        except BaseException:
            self.proc = old
            terminate_pid(new.pid, self.stop_timeout, popen=new)
            self.pidfile.write_text(f"{old.pid}\n")
            raise
        deadline = time.monotonic() + timeout
        while old.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if old.poll() is None:  # still serving long connections: hard stop by pid
            terminate_pid(old.pid, self.stop_timeout, popen=old)
        self.old_procs.remove(old)
        # the old process held the port until now: check the new one serves it
        self._wait_ready(new, f"{self!r} (reload)")

    def stop(self) -> None:
        for old in list(self.old_procs):
            terminate_pid(old.pid, self.stop_timeout, popen=old)
            self.old_procs.remove(old)
        super().stop()

    def admin(self, command: str, timeout: float = 10.0) -> str:
        """Send one command to ``admin_socket`` (the config must declare it), with the
        formula's own runtime-API client (``_modules/glance_upgrade.py``)."""
        from glance_upgrade import haproxy_command  # _modules is on sys.path in tests

        return haproxy_command(self.admin_socket, command, timeout)


__all__ = ["Daemon", "DaemonError", "Dockerd", "Registry", "MariaDB", "Moto", "Haproxy",
           "pid_alive", "proc_cmdline", "cmdline_matches", "terminate_pid", "mountpoints",
           "DEFAULT_RUN_DIR", "DEFAULT_CACHE_DIR"]


# --------------------------------------------------------------------------- memcached
class Memcached(Daemon):
    """Debian's memcached on ``host:port`` (``-l host -p port``, no UDP), run as user
    ``memcache`` when that user exists (the package creates it), else ``-u root``.
    ``address`` ("host:port") is what oslo.cache's ``memcache_servers`` wants."""

    log_name = "memcached.log"
    start_timeout = 20.0

    def __init__(self, host: str = "127.0.0.1", port: int = 11211, memory_mb: int = 64,
                 run_dir: Path | str | None = None, env: Optional[Mapping[str, str]] = None):
        super().__init__(Path(run_dir) if run_dir else
                         DEFAULT_RUN_DIR / f"memcached-{host}-{port}", env)
        self.host, self.port, self.memory_mb = host, int(port), int(memory_mb)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @staticmethod
    def run_as() -> str:
        import pwd
        try:
            pwd.getpwnam("memcache")
            return "memcache"
        except KeyError:
            return "root"

    def argv(self) -> list[str]:
        return ["memcached", "-l", self.host, "-p", str(self.port), "-U", "0",
                "-m", str(self.memory_mb), "-u", self.run_as()]

    def ready(self) -> bool:
        return self.stats().get("pid") is not None

    def stats(self, timeout: float = 2.0) -> dict[str, str]:
        """memcached's ``stats`` (pid, curr_items, get_hits, ...) as strings."""
        import socket
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return {parts[1]: parts[2] for parts in
                (line.split() for line in data.decode().splitlines())
                if len(parts) == 3 and parts[0] == "STAT"}


__all__ += ["Memcached"]
