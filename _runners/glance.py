"""
Master-side glance commands: ``salt-run glance.<function>``.

``import_kolla`` turns kolla-ansible's ``globals.yml``, ``passwords.yml`` and
inventory into this formula's pillar and a pillar ``top.sls``. Its core is plain
functions (``parse_inventory``, ``convert``, ``render_files``, ``write_files``,
``run_import``) that the unit tests call without Salt; ``import_kolla`` at the
end of its section is the only part that needs the master.
"""

import ipaddress
import os
import re
import shlex
import string

import yaml

__virtualname__ = "glance"


def __virtual__():
    return __virtualname__


# ================================================================ import_kolla

MARKER = "# Written by salt-run glance.import_kolla"
# plain YAML, no Jinja: a password or a comment holding "{{" stays what it is
RENDERER = "#!yaml"
PILLAR_DIR = "glance_kolla"
# the same test glance_config uses to mask secrets
SECRET_PATTERN = re.compile(r"(password|secret|_key$|^key$)")
# inventory groups, most specific first (kolla: glance-api:children = glance,
# glance:children = control)
API_GROUPS = ("glance-api", "glance", "control")
# kolla-ansible < Zed called the load balancer group haproxy
LB_GROUPS = ("loadbalancer", "haproxy")
REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# group_vars/all defaults the derivations below need when globals.yml leaves them out
KOLLA_DEFAULTS = {
    "kolla_internal_fqdn": "{{ kolla_internal_vip_address }}",
    "kolla_external_vip_address": "{{ kolla_internal_vip_address }}",
    "kolla_external_fqdn": "{{ kolla_external_vip_address }}",
    "keystone_internal_port": "5000",
    "keystone_public_port": "5000",
    "memcached_port": "11211",
    "kolla_enable_tls_internal": "no",
    "kolla_enable_tls_external": "no",
}
# a formula key whose kolla role default is another global: glance's role says
# `glance_api_workers: "{{ openstack_service_workers }}"` and so on
ROLE_DEFAULTS = {
    "glance_api_workers": "openstack_service_workers",
    "glance_logging_debug": "openstack_logging_debug",
}
TAG_REASON = ("the formula takes the whole image tag as openstack_tag (kolla builds it "
              "as <release>-<distro>-<version>); set openstack_tag")
REASONS = {
    "kolla_base_distro": TAG_REASON,
    "kolla_base_distro_version": TAG_REASON,
    "openstack_tag_suffix": TAG_REASON,
    "kolla_install_type": TAG_REASON,
    "docker_registry_username": "the minions' docker logs in to the registry itself "
                                "(docker login); the formula keeps no registry login",
    "docker_registry_password": "the minions' docker logs in to the registry itself "
                                "(docker login); the formula keeps no registry login",
    "docker_registry_insecure": "an insecure registry is dockerd's setting "
                                "(insecure-registries in daemon.json)",
    "enable_glance": "whether a host runs Glance is the pillar top.sls / state targeting",
    "glance_enable_tls_backend": "TLS between the load balancer and glance-api is not "
                                 "implemented; certificates can be mounted with "
                                 "glance_api_extra_volumes",
    "kolla_enable_tls_backend": "TLS between the load balancer and glance-api is not "
                                "implemented",
    "kolla_copy_ca_into_containers": "mount the CA bundle with glance_api_extra_volumes",
    "enable_haproxy": "the formula's HAProxy runs on glance_loadbalancer_hosts (from the "
                      "loadbalancer group); keep kolla's by leaving that group empty",
    "enable_keepalived": "the formula runs no keepalived: kolla_internal_vip_address must "
                         "already be up on the load balancer hosts",
    "keepalived_virtual_router_id": "the formula runs no keepalived",
    "kolla_external_vip_interface": "the formula runs no keepalived",
    "config_strategy": "the formula always uses COPY_ALWAYS",
    "kolla_container_engine": "the formula drives docker only",
}
OTHER_SERVICE = "not a setting of this formula (another service, or kolla-ansible only)"
PASSWORD_OF_OTHERS = "a password of another service"
CONNECTION_VAR = "an Ansible connection variable, not a setting of this formula"


class KollaImportError(ValueError):
    """Input the import cannot use; the message names the file and the key or line."""


# ---------------------------------------------------------------- reading files


