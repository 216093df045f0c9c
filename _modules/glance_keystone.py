"""
Glance in the Keystone catalog, as kolla-ansible's service-ks-register does it.

Service ``glance`` of type ``image``, its ``internal`` and ``public`` endpoints
in the region (no admin endpoint), and the service user in project ``service``
with role ``admin``. Keystone is spoken to through openstacksdk, the library
kolla's Ansible modules use.

What to create or update is the pure :func:`diff` of what Keystone holds
(:func:`lookup`) and what the pillar wants (:func:`registration`); the unit tests
exercise it without Salt or a network. Passwords never reach a return value, a
log line or an exception message: actions carry no secret, and every message
from the libraries goes through :func:`scrub`.
"""

import hashlib
import importlib.util
import ipaddress
import json
import os
import time
import types
import urllib.parse

# imported when Keystone is spoken to, not when a state renders: openstacksdk's import
# alone took 0.5 s of every salt-call (and the API hosts that do not register never need it)
HAS_SDK = all(importlib.util.find_spec(name) is not None
              for name in ("openstack", "keystoneauth1"))


def _session_lib():
    """keystoneauth1's session alone: all validating a cached token needs (the identity
    plugins' import was another 40-60 ms of every re-apply)."""
    # pylint: disable=import-outside-toplevel
    from keystoneauth1 import session

    return types.SimpleNamespace(session=session)


def _auth_libs():
    """keystoneauth1 (logins, sessions)."""
    # pylint: disable=import-outside-toplevel
    from keystoneauth1 import exceptions
    from keystoneauth1.identity import generic

    libs = _session_lib()
    libs.ks_exc, libs.generic = exceptions, generic
    return libs


def _libs():
    """keystoneauth1 and openstacksdk (the registration itself), imported on first use."""
    # pylint: disable=import-outside-toplevel
    import openstack
    import openstack.connection
    import openstack.exceptions

    libs = _auth_libs()
    libs.openstack = openstack
    return libs


__virtualname__ = "glance_keystone"

SERVICE_NAME = "glance"
SERVICE_TYPE = "image"
SERVICE_DESCRIPTION = "Openstack Image"
INTERFACES = ("internal", "public")
PROJECT = "service"
ROLE = "admin"
# the Default domain's id; kolla's service users and the service project live there
DOMAIN = "default"
HIDDEN = "********"


def __virtual__():
    if not HAS_SDK:
        return False, (
            "glance_keystone needs openstacksdk on the minion (pip install openstacksdk) "
            "to register Glance in Keystone"
        )
    return __virtualname__


# ---------------------------------------------------------------- what the pillar wants


