"""Keystone registration (kolla's service-ks-register): what is wanted, what to do, and
the states' every branch — without Salt or a network (an in-memory Keystone stands in
for openstacksdk's identity proxy, with the proxy's real signatures)."""

import itertools
import logging
import pathlib
import socket
import types
from unittest import mock

import pytest
import yaml
from keystoneauth1 import exceptions as ks_exc
from openstack.identity.v3._proxy import Proxy

import glance_config
from salt_module_loader import load

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())
ADMIN_PW = "admin-very-secret"
GLANCE_PW = "glance-very-secret"


ks = load("glance_keystone", "modules")
state = load("glance_keystone", "states")


def settings(minion="ctl1", **glance):
    pillar = {
        "glance_api_hosts": [{"id": "ctl1", "address": "10.0.0.11"},
                             {"id": "ctl2", "address": "10.0.0.12"}],
        "glance_file_datadir_volume": "/srv/nfs/glance",
        "glance_database_password": "db",
        "keystone_internal_url": "http://10.0.0.10:5000",
        "glance_keystone_password": GLANCE_PW,
        "keystone_admin_password": ADMIN_PW,
    }
    pillar.update(glance)
    return glance_config.settings(DEFAULTS, pillar, minion)


# ---------------------------------------------------------------- what is wanted


def test_internal_and_public_endpoints_are_the_vip_at_the_api_port():
    want = ks.registration(settings(kolla_internal_vip_address="10.0.0.10",
                                    glance_api_listen_port=9393))
    assert want["endpoints"] == {"internal": "http://10.0.0.10:9292",
                                 "public": "http://10.0.0.10:9292"}


def test_without_a_vip_the_endpoint_is_the_first_api_host_at_its_listen_port():
    want = ks.registration(settings(glance_api_listen_port=9393))
    assert want["endpoints"]["internal"] == "http://10.0.0.11:9393"
    assert want["endpoints"]["public"] == "http://10.0.0.11:9393"


def test_external_vip_gives_the_public_endpoint():
    want = ks.registration(settings(kolla_internal_vip_address="10.0.0.10",
                                    kolla_external_vip_address="203.0.113.5"))
    assert want["endpoints"] == {"internal": "http://10.0.0.10:9292",
                                 "public": "http://203.0.113.5:9292"}


def test_explicit_endpoints_win_and_public_falls_back_to_internal():
    want = ks.registration(settings(glance_internal_endpoint="https://glance.int:9292",
                                    kolla_internal_vip_address="10.0.0.10"))
    assert want["endpoints"] == {"internal": "https://glance.int:9292",
                                 "public": "https://glance.int:9292"}
    want = ks.registration(settings(glance_public_endpoint="https://images.example.com"))
    assert want["endpoints"]["public"] == "https://images.example.com"


def test_ipv6_addresses_are_bracketed():
    want = ks.registration(settings(kolla_internal_vip_address="fd00::10"))
    assert want["endpoints"]["internal"] == "http://[fd00::10]:9292"


def test_only_the_database_node_registers():
    assert ks.registration(settings("ctl1"))["enabled"] is True
    second = ks.registration(settings("ctl2"))
    assert second["enabled"] is False and second["errors"] == []


def test_nothing_registers_without_keystone_or_with_registration_off():
    assert ks.registration(settings(enable_keystone="no"))["enabled"] is False
    off = ks.registration(settings(glance_keystone_register=False,
                                   keystone_admin_password=""))
    assert off["enabled"] is False and off["errors"] == []


def test_registration_uses_kollas_names_and_admin_login():
    want = ks.registration(settings(keystone_admin_user="cloud-admin",
                                    keystone_admin_project="ops",
                                    openstack_region_name="RegionTwo"))
    assert want["auth"] == {"auth_url": "http://10.0.0.10:5000", "username": "cloud-admin",
                            "password": ADMIN_PW, "project_name": "ops",
                            "user_domain_id": "default", "project_domain_id": "default"}
    assert (want["service"], want["service_type"], want["region"]) == (
        "glance", "image", "RegionTwo")
    assert (want["user"], want["password"], want["project"], want["role"]) == (
        "glance", GLANCE_PW, "service", "admin")


def test_missing_admin_password_is_an_error_naming_it():
    want = ks.registration(settings(keystone_admin_password=""))
    assert len(want["errors"]) == 1
    assert want["errors"][0].startswith("glance:keystone_admin_password is empty")
    assert "passwords.yml" in want["errors"][0]


