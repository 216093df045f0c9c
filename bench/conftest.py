"""Benchmarks reuse the integration stack fixtures (master, 3 minions, dockerds, ...)."""

import importlib.util
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
for path in (REPO / "test", REPO / "_modules", REPO / "_states"):
    sys.path.insert(0, str(path))

_spec = importlib.util.spec_from_file_location(
    "glance_stack_fixtures", REPO / "test" / "integration" / "conftest.py")
_stack = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stack)
globals().update({name: value for name, value in vars(_stack).items()
                  if not name.startswith("_")})