def _host_for_url(host):
    """IPv6 addresses go in brackets in a URL (kolla's kolla_url filter does the same)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def endpoint_urls(settings):
    """
    {'internal': url, 'public': url} from glance_config.settings() output.

    Internal: ``glance_internal_endpoint``, else the load balancer
    (``kolla_internal_vip_address:glance_api_port``), else the first API host at
    the port glance-api listens on. Public: ``glance_public_endpoint``, else
    ``kolla_external_vip_address:glance_api_port``, else the internal URL.
    """
    flags = settings["flags"]
    internal = str(flags["glance_internal_endpoint"] or "")
    if not internal:
        vip = str(flags["kolla_internal_vip_address"] or "")
        hosts = settings["api_hosts"]
        first = hosts[0]["address"] if hosts else ""
        if not first and settings["am_i_db_node"]:
            first = settings["api_address"]
        if vip:
            internal = f"http://{_host_for_url(vip)}:{settings['api_port']}"
        elif first:
            internal = f"http://{_host_for_url(first)}:{settings['listen_port']}"
    public = str(flags["glance_public_endpoint"] or "")
    if not public:
        external = str(flags["kolla_external_vip_address"] or "")
        public = (f"http://{_host_for_url(external)}:{settings['api_port']}" if external
                  else internal)
    return {"internal": internal, "public": public}


def _url_error(key, url, fix):
    parsed = urllib.parse.urlparse(url)
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme in ("http", "https") and parsed.hostname and port_ok:
        return None
    if not url:
        return f"glance:{key} is empty and cannot be derived — {fix}"
    return (f"glance:{key} is {url!r}, which is not an http(s) URL — set it like "
            "http://10.0.0.10:9292")


def registration(settings):
    """
    The registration this minion performs, from glance_config.settings() output;
    what glance/precheck and glance/register render. Pure.

    Returns a dict with
    ``enabled`` (keystone on, registration on, this is the database node),
    ``errors`` (pillar values the registration cannot use), ``auth`` (the admin login, kolla's
    openstack_auth), ``region``, ``endpoints``, ``user``, ``password`` and the
    fixed service / project / role names.
    """
    flags = settings["flags"]
    register, errors = flags["glance_keystone_register"], []  # coerced by glance_config
    enabled = bool(flags["enable_keystone"] and register and settings["am_i_db_node"])
    out = {
        "enabled": enabled,
        "errors": errors,
        "auth": {
            "auth_url": str(flags["keystone_internal_url"] or ""),
            "username": str(flags["keystone_admin_user"] or ""),
            "password": str(flags["keystone_admin_password"] or ""),
            "project_name": str(flags["keystone_admin_project"] or ""),
            "user_domain_id": DOMAIN,
            "project_domain_id": DOMAIN,
        },
        "region": str(flags["openstack_region_name"] or ""),
        "service": SERVICE_NAME,
        "service_type": SERVICE_TYPE,
        "description": SERVICE_DESCRIPTION,
        "endpoints": endpoint_urls(settings),
        "user": str(flags["glance_keystone_user"] or ""),
        "password": str(flags["glance_keystone_password"] or ""),
        "project": PROJECT,
        "role": ROLE,
        "domain": DOMAIN,
    }
    if not enabled:
        return out
    why = ("enable_keystone is on and this minion (the database node) registers Glance "
           "in Keystone")
    for key, value in (("keystone_admin_password", out["auth"]["password"]),
                       ("keystone_admin_user", out["auth"]["username"]),
                       ("keystone_admin_project", out["auth"]["project_name"]),
                       ("openstack_region_name", out["region"]),
                       ("glance_keystone_user", out["user"])):
        if not value:
            errors.append(
                f"glance:{key} is empty but {why} — set it (kolla keeps it in "
                f"{'passwords.yml' if 'password' in key else 'globals.yml'}), or set "
                "glance_keystone_register: false and register Glance yourself"
            )
    for interface, key, fix in (
        ("internal", "glance_internal_endpoint",
         "set kolla_internal_vip_address or glance_internal_endpoint"),
        ("public", "glance_public_endpoint",
         "set kolla_external_vip_address or glance_public_endpoint"),
    ):
        error = _url_error(key, out["endpoints"][interface], fix)
        if error:
            errors.append(error)
    return out


# ---------------------------------------------------------------- what to do (pure)


def diff(existing, want):
    """
    Actions that bring Keystone from ``existing`` (see :func:`lookup`) to ``want``.

    Pure. Each action is a dict with ``op`` and what it needs besides the
    password; the order is the order they run in (a new service before its
    endpoints, project, role and user before the role assignment).
    """
    actions = []
    if not existing["region"]:
        actions.append({"op": "create_region", "region": want["region"]})
    service = existing["service"]
    if service is None:
        actions.append({"op": "create_service"})
    else:
        old, new = {}, {}
        if service["description"] != want["description"]:
            old["description"], new["description"] = service["description"], want["description"]
        if not service["enabled"]:
            old["enabled"], new["enabled"] = False, True
        if new:
            actions.append({"op": "update_service", "id": service["id"], "old": old, "new": new})
    for interface in INTERFACES:
        url = want["endpoints"][interface]
        # the one already at the right URL is kept; further ones are duplicates
        found = sorted((e for e in existing["endpoints"] if e["interface"] == interface),
                       key=lambda e: (e["url"] != url, not e["enabled"], e["id"]))
        if not found:
            actions.append({"op": "create_endpoint", "interface": interface, "url": url})
            continue
        keep, extra = found[0], found[1:]
        if keep["url"] != url or not keep["enabled"]:
            actions.append({"op": "update_endpoint", "interface": interface, "id": keep["id"],
                            "old": keep["url"], "url": url})
        actions.extend({"op": "delete_endpoint", "interface": interface, "id": e["id"],
                        "url": e["url"]} for e in extra)
    if existing["project"] is None:
        actions.append({"op": "create_project"})
    if existing["role"] is None:
        actions.append({"op": "create_role"})
    user = existing["user"]
    if user is None:
        actions.append({"op": "create_user"})
    else:
        fields = []
        if not user["enabled"]:
            # a disabled user cannot prove its password: set it along with enabling
            fields = ["enabled", "password"]
        elif not user["password_ok"]:
            fields = ["password"]
        if fields:
            actions.append({"op": "update_user", "id": user["id"], "fields": fields})
    if not existing["has_role"]:
        actions.append({"op": "grant_role"})
    return actions


def describe(action, want):
    """Pure: (changes key, old, new) for one action; never the password."""
    op = action["op"]
    if op == "create_region":
        return "region", None, action["region"]
    if op == "create_service":
        return "service", None, f"{want['service']} ({want['service_type']})"
    if op == "update_service":
        return "service", action["old"], action["new"]
    if op in ("create_endpoint", "update_endpoint"):
        return f"endpoint {action['interface']}", action.get("old"), action["url"]
    if op == "delete_endpoint":
        return f"endpoint {action['interface']} {action['id']} (duplicate)", action["url"], None
    if op == "create_project":
        return "project", None, want["project"]
    if op == "create_role":
        return "role", None, want["role"]
    if op == "create_user":
        return "user", None, want["user"]
    if op == "update_user":
        old = {"password": "does not authenticate"}
        new = {"password": "updated"}
        if "enabled" in action["fields"]:
            old, new = {"enabled": False, "password": "unknown"}, {"enabled": True,
                                                                   "password": "updated"}
        return "user", old, new
    if op == "grant_role":
        return "role assignment", None, (
            f"{want['user']} has {want['role']} on project {want['project']}")
    raise ValueError(f"unknown action {op!r}")


def token_matches(role_names, catalog, want):
    """
    Pure: does a project-scoped token of the service user show the whole
    registration? ``role_names`` and ``catalog`` (Keystone's token catalog: the
    enabled services with their enabled endpoints) of a login as ``want["user"]``
    in ``want["project"]``. True when the user holds ``want["role"]`` there and
    the catalog has exactly one ``want["service"]`` of ``want["service_type"]``
    with exactly one endpoint per interface in the region, at the wanted URL.
    """
    if want["role"] not in (role_names or ()):
        return False
    services = [s for s in catalog or () if s.get("type") == want["service_type"]
                and s.get("name") == want["service"]]
    if len(services) != 1:
        return False
    for interface in INTERFACES:
        urls = [e.get("url") for e in services[0].get("endpoints", ())
                if e.get("interface") == interface
                and want["region"] in (e.get("region_id"), e.get("region"))]
        if urls != [want["endpoints"][interface]]:
            return False
    return True


def _service_login(want, timeout):
    """
    The service user's project-scoped token: it shows the password, the project
    role, the service and both endpoints at once. ``{"status": "ok", "roles":
    [...], "catalog": [...]}``, or the failure as :func:`check` reports it
    (``credentials`` for a refused login).

    A token from an earlier run (kept 0600 in the minion's cache directory, named
    by a hash of the URL, user, password and project) is validated instead when it
    has time left: Keystone re-reads the roles and the catalog for it, and revokes
    it when the password changes, so the answer is as current as a new login's
    without the bcrypt check a login costs on Keystone's side.
    """
    cached = _read_token(want)
    if cached is not None and token_usable(cached, time.time()):
        shown = _validate_token(_session_lib(), want, cached["token"], timeout)
        if shown is not None:
            return shown
    _drop_token(want)
    libs = _auth_libs()
    auth = libs.generic.Password(
        auth_url=want["auth"]["auth_url"], username=want["user"], password=want["password"],
        user_domain_id=want["domain"], project_name=want["project"],
        project_domain_id=want["domain"])
    try:
        access = auth.get_access(libs.session.Session(timeout=timeout))
    except Exception as exc:  # pylint: disable=broad-except — no secret may escape
        return _failure(exc, [want["auth"].get("password"), want["password"]])
    if access.expires is not None:
        _write_token(want, {"token": access.auth_token,
                            "expires": access.expires.timestamp()})
    return {"status": "ok", "roles": list(access.role_names),
            "catalog": access.service_catalog.catalog}


# a cached token this close to its expiry is not used (a run can take minutes)
TOKEN_MARGIN = 300


def token_usable(cached, now, margin=TOKEN_MARGIN):
    """Pure: is a cached ``{"token", "expires"}`` (epoch seconds) worth validating?"""
    try:
        return bool(cached["token"]) and float(cached["expires"]) - now > margin
    except (KeyError, TypeError, ValueError):
        return False


def identity_v3_url(auth_url):
    """Pure: the Identity v3 root under ``auth_url`` (given with or without ``/v3``)."""
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def shown_by_token(body):
    """Pure: roles and catalog of a token-validation body (``GET /v3/auth/tokens``)."""
    token = body.get("token") or {}
    return {"status": "ok", "roles": [r.get("name") for r in token.get("roles") or ()],
            "catalog": token.get("catalog") or []}


def _validate_token(libs, want, token, timeout):
    """The cached token's roles and catalog, or None (expired, revoked, no answer)."""
    try:
        response = libs.session.Session(timeout=timeout).get(
            identity_v3_url(want["auth"]["auth_url"]) + "/auth/tokens",
            headers={"X-Auth-Token": token, "X-Subject-Token": token}, raise_exc=False)
        if response.status_code != 200:
            return None
        return shown_by_token(response.json())
    except Exception:  # pylint: disable=broad-except — a new login says what is wrong
        return None