def test_malformed_endpoint_is_an_error_naming_the_key():
    want = ks.registration(settings(glance_public_endpoint="images.example.com:9292"))
    assert want["errors"] == [
        "glance:glance_public_endpoint is 'images.example.com:9292', which is not an "
        "http(s) URL — set it like http://10.0.0.10:9292"]


@pytest.mark.parametrize("word, enabled", [("no", False), ("yes", True), ("off", False)])
def test_the_register_flag_takes_yes_no_words(word, enabled):
    assert ks.registration(settings(glance_keystone_register=word))["enabled"] is enabled


# ---------------------------------------------------------------- what to do (pure diff)

WANT = ks.registration(settings(kolla_internal_vip_address="10.0.0.10",
                                kolla_external_vip_address="203.0.113.5"))
NOTHING = {"region": True, "service": None, "endpoints": [], "project": None, "role": None,
           "user": None, "has_role": False}
DONE = {
    "region": True,
    "service": {"id": "s1", "description": "Openstack Image", "enabled": True},
    "endpoints": [
        {"id": "e1", "interface": "internal", "url": "http://10.0.0.10:9292", "enabled": True},
        {"id": "e2", "interface": "public", "url": "http://203.0.113.5:9292", "enabled": True},
    ],
    "project": {"id": "p1"}, "role": {"id": "r1"},
    "user": {"id": "u1", "enabled": True, "password_ok": True},
    "has_role": True,
}


def with_(base, **changes):
    out = dict(base)
    out.update(changes)
    return out


def ops(actions):
    return [a["op"] for a in actions]


def test_empty_keystone_gets_everything_in_dependency_order():
    actions = ks.diff(NOTHING, WANT)
    assert ops(actions) == ["create_service", "create_endpoint", "create_endpoint",
                            "create_project", "create_role", "create_user", "grant_role"]
    assert {a["interface"]: a["url"] for a in actions if a["op"] == "create_endpoint"} == {
        "internal": "http://10.0.0.10:9292", "public": "http://203.0.113.5:9292"}


def test_fully_registered_needs_nothing():
    assert ks.diff(DONE, WANT) == []


def test_a_missing_region_is_created_first():
    assert ops(ks.diff(with_(DONE, region=False), WANT)) == ["create_region"]


def test_a_changed_url_updates_that_endpoint_in_place():
    moved = with_(DONE, endpoints=[dict(DONE["endpoints"][0], url="http://10.0.0.99:9292"),
                                   DONE["endpoints"][1]])
    assert ks.diff(moved, WANT) == [{"op": "update_endpoint", "interface": "internal",
                                     "id": "e1", "old": "http://10.0.0.99:9292",
                                     "url": "http://10.0.0.10:9292"}]


def test_a_disabled_endpoint_is_enabled():
    off = with_(DONE, endpoints=[DONE["endpoints"][0], dict(DONE["endpoints"][1],
                                                            enabled=False)])
    assert ops(ks.diff(off, WANT)) == ["update_endpoint"]


def test_duplicate_endpoints_keep_the_right_url_and_drop_the_rest():
    dup = with_(DONE, endpoints=DONE["endpoints"] + [
        {"id": "e0", "interface": "public", "url": "http://old:9292", "enabled": True}])
    assert ks.diff(dup, WANT) == [{"op": "delete_endpoint", "interface": "public",
                                   "id": "e0", "url": "http://old:9292"}]


def test_a_password_that_does_not_log_in_is_set_again():
    stale = with_(DONE, user={"id": "u1", "enabled": True, "password_ok": False})
    assert ks.diff(stale, WANT) == [{"op": "update_user", "id": "u1", "fields": ["password"]}]


def test_a_disabled_user_is_enabled_with_its_password():
    off = with_(DONE, user={"id": "u1", "enabled": False, "password_ok": False})
    assert ks.diff(off, WANT)[0]["fields"] == ["enabled", "password"]


def test_a_missing_service_project_is_created_and_the_role_granted_in_it():
    assert ops(ks.diff(with_(DONE, project=None, has_role=False), WANT)) == [
        "create_project", "grant_role"]


def test_a_missing_role_assignment_is_granted():
    assert ops(ks.diff(with_(DONE, has_role=False), WANT)) == ["grant_role"]


def test_changed_service_description_and_enabled_are_updated():
    service = {"id": "s1", "description": "images", "enabled": False}
    assert ks.diff(with_(DONE, service=service), WANT) == [{
        "op": "update_service", "id": "s1",
        "old": {"description": "images", "enabled": False},
        "new": {"description": "Openstack Image", "enabled": True}}]