def load_mapping(text, source):
    """YAML text that must be a mapping (an empty file is an empty mapping)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise KollaImportError(f"{source}:{where} is not valid YAML: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KollaImportError(
            f"{source} is not a mapping of kolla variables (it holds a "
            f"{type(data).__name__}) — give the path of kolla's file")
    for key in data:
        if not isinstance(key, str):
            raise KollaImportError(f"{source}: key {key!r} is not a variable name")
    return data


def read_text(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KollaImportError(f"{what} {path} cannot be read: {exc}") from exc


# ---------------------------------------------------------------- inventory


def new_inventory():
    return {"groups": {}, "hostvars": {}}


def group_of(inventory, name):
    return inventory["groups"].setdefault(name, {"hosts": [], "children": [], "vars": {}})


def add_host(inventory, group, host, variables):
    members = group_of(inventory, group)["hosts"]
    if host not in members:
        members.append(host)
    inventory["hostvars"].setdefault(host, {}).update(variables)


def expand_range(pattern, source, where):
    """Ansible's host ranges: control[01:03] -> control01, control02, control03."""
    match = re.fullmatch(r"(.*)\[([0-9a-z]+):([0-9a-z]+)\](.*)", pattern)
    if not match:
        return [pattern]
    head, first, last, tail = match.groups()
    if first.isdigit() and last.isdigit():
        width = len(first) if first.startswith("0") else 0
        items = [str(n).zfill(width) for n in range(int(first), int(last) + 1)]
    elif len(first) == len(last) == 1 and first.isalpha() and last.isalpha():
        letters = string.ascii_lowercase
        items = list(letters[letters.index(first):letters.index(last) + 1])
    else:
        raise KollaImportError(f"{source}: {where}: host range {pattern!r} is not "
                               "[<from>:<to>] of numbers or letters")
    if not items:
        raise KollaImportError(f"{source}: {where}: host range {pattern!r} is empty")
    return [f"{head}{item}{tail}" for item in items]


def key_values(tokens, source, lineno):
    out = {}
    for token in tokens:
        if "=" not in token:
            raise KollaImportError(f"{source}: line {lineno}: {token!r} is not <var>=<value>")
        key, value = token.split("=", 1)
        out[key] = value
    return out


def parse_ini_inventory(text, source):
    """kolla's multinode file (Ansible INI inventory) -> groups, children, vars."""
    inventory = new_inventory()
    group, kind = "ungrouped", "hosts"
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            match = re.fullmatch(r"\[([^\]:\s]+)(?::(children|vars))?\]", line)
            if not match:
                raise KollaImportError(
                    f"{source}: line {lineno}: {line!r} is not a section header "
                    "([group], [group:children] or [group:vars])")
            group, kind = match.group(1), match.group(2) or "hosts"
            group_of(inventory, group)
            continue
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            raise KollaImportError(f"{source}: line {lineno}: {exc}") from exc
        if kind == "children":
            group_of(inventory, tokens[0])
            children = group_of(inventory, group)["children"]
            if tokens[0] not in children:
                children.append(tokens[0])
        elif kind == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise KollaImportError(
                    f"{source}: line {lineno}: {line!r} in [{group}:vars] is not "
                    "<var>=<value>")
            value = value.strip()
            if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            group_of(inventory, group)["vars"][key.strip()] = value
        else:
            variables = key_values(tokens[1:], source, lineno)
            for host in expand_range(tokens[0], source, f"line {lineno}"):
                add_host(inventory, group, host, variables)
    return inventory


