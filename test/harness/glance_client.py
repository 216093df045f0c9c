"""A tiny Glance v2 client for tests and benchmarks (no auth: enable_keystone off)."""

import hashlib
import json
import urllib.error
import urllib.request


def api(address, path, method="GET", data=None, headers=None, timeout=60, port=9292):
    request = urllib.request.Request(f"http://{address}:{port}{path}", data=data,
                                     method=method, headers=headers or {})
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