def test_changes_name_what_changed_but_never_a_password():
    actions = ks.diff(with_(NOTHING, region=False), WANT) + [
        {"op": "update_user", "id": "u1", "fields": ["password"]}]
    got = ks.changes(actions, WANT)
    assert got["endpoint internal"] == {"old": None, "new": "http://10.0.0.10:9292"}
    assert got["user"] == {"old": {"password": "does not authenticate"},
                           "new": {"password": "updated"}}
    assert GLANCE_PW not in repr(got) and ADMIN_PW not in repr(got)
    assert GLANCE_PW not in repr(actions)


def test_scrub_replaces_every_secret():
    text = f"login {ADMIN_PW} failed; {GLANCE_PW}{ADMIN_PW}"
    assert ks.scrub(text, [ADMIN_PW, GLANCE_PW, ""]) == "login ******** failed; ****************"


@pytest.mark.parametrize("exc, status", [
    (ks_exc.ConnectFailure("refused"), "unreachable"),
    (ks_exc.ConnectTimeout("slow"), "unreachable"),
    (ks_exc.DiscoveryFailure("no versions"), "unreachable"),
    (ks_exc.Unauthorized("401"), "credentials"),
    (ks_exc.Forbidden("403"), "forbidden"),
    (ValueError("boom"), "error"),
])
def test_classify(exc, status):
    assert ks.classify(exc) == status


# ---------------------------------------------------------------- an in-memory Keystone


class FakeKeystone:
    """Keystone's identity data behind a Mock(spec=Proxy) whose methods act on it."""

    def __init__(self):
        self.ids = (f"id{n}" for n in itertools.count())
        self.regions = {"RegionOne"}
        self.service_rows, self.endpoint_rows, self.user_rows = {}, {}, {}
        self.projects = {"admin": self.obj(name="admin")}
        self.roles = {"admin": self.obj(name="admin")}
        self.passwords, self.grants = {}, set()
        self.proxy = mock.create_autospec(Proxy, instance=True)
        for name in ("services", "endpoints", "find_region", "create_region", "create_service",
                     "update_service", "delete_service", "create_endpoint", "update_endpoint",
                     "delete_endpoint", "find_project", "create_project", "find_role",
                     "create_role", "find_user", "create_user", "update_user", "delete_user",
                     "validate_user_has_project_role", "assign_project_role_to_user"):
            getattr(self.proxy, name).side_effect = getattr(self, name)

    def obj(self, **attrs):
        return types.SimpleNamespace(id=next(self.ids), **attrs)

    @staticmethod
    def key(thing):
        return getattr(thing, "id", thing)

    def services(self, type=None):  # noqa: A002 — the SDK's name
        return [s for s in self.service_rows.values() if type in (None, s.type)]

    def endpoints(self, service_id=None, region_id=None):
        return [e for e in self.endpoint_rows.values()
                if service_id in (None, e.service_id) and region_id in (None, e.region_id)]

    def find_region(self, name):
        return self.obj(name=name) if name in self.regions else None

    def create_region(self, id):  # noqa: A002
        self.regions.add(id)

    def create_service(self, name, type, description, is_enabled):  # noqa: A002
        service = self.obj(name=name, type=type, description=description, is_enabled=is_enabled)
        self.service_rows[service.id] = service
        return service

    def update_service(self, service, **attrs):
        vars(self.service_rows[self.key(service)]).update(attrs)

    def delete_service(self, service):
        del self.service_rows[self.key(service)]

    def create_endpoint(self, service_id, interface, url, region_id, is_enabled):
        endpoint = self.obj(service_id=service_id, interface=interface, url=url,
                            region_id=region_id, is_enabled=is_enabled)
        self.endpoint_rows[endpoint.id] = endpoint
        return endpoint

    def update_endpoint(self, endpoint, **attrs):
        vars(self.endpoint_rows[self.key(endpoint)]).update(attrs)

    def delete_endpoint(self, endpoint):
        del self.endpoint_rows[self.key(endpoint)]

    def find_project(self, name, domain_id=None):
        return self.projects.get(name)

    def create_project(self, name, domain_id, is_enabled, description):
        self.projects[name] = self.obj(name=name)
        return self.projects[name]

    def find_role(self, name):
        return self.roles.get(name)

    def create_role(self, name):
        self.roles[name] = self.obj(name=name)
        return self.roles[name]

    def find_user(self, name, domain_id=None):
        return self.user_rows.get(name)

    def user_by_id(self, user_id):
        return next(u for u in self.user_rows.values() if u.id == user_id)

    def create_user(self, name, password, domain_id, is_enabled):
        self.user_rows[name] = self.obj(name=name, is_enabled=is_enabled)
        self.passwords[name] = password
        return self.user_rows[name]

    def update_user(self, user, password=None, is_enabled=None):
        found = self.user_by_id(self.key(user))
        if password is not None:
            self.passwords[found.name] = password
        if is_enabled is not None:
            found.is_enabled = is_enabled

    def delete_user(self, user):
        del self.user_rows[self.user_by_id(self.key(user)).name]

    def validate_user_has_project_role(self, project, user, role):
        return (self.key(project), self.key(user), self.key(role)) in self.grants

    def assign_project_role_to_user(self, project, user, role):
        self.grants.add((self.key(project), self.key(user), self.key(role)))

    def urls(self):
        return {e.interface: e.url for e in self.endpoint_rows.values()}

    def login(self, want):
        """What a project-scoped login of want's user shows: roles, catalog (enabled only)."""
        user = self.user_rows.get(want["user"])
        if user is None or not user.is_enabled or self.passwords.get(user.name) != want["password"]:
            return None
        project = self.projects.get(want["project"])
        roles = [name for name, role in self.roles.items()
                 if project and (project.id, user.id, role.id) in self.grants]
        catalog = [{"type": s.type, "name": s.name, "endpoints": [
            {"interface": e.interface, "url": e.url, "region_id": e.region_id}
            for e in self.endpoint_rows.values() if e.service_id == s.id and e.is_enabled]}
            for s in self.service_rows.values() if s.is_enabled]
        return roles, catalog