def parse_yaml_group(inventory, name, body, source):
    group = group_of(inventory, name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise KollaImportError(f"{source}: group {name!r} is a {type(body).__name__}, "
                               "expected a mapping with hosts / children / vars")
    unknown = set(body) - {"hosts", "children", "vars"}
    if unknown:
        raise KollaImportError(f"{source}: group {name!r} has {', '.join(sorted(unknown))} "
                               "— a group holds only hosts, children and vars")
    for part in ("hosts", "children", "vars"):
        if not isinstance(body.get(part) or {}, dict):
            raise KollaImportError(f"{source}: group {name!r} has {part} as a "
                                   f"{type(body[part]).__name__}, expected a mapping")
    for host, variables in (body.get("hosts") or {}).items():
        if variables is not None and not isinstance(variables, dict):
            raise KollaImportError(f"{source}: host {host!r} in group {name!r} has "
                                   f"{variables!r}, expected a mapping of host vars")
        for one in expand_range(str(host), source, f"group {name!r}"):
            add_host(inventory, name, one, variables or {})
    group["vars"].update(body.get("vars") or {})
    for child, child_body in (body.get("children") or {}).items():
        if child not in group["children"]:
            group["children"].append(child)
        parse_yaml_group(inventory, child, child_body, source)


def parse_yaml_inventory(data, source):
    inventory = new_inventory()
    for name, body in data.items():
        parse_yaml_group(inventory, name, body, source)
    return inventory


def parse_inventory(text, source):
    """INI (kolla's multinode) or YAML inventory, told apart by the first line."""
    first = next((line.strip() for line in text.splitlines()
                  if line.strip() and not line.strip().startswith(("#", ";"))), "")
    # YAML inventories open with a group (`all:`) or a document start
    if first.startswith("---") or re.fullmatch(r"[^\s=\[]+:", first):
        return parse_yaml_inventory(load_mapping(text, source), source)
    return parse_ini_inventory(text, source)


def group_hosts(inventory, name, seen=None):
    """Hosts of a group in inventory order: its own, then each child's (kolla's :children)."""
    if name == "all":
        return list(inventory["hostvars"])  # Ansible's implicit group of every host
    seen = seen if seen is not None else set()
    if name in seen or name not in inventory["groups"]:
        return []
    seen.add(name)
    group = inventory["groups"][name]
    hosts = list(group["hosts"])
    for child in group["children"]:
        hosts += [h for h in group_hosts(inventory, child, seen) if h not in hosts]
    return hosts


def group_depth(inventory, name):
    parents = [g for g, body in inventory["groups"].items() if name in body["children"]]
    return 1 + max((group_depth(inventory, p) for p in parents if p != name), default=0)


def host_vars(inventory, host):
    """Group vars (parents first, children override), then the host's own vars."""
    groups = sorted((g for g in inventory["groups"] if host in group_hosts(inventory, g)),
                    key=lambda g: (g != "all", group_depth(inventory, g), g))
    merged = {}
    for name in groups:
        merged.update(inventory["groups"][name]["vars"])
    merged.update(inventory["hostvars"].get(host, {}))
    return merged


# ---------------------------------------------------------------- globals


def is_ip(text):
    try:
        ipaddress.ip_address(str(text).strip("[]"))
    except ValueError:
        return False
    return True


def truthy(value):
    return str(value).strip().lower() in ("yes", "true", "on", "1", "y")


class Unresolved(LookupError):
    """A kolla expression the import cannot evaluate."""


def resolve(key, values, stack=()):
    """A value with kolla's `{{ other }}` references filled in; None if it cannot be."""
    if key in stack:
        return None
    try:
        return fill(values.get(key, KOLLA_DEFAULTS.get(key)), values, stack + (key,))
    except Unresolved:
        return None


def fill(value, values, stack):
    """``value`` (also inside lists and mappings) with its references filled in."""
    if isinstance(value, list):
        return [fill(item, values, stack) for item in value]
    if isinstance(value, dict):
        return {k: fill(v, values, stack) for k, v in value.items()}
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value

    def one(match):
        found = resolve(match.group(1), values, stack)
        if found is None or isinstance(found, (dict, list)):
            raise Unresolved(match.group(1))
        return str(found)

    text = REFERENCE.sub(one, value)
    if "{{" in text or "{%" in text:
        raise Unresolved(text)
    return text


def convert(globals_, passwords, inventory, known, sources):
    """
    kolla's three inputs -> what the pillar holds and why.

    ``known`` is the formula's key set (defaults.yaml); ``sources`` names the files
    for messages: ``{"globals": ..., "passwords": ..., "inventory": ...}``.
    """
    plan = {
        "shared": {}, "secrets": {}, "hosts": {}, "derived": {}, "warnings": [],
        "carried": {"globals.yml": [], "passwords.yml": [], "inventory": {}},
        "left_out": {"globals.yml": {}, "passwords.yml": {}, "inventory": {}},
        # kolla variable -> the formula keys derived from it
        "used_for": {},
    }
    carry_globals(plan, globals_, known)
    carry_passwords(plan, passwords, globals_, known, sources["passwords"])
    derive_from_globals(plan, globals_, known)
    place_hosts(plan, globals_, inventory, known, sources["inventory"])
    for name, keys in plan.pop("used_for").items():
        if name in plan["left_out"]["globals.yml"]:
            plan["left_out"]["globals.yml"][name] = (
                f"used to derive {', '.join(sorted(set(keys)))}")
    if not truthy(globals_.get("enable_glance", "yes")):
        plan["warnings"].append("enable_glance is off in globals.yml — the pillar is "
                                "written anyway; target the hosts only when Glance should run")
    if "kolla_base_distro" in globals_ and "openstack_tag" not in globals_:
        plan["warnings"].append(
            "no openstack_tag: the formula pulls glance-api:<openstack_release>; set "
            f"openstack_tag (kolla's is <release>-{globals_['kolla_base_distro']}-<version>)")
    return plan


def put(plan, key, value):
    """Into the shared pillar, or the 0600 secrets file when the key looks secret."""
    plan["secrets" if SECRET_PATTERN.search(key) else "shared"][key] = value


def carry_globals(plan, globals_, known):
    left_out = plan["left_out"]["globals.yml"]
    for key in sorted(globals_):
        value = resolve(key, globals_)
        if key not in known:
            left_out[key] = REASONS.get(key, OTHER_SERVICE)
        elif globals_[key] is None:
            left_out[key] = "empty in globals.yml: the formula's default applies"
        elif value is None:
            left_out[key] = (f"its value {globals_[key]!r} is an expression the import "
                             "cannot evaluate — set the resulting value")
        else:
            put(plan, key, value)
            plan["carried"]["globals.yml"].append(key)


def carry_passwords(plan, passwords, globals_, known, source):
    for key in sorted(passwords):
        if key not in known:
            plan["left_out"]["passwords.yml"][key] = REASONS.get(key, PASSWORD_OF_OTHERS)
            continue
        value = passwords[key]
        if value is None or value == "":
            plan["warnings"].append(f"{source}: {key} is empty — run kolla-genpwd or set "
                                    "it, the formula needs it")
            continue
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise KollaImportError(f"{source}: {key} is a {type(value).__name__}, expected "
                                   "a string")
        if key in plan["carried"]["globals.yml"]:
            plan["warnings"].append(f"{key} is in both files; passwords.yml wins (kolla "
                                    "passes it last)")
            plan["shared"].pop(key, None)
            plan["carried"]["globals.yml"].remove(key)
        plan["secrets"][key] = str(value)
        plan["carried"]["passwords.yml"].append(key)


def derive(plan, globals_, known, key, value, how, inputs):
    """A formula key kolla computes from other variables, unless globals.yml sets it."""
    if key in known and key not in globals_ and value not in (None, ""):
        put(plan, key, value)
        plan["derived"][key] = how
        for name in inputs:
            plan["used_for"].setdefault(name, []).append(key)


def derive_from_globals(plan, globals_, known):
    for key, source in ROLE_DEFAULTS.items():
        derive(plan, globals_, known, key, resolve(source, globals_),
               f"kolla's role default {{{{ {source} }}}}", [source])
    for scope, address_key, url_key in (("internal", "kolla_internal_fqdn",
                                         "keystone_internal_url"),
                                        ("external", "kolla_external_fqdn",
                                         "keystone_public_url")):
        address = resolve(address_key, globals_)
        if not address:
            continue
        tls = f"kolla_enable_tls_{scope}"
        port = "keystone_internal_port" if scope == "internal" else "keystone_public_port"
        proto = "https" if truthy(resolve(tls, globals_)) else "http"
        derive(plan, globals_, known, url_key,
               f"{proto}://{host_in_url(address)}:{resolve(port, globals_)}",
               f"kolla's {url_key} = <{scope} protocol>://{address_key}:{port}",
               [address_key, port, tls])
        if scope == "internal":
            derive(plan, globals_, known, "database_address", address,
                   f"kolla's database_address = {address_key}", [address_key])


def from_inventory(plan, globals_, key, value, how):
    """An inventory-derived key; globals.yml wins when it sets the key (extra vars)."""
    if key in globals_:
        plan["warnings"].append(f"{key} comes from globals.yml, not from {how}: kolla's "
                                "globals (extra vars) win")
        return
    put(plan, key, value)
    plan["derived"][key] = how


def place_hosts(plan, globals_, inventory, known, source):
    """glance_api_hosts, glance_loadbalancer_hosts, memcached_servers, per-host files."""
    api_group = next((g for g in API_GROUPS if group_hosts(inventory, g)), None)
    if api_group is None:
        raise KollaImportError(
            f"{source}: no host in any of the groups {', '.join(API_GROUPS)} — kolla runs "
            "glance-api on the glance-api group")
    api_hosts = group_hosts(inventory, api_group)
    lb_group = next((g for g in LB_GROUPS if group_hosts(inventory, g)), None)
    lb_hosts = group_hosts(inventory, lb_group) if lb_group else []
    plan.update(api_hosts=api_hosts, lb_hosts=lb_hosts,
                targets=list(dict.fromkeys(api_hosts + lb_hosts)))

    entries, origins = [], []
    for host in api_hosts:
        address, origin = api_address(host_vars(inventory, host))
        entries.append({"id": host, "address": address} if address else host)
        origins.append(f"{host}: {origin}")
    from_inventory(plan, globals_, "glance_api_hosts", entries,
                   f"the {api_group} group in inventory order; addresses from "
                   f"{', '.join(origins)}")
    interface = next((k for k in ("api_interface", "network_interface") if k in globals_), None)
    if interface and any(o.endswith("ansible_host") for o in origins):
        plan["warnings"].append(
            f"glance_api_hosts takes the addresses from ansible_host although globals.yml "
            f"names {interface}: if the API network is not the SSH one, give each host "
            "api_interface_address (or api_interface) in the inventory")
    if lb_hosts and "glance_loadbalancer_hosts" in known:
        from_inventory(plan, globals_, "glance_loadbalancer_hosts", lb_hosts,
                       f"the {lb_group} group")
        if not resolve("kolla_internal_vip_address", globals_):
            plan["warnings"].append("the inventory has load balancer hosts but globals.yml "
                                    "no kolla_internal_vip_address — the formula's HAProxy "
                                    "needs it")

    memcached = group_hosts(inventory, "memcached")
    if memcached and "memcached_servers" in known and "memcached_servers" not in globals_:
        addresses = {h: memcached_address(host_vars(inventory, h)) for h in memcached}
        missing = [h for h, a in addresses.items() if not a]
        if missing:
            plan["warnings"].append(
                f"memcached_servers not set: {', '.join(missing)} in the memcached group "
                "has no ansible_host / api_interface_address IP — set memcached_servers")
        else:
            port = resolve("memcached_port", globals_)
            from_inventory(plan, globals_, "memcached_servers",
                           [f"{host_in_url(a)}:{port}" for a in addresses.values()],
                           "the memcached group's addresses and memcached_port")
            plan["used_for"].setdefault("memcached_port", []).append("memcached_servers")

    for host in plan["targets"]:
        hv = host_vars(inventory, host)
        # kolla passes globals.yml as extra vars (-e @globals.yml): they beat host vars
        own = {k: v for k, v in sorted(hv.items()) if k in known and k not in globals_}
        if own:
            plan["hosts"][host] = own
            plan["carried"]["inventory"][host] = sorted(own)
        for key in sorted(set(hv) - set(own)):
            plan["left_out"]["inventory"][f"{host}:{key}"] = (
                CONNECTION_VAR if key.startswith("ansible_") else
                "globals.yml sets it, and kolla's globals (extra vars) win over inventory "
                "vars" if key in known else OTHER_SERVICE)


def api_address(hv):
    """
    (address, where it came from) for one API host.

    kolla binds to api_interface's address. A host that names its own interface
    keeps it (the formula resolves it from the minion's grains); otherwise
    ansible_host stands in, because the load balancer and the other hosts need
    every API host's address before any minion answers.
    """
    if hv.get("api_interface_address"):
        return str(hv["api_interface_address"]), "api_interface_address"
    if "api_interface" in hv or "network_interface" in hv:
        return None, "its own interface (grains)"
    if is_ip(hv.get("ansible_host", "")):
        return str(hv["ansible_host"]), "ansible_host"
    return None, "none (no ansible_host IP)"


def host_in_url(address):
    text = str(address)
    return f"[{text}]" if ":" in text and is_ip(text) else text


def memcached_address(hv):
    for key in ("api_interface_address", "ansible_host"):
        if is_ip(hv.get(key, "")):
            return str(hv[key])
    return None


# ---------------------------------------------------------------- writing


def host_sls(host):
    return "host_" + re.sub(r"[^A-Za-z0-9_-]", "_", host)


def header(sources):
    return "\n".join([
        RENDERER,
        MARKER + " from",
        f"#   globals:   {sources['globals']}",
        f"#   passwords: {sources['passwords']}",
        f"#   inventory: {sources['inventory']}",
        "# Re-run the import rather than editing: it rewrites this file.",
        "",
    ])


def left_out_block(title, reasons):
    """Comment lines: keys grouped by the reason they were left out."""
    if not reasons:
        return ""
    by_reason = {}
    for key, reason in sorted(reasons.items()):
        by_reason.setdefault(reason, []).append(key)
    lines = ["", f"# {title}"]
    for reason in sorted(by_reason):
        lines.append(f"#   {reason}:")
        line = "#    "
        for key in by_reason[reason]:
            if len(line) + len(key) + 2 > 88:
                lines.append(line)
                line = "#    "
            line += f" {key},"
        lines.append(line.rstrip(","))
    return "\n".join(lines) + "\n"


def dump(data, sort_keys=True):
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=sort_keys,
                          allow_unicode=True, width=1000)


