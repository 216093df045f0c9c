"""
Deploy a single-node Glance with this formula, the way operators run it: MariaDB,
memcached and Keystone, a real salt-master and salt-minion, then
``salt demo state.apply glance`` (file backend, newest release, Keystone on).

    bash scripts/demo.sh          # deploy; prints the URL, credentials and commands
    bash scripts/demo.sh stop     # stops what deploy started, by pid

Everything lives on 127.0.2.x (the tests use 127.0.0.1 / 127.0.1.x): registry,
dockerd and MariaDB on 127.0.2.1, Keystone and memcached on 127.0.2.5. Progress is
one line per step; the details go to the log file named at the start.
"""

import argparse
import contextlib
import logging
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from harness.salt_daemons import MasteredNode, environment_line  # noqa: E402
from harness.single_node import SingleNode  # noqa: E402

STATE = pathlib.Path(os.environ.get("GLANCE_DEMO_DIR", "/var/lib/glance-formula-demo"))
LOG = pathlib.Path(os.environ.get("GLANCE_DEMO_LOG", STATE / "demo.log"))
MINION = "demo"
CLOUD = "glance-demo"


def node():
    return SingleNode(MINION, "127.0.2.1", STATE, release="2026.2")


def salted(demo):
    return MasteredNode(demo, STATE / "salt", MINION)


class Progress:
    """`[n] what ... 12.3 s` per step on the terminal; the noise goes to the log."""

    def __init__(self):
        self.n = 0

    @contextlib.contextmanager
    def __call__(self, label):
        self.n += 1
        print(f"[{self.n}] {label} ...", end="", flush=True)
        start = time.monotonic()
        try:
            yield
        except BaseException:
            print(f" FAILED after {time.monotonic() - start:.1f} s (details: {LOG})")
            raise
        print(f" {time.monotonic() - start:.1f} s", flush=True)


def quiet_output():
    """Send this process's stdout/stderr noise (builds, docker) to the log file."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    log = open(LOG, "a", buffering=1)  # pylint: disable=consider-using-with
    logging.basicConfig(stream=log, level=logging.INFO)
    return log


def write_clouds_yaml(demo):
    path = STATE / "clouds.yaml"
    path.write_text(
        "clouds:\n"
        f"  {CLOUD}:\n"
        "    auth:\n"
        f"      auth_url: {demo.keystone.auth_url}\n"
        "      username: admin\n"
        f"      password: {demo.secrets['keystone_admin_password']}\n"
        "      project_name: admin\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        f"    region_name: {demo.keystone.region}\n"
        "    identity_api_version: 3\n"
        "    image_api_version: 2\n")
    path.chmod(0o600)
    return path


def apply_failures(states):
    if not isinstance(states, dict):
        return [str(states)[-3000:]]
    return [f"{sid}: {s.get('comment')}" for sid, s in states.items() if not s.get("result")]


def deploy():
    step = Progress()
    print(f"glance-formula demo: details in {LOG}")
    log = quiet_output()
    demo = node()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        demo.start(steps=_logged(step, log))
    demo.detach()
    salt = salted(demo)
    with step("salt-master and salt-minion (own config dir, keys accepted)"):
        salt.start()
        salt.detach()
    with step("pillar, saltutil.sync_all"):
        salt.write_pillar()
        try:
            salt.sync_all()
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from exc
    with step(f"salt {MINION} state.apply glance"):
        _, code, states = salt.apply("glance")
        failed = apply_failures(states)
        if code != 0 or failed:
            print("\n" + "\n".join(failed), file=sys.stderr)
            raise SystemExit("state.apply glance failed")
    clouds = write_clouds_yaml(demo)
    bin_dir = salt.conf.wrappers(STATE / "bin")
    print(f"""
Glance is running: {demo.url}   (Keystone: {demo.keystone.auth_url}, region {demo.keystone.region})
Credentials (admin, project admin, domain Default) are in {clouds}, cloud {CLOUD}.
Put salt, salt-run and openstack on PATH and pick that cloud:

  {environment_line(bin_dir, clouds, CLOUD)}

  head -c 10485760 /dev/urandom > x.img
  openstack image create --disk-format raw --container-format bare --file x.img demo
  openstack image save --file y.img demo && cmp x.img y.img && echo same bytes
  salt '*' glance_config.show
  salt-run state.orchestrate glance.orch.upgrade

Stop it: bash scripts/demo.sh stop
{demo.url}""")
    return 0


def _logged(step, log):
    """A step factory whose lines reach the terminal while output goes to the log."""
    terminal = sys.__stdout__

    @contextlib.contextmanager
    def run(label):
        with contextlib.redirect_stdout(terminal):
            with step(label):
                with contextlib.redirect_stdout(log):
                    yield
    return run


def stop():
    demo = node()
    salted(demo).stop_from_pidfiles()
    demo.stop_from_pidfiles()
    print("stopped")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["deploy", "stop"], nargs="?", default="deploy")
    return {"deploy": deploy, "stop": stop}[parser.parse_args().action]()


if __name__ == "__main__":
    sys.exit(main())