@pytest.fixture
def keystone(monkeypatch):
    """The module talks to a FakeKeystone; the state calls the module through autospecs."""
    fake = FakeKeystone()
    conn = types.SimpleNamespace(identity=fake.proxy, close=lambda: None)
    monkeypatch.setattr(ks, "_connect", mock.create_autospec(ks._connect, return_value=conn))
    fake.logins = 0

    fake.admin_password = ADMIN_PW

    def service_login(want, timeout):
        fake.logins += 1
        shown = fake.login(want)
        if shown is None:
            return {"status": "credentials", "detail": "HTTP 401"}
        return {"status": "ok", "roles": shown[0], "catalog": shown[1]}

    def check(auth, timeout=10):
        fake.admin_logins += 1
        if auth["password"] != fake.admin_password:
            return {"status": "credentials", "detail": "HTTP 401"}
        return {"status": "ok", "detail": ""}
    fake.admin_logins = 0
    monkeypatch.setattr(ks, "_service_login", mock.create_autospec(
        ks._service_login, side_effect=service_login))
    # one state.apply: the precheck and the registration share one __context__
    monkeypatch.setattr(ks, "__context__", {}, raising=False)
    monkeypatch.setattr(ks, "_password_works", mock.create_autospec(
        ks._password_works,
        side_effect=lambda url, user, password, *_: fake.passwords.get(user) == password))
    salt = {f"glance_keystone.{name}": mock.create_autospec(getattr(ks, name),
                                                            side_effect=getattr(ks, name))
            for name in ("ensure", "remove", "service_login", "precheck_plan")}
    salt["glance_keystone.check"] = mock.create_autospec(ks.check, side_effect=check)
    monkeypatch.setattr(state, "__salt__", salt, raising=False)
    monkeypatch.setattr(state, "__opts__", {"test": False}, raising=False)
    return fake


def register(**overrides):
    kwargs = {"name": "glance", "auth": WANT["auth"], "endpoints": WANT["endpoints"],
              "password": GLANCE_PW, "region": "RegionOne"}
    kwargs.update(overrides)
    return state.registered(**kwargs)


def no_secret(ret):
    return ADMIN_PW not in repr(ret) and GLANCE_PW not in repr(ret)


def test_first_apply_registers_everything(keystone):
    ret = register()
    assert ret["result"] is True and no_secret(ret)
    assert sorted(ret["changes"]) == ["endpoint internal", "endpoint public", "project",
                                      "role assignment", "service", "user"]
    assert keystone.urls() == {"internal": "http://10.0.0.10:9292",
                               "public": "http://203.0.113.5:9292"}
    (service,) = keystone.service_rows.values()
    assert (service.name, service.type) == ("glance", "image")
    assert keystone.passwords == {"glance": GLANCE_PW}
    user, project = keystone.user_rows["glance"], keystone.projects["service"]
    assert (project.id, user.id, keystone.roles["admin"].id) in keystone.grants


