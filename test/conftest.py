"""Shared by every tier: where the repo is, and the tier markers."""

import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "_modules"))
sys.path.insert(0, str(REPO / "_states"))


def _drop_salt_deferred_log_handler():
    """
    Importing salt puts a DeferredStreamHandler on the root logger that keeps every
    record (the Salt daemons' logs arrive through the factories' log server) and
    writes them at interpreter exit to pytest's already closed stderr: ~200
    "--- Logging error ---" tracebacks after the summary. pytest's own logging
    handlers get the records anyway (shown with a failing test), so drop it.
    """
    impl = sys.modules.get("salt._logging.impl")
    if impl is not None and impl.get_temp_handler() is not None:
        impl.shutdown_temp_handler()


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionstart(session):
    _drop_salt_deferred_log_handler()
    # the factories' log server (where the Salt daemons send their logs) binds
    # 0.0.0.0 by default: every target here is on 127.0.0.0/8
    server = session.config.pluginmanager.get_plugin("saltfactories-log-server")
    if server is not None:
        server.log_host = "127.0.0.1"
    yield


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    _drop_salt_deferred_log_handler()


@pytest.fixture(scope="session")
def event_listener():
    """The factories' event listener, on 127.0.0.1 instead of 0.0.0.0."""
    from saltfactories.plugins.event_listener import EventListener

    listener = EventListener()
    listener.host = "127.0.0.1"
    listener.address = f"tcp://{listener.host}:{listener.port}"
    with listener:
        yield listener


def pytest_collection_modifyitems(items):
    for item in items:
        tier = pathlib.Path(str(item.fspath)).relative_to(REPO / "test").parts[0]
        item.add_marker(tier)


S3_PORT = 9000


@pytest.fixture(scope="session")
def moto_s3():
    """A real S3 server (moto, any key accepted) on 127.0.0.1:9000 for the whole session."""
    from harness.daemons import Moto

    with Moto(host="127.0.0.1", port=S3_PORT, run_dir=f"/run/gf/moto-{S3_PORT}") as server:
        yield server
