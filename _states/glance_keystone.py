"""
States: Glance registered in Keystone (kolla's service-ks-register), the
precheck that Keystone answers the admin login, and the removal for glance.clean.

The work is done by the ``glance_keystone`` execution module; these states turn
its answers into Salt returns. No password appears in a return: the module
replaces secrets in every message by stars, and the changes name what changed
(``password: updated``), never the value.
"""

__virtualname__ = "glance_keystone"


def __virtual__():
    if "glance_keystone.ensure" not in __salt__:  # noqa: F821
        return False, ("the glance_keystone state needs the glance_keystone execution "
                       "module (saltutil.sync_all) and openstacksdk on the minion")
    return __virtualname__


def problem(status, detail, auth):
    """Pure: the operator's next step for a failed talk with Keystone."""
    url = auth.get("auth_url", "")
    if status == "unreachable":
        return (f"Keystone at {url} cannot be reached ({detail}) — check "
                f"glance:keystone_internal_url ({url}) and that Keystone is up")
    if status == "credentials":
        return (f"Keystone at {url} refused the admin login of {auth.get('username')!r} in "
                f"project {auth.get('project_name')!r} (HTTP 401) — fix "
                "glance:keystone_admin_password (or keystone_admin_user / "
                "keystone_admin_project)")
    if status == "forbidden":
        return (f"Keystone at {url} lets {auth.get('username')!r} log in but not manage the "
                "catalog (HTTP 403) — glance:keystone_admin_user needs the admin role in "
                "keystone_admin_project")
    return f"Keystone at {url} failed: {detail}"


def _ret(name):
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def reachable(name, auth, registration=None, timeout=10):
    """
    Precheck: Keystone accepts the admin login and lets it read the catalog.
    Changes nothing, so it runs the same with ``test=True``.

    name
        Any ID (the sls uses the Keystone URL).
    auth
        The admin login: ``auth_url``, ``username``, ``password``, ``project_name``,
        ``user_domain_id``, ``project_domain_id`` (kolla's openstack_auth).
    registration
        ``glance_keystone.registration``'s dict, on the node that registers. The
        service user logs in first (the registration state reuses that login):
        when its token shows the registration as wanted, nothing in Keystone will
        change this run and the admin login is skipped; otherwise the admin login
        must work before anything changes.

    The registration's pillar errors (``glance_keystone.registration``) are listed
    by ``glance_precheck.passed`` with every other error, before this state.
    """
    ret = _ret(name)
    url = auth.get("auth_url")
    if registration:
        login = __salt__["glance_keystone.service_login"](registration, timeout)  # noqa: F821
        plan = __salt__["glance_keystone.precheck_plan"](login, registration)  # noqa: F821
        if plan == "registered":
            ret["comment"] = (
                f"Keystone at {url}: the login of {registration['user']!r} shows "
                f"{registration['service']} registered as wanted, so nothing in Keystone "
                "changes this run and the admin login was not needed")
            return ret
        if plan == "unreachable":
            ret["result"] = False
            ret["comment"] = problem(login["status"], login["detail"], auth) + (
                "; nothing was changed")
            return ret
    check = __salt__["glance_keystone.check"](auth, timeout)  # noqa: F821
    if check["status"] != "ok":
        ret["result"] = False
        ret["comment"] = problem(check["status"], check["detail"], auth) + (
            "; nothing was changed")
        return ret
    ret["comment"] = f"Keystone at {url} accepts the admin login of {auth.get('username')!r}"
    return ret


def _want(name, auth, endpoints, password, region, service_type, description, user,
          project, role, domain):
    return {"auth": dict(auth), "region": region, "service": name,
            "service_type": service_type, "description": description,
            "endpoints": dict(endpoints), "user": user, "password": password,
            "project": project, "role": role, "domain": domain}


def registered(name, auth, endpoints, password, region="RegionOne", service_type="image",
               description="Openstack Image", user="glance", project="service",
               role="admin", domain="default", timeout=30):
    """
    Service ``name`` of ``service_type`` with the ``internal`` and ``public``
    ``endpoints`` in ``region``; ``user`` (password ``password``) in ``project``
    (created when missing) with ``role``. Idempotent: a re-apply reports no
    changes; a different endpoint URL is updated in place, a password that no
    longer logs in is set again (reported as ``password: updated``).

    .. code-block:: yaml

        glance-register-glance_keystone-registered:
          glance_keystone.registered:
            - name: glance
            - auth: {auth_url: http://10.0.0.10:5000, username: admin, password: ...,
                     project_name: admin, user_domain_id: default,
                     project_domain_id: default}
            - endpoints: {internal: http://10.0.0.10:9292, public: http://10.0.0.10:9292}
            - password: ...
            - region: RegionOne
    """
    ret = _ret(name)
    want = _want(name, auth, endpoints, password, region, service_type, description, user,
                 project, role, domain)
    test = bool(__opts__["test"])  # noqa: F821
    out = __salt__["glance_keystone.ensure"](want, test, timeout)  # noqa: F821
    ret["changes"] = out["changes"]
    if out["status"] != "ok":
        ret["result"] = False
        ret["comment"] = problem(out["status"], out["detail"], auth) + (
            f"; done before the failure: {len(out['done'])} of {len(out['actions'])} step(s)"
            if out["actions"] else "; nothing was changed")
        return ret
    if not out["actions"]:
        ret["comment"] = (f"{name} ({service_type}) is registered in Keystone region "
                          f"{region}: endpoints, user {user!r} and role {role!r} as wanted")
        return ret
    steps = ", ".join(sorted(out["changes"]))
    if test:
        ret["result"] = None
        ret["comment"] = f"would change in Keystone: {steps}"
    else:
        ret["comment"] = f"changed in Keystone: {steps}"
    return ret


def absent(name, auth, region="RegionOne", service_type="image", user="glance",
           domain="default", timeout=30):
    """
    Glance's endpoints in ``region`` are gone, and with them service ``name`` and
    ``user`` unless another region still has Glance endpoints. The service
    project and the admin role stay: other services share them.
    """
    ret = _ret(name)
    want = _want(name, auth, {}, "", region, service_type, "", user, "", "", domain)
    test = bool(__opts__["test"])  # noqa: F821
    out = __salt__["glance_keystone.remove"](want, test, timeout)  # noqa: F821
    ret["changes"] = out["changes"]
    if out["status"] != "ok":
        ret["result"] = False
        ret["comment"] = problem(out["status"], out["detail"], auth)
        return ret
    if not out["changes"]:
        ret["comment"] = f"{name} has nothing in Keystone region {region}"
    elif test:
        ret["result"] = None
        ret["comment"] = "would remove from Keystone: " + ", ".join(sorted(out["changes"]))
    else:
        ret["comment"] = "removed from Keystone: " + ", ".join(sorted(out["changes"]))
    if out["kept"]:
        ret["comment"] += f"; {out['kept']}"
    return ret