def test_second_apply_reports_no_changes(keystone):
    register()
    calls = len(keystone.proxy.mock_calls)
    ret = register()
    assert ret == {"name": "glance", "result": True, "changes": {}, "comment": (
        "glance (image) is registered in Keystone region RegionOne: endpoints, user "
        "'glance' and role 'admin' as wanted")}
    # the re-apply is one login of the service user, no admin lookup at all
    assert keystone.proxy.mock_calls[calls:] == [] and keystone.logins == 2


def test_a_re_apply_after_an_endpoint_was_changed_by_hand_looks_properly(keystone):
    register()
    (internal,) = [e for e in keystone.endpoint_rows.values() if e.interface == "internal"]
    internal.url = "http://10.9.9.9:9292"
    ret = register()
    assert ret["changes"] == {"endpoint internal": {"old": "http://10.9.9.9:9292",
                                                    "new": "http://10.0.0.10:9292"}}


TOKEN_CATALOG = [{"type": "image", "name": "glance", "endpoints": [
    {"interface": "internal", "url": WANT["endpoints"]["internal"], "region_id": "RegionOne"},
    {"interface": "public", "url": WANT["endpoints"]["public"], "region_id": "RegionOne"},
    {"interface": "internal", "url": "http://10.1.1.1:9292", "region_id": "RegionTwo"},
]}, {"type": "identity", "name": "keystone", "endpoints": []}]


def test_a_token_with_the_role_and_both_endpoints_matches():
    assert ks.token_matches(["admin", "member"], TOKEN_CATALOG, WANT) is True


@pytest.mark.parametrize("roles, catalog", [
    (["member"], TOKEN_CATALOG),                                   # role not granted
    (["admin"], TOKEN_CATALOG[1:]),                                # service missing
    (["admin"], TOKEN_CATALOG[:1] * 2),                            # two glance services
    (["admin"], [dict(TOKEN_CATALOG[0], endpoints=TOKEN_CATALOG[0]["endpoints"][1:])]),
    (["admin"], [dict(TOKEN_CATALOG[0], endpoints=TOKEN_CATALOG[0]["endpoints"] * 2)]),
    (["admin"], [dict(TOKEN_CATALOG[0], endpoints=[
        dict(e, url="http://10.0.0.99:9292") for e in TOKEN_CATALOG[0]["endpoints"]])]),
])
def test_a_token_that_misses_any_part_does_not_match(roles, catalog):
    assert ks.token_matches(roles, catalog, WANT) is False


def precheck(**overrides):
    return state.reachable("http://10.0.0.10:5000", overrides.pop("auth", WANT["auth"]),
                           registration=dict(WANT, **overrides))


def test_a_no_op_run_logs_in_once_as_the_service_user_and_never_as_admin(keystone):
    register()
    keystone.logins = 0
    ret = precheck()
    assert ret["result"] is True and "admin login was not needed" in ret["comment"]
    assert register()["changes"] == {}
    assert (keystone.logins, keystone.admin_logins) == (1, 0)


def test_a_no_op_run_does_not_need_the_admin_password(keystone):
    register()
    keystone.admin_password = "rotated-elsewhere"
    assert precheck()["result"] is True
    assert register()["changes"] == {}


@pytest.mark.parametrize("drift", ["endpoint", "password", "user", "role"])
def test_any_drift_makes_the_precheck_log_in_as_admin_and_the_run_fixes_it(keystone, drift):
    register()
    if drift == "endpoint":
        next(e for e in keystone.endpoint_rows.values() if e.interface == "public").url = (
            "http://10.9.9.9:9292")
    elif drift == "password":
        keystone.passwords["glance"] = "changed-by-hand"
    elif drift == "user":
        keystone.delete_user(keystone.user_rows["glance"])
    else:
        keystone.grants.clear()
    keystone.logins = 0
    assert precheck()["result"] is True and keystone.admin_logins == 1
    ret = register()
    assert ret["result"] is True and ret["changes"]
    # the registration reused the precheck's login, then a new run sees no drift
    assert keystone.logins == 1
    ks.__context__.clear()
    assert precheck()["comment"].endswith("the admin login was not needed")


def test_drift_with_a_wrong_admin_password_stops_at_the_precheck(keystone):
    register()
    keystone.passwords["glance"] = "changed-by-hand"
    keystone.admin_password = "rotated-elsewhere"
    ret = precheck()
    assert ret["result"] is False and no_secret(ret)
    assert "fix glance:keystone_admin_password" in ret["comment"]
    assert ret["comment"].endswith("nothing was changed")


