"""Shared by every tier: where the repo is, and the tier markers."""

import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "_modules"))
sys.path.insert(0, str(REPO / "_states"))


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
