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


def config_valid(name, image, files, enabled_backends=""):
    """
    The operator's override ``files`` hold only options Glance knows
    (oslo-config-validator in a one-shot container of ``image``; test mode runs it
    too, since it changes nothing).

    .. code-block:: yaml

        glance-precheck-glance_precheck-config_valid:
          glance_precheck.config_valid:
            - image: quay.io/openstack.kolla/glance-api:2025.1
            - files: [/etc/kolla/config/glance.conf]
    """
    result = __salt__["glance_validate.overrides"](  # noqa: F821
        image, list(files), enabled_backends)
    ret = report(name, result["errors"], result["warnings"])
    if not result["errors"]:
        again = " (same image and files as a validation that passed)" \
            if result.get("cached") else ""
        lines = [f"override files valid for {image}{again}: {', '.join(result['files'])}"]
        lines.extend(f"  WARNING: {warning}" for warning in result["warnings"])
        ret["comment"] = "\n".join(lines)
    return ret


def s3_reachable(name, url, access_key, secret_key, bucket, url_format="auto"):
    """
    Ask the S3 server whether it accepts the keys (a read-only listing).

    A missing bucket is fine: glance creates it on the first upload.
    """
    check = __salt__["glance_store.s3_check"](  # noqa: F821
        url, access_key, secret_key, bucket, url_format)
    ret = {"name": name, "changes": {}, "result": True,
           "comment": f"S3 at {url} accepts the glance keys"}
    if check["status"] == "credentials":
        ret["result"] = False
        ret["comment"] = (
            f"S3 at {url} rejected the keys ({check['detail']}) — fix glance:s3_access_key "
            "/ s3_secret_key (or glance_backend_s3_access_key / _secret_key); nothing "
            "was changed"
        )
    elif check["status"] != "ok":
        ret["result"] = False
        ret["comment"] = (
            f"S3 at {url} cannot be reached ({check['detail']}) — check glance:s3_url "
            "and that the server is up; nothing was changed"
        )
    return ret