def _token_path(want):
    """Where the service user's token is kept, or None outside a minion (no cachedir)."""
    cachedir = (globals().get("__opts__") or {}).get("cachedir")
    if not cachedir:
        return None
    return os.path.join(cachedir, "glance_keystone", f"login-{_login_key(want)}.json")


def _read_token(want):
    path = _token_path(want)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _write_token(want, cached):
    path = _token_path(want)
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(cached, handle)
        os.replace(path + ".tmp", path)
    except OSError:
        pass  # no cache: the next run logs in again


def _drop_token(want):
    path = _token_path(want)
    if path is None:
        return
    try:
        os.remove(path)
    except OSError:
        pass


def _login_key(want):
    # what the login depends on, hashed: no password as a readable key
    fields = [want["auth"]["auth_url"], want["user"], want["password"], want["project"],
              want["domain"]]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def service_login(want, timeout=30):
    """
    The service user's login (:func:`_service_login`), done once per run: the
    precheck's answer is kept in ``__context__`` (one ``state.apply``) and the
    registration reads it instead of logging in again (a bcrypt check on
    Keystone's side each time). :func:`ensure` forgets it once it changed Keystone.
    """
    memo = __context__.setdefault("glance_keystone.service_login", {})  # noqa: F821
    key = _login_key(want)
    if key not in memo:
        memo[key] = _service_login(want, timeout)
    return memo[key]


