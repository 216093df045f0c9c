"""Small polling helpers shared by the daemons and the tests (stdlib only)."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import Callable, Optional, TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.2,
             what: str = "condition") -> T:
    """Call ``predicate`` until it returns a truthy value and return that value.

    Exceptions raised by the predicate count as "not yet"; the last one is quoted in
    the ``TimeoutError`` raised after ``timeout`` seconds, whose message names ``what``.
    """
    deadline = time.monotonic() + timeout
    last_exc: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc is not None else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(interval)


def http_status(url: str, timeout: float = 2.0) -> int:
    """Return the HTTP status of a GET on ``url`` (4xx/5xx are returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_http(url: str, status: Optional[int] = 200, timeout: float = 30.0,
              interval: float = 0.2) -> int:
    """Wait until GET ``url`` answers with ``status`` (any status if None); return it."""
    def check() -> int:
        got = http_status(url)
        if status is None or got == status:
            return got or -1
        raise RuntimeError(f"HTTP {got}, want {status}")

    return wait_for(check, timeout, interval, what=f"GET {url} -> {status or 'any answer'}")


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, timeout: float = 30.0, interval: float = 0.2) -> bool:
    """Wait until host:port accepts TCP connections."""
    return wait_for(lambda: port_open(host, port), timeout, interval,
                    what=f"TCP {host}:{port} to accept connections")


class When:
    """Runs ``action()`` once, in a thread, as soon as ``predicate()`` is true (polled
    every ``interval`` s; exceptions count as "not yet"). For faults injected at one
    point of a run: ``with When(node1_replaced, registry.stop) as fault: ...``; after
    the block ``fault.fired_at`` (monotonic time or None) says whether it happened."""

    def __init__(self, predicate: Callable[[], object], action: Callable[[], object],
                 interval: float = 0.2, timeout: float = 1800.0):
        import threading  # pylint: disable=import-outside-toplevel

        self.predicate, self.action = predicate, action
        self.interval, self.timeout = interval, timeout
        self.fired_at: Optional[float] = None
        self.error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                ready = self.predicate()
            except Exception:  # noqa: BLE001 - "not yet"
                ready = False
            if ready:
                self.fired_at = time.monotonic()
                try:
                    self.action()
                except BaseException as exc:  # noqa: BLE001 - reported by __exit__
                    self.error = exc
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> "When":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is not None and exc[0] is None:
            raise RuntimeError(f"the injected fault failed: {self.error!r}") from self.error
