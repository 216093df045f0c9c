"""
Benchmark: image upload and download throughput through the deployed API (Keystone
on, file store), per release, against a floor measured in the same run: sha512 + md5
of the same bytes in one Python thread, the hashing Glance must do on every upload.

    bash bench/run.sh throughput.py [--size-mb 512] [--release 2026.2 ...] [--repeat 5]

One host on 127.0.3.1 (registry, dockerd "bench", MariaDB; Keystone + memcached on
127.0.3.5), deployed with the formula (salt-call --local state.apply glance), one
API worker per release so the numbers compare the serving setups, not the cores.
Targets (issue): upload >= 0.6 of the floor on 2026.2; no release slower than 2022.2.
"""

import argparse
import hashlib
import http.client
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))

from harness.glance_client import keystone_session, random_payload  # noqa: E402
from harness.single_node import SingleNode  # noqa: E402

RELEASES = ("2022.2", "2025.1", "2026.2")
MB = 1024 * 1024


def floor_mb_s(payload):
    """sha512 + md5 of the payload in one thread, as Glance hashes an upload."""
    start = time.monotonic()
    sha512, md5 = hashlib.sha512(), hashlib.md5()  # noqa: S324
    view = memoryview(payload)
    for offset in range(0, len(payload), 64 * 1024):
        chunk = view[offset:offset + 64 * 1024]
        sha512.update(chunk)
        md5.update(chunk)
    return len(payload) / MB / (time.monotonic() - start)


# the floor again, inside the release's own image (its Python and OpenSSL: what its
# Glance hashes with), on 256 MB of fresh random bytes, median of 3
IMAGE_FLOOR = """
import hashlib, os, statistics, time
payload = os.urandom(256 * 1048576)
view = memoryview(payload)
def once():
    start = time.monotonic()
    sha512, md5 = hashlib.sha512(), hashlib.md5()
    for offset in range(0, len(payload), 64 * 1024):
        chunk = view[offset:offset + 64 * 1024]
        sha512.update(chunk)
        md5.update(chunk)
    return 256 / (time.monotonic() - start)
print(statistics.median(once() for _ in range(3)))
"""


def image_floor_mb_s(node, release):
    """:data:`IMAGE_FLOOR` in a one-shot container of that release's glance-api image."""
    image = node.pillar()["docker_registry"] + f"/openstack.kolla/glance-api:{release}"
    out = subprocess.run(["docker", "-H", node.dockerd.url, "run", "--rm", "--network",
                          "none", "--entrypoint", "python3", image, "-c", IMAGE_FLOOR],
                         check=True, capture_output=True, text=True, timeout=300)
    return float(out.stdout.strip().splitlines()[-1])


def request(node, token, method, path, body=None, headers=None, read=True):
    conn = http.client.HTTPConnection(node.address, 9292, timeout=900)
    conn.request(method, path, body=body, headers=dict({"X-Auth-Token": token}, **(headers or {})))
    response = conn.getresponse()
    data = b""
    if read:
        data = response.read()
    else:
        digest = hashlib.sha256()
        while True:
            chunk = response.read(1024 * 1024)
            if not chunk:
                break
            digest.update(chunk)
        data = digest.hexdigest().encode()
    conn.close()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


def measure_once(node, token, payload):
    image = json.loads(request(node, token, "POST", "/v2/images", json.dumps(
        {"name": "throughput", "disk_format": "raw", "container_format": "bare"}).encode(),
        {"Content-Type": "application/json"}))["id"]
    start = time.monotonic()
    request(node, token, "PUT", f"/v2/images/{image}/file", payload,
            {"Content-Type": "application/octet-stream"})
    upload = time.monotonic() - start
    start = time.monotonic()
    digest = request(node, token, "GET", f"/v2/images/{image}/file", read=False).decode()
    download = time.monotonic() - start
    if digest != hashlib.sha256(payload).hexdigest():
        raise RuntimeError("downloaded bytes differ from the upload")
    request(node, token, "DELETE", f"/v2/images/{image}")
    size = len(payload) / MB
    return size / upload, size / download


