"""
State that stops a glance run before anything changes when the pillar is bad.

The checks themselves live in ``_modules/glance_config.py``; this state only
reports them, so ``state.apply glance.precheck`` (and ``test=True``) show every
error at once.
"""

__virtualname__ = "glance_precheck"


def __virtual__():
    return __virtualname__


def report(name, errors, warnings):
    """Pure: the state return for a list of errors and warnings."""
    lines = []
    if errors:
        lines.append(f"glance precheck failed ({len(errors)} error(s)); nothing was changed:")
        lines.extend(f"  ERROR: {error}" for error in errors)
    else:
        lines.append("glance precheck passed")
    lines.extend(f"  WARNING: {warning}" for warning in warnings)
    return {
        "name": name,
        "changes": {},
        "result": not errors,
        "comment": "\n".join(lines),
        "warnings": list(warnings),
    }


def passed(name, errors=(), warnings=()):
    """
    Succeed only when ``errors`` is empty; ``warnings`` are printed either way.

    .. code-block:: yaml

        glance-precheck-glance_precheck-passed:
          glance_precheck.passed:
            - errors: []
            - warnings: []
    """
    return report(name, list(errors or ()), list(warnings or ()))