def test_an_unreachable_keystone_fails_the_precheck_without_a_second_try(keystone):
    state.__salt__["glance_keystone.service_login"].side_effect = lambda want, timeout: {
        "status": "unreachable", "detail": "Connection refused"}
    ret = precheck()
    assert ret["result"] is False and keystone.admin_logins == 0
    assert "check glance:keystone_internal_url (http://10.0.0.10:5000)" in ret["comment"]


def ok_login(roles, catalog):
    return {"status": "ok", "roles": roles, "catalog": catalog}


def test_the_precheck_skips_the_admin_login_only_when_the_token_shows_everything():
    assert ks.precheck_plan(ok_login(["admin"], TOKEN_CATALOG), WANT) == "registered"
    assert ks.proven(ok_login(["admin"], TOKEN_CATALOG), WANT) is True


@pytest.mark.parametrize("login, plan", [
    ({"status": "credentials", "detail": "401"}, "admin"),   # user gone, password changed
    ({"status": "forbidden", "detail": "403"}, "admin"),
    ({"status": "error", "detail": "500"}, "admin"),
    ({"status": "unreachable", "detail": "refused"}, "unreachable"),
    (ok_login(["member"], TOKEN_CATALOG), "admin"),            # role taken away
    (ok_login(["admin"], TOKEN_CATALOG[1:]), "admin"),         # service deleted
    (ok_login(["admin"], [dict(TOKEN_CATALOG[0], endpoints=[  # endpoint moved
        dict(e, url="http://10.0.0.99:9292") for e in TOKEN_CATALOG[0]["endpoints"]])]),
     "admin"),
])
def test_the_precheck_logs_in_as_admin_whenever_the_registration_may_change(login, plan):
    assert ks.precheck_plan(login, WANT) == plan
    assert ks.proven(login, WANT) is False


def test_the_precheck_without_a_registration_is_the_admin_login(keystone):
    assert state.reachable("http://10.0.0.10:5000", WANT["auth"])["result"] is True
    assert (keystone.logins, keystone.admin_logins) == (0, 1)


def test_test_mode_reports_what_would_change_and_changes_nothing(keystone):
    state.__opts__["test"] = True
    ret = register()
    assert ret["result"] is None and "endpoint public" in ret["changes"]
    assert ret["comment"].startswith("would change in Keystone:")
    assert keystone.service_rows == {} and keystone.user_rows == {} and no_secret(ret)


def test_test_mode_on_a_registered_keystone_is_clean(keystone):
    register()
    state.__opts__["test"] = True
    ret = register()
    assert ret["result"] is True and ret["changes"] == {}


def test_changed_endpoint_url_is_updated_in_place(keystone):
    register()
    before = set(keystone.endpoint_rows)
    ret = register(endpoints={"internal": "http://10.0.0.20:9292",
                              "public": "http://203.0.113.5:9292"})
    assert ret["result"] is True
    assert ret["changes"] == {"endpoint internal": {"old": "http://10.0.0.10:9292",
                                                    "new": "http://10.0.0.20:9292"}}
    assert set(keystone.endpoint_rows) == before
    assert keystone.urls()["internal"] == "http://10.0.0.20:9292"


def test_changed_password_is_updated_without_showing_it(keystone):
    register()
    ret = register(password="new-glance-secret")
    assert ret["changes"] == {"user": {"old": {"password": "does not authenticate"},
                                       "new": {"password": "updated"}}}
    assert keystone.passwords["glance"] == "new-glance-secret"
    assert "new-glance-secret" not in repr(ret)
    assert register(password="new-glance-secret")["changes"] == {}


def test_unreachable_keystone_fails_naming_the_url_key(keystone):
    keystone.proxy.services.side_effect = ks_exc.ConnectFailure(
        f"cannot connect (sent password {ADMIN_PW})")
    ret = register()
    assert ret["result"] is False and ret["changes"] == {}
    assert "glance:keystone_internal_url (http://10.0.0.10:5000)" in ret["comment"]
    assert ret["comment"].endswith("nothing was changed")
    assert no_secret(ret)


def test_wrong_admin_password_fails_naming_it(keystone):
    keystone.proxy.services.side_effect = ks_exc.Unauthorized("The request you have made "
                                                              "requires authentication.")
    ret = register()
    assert ret["result"] is False
    assert "fix glance:keystone_admin_password" in ret["comment"]


def test_a_failure_part_way_reports_what_was_done(keystone):
    keystone.proxy.create_user.side_effect = ks_exc.BadRequest(
        f"password {GLANCE_PW} does not meet the password requirements")
    ret = register()
    assert ret["result"] is False and no_secret(ret)
    assert "endpoint public" in ret["changes"] and "user" not in ret["changes"]
    assert "done before the failure: 4 of 6 step(s)" in ret["comment"]
    assert "********" in ret["comment"]