def measure(node, token, payload, repeat):
    """
    The first upload of a fresh worker (reported apart), then ``repeat`` more; each
    upload is followed by the floor on the same bytes, so every upload has its own
    ratio, measured within seconds of it: this VM's speed drifts by 20 % within
    minutes (neighbours), and a floor taken minutes away would carry that drift into
    the ratio. Returns (first (upload, download), first's ratio, upload MB/s list,
    download MB/s list, ratio list, floor list).
    """
    first = measure_once(node, token, payload)
    first_ratio = first[0] / floor_mb_s(payload)
    uploads, downloads, ratios, floors = [], [], [], []
    for _ in range(repeat):
        upload, download = measure_once(node, token, payload)
        floor = floor_mb_s(payload)
        uploads.append(upload)
        downloads.append(download)
        ratios.append(upload / floor)
        floors.append(floor)
    return first, first_ratio, uploads, downloads, ratios, floors


def run_release(node, release, payload, repeat, chunk_kib=None):
    node.use_release(release)
    node.remove_glance_containers()
    extra = {"glance_file_store_chunk_size": chunk_kib * 1024} if chunk_kib else {}
    node.write_pillar(glance_database_name="glance_throughput_" + release.replace(".", "_"),
                      glance_api_workers=1, **extra)
    _, code, out = node.salt_call("state.apply", "glance")
    if code != 0:
        raise RuntimeError(f"state.apply glance failed on {release}: {str(out)[-2000:]}")
    token = keystone_session(node.keystone.auth_url, node.keystone.admin_password).get_token()
    try:
        return measure(node, token, payload, repeat)
    finally:
        node.remove_glance_containers()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=512)
    parser.add_argument("--release", action="append", choices=RELEASES)
    parser.add_argument("--repeat", type=int, default=5,
                        help="uploads per release after the first")
    parser.add_argument("--chunk-kib", type=int,
                        help="glance_file_store_chunk_size in KiB (default: the formula's)")
    args = parser.parse_args()
    payload = random_payload(args.size_mb * MB, "throughput")
    rows = []
    releases = args.release or RELEASES
    with tempfile.TemporaryDirectory(prefix="glance-bench-") as state_dir:
        node = SingleNode("bench", "127.0.3.1", state_dir, release=releases[0]).start()
        try:
            for release in releases:
                measured = run_release(node, release, payload, args.repeat, args.chunk_kib)
                rows.append((release, *measured, image_floor_mb_s(node, release)))
        finally:
            node.stop()
    floors = [f for row in rows for f in row[6]]
    print(f"\n{args.size_mb} MB image, Keystone on, file store, 1 API worker; "
          f"floor = sha512+md5 in one thread, taken right after every upload: median "
          f"{statistics.median(floors):.0f} MB/s ({min(floors):.0f}-{max(floors):.0f})")
    print(f"  upload and download: median of {args.repeat} after a first upload to a fresh "
          "worker (shown apart: it pays the new process's and the page cache's first touch);"
          " x floor: the median of each upload over the floor taken right after it")
    print("  image floor: the same hashing in the release's own image (its Python and "
          "OpenSSL), what its Glance can reach at best")
    print(f"  {'release':<8} {'upload MB/s':>12} {'x floor':>8} {'download MB/s':>14} "
          f"{'first upload':>13} {'x floor':>8} {'image floor':>12} {'x image floor':>14}"
          "  uploads (x floor each)")
    by_release = {}
    for release, first, first_ratio, uploads, downloads, ratios, _, own in rows:
        upload = statistics.median(uploads)
        by_release[release] = (upload, statistics.median(ratios))
        print(f"  {release:<8} {upload:12.0f} {statistics.median(ratios):8.2f} "
              f"{statistics.median(downloads):14.0f} {first[0]:13.0f} {first_ratio:8.2f} "
              f"{own:12.0f} {upload / own:14.2f}  "
              + " ".join(f"{u:.0f} ({r:.2f})" for u, r in zip(uploads, ratios)))
    if "2026.2" in by_release:
        ratio = by_release["2026.2"][1]
        print(f"  2026.2 upload target >= 0.6 of the floor: "
              f"{'met' if ratio >= 0.6 else 'MISSED'} ({ratio:.2f})")
    if "2022.2" in by_release:
        slower = [r for r, (up, _) in by_release.items() if up < by_release["2022.2"][0]]
        print(f"  no release slower than 2022.2 on upload: "
              f"{'met' if not slower else 'MISSED by ' + ', '.join(slower)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