def _forget_service_login(want):
    __context__.get("glance_keystone.service_login", {}).pop(  # noqa: F821
        _login_key(want), None)
    _drop_token(want)


def proven(login, want):
    """
    Pure: does the service user's login (:func:`service_login`'s answer) show the
    whole registration — nothing for :func:`ensure` to do? Any doubt (a refused
    login, an error, a difference) means no: look properly.
    """
    return login["status"] == "ok" and token_matches(login["roles"], login["catalog"], want)


def precheck_plan(login, want):
    """
    Pure: what the Keystone precheck does after the service user's login.

    ``registered``: the token shows the registration as wanted, so nothing in
    Keystone will change this run and the admin login is not needed (it is not
    tried, so a wrong admin password shows on the next run that changes Keystone).
    ``unreachable``: Keystone did not answer at the URL both logins use; fail now.
    ``admin``: the registration will change something, or the login said nothing
    about it: the admin login must work before anything changes.
    """
    if proven(login, want):
        return "registered"
    if login["status"] == "unreachable":
        return "unreachable"
    return "admin"


def changes(actions, want):
    """Pure: Salt's changes dict for ``actions``."""
    out = {}
    for action in actions:
        key, old, new = describe(action, want)
        out[key] = {"old": old, "new": new}
    return out


def scrub(text, secrets):
    """``text`` with every non-empty secret replaced by stars."""
    text = str(text)
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def classify(exc):
    """
    What went wrong talking to Keystone: ``unreachable``, ``credentials`` (401),
    ``forbidden`` (403) or ``error``.
    """
    if HAS_SDK:
        libs = _libs()
        ks_exc = libs.ks_exc
        if isinstance(exc, (ks_exc.ConnectionError, ks_exc.DiscoveryFailure)):
            return "unreachable"
        if isinstance(exc, ks_exc.Unauthorized):
            return "credentials"
        if isinstance(exc, (ks_exc.Forbidden, libs.openstack.exceptions.ForbiddenException)):
            return "forbidden"
        if getattr(exc, "status_code", None) == 401:
            return "credentials"
    return "error"


