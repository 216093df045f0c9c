"""Shared by every tier: where the repo is, and the tier markers."""

import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "_modules"))
sys.path.insert(0, str(REPO / "_states"))


def pytest_collection_modifyitems(items):
    for item in items:
        tier = pathlib.Path(str(item.fspath)).relative_to(REPO / "test").parts[0]
        item.add_marker(tier)