def render_files(plan, sources):
    """{relative path: (text, mode)} — the same plan always gives the same bytes."""
    head = header(sources)
    files = {}
    notes = dict(plan["left_out"]["globals.yml"])
    notes.update({f"inventory {k}": v for k, v in plan["left_out"]["inventory"].items()})
    derived = "".join(f"#   {key}: {how}\n" for key, how in sorted(plan["derived"].items()))
    files[f"{PILLAR_DIR}/init.sls"] = (
        head + ("# Derived (kolla computes these from other variables):\n" + derived
                if derived else "")
        + dump({"glance": plan["shared"]})
        + left_out_block("Not carried over (kept in kolla-ansible's files only):", notes),
        0o644)
    files[f"{PILLAR_DIR}/secrets.sls"] = (
        head + dump({"glance": plan["secrets"]})
        + left_out_block("passwords.yml entries not carried over (names only):",
                         plan["left_out"]["passwords.yml"]),
        0o600)
    for host, own in sorted(plan["hosts"].items()):
        secret = any(SECRET_PATTERN.search(key) for key in own)
        files[f"{PILLAR_DIR}/{host_sls(host)}.sls"] = (
            head + f"# {host}'s own inventory variables\n" + dump({"glance": own}),
            0o600 if secret else 0o644)
    top = {"base": {",".join(plan["targets"]): [{"match": "list"}, PILLAR_DIR,
                                                f"{PILLAR_DIR}.secrets"]}}
    for host in sorted(plan["hosts"]):
        top["base"][host] = [f"{PILLAR_DIR}.{host_sls(host)}"]
    files["top.sls"] = (head + dump(top, sort_keys=False), 0o644)
    names = [host_sls(h) for h in plan["hosts"]]
    if len(set(names)) != len(names):
        raise KollaImportError("two inventory host names map to the same pillar file "
                               f"({', '.join(sorted(names))}) — rename one of them")
    return files


