"""Every ``__salt__["glance_x.fn"]`` / ``salt['glance_x.fn']`` the formula calls names a
function Salt's loader really exposes: public, and in the module's ``__all__`` when it
has one. Unit tests hand states a plain dict as ``__salt__``, so without this a call
to a hidden function passes them and fails only on a real minion."""

import functools
import inspect
import pathlib
import re

import pytest
from salt_module_loader import load

REPO = pathlib.Path(__file__).resolve().parents[2]
CALL = re.compile(r"""(?:__salt__|\bsalt)\[\s*['"](glance_\w+)\.(\w+)['"]\s*\]""")
SOURCES = [*REPO.glob("_states/*.py"), *REPO.glob("_modules/*.py"),
           *REPO.glob("_runners/*.py"), *REPO.glob("glance/**/*.sls"),
           *REPO.glob("glance/**/*.jinja")]


def calls():
    found = set()
    for path in SOURCES:
        for module, function in CALL.findall(path.read_text()):
            found.add((module, function, str(path.relative_to(REPO))))
    return sorted(found)


@functools.cache
def exposed(module_name):
    # by path: _states/ holds modules of the same names
    module = load(module_name, "modules")
    names = getattr(module, "__all__", None)
    # the loader takes functions, not classes or other callables
    public = {name for name, value in vars(module).items()
              if inspect.isfunction(value) and not name.startswith("_")}
    return public if names is None else public & set(names)


def test_the_scan_finds_the_calls_it_is_meant_to_check():
    modules = {module for module, _, _ in calls()}
    assert {"glance_config", "glance_db", "glance_upgrade"} <= modules


def test_a_hidden_function_would_be_caught():
    assert "url_host" in exposed("glance_config")
    assert "to_bool" not in exposed("glance_config")


@pytest.mark.parametrize("module,function,where", calls())
def test_every_formula_call_reaches_an_exposed_function(module, function, where):
    assert (REPO / f"_modules/{module}.py").exists(), f"{where}: no _modules/{module}.py"
    assert function in exposed(module), (
        f"{where} calls {module}.{function}, which Salt's loader does not expose "
        f"(private, missing, or not in {module}.__all__)")
