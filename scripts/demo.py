"""
Deploy a single-node Glance (file backend) with this formula on this machine.

Starts a local registry, a private dockerd and MariaDB on 127.0.2.1 (so the test
suite's 127.0.0.1 / 127.0.1.x stay free), builds the Kolla-contract test image,
then runs the formula masterless: ``salt-call --local state.apply glance``.

    python scripts/demo.py deploy     # prints the API URL
    python scripts/demo.py stop       # stops what deploy started, by pid
"""

import argparse
import os
import pathlib
import sys
import textwrap

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from harness.single_node import SingleNode  # noqa: E402

STATE = pathlib.Path(os.environ.get("GLANCE_DEMO_DIR", "/var/lib/glance-formula-demo"))


def node():
    return SingleNode("demo", "127.0.2.1", STATE)


def deploy():
    demo = node().start()
    demo.detach()
    demo.write_pillar()
    _, returncode, _ = demo.salt_call("state.apply", "glance", output="terse")
    if returncode != 0:
        print("state.apply glance failed (see above)", file=sys.stderr)
        return returncode
    url = demo.url
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
    node().stop_from_pidfiles()
    print("stopped")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["deploy", "stop"], nargs="?", default="deploy")
    return {"deploy": deploy, "stop": stop}[parser.parse_args().action]()


if __name__ == "__main__":
    sys.exit(main())