def test_absent_removes_endpoints_service_and_user_but_keeps_project_and_role(keystone):
    register()
    ret = state.absent("glance", auth=WANT["auth"])
    assert ret["result"] is True
    assert sorted(ret["changes"]) == ["endpoint internal", "endpoint public", "service", "user"]
    assert keystone.service_rows == {} and keystone.endpoint_rows == {} and keystone.user_rows == {}
    assert "service" in keystone.projects and "admin" in keystone.roles
    again = state.absent("glance", auth=WANT["auth"])
    assert again["result"] is True and again["changes"] == {}


def test_absent_keeps_service_and_user_while_another_region_has_endpoints(keystone):
    register()
    register(region="RegionTwo")
    ret = state.absent("glance", auth=WANT["auth"], region="RegionTwo")
    assert ret["result"] is True
    assert sorted(ret["changes"]) == ["endpoint internal", "endpoint public"]
    assert "region(s) RegionOne still have Glance endpoints" in ret["comment"]
    assert {e.region_id for e in keystone.endpoint_rows.values()} == {"RegionOne"}
    assert len(keystone.service_rows) == 1 and "glance" in keystone.user_rows
    last = state.absent("glance", auth=WANT["auth"], region="RegionOne")
    assert sorted(last["changes"]) == ["endpoint internal", "endpoint public", "service", "user"]


def test_absent_in_test_mode_removes_nothing(keystone):
    register()
    state.__opts__["test"] = True
    ret = state.absent("glance", auth=WANT["auth"])
    assert ret["result"] is None and "service" in ret["changes"]
    assert len(keystone.service_rows) == 1 and "glance" in keystone.user_rows


# ---------------------------------------------------------------- the precheck state


@pytest.fixture
def check(monkeypatch):
    fake = mock.create_autospec(ks.check)
    monkeypatch.setattr(state, "__salt__", {"glance_keystone.check": fake}, raising=False)
    monkeypatch.setattr(state, "__opts__", {"test": True}, raising=False)
    return fake


def test_precheck_passes_when_keystone_accepts_the_admin(check):
    check.return_value = {"status": "ok", "detail": ""}
    ret = state.reachable("http://10.0.0.10:5000", WANT["auth"])
    assert ret["result"] is True and ret["changes"] == {}
    check.assert_called_once_with(WANT["auth"], 10)


@pytest.mark.parametrize("status, says", [
    ("unreachable", "check glance:keystone_internal_url (http://10.0.0.10:5000)"),
    ("credentials", "fix glance:keystone_admin_password"),
    ("forbidden", "glance:keystone_admin_user needs the admin role"),
])
def test_precheck_failures_name_the_key_to_fix(check, status, says):
    check.return_value = {"status": status, "detail": "details"}
    ret = state.reachable("http://10.0.0.10:5000", WANT["auth"])
    assert ret["result"] is False and ret["changes"] == {}
    assert says in ret["comment"] and ret["comment"].endswith("nothing was changed")
    assert no_secret(ret)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_check_against_a_closed_port_is_unreachable_and_hides_the_password(caplog):
    caplog.set_level(logging.ERROR, logger="keystoneauth")  # its discovery warning
    auth = dict(WANT["auth"], auth_url=f"http://127.0.0.1:{free_port()}")
    got = ks.check(auth, timeout=5)
    assert got["status"] == "unreachable"
    assert ADMIN_PW not in repr(got)


# ------------------------------------------------- the service user's token, kept between runs


@pytest.mark.parametrize("cached, usable", [
    ({"token": "t", "expires": 1000 + 3600}, True),
    ({"token": "t", "expires": 1000 + 301}, True),
    ({"token": "t", "expires": 1000 + 300}, False),   # inside the margin: log in again
    ({"token": "", "expires": 1000 + 3600}, False),
    ({"token": "t"}, False),
    ({"token": "t", "expires": "soon"}, False),
    ({}, False),
])
def test_token_usable(cached, usable):
    assert ks.token_usable(cached, 1000) is usable


@pytest.mark.parametrize("auth_url", ["http://k:5000", "http://k:5000/", "http://k:5000/v3",
                                      "http://k:5000/v3/"])
def test_identity_v3_url(auth_url):
    assert ks.identity_v3_url(auth_url) == "http://k:5000/v3"