def owned(path):
    """True when the file is absent or was written by this import."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline() == RENDERER + "\n" and handle.readline().startswith(MARKER)
    except FileNotFoundError:
        return True
    except (OSError, UnicodeDecodeError):
        return False


def write_files(out_dir, files):
    """Write what changed (atomically, with its mode); {path: written|unchanged|removed}."""
    for rel in files:
        path = os.path.join(out_dir, rel)
        if not owned(path):
            raise KollaImportError(
                f"{path} exists and was not written by glance.import_kolla — point out= "
                "at a directory of its own (and add its top.sls entries to yours), or "
                "move the file away")
    status = {}
    for rel, (text, mode) in sorted(files.items()):
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode("utf-8")
        try:
            with open(path, "rb") as handle:
                same = handle.read() == data
            same = same and (os.stat(path).st_mode & 0o777) == mode
        except FileNotFoundError:
            same = False
        if same:
            status[path] = "unchanged"
            continue
        tmp = f"{path}.tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        status[path] = "written"
    pillar_dir = os.path.join(out_dir, PILLAR_DIR)
    wanted = {os.path.join(out_dir, rel) for rel in files}
    for name in sorted(os.listdir(pillar_dir)):
        path = os.path.join(pillar_dir, name)
        if name.startswith("host_") and path not in wanted and owned(path):
            os.remove(path)
            status[path] = "removed"
    return status


def run_import(globals_path, passwords_path, inventory_path, out_dir, known):
    """The whole import without Salt: read, convert, write; returns the summary."""
    for what, path in (("globals", globals_path), ("passwords", passwords_path),
                       ("inventory", inventory_path), ("out", out_dir)):
        if not path:
            raise KollaImportError(
                f"{what}= is missing — salt-run glance.import_kolla globals=<globals.yml> "
                "passwords=<passwords.yml> inventory=<multinode> out=<pillar dir>")
    sources = {"globals": globals_path, "passwords": passwords_path,
               "inventory": inventory_path}
    globals_ = load_mapping(read_text(globals_path, "globals.yml"), globals_path)
    passwords = load_mapping(read_text(passwords_path, "passwords.yml"), passwords_path)
    inventory = parse_inventory(read_text(inventory_path, "inventory"), inventory_path)
    plan = convert(globals_, passwords, inventory, set(known), sources)
    files = render_files(plan, sources)
    try:
        status = write_files(out_dir, files)
    except OSError as exc:
        raise KollaImportError(f"out={out_dir}: cannot write the pillar: {exc}") from exc
    return {
        "files": status,
        "glance_api_hosts": plan["api_hosts"],
        "glance_loadbalancer_hosts": plan["lb_hosts"],
        "carried": plan["carried"],
        "derived": plan["derived"],
        "left_out": plan["left_out"],
        "warnings": plan["warnings"],
    }


def formula_defaults(opts, path=None):
    """The formula's known keys: glance/parameters/defaults.yaml from the file_roots."""
    candidates = [path] if path else [
        os.path.join(root, "glance", "parameters", "defaults.yaml")
        for roots in (opts.get("file_roots") or {}).values() for root in roots]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return load_mapping(read_text(candidate, "defaults"), candidate)
    raise KollaImportError(
        "glance/parameters/defaults.yaml is in none of the master's file_roots "
        f"({', '.join(candidates) or 'none set'}) — put the formula there or pass "
        "defaults=<path to defaults.yaml>")


