"""Load a custom Salt module by path: _modules/<name>.py and _states/<name>.py share a
name, so a plain import would find only one of them."""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]


def load(name, kind):
    """``kind`` is "modules" or "states"."""
    spec = importlib.util.spec_from_file_location(f"{name}_{kind}",
                                                  REPO / f"_{kind}/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
