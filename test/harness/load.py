"""
A steady API client for upgrade tests and benchmarks: list, show, download and
upload at a fixed rate against one address (the load balancer), recording every
request. Bounded in time and count; stops by itself.
"""

import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor

from .glance_client import api, create_image

OPERATIONS = ("list", "show", "download", "list", "show", "upload")


class LoadClient:
    def __init__(self, address, image_id, rate=20.0, port=9292, max_seconds=1800,
                 max_requests=60000, workers=8):
        self.address, self.image_id, self.port = address, image_id, port
        self.rate, self.max_seconds, self.max_requests = rate, max_seconds, max_requests
        self.records = []  # (start, op, ok, latency, error)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _request(self, op, n):
        start = time.monotonic()
        error = None
        try:
            if op == "list":
                api(self.address, "/v2/images?limit=5", port=self.port, timeout=30)
            elif op == "show":
                api(self.address, f"/v2/images/{self.image_id}", port=self.port, timeout=30)
            elif op == "download":
                api(self.address, f"/v2/images/{self.image_id}/file", port=self.port,
                    timeout=60)
            else:
                image = create_image(self.address, f"load-{n}", port=self.port)
                api(self.address, f"/v2/images/{image}/file", "PUT", b"x" * 65536,
                    {"Content-Type": "application/octet-stream"}, port=self.port, timeout=60)
        except (urllib.error.URLError, OSError, AssertionError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.records.append((start, op, error is None, time.monotonic() - start, error))

    def _run(self):
        began = time.monotonic()
        n = 0
        while not self._stop.is_set() and n < self.max_requests:
            if time.monotonic() - began > self.max_seconds:
                break
            self._pool.submit(self._request, OPERATIONS[n % len(OPERATIONS)], n)
            n += 1
            self._stop.wait(max(0.0, began + n / self.rate - time.monotonic()))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
        return self.summary()

    def summary(self):
        with self._lock:
            records = sorted(self.records)
        failed = [r for r in records if not r[2]]
        latencies = sorted(r[3] for r in records)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0
        return {
            "requests": len(records),
            "failed": len(failed),
            "longest_outage": longest_outage(records),
            "p99": p99,
            "errors": sorted({r[4] for r in failed})[:5],
        }


def longest_outage(records):
    """Longest stretch (seconds) from a failed request's start to the next success."""
    longest, since = 0.0, None
    for start, _, ok, latency, _ in records:
        if not ok and since is None:
            since = start
        elif ok and since is not None:
            longest = max(longest, start + latency - since)
            since = None
    if since is not None and records:
        longest = max(longest, records[-1][0] - since)
    return longest
