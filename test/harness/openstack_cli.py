"""
python-openstackclient as users run it: a clouds.yaml and the ``openstack`` command.

    cli = OpenStackCLI(work_dir, auth_url, region="RegionOne")
    cli.add_cloud("admin", "admin", admin_password, "admin")
    cli.add_cloud("node2", "admin", admin_password, "admin", image_endpoint="http://127.0.1.2:9292")
    image = cli.json("admin", "image", "create", "--file", path, "--disk-format", "raw", "x")
    failed = cli.run("member", "image", "set", "--property", "x=1", image["id"], check=False)

Every call is a new ``openstack`` process (the venv's), reading the clouds.yaml
through ``OS_CLIENT_CONFIG_FILE``; nothing is imported from the client.
"""

import json
import os
import pathlib
import pty
import subprocess
import sys

import yaml

OPENSTACK = pathlib.Path(sys.executable).parent / "openstack"


class OpenStackError(AssertionError):
    pass


class OpenStackCLI:
    def __init__(self, work_dir, auth_url, region="RegionOne"):
        self.path = pathlib.Path(work_dir) / "clouds.yaml"
        self.auth_url, self.region = auth_url, region
        self.clouds = {}

    def add_cloud(self, name, username, password, project, image_endpoint=None):
        cloud = {
            "auth": {"auth_url": self.auth_url, "username": username, "password": password,
                     "project_name": project, "user_domain_name": "Default",
                     "project_domain_name": "Default"},
            "region_name": self.region,
            "identity_api_version": 3,
            "image_api_version": 2,
        }
        if image_endpoint:
            cloud["image_endpoint_override"] = image_endpoint
        self.clouds[name] = cloud
        self.path.write_text(yaml.safe_dump({"clouds": self.clouds}))
        self.path.chmod(0o600)
        return self

    def run(self, cloud, *args, check=True, timeout=600):
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(self.path))
        # a terminal on stdin, as when a person types it: `image create` without --file
        # would otherwise upload whatever stdin holds (an empty pipe = a 0-byte image)
        leader, terminal = pty.openpty()
        try:
            proc = subprocess.run([str(OPENSTACK), "--os-cloud", cloud, *map(str, args)],
                                  stdin=terminal, capture_output=True, text=True, env=env,
                                  timeout=timeout, check=False)
        finally:
            os.close(terminal)
            os.close(leader)
        if check and proc.returncode != 0:
            raise OpenStackError(f"openstack --os-cloud {cloud} {' '.join(map(str, args))} "
                                 f"exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return proc

    def json(self, cloud, *args, **kw):
        return json.loads(self.run(cloud, *args, "-f", "json", **kw).stdout)