# ---------------------------------------------------------------- talking to Keystone


def _connect(auth, timeout):
    # kolla's modules talk to the internal identity endpoint from the catalog. No
    # region: a Keystone shared by several regions lists its own endpoints in one
    # of them only, which need not be the region Glance registers in.
    return _libs().openstack.connection.Connection(
        auth=dict(auth), auth_type="password", interface="internal", api_timeout=timeout)


def _password_works(auth_url, user, password, domain, timeout):
    """True when ``user`` can log in with ``password`` (an unscoped token)."""
    conn = _connect({"auth_url": auth_url, "username": user, "password": password,
                     "user_domain_id": domain}, timeout)
    try:
        conn.session.get_token()
    except _libs().ks_exc.Unauthorized:
        return False
    finally:
        conn.close()
    return True


def lookup(conn, want, password_works):
    """
    What Keystone holds for ``want`` (read-only); the input of :func:`diff`.

    ``password_works(user_name)`` says whether the wanted password logs in.
    """
    identity = conn.identity
    services = [s for s in identity.services(type=want["service_type"])
                if s.name == want["service"]]
    service = services[0] if services else None
    endpoints = []
    if service is not None:
        endpoints = [
            {"id": e.id, "interface": e.interface, "url": e.url, "enabled": e.is_enabled}
            for e in identity.endpoints(service_id=service.id, region_id=want["region"])
            if e.interface in INTERFACES
        ]
    project = identity.find_project(want["project"], domain_id=want["domain"])
    role = identity.find_role(want["role"])
    user = identity.find_user(want["user"], domain_id=want["domain"])
    has_role = bool(project and role and user) and bool(
        identity.validate_user_has_project_role(project, user, role))
    return {
        "region": identity.find_region(want["region"]) is not None,
        "service": None if service is None else {
            "id": service.id, "description": service.description,
            "enabled": service.is_enabled},
        "endpoints": endpoints,
        "project": None if project is None else {"id": project.id},
        "role": None if role is None else {"id": role.id},
        "user": None if user is None else {
            "id": user.id, "enabled": user.is_enabled,
            "password_ok": bool(user.is_enabled) and password_works(want["user"])},
        "has_role": has_role,
    }


def execute(conn, want, existing, actions, done):
    """Run ``actions`` in order; each finished one is appended to ``done``."""
    identity = conn.identity
    ids = {
        "service": (existing["service"] or {}).get("id"),
        "project": (existing["project"] or {}).get("id"),
        "role": (existing["role"] or {}).get("id"),
        "user": (existing["user"] or {}).get("id"),
    }
    for action in actions:
        op = action["op"]
        if op == "create_region":
            identity.create_region(id=want["region"])
        elif op == "create_service":
            ids["service"] = identity.create_service(
                name=want["service"], type=want["service_type"],
                description=want["description"], is_enabled=True).id
        elif op == "update_service":
            fields = dict(action["new"])
            if "enabled" in fields:
                fields["is_enabled"] = fields.pop("enabled")
            identity.update_service(action["id"], **fields)
        elif op == "create_endpoint":
            identity.create_endpoint(service_id=ids["service"], interface=action["interface"],
                                     url=action["url"], region_id=want["region"],
                                     is_enabled=True)
        elif op == "update_endpoint":
            identity.update_endpoint(action["id"], url=action["url"], is_enabled=True)
        elif op == "delete_endpoint":
            identity.delete_endpoint(action["id"])
        elif op == "create_project":
            ids["project"] = identity.create_project(
                name=want["project"], domain_id=want["domain"], is_enabled=True,
                description="Service project").id
        elif op == "create_role":
            ids["role"] = identity.create_role(name=want["role"]).id
        elif op == "create_user":
            ids["user"] = identity.create_user(
                name=want["user"], password=want["password"], domain_id=want["domain"],
                is_enabled=True).id
        elif op == "update_user":
            fields = {"password": want["password"]}
            if "enabled" in action["fields"]:
                fields["is_enabled"] = True
            identity.update_user(ids["user"], **fields)
        elif op == "grant_role":
            identity.assign_project_role_to_user(ids["project"], ids["user"], ids["role"])
        else:
            raise ValueError(f"unknown action {op!r}")
        done.append(action)