def test_shown_by_token_reads_roles_and_catalog():
    body = {"token": {"roles": [{"id": "1", "name": "admin"}, {"id": "2", "name": "member"}],
                      "catalog": TOKEN_CATALOG}}
    assert ks.shown_by_token(body) == {"status": "ok", "roles": ["admin", "member"],
                                       "catalog": TOKEN_CATALOG}
    assert ks.shown_by_token({"token": {}}) == {"status": "ok", "roles": [], "catalog": []}


class TokenKeystone:
    """keystoneauth1 as _service_login uses it: password logins and token validation."""

    def __init__(self):
        self.logins = self.validations = 0
        self.valid = set()
        self.expires_in = 3600
        outer = self

        class Password:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

            def get_access(self, session):
                if self.kwargs["password"] != GLANCE_PW:
                    raise ks_exc.Unauthorized("HTTP 401")
                outer.logins += 1
                token = f"token-{outer.logins}"
                outer.valid.add(token)
                return types.SimpleNamespace(
                    auth_token=token, role_names=["admin"],
                    service_catalog=types.SimpleNamespace(catalog=TOKEN_CATALOG),
                    expires=types.SimpleNamespace(
                        timestamp=lambda: __import__("time").time() + outer.expires_in))

        class Session:
            def __init__(self, timeout=None):
                pass

            def get(self, url, headers, raise_exc):
                assert url == "http://10.0.0.10:5000/v3/auth/tokens" and raise_exc is False
                outer.validations += 1
                ok = headers["X-Subject-Token"] in outer.valid
                return types.SimpleNamespace(
                    status_code=200 if ok else 404,
                    json=lambda: {"token": {"roles": [{"name": "admin"}],
                                            "catalog": TOKEN_CATALOG}})

        self.libs = types.SimpleNamespace(
            generic=types.SimpleNamespace(Password=Password),
            session=types.SimpleNamespace(Session=Session), ks_exc=ks_exc)


@pytest.fixture
def token_keystone(monkeypatch, tmp_path):
    fake = TokenKeystone()
    monkeypatch.setattr(ks, "_auth_libs", lambda: fake.libs)
    monkeypatch.setattr(ks, "_session_lib", lambda: fake.libs)
    monkeypatch.setattr(ks, "__opts__", {"cachedir": str(tmp_path)}, raising=False)
    fake.dir = tmp_path / "glance_keystone"
    return fake


def test_second_run_validates_the_kept_token_instead_of_logging_in(token_keystone):
    first = ks._service_login(WANT, 5)
    assert first == {"status": "ok", "roles": ["admin"], "catalog": TOKEN_CATALOG}
    [kept] = token_keystone.dir.iterdir()
    assert kept.stat().st_mode & 0o777 == 0o600
    assert token_keystone.dir.stat().st_mode & 0o777 == 0o700
    assert GLANCE_PW not in kept.name and GLANCE_PW not in kept.read_text()
    assert ks._service_login(WANT, 5) == first
    assert (token_keystone.logins, token_keystone.validations) == (1, 1)


def test_revoked_or_expiring_token_means_a_new_login(token_keystone):
    ks._service_login(WANT, 5)
    token_keystone.valid.clear()          # Keystone revoked it (password changed)
    assert ks._service_login(WANT, 5)["status"] == "ok"
    assert (token_keystone.logins, token_keystone.validations) == (2, 1)


def test_token_expiring_within_the_margin_means_a_new_login(token_keystone):
    token_keystone.expires_in = 60
    ks._service_login(WANT, 5)
    ks._service_login(WANT, 5)
    assert (token_keystone.logins, token_keystone.validations) == (2, 0)


def test_a_changed_password_never_reads_the_old_token(token_keystone):
    ks._service_login(WANT, 5)
    wrong = dict(WANT, password="not-the-password")
    assert ks._service_login(wrong, 5)["status"] == "credentials"
    assert token_keystone.validations == 0


def test_registration_change_forgets_the_kept_token(token_keystone, monkeypatch):
    monkeypatch.setattr(ks, "__context__", {}, raising=False)
    ks._service_login(WANT, 5)
    ks._forget_service_login(WANT)
    assert list(token_keystone.dir.iterdir()) == []


def test_no_cachedir_means_no_kept_token(monkeypatch):
    fake = TokenKeystone()
    monkeypatch.setattr(ks, "_auth_libs", lambda: fake.libs)
    monkeypatch.setattr(ks, "_session_lib", lambda: fake.libs)
    monkeypatch.setattr(ks, "__opts__", {}, raising=False)
    ks._service_login(WANT, 5)
    ks._service_login(WANT, 5)
    assert (fake.logins, fake.validations) == (2, 0)