def import_kolla(globals=None, passwords=None, inventory=None, out=None, defaults=None):
    # pylint: disable=redefined-builtin
    """
    Write this formula's pillar from kolla-ansible's files.

    CLI Example::

        salt-run glance.import_kolla globals=/etc/kolla/globals.yml \\
            passwords=/etc/kolla/passwords.yml inventory=~/multinode out=/srv/pillar

    Writes ``<out>/top.sls`` and ``<out>/glance_kolla/`` (``init.sls``, ``secrets.sls``
    mode 0600, ``host_<host>.sls``); returns what was carried, derived and left out.
    """
    try:
        known = formula_defaults(__opts__, defaults)  # noqa: F821
        return run_import(*(os.path.expanduser(p) if p else p
                            for p in (globals, passwords, inventory, out)), known)
    except KollaImportError as exc:
        __context__["retcode"] = 1  # noqa: F821
        # salt-run exits with a returned dict's retcode
        return {"error": str(exc), "retcode": 1}


# ================================================================ salt-run glance.status

STATUS_COLUMNS = (("host", "HOST"), ("release", "RELEASE"), ("image_id", "IMAGE"),
                  ("health", "HEALTH"), ("drift", "DRIFT"), ("lb", "LB"),
                  ("cache", "CACHE"), ("next_prune", "NEXT PRUNE"))