def _failure(exc, secrets, **extra):
    out = {"status": classify(exc), "detail": scrub(exc, secrets)}
    out.update(extra)
    return out


def check(auth, timeout=10):
    """
    Can the admin login reach Keystone and read the catalog? Changes nothing.

    Returns ``{"status": "ok" | "unreachable" | "credentials" | "forbidden" |
    "error", "detail": <message, secrets replaced by stars>}``.

    CLI Example::

        salt ctl1 glance_keystone.check '{auth_url: http://10.0.0.10:5000, username: admin,
            password: ..., project_name: admin, user_domain_id: default,
            project_domain_id: default}'
    """
    secrets = [auth.get("password")]
    libs = _auth_libs()
    try:
        session = libs.session.Session(auth=libs.generic.Password(**auth), timeout=timeout)
        # the same path registration takes: the internal identity endpoint (v3, found by
        # discovery), admin rights to read the services. keystoneauth1 alone: openstacksdk's
        # import (0.5 s) is left to the runs that change something
        session.get("/services", params={"type": SERVICE_TYPE}, endpoint_filter={
            "service_type": "identity", "interface": "internal", "min_version": "3.0"})
    except Exception as exc:  # pylint: disable=broad-except — no secret may escape
        return _failure(exc, secrets)
    return {"status": "ok", "detail": ""}


def ensure(want, test=False, timeout=30):
    """
    Bring Keystone to ``want`` (:func:`registration`'s dict); with ``test`` only plan.

    Returns ``{"status", "detail", "actions", "done", "changes"}``: ``actions``
    planned, ``done`` carried out (a failure part-way leaves the rest undone),
    ``changes`` of ``done`` (of ``actions`` in test mode). No password in any of it.
    """
    secrets = [want["auth"].get("password"), want["password"]]
    actions, done = [], []
    if proven(service_login(want, timeout), want):
        return {"status": "ok", "detail": "", "actions": [], "done": [], "changes": {}}
    try:
        conn = _connect(want["auth"], timeout)
        try:
            existing = lookup(conn, want, lambda user: _password_works(
                want["auth"]["auth_url"], user, want["password"], want["domain"], timeout))
            actions = diff(existing, want)
            if not test:
                execute(conn, want, existing, actions, done)
        finally:
            conn.close()
    except Exception as exc:  # pylint: disable=broad-except — no secret may escape
        return _failure(exc, secrets, actions=actions, done=done,
                        changes=changes(done, want))
    finally:
        if done:
            _forget_service_login(want)
    return {"status": "ok", "detail": "", "actions": actions, "done": done,
            "changes": changes(actions if test else done, want)}


def remove(want, test=False, timeout=30):
    """
    Delete Glance's endpoints in ``want["region"]``; then, when no other region has
    Glance endpoints left, the service and the user. The service project and the
    admin role stay (other services share them).

    Returns like :func:`ensure`; ``changes`` lists what was (would be) removed and
    ``kept`` why the service and user stay.
    """
    secrets = [want["auth"].get("password"), want["password"]]
    removed, kept = {}, ""
    try:
        conn = _connect(want["auth"], timeout)
        try:
            identity = conn.identity
            services = [s for s in identity.services(type=want["service_type"])
                        if s.name == want["service"]]
            elsewhere = set()
            for service in services:
                for endpoint in identity.endpoints(service_id=service.id):
                    if endpoint.region_id != want["region"]:
                        elsewhere.add(endpoint.region_id)
                        continue
                    if not test:
                        identity.delete_endpoint(endpoint)
                    removed[f"endpoint {endpoint.interface}"] = {"old": endpoint.url,
                                                                 "new": None}
            if elsewhere:
                kept = (f"{want['service']} and user {want['user']!r} stay: region(s) "
                        f"{', '.join(sorted(elsewhere))} still have Glance endpoints")
                services = []
            for service in services:
                if not test:
                    identity.delete_service(service)
                removed["service"] = {"old": f"{service.name} ({service.type})", "new": None}
            user = None if elsewhere else identity.find_user(want["user"],
                                                             domain_id=want["domain"])
            if user is not None:
                if not test:
                    identity.delete_user(user)
                removed["user"] = {"old": want["user"], "new": None}
        finally:
            conn.close()
    except Exception as exc:  # pylint: disable=broad-except — no secret may escape
        return _failure(exc, secrets, changes=removed, kept=kept)
    return {"status": "ok", "detail": "", "changes": removed, "kept": kept}
