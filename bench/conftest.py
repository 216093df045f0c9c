"""Benchmarks reuse the integration stack fixtures (master, 3 minions, dockerds, ...)."""

import importlib.util
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
for path in (REPO / "test", REPO / "_modules", REPO / "_states"):
    sys.path.insert(0, str(path))



def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_stack = _load("glance_stack_fixtures", REPO / "test" / "integration" / "conftest.py")
globals().update({name: value for name, value in vars(_stack).items()
                  if not name.startswith("_")})
# the suite's session hooks too: the factories' log server and event listener on
# 127.0.0.1, and no "--- Logging error ---" tracebacks from Salt's deferred log
# handler after the summary (not its marker hook: a benchmark is no test tier)
_shared = _load("glance_shared_fixtures", REPO / "test" / "conftest.py")
pytest_sessionstart = _shared.pytest_sessionstart
pytest_sessionfinish = _shared.pytest_sessionfinish
event_listener = _shared.event_listener
