"""
A real salt-master and salt-minion for the demo and the apply benchmark, started and
stopped by PID like every other harness daemon, with their own config dir (nothing under
/etc/salt).

    conf = SaltConfig(state_dir / "salt", repo, interface="127.0.2.1")
    master = SaltMaster(conf).start()
    minion = SaltMinion(conf, "demo", {"docker.url": "unix:///run/gf-demo/demo/docker.sock"}).start()
    conf.salt("demo", "state.apply", "glance")

Both read ``<conf.dir>/master`` / ``<conf.dir>/minion``; ``conf.wrappers(bin_dir)``
writes ``salt``, ``salt-run``, ``salt-call``, ``salt-key`` scripts that pass ``-c``,
so an operator types the README's commands unchanged.
"""

import json
import pathlib
import subprocess
import sys
import time

import yaml

from .daemons import Daemon
from .wait import port_open

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = ("salt", "salt-run", "salt-call", "salt-key")


class SaltConfig:
    """The shared config dir of one master and its minions."""

    def __init__(self, conf_dir, file_root, interface="127.0.0.1", ret_port=4506,
                 publish_port=4505):
        self.dir = pathlib.Path(conf_dir)
        self.file_root = pathlib.Path(file_root)
        self.interface, self.ret_port, self.publish_port = interface, ret_port, publish_port
        self.root = self.dir / "root"
        self.pillar_dir = self.dir / "pillar"
        self.states_dir = self.dir / "states"

    def write_master(self):
        self.pillar_dir.mkdir(parents=True, exist_ok=True)
        self.states_dir.mkdir(parents=True, exist_ok=True)
        self._write("master", {
            "root_dir": str(self.root),
            "interface": self.interface,
            "ret_port": self.ret_port,
            "publish_port": self.publish_port,
            # one machine, one minion the demo itself starts
            "auto_accept": True,
            "file_roots": {"base": [str(self.file_root), str(self.states_dir)]},
            "pillar_roots": {"base": [str(self.pillar_dir)]},
            "log_file": str(self.dir / "master.log"),
            "log_level_logfile": "info",
        })

    def write_minion(self, minion_id, options):
        self._write("minion", dict({
            "id": minion_id,
            "root_dir": str(self.root),
            "master": self.interface,
            "master_port": self.ret_port,
            "publish_port": self.publish_port,
            "log_file": str(self.dir / "minion.log"),
            "log_level_logfile": "info",
        }, **options))

    def _write(self, name, data):
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data))
        path.chmod(0o600)

    def command(self, tool, *args, timeout=1200):
        """Run salt/salt-run/... with this config; (returncode, parsed JSON or text)."""
        proc = subprocess.run([str(BIN / tool), "-c", str(self.dir), "--out", "json",
                               *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, check=False)
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            data = proc.stdout + proc.stderr
        return proc.returncode, data

    def salt(self, target, *args, timeout=1200):
        return self.command("salt", f"--timeout={timeout}", target, *args, timeout=timeout + 60)

    def wrappers(self, bin_dir):
        """Scripts named like Salt's tools that pass this config dir, plus openstack."""
        bin_dir = pathlib.Path(bin_dir)
        bin_dir.mkdir(parents=True, exist_ok=True)
        for tool in TOOLS:
            path = bin_dir / tool
            path.write_text(f'#!/bin/sh\nexec "{BIN / tool}" -c "{self.dir}" "$@"\n')
            path.chmod(0o755)
        link = bin_dir / "openstack"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(BIN / "openstack")
        return bin_dir


class _SaltDaemon(Daemon):
    def __init__(self, run_dir):
        # like a salt-minion under systemd: bytecode of the synced modules is cached; an
        # inherited PYTHONDONTWRITEBYTECODE made every job compile them again (0.1 s)
        super().__init__(run_dir, env={"PYTHONDONTWRITEBYTECODE": ""})

    def _is_ours(self, cmdline):
        # Salt retitles its processes ("... -l quiet MainProcess") and runs as
        # `python <script>`: ours when our command line stands inside the title
        return " ".join(self.argv()) in " ".join(cmdline)


class SaltMaster(_SaltDaemon):
    log_name = "salt-master.out"
    start_timeout = 90.0

    def __init__(self, conf):
        super().__init__(conf.dir / "run-master")
        self.conf = conf

    def prepare(self):
        self.conf.write_master()

    def argv(self):
        return [str(BIN / "salt-master"), "-c", str(self.conf.dir), "-l", "quiet"]

    def ready(self):
        return port_open(self.conf.interface, self.conf.ret_port) and \
            port_open(self.conf.interface, self.conf.publish_port)


class SaltMinion(_SaltDaemon):
    log_name = "salt-minion.out"
    start_timeout = 120.0

    def __init__(self, conf, minion_id, options=None):
        super().__init__(conf.dir / f"run-minion-{minion_id}")
        self.conf, self.minion_id, self.options = conf, minion_id, dict(options or {})

    def prepare(self):
        self.conf.write_minion(self.minion_id, self.options)

    def argv(self):
        return [str(BIN / "salt-minion"), "-c", str(self.conf.dir), "-l", "quiet"]

    def ready(self):
        code, data = self.conf.salt(self.minion_id, "test.ping", timeout=5)
        return code == 0 and isinstance(data, dict) and data.get(self.minion_id) is True


class MasteredNode:
    """
    A salt-master and the node's salt-minion around a SingleNode (the demo's and the
    apply benchmark's setup): the master serves this repo and the pillar, the minion
    talks to the node's dockerd.

        salted = MasteredNode(node, node.state_dir / "salt-master").start()
        salted.write_pillar()
        salted.sync_all()
        seconds, code, states = salted.apply("glance")
    """

    def __init__(self, node, conf_dir, minion_id=None):
        self.node, self.minion_id = node, minion_id or node.name
        self.conf = SaltConfig(conf_dir, REPO, interface=node.address)
        self.master = SaltMaster(self.conf)
        self.minion = SaltMinion(self.conf, self.minion_id, {
            "docker.url": node.dockerd.url,
            # as README recommends: the formula reads no Salt mine, and the mine refresh
            # after each docker create/rm (the compare container of every re-apply) cost 1 s
            "docker.update_mine": False})

    def start(self):
        self.master.start()
        self.minion.start()
        return self

    def stop(self):
        self.minion.stop()
        self.master.stop()

    def detach(self):
        self.master.detach()
        self.minion.detach()

    def stop_from_pidfiles(self):
        self.minion.stop_from_pidfile()
        self.master.stop_from_pidfile()

    def write_pillar(self, **glance):
        """The node's pillar for every minion; the host list lets the master
        (orchestration) see it too."""
        (self.conf.pillar_dir / "top.sls").write_text("base:\n  '*':\n    - glance\n")
        glance.setdefault("glance_api_hosts",
                          [{"id": self.minion_id, "address": self.node.address}])
        self.node.write_pillar(pillar_dir=self.conf.pillar_dir, **glance)

    def sync_all(self):
        """The formula's modules to the minion and the master (runners)."""
        for tool, args in (("salt", (self.minion_id, "saltutil.sync_all")),
                           ("salt-run", ("saltutil.sync_all",))):
            code, data = self.conf.command(tool, *args)
            if code != 0:
                raise RuntimeError(f"{tool} {' '.join(args)} failed: {data}")

    def client(self):
        """A LocalClient of this master, in this process: what glance.orch.upgrade's
        salt.state steps and salt-api use. Timing a job through it leaves out the
        ``salt`` command's own start (imports, key load), which every command pays
        once whatever the number of minions."""
        import salt.client  # pylint: disable=import-outside-toplevel
        from salt._logging import impl  # pylint: disable=import-outside-toplevel

        client = salt.client.LocalClient(c_path=str(self.conf.dir / "master"))
        # the deferred handler would print every record Salt logged at exit
        if impl.get_temp_handler() is not None:
            impl.shutdown_temp_handler()
        return client

    def job(self, client, fun, *args, timeout=1200):
        """(seconds from publish to the minion's return, the minion's return)."""
        start = time.monotonic()
        ret = client.cmd(self.minion_id, fun, list(args), timeout=timeout)
        return time.monotonic() - start, ret.get(self.minion_id)

    def apply(self, *sls, timeout=1200):
        """``salt <id> state.apply <sls>``; (seconds, returncode, the minion's states)."""
        start = time.monotonic()
        code, data = self.conf.salt(self.minion_id, "state.apply", *sls, timeout=timeout)
        seconds = time.monotonic() - start
        states = data.get(self.minion_id, data) if isinstance(data, dict) else data
        return seconds, code, states


def environment_line(bin_dir, clouds_yaml, cloud):
    """The one line that puts salt/salt-run/openstack on PATH and picks the cloud."""
    return (f"export PATH={bin_dir}:$PATH OS_CLIENT_CONFIG_FILE={clouds_yaml} "
            f"OS_CLOUD={cloud}")