MACHINE_OUTPUTS = ("json", "yaml", "pprint", "raw", "newline_values_only", "quiet")


def split_answers(answers):
    """
    Pure: ``glance_status.host`` answers (``with_deployment``) -> (minion -> answer
    or None when it did not answer, the database node's deployment part or {}).
    """
    hosts = {}
    for minion, answer in answers.items():
        if isinstance(answer, dict) and answer.get("failed") is True and "glance" not in answer:
            answer = None
        hosts[minion] = answer
    deployment = {}
    for minion in sorted(hosts):
        answer = hosts[minion]
        if isinstance(answer, dict) and "deployment" in answer:
            part = answer.pop("deployment")
            if answer.get("db_node") and not deployment and isinstance(part, dict):
                deployment = part
    return hosts, deployment


def status_report(hosts, deployment):
    """
    Pure: the status of a deployment from each minion's ``glance_status.host``
    answer (``hosts``: minion -> answer, None for no answer) and the database
    node's ``glance_status.deployment``.
    """
    seen_by = {}
    for minion, answer in sorted(hosts.items()):
        for server, word in ((answer or {}).get("balancer") or {}).items():
            seen_by.setdefault(server, []).append(f"{minion}:{word}")
    rows, drifted, problems = [], [], []
    for minion, answer in sorted(hosts.items()):
        if answer is None or not isinstance(answer, dict):
            problems.append(f"{minion} did not answer ({answer!r})" if answer else
                            f"{minion} did not answer")
            rows.append({"host": minion, "release": "?", "image_id": "?", "health": "no answer",
                         "drift": "?", "lb": ",".join(seen_by.get(minion, [])) or "-",
                         "cache": "?", "next_prune": "?"})
            continue
        if not answer.get("glance") or not answer.get("api_host"):
            if answer.get("errors"):
                problems.append(f"{minion}: pillar errors: " + "; ".join(answer["errors"]))
            continue
        drift = answer.get("drift") or []
        if drift:
            drifted.append(f"{minion} ({', '.join(drift)})")
        release = answer.get("release", "-")
        if answer.get("wanted_release") and release not in ("-", answer["wanted_release"]):
            release = f"{release} (pillar: {answer['wanted_release']})"
        rows.append({
            "host": minion + (" *" if answer.get("db_node") else ""),
            "release": release,
            "image_id": answer.get("image_id", "-"),
            "health": answer.get("health", "-") if answer.get("container") == "running"
            else answer.get("container", "-"),
            "drift": ", ".join(drift) or "none",
            "lb": ",".join(seen_by.get(minion, [])) or "-",
            "cache": answer.get("cache", "-"),
            "next_prune": answer.get("next_prune", "-"),
        })
    return {"hosts": rows, "schema": deployment.get("schema", "unknown (no database node)"),
            "keystone": deployment.get("keystone", "unknown (no database node)"),
            "drift": drifted, "problems": problems}


