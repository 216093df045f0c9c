"""
A tiny Glance v2 client for tests and benchmarks, raw HTTP with a Keystone token.

The suite and the benchmarks call :func:`use_keystone` once; every request then
carries ``X-Auth-Token`` from a keystoneauth session (fetched once, renewed before
it expires).  Feature tests talk to Glance through python-openstackclient instead,
as users do; this client is for load, checksums and the raw status codes.
"""

import hashlib
import json
import urllib.error
import urllib.request

_SESSION = None


def keystone_session(auth_url, password, username="admin", project="admin"):
    """A keystoneauth session for a user of the Default domain."""
    from keystoneauth1 import session  # pylint: disable=import-outside-toplevel
    from keystoneauth1.identity import v3  # pylint: disable=import-outside-toplevel

    auth = v3.Password(auth_url=auth_url, username=username, password=password,
                       project_name=project, user_domain_name="Default",
                       project_domain_name="Default")
    return session.Session(auth=auth)


def use_keystone(auth_url, password, username="admin", project="admin"):
    """Authenticate every later request as that user (admin by default)."""
    global _SESSION  # pylint: disable=global-statement
    _SESSION = keystone_session(auth_url, password, username, project)
    _SESSION.get_token()
    return _SESSION


def auth_headers():
    return {"X-Auth-Token": _SESSION.get_token()} if _SESSION is not None else {}


def api(address, path, method="GET", data=None, headers=None, timeout=60, port=9292):
    request = urllib.request.Request(f"http://{address}:{port}{path}", data=data,
                                     method=method,
                                     headers=dict(auth_headers(), **(headers or {})))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
        return response.status, body


def create_image(address, name, port=9292):
    status, body = api(address, "/v2/images", "POST",
                       json.dumps({"name": name, "disk_format": "raw",
                                   "container_format": "bare"}).encode(),
                       {"Content-Type": "application/json"}, port=port)
    assert status == 201
    return json.loads(body)["id"]


def upload_image(address, name, payload, port=9292):
    image_id = create_image(address, name, port=port)
    status, _ = api(address, f"/v2/images/{image_id}/file", "PUT", payload,
                    {"Content-Type": "application/octet-stream"}, timeout=300, port=port)
    assert status == 204
    return image_id


def download_sha256(address, image_id, port=9292):
    status, body = api(address, f"/v2/images/{image_id}/file", timeout=300, port=port)
    assert status == 200
    return hashlib.sha256(body).hexdigest()


def random_payload(size, seed):
    block = hashlib.sha256(seed.encode()).digest()
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(block + counter.to_bytes(8, "big")).digest() * 64
        counter += 1
    return bytes(out[:size])


def healthy(address, port=9292):
    try:
        return api(address, "/healthcheck", timeout=5, port=port)[0] == 200
    except (urllib.error.URLError, OSError):
        return False
