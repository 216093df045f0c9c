"""
Deploy a single-node Glance (file backend) with this formula on this machine.

Starts a local registry, a private dockerd and MariaDB on 127.0.2.1 (so the test
suite's 127.0.0.1 / 127.0.1.x stay free), builds the Kolla-contract test image,
then runs the formula masterless: ``salt-call --local state.apply glance``.

    python scripts/demo.py deploy     # prints the API URL
    python scripts/demo.py stop       # stops what deploy started, by pid
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "test" / "images"))

import build  # noqa: E402
from harness.daemons import Dockerd, MariaDB, Registry  # noqa: E402

ADDRESS = "127.0.2.1"
RELEASE = "2022.2"
CACHE = pathlib.Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))
RUN = pathlib.Path("/run/gf-demo")
STATE = pathlib.Path(os.environ.get("GLANCE_DEMO_DIR", "/var/lib/glance-formula-demo"))
DB_ROOT_PASSWORD = "demo-root-pw"


def daemons():
    return [
        Registry(root_dir=CACHE / "registry", addr=f"{ADDRESS}:5000", run_dir=RUN / "registry"),
        Dockerd("demo", run_dir=RUN, data_root=CACHE / "docker" / "demo"),
        MariaDB(run_dir=RUN, host=ADDRESS, port=3306, root_password=DB_ROOT_PASSWORD),
    ]


def salt_config(dockerd):
    conf = STATE / "salt"
    (conf / "pillar").mkdir(parents=True, exist_ok=True)
    (conf / "minion").write_text(textwrap.dedent(f"""\
        id: demo
        file_client: local
        file_roots: {{base: [{REPO}]}}
        pillar_roots: {{base: [{conf / 'pillar'}]}}
        module_dirs: [{REPO}]
        root_dir: {conf}
        cachedir: {conf}/cache
        pki_dir: {conf}/pki
        sock_dir: {conf}/sock
        log_file: {conf}/minion.log
        docker.url: {dockerd.url}
        """))
    pillar = {
        "glance": {
            "docker_registry": f"{ADDRESS}:5000",
            "docker_namespace": "openstack.kolla",
            "openstack_release": RELEASE,
            "api_interface_address": ADDRESS,
            "node_config_directory": str(STATE / "etc-kolla"),
            "node_custom_config": str(STATE / "config"),
            "enable_keystone": "no",
            "database_address": ADDRESS,
            "database_password": DB_ROOT_PASSWORD,
            "glance_database_password": "demo-glance-pw",
        }
    }
    (conf / "pillar" / "top.sls").write_text("base:\n  '*':\n    - glance\n")
    (conf / "pillar" / "glance.sls").write_text(yaml.safe_dump(pillar))
    return conf


def deploy():
    started = daemons()
    for daemon in started:
        daemon.start()
        daemon.detach()
    registry, dockerd = started[0], started[1]
    build.ensure_pushed(RELEASE, CACHE, dockerd.url,
                        f"{registry.addr}/openstack.kolla/glance-api")
    conf = salt_config(dockerd)
    salt_call = pathlib.Path(sys.executable).parent / "salt-call"
    proc = subprocess.run([str(salt_call), "--local", "-c", str(conf), "--state-output=terse",
                           "--retcode-passthrough", "state.apply", "glance"], check=False)
    if proc.returncode != 0:
        print("state.apply glance failed (see above)", file=sys.stderr)
        return proc.returncode
    url = f"http://{ADDRESS}:9292"
    print(textwrap.dedent(f"""
        Glance is running: {url}
          curl {url}/healthcheck
          id=$(curl -s -X POST -H 'Content-Type: application/json' \\
               -d '{{"name":"demo","disk_format":"raw","container_format":"bare"}}' \\
               {url}/v2/images | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
          head -c 1048576 /dev/urandom > /tmp/demo.img
          curl -X PUT -H 'Content-Type: application/octet-stream' \\
               --data-binary @/tmp/demo.img {url}/v2/images/$id/file
          curl -s {url}/v2/images/$id/file | cmp - /tmp/demo.img && echo same bytes
        Stop it: bash scripts/demo.sh stop
        """))
    print(url)
    return 0


def stop():
    for daemon in reversed(daemons()):
        daemon.stop_from_pidfile()
    print(json.dumps({"stopped": str(RUN)}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["deploy", "stop"], nargs="?", default="deploy")
    return {"deploy": deploy, "stop": stop}[parser.parse_args().action]()


if __name__ == "__main__":
    sys.exit(main())