def status_table(report):
    """Pure: the report as the table people read."""
    widths = {key: max([len(title)] + [len(str(row[key])) for row in report["hosts"]])
              for key, title in STATUS_COLUMNS}
    lines = ["  ".join(title.ljust(widths[key]) for key, title in STATUS_COLUMNS).rstrip()]
    for row in report["hosts"]:
        lines.append("  ".join(str(row[key]).ljust(widths[key])
                               for key, _ in STATUS_COLUMNS).rstrip())
    if not report["hosts"]:
        lines.append("(no minion runs glance-api)")
    lines += ["", "* database node",
              f"schema:   {report['schema']}",
              f"keystone: {report['keystone']}",
              "drift:    " + ("; ".join(report["drift"]) + " — `state.apply glance` (config) or "
                              "`salt-run state.orchestrate glance.orch.upgrade` (image) "
                              "brings them in line" if report["drift"] else "none")]
    lines += [f"problem:  {problem}" for problem in report["problems"]]
    return "\n".join(lines)


def status(tgt="*", tgt_type="glob", timeout=60, override=None):
    """
    Per API host: release and image, container health, drift against what the
    pillar renders now (config hash, image, stopped), load balancer state as each
    HAProxy sees it (UP / DRAIN / DOWN / MAINT), cache usage and next prune; once:
    the schema (``db check``, cached by image and revision) and the Keystone
    registration. A table; ``--out json`` gives the data.

    CLI Example::

        salt-run glance.status
        salt-run glance.status --out json
        salt-run glance.status tgt='ctl*'

    ``override``: glance keys merged over every minion's pillar (the upgrade
    orchestration passes its target release, so the table compares with it).
    """
    import salt.client  # pylint: disable=import-outside-toplevel

    client = salt.client.get_local_client(__opts__["conf_file"])  # noqa: F821
    kwarg = {"with_deployment": True}
    if override:
        kwarg["override"] = override
    # one job: the database node adds the deployment part to its answer; a targeted
    # minion that does not answer comes back as {"failed": True}
    answers = client.cmd(tgt, "glance_status.host", tgt_type=tgt_type, timeout=timeout,
                         kwarg=kwarg, expect_minions=True) or {}
    hosts, deployment = split_answers(answers)
    report = status_report(hosts, deployment)
    if __opts__.get("output") in MACHINE_OUTPUTS:  # noqa: F821
        return report
    return status_table(report)
