"""
Settings for the glance formula: kolla-style pillar in, one merged dict out.

``map.jinja`` calls :func:`settings` once; templates only print what it returns.
Everything below the Salt wrappers at the end is a plain function so the unit
tests can call it without Salt.
"""

import configparser
import copy
import difflib
import hashlib
import io
import ipaddress
import json
import re
import urllib.parse

__virtualname__ = "glance_config"

TRUE_WORDS = {"yes", "true", "on", "1", "y"}
FALSE_WORDS = {"no", "false", "off", "0", "n", ""}

BOOL_KEYS = (
    "glance_backend_file",
    "glance_backend_ceph",
    "glance_backend_swift",
    "glance_backend_vmware",
    "glance_backend_s3",
    "enable_ceph",
    "external_ceph",
    "enable_swift",
    "enable_glance_image_cache",
    "glance_enable_rolling_upgrade",
    "glance_enable_property_protection",
    "glance_enable_interoperable_image_import",
    "enable_keystone",
    "vmware_vcenter_insecure",
    "glance_logging_debug",
    "glance_clean_remove_data",
    "glance_cache_cleanup_enabled",
    "glance_keystone_register",
    "glance_validate_config",
)
# Keys that default to "derived" (empty string) rather than a fixed bool.
DERIVED_BOOL_KEYS = ("glance_backend_file", "glance_backend_ceph", "glance_backend_swift")

# kolla 2024.1 default-store priority: vmware > ceph > swift > s3 > file
STORE_PRIORITY = ("vmware", "rbd", "swift", "s3", "file")
STORE_FLAGS = {
    "file": "glance_backend_file",
    "rbd": "glance_backend_ceph",
    "swift": "glance_backend_swift",
    "s3": "glance_backend_s3",
    "vmware": "glance_backend_vmware",
}
STORE_ALIASES = {"ceph": "rbd"}

SECRET_PATTERN = re.compile(r"(password|secret|_key$|^key$)")
SERVICE_NAME = "glance-api"
CONFIG_DIR_IN_CONTAINER = "/var/lib/kolla/config_files"
HASH_LABEL = "glance_formula.config_hash"
# the drain switch: while this file is in the host's drain dir (<service dir>-drain,
# mounted read-only here), GET /healthcheck answers 503 and any HAProxy with
# `option httpchk GET /healthcheck` takes the node out (api_paste points glance at it).
# Not the service dir: that one is 0750 root, so the container's glance user could not
# see into it, and glance.config cleans it.
HEALTHCHECK_DISABLE_FILE = "healthcheck_disable"
DRAIN_DIR_IN_CONTAINER = "/var/lib/kolla/glance-drain"
# glance's paste file put the health check in the pipeline as a filter up to 2024.2 and
# routes /healthcheck to an app from 2025.1 (newer oslo.middleware refuses the filter)
PASTE_APP_HEALTHCHECK_FROM_MAJOR = 30
IMAGE_CACHE_DIR = "/var/lib/glance/image-cache"
IMAGE_CACHE_VOLUME = "glance_image_cache"
STAGING_DIR = "/var/lib/glance/staging"
LOG_DIR = "/var/log/kolla/glance"
NANOSECONDS = 1_000_000_000
UWSGI_FROM_MAJOR = 32
# kolla's uWSGI limit for one chunk of a chunked upload (snapshot uploads hung without it)
UWSGI_CHUNKED_INPUT_LIMIT = 64 * 1024 * 1024


# what the Salt loader exposes (and so the CLI can call); the rest are plain helpers
__all__ = ["settings", "render", "current", "show", "ini_loads", "url_host"]


def __virtual__():
    return __virtualname__


# ---------------------------------------------------------------- coercion


class PillarError(ValueError):
    """A pillar value the formula cannot use; the message names key and fix."""


def to_bool(value, key):
    """'yes'/'no'/'true'/'false'/'on'/'off'/1/0 and real booleans -> bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
    elif isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise PillarError(
        f"glance:{key} is {value!r}, which is not a yes/no value — "
        'use "yes" or "no" (true/false also work)'
    )


def to_int(value, key, minimum=0):
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < minimum:
        raise PillarError(
            f"glance:{key} is {value!r}, which is not a whole number >= {minimum} — "
            f"set it to digits only, e.g. {key}: {max(minimum, 1)}"
        )
    return int(text)


def release_tuple(release):
    match = re.fullmatch(r"(\d{4})\.([12])", str(release).strip())
    if not match:
        raise PillarError(
            f"glance:openstack_release is {release!r} — use the kolla form "
            "<year>.<1|2>, e.g. openstack_release: '2025.1'"
        )
    return int(match.group(1)), int(match.group(2))


def glance_major(release):
    """2022.2 -> 25 (Zed), 2023.1 -> 26, ... 2026.2 -> 33."""
    year, half = release_tuple(release)
    return 25 + (year - 2022) * 2 + (half - 2)


def closest_key(key, known):
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return match[0] if match else None


# ---------------------------------------------------------------- INI as data


def ini_loads(text, source="<text>"):
    """INI text -> {section: {key: value}}; DEFAULT is an ordinary section."""
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, default_section="\x00", delimiters=("=",)
    )
    parser.optionxform = str
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise PillarError(f"{source} is not a valid INI file: {exc}") from exc
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def ini_dumps(sections):
    """{section: {key: value}} -> INI text, DEFAULT first, other sections as given."""
    out = io.StringIO()
    ordered = sorted(sections.items(), key=lambda item: item[0] != "DEFAULT")
    for name, keys in ordered:
        if not keys:
            continue
        out.write(f"[{name}]\n")
        for key, value in keys.items():
            out.write(f"{key} = {ini_value(value)}\n")
        out.write("\n")
    return out.getvalue()


def ini_value(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


def merge_ini(base, *overrides):
    """Later dicts win key by key; sections and keys never repeat."""
    merged = {name: dict(keys) for name, keys in base.items()}
    for override in overrides:
        for name, keys in override.items():
            merged.setdefault(name, {}).update(keys)
    return merged


def override_paths(custom_dir, minion_id, filename):
    """kolla's override order for one service INI file (least to most specific)."""
    if filename == "glance-swift.conf":
        shared = [f"{custom_dir}/glance-swift.conf"]
    else:
        shared = [f"{custom_dir}/global.conf", f"{custom_dir}/glance.conf"]
    return shared + [
        f"{custom_dir}/glance/{filename}",
        f"{custom_dir}/glance/{minion_id}/{filename}",
    ]


def validated_overrides(custom_dir, minion_id, filenames, read_file):
    """The operator's override files of ``filenames`` that exist, each once, in order."""
    paths = []
    for filename in filenames:
        for path in override_paths(custom_dir, minion_id, filename):
            if path not in paths and read_file(path) is not None:
                paths.append(path)
    return paths


def config_validation(s, read_file):
    """What glance.precheck hands oslo-config-validator (glance_validate.overrides)."""
    flags = s["flags"]
    names = ["glance-api.conf"]
    if flags["enable_glance_image_cache"]:
        names.append("glance-cache.conf")
    custom = str(flags["node_custom_config"]).rstrip("/")
    files = validated_overrides(custom, s["minion_id"], names, read_file) \
        if s["am_i_api_host"] else []
    backends = ""
    if s["files"]:
        conf = ini_loads(s["files"]["glance-api.conf"]["contents"])
        backends = conf.get("DEFAULT", {}).get("enabled_backends", "")
    return {"enabled": bool(flags["glance_validate_config"] and files), "files": files,
            "enabled_backends": backends}


def apply_overrides(base, custom_dir, minion_id, filename, read_file):
    """Merge the operator's override files into ``base``; returns (dict, used paths)."""
    layers, used = [], []
    for path in override_paths(custom_dir, minion_id, filename):
        text = read_file(path)
        if text is not None:
            layers.append(ini_loads(text, source=path))
            used.append(path)
    return merge_ini(base, *layers), used


# ---------------------------------------------------------------- validation


def property_rule_errors(text, rule_format, source):
    """Reasons Glance would refuse this property-protections file (empty: fine)."""
    errors = []
    try:
        rules = ini_loads(text, source=source)
    except PillarError as exc:
        return [str(exc)]
    if not rules:
        return [f"{source} has no rules — add at least one [<property regex>] section"]
    for section, ops in rules.items():
        try:
            re.compile(section)
        except re.error as exc:
            errors.append(f"{source}: section [{section}] is not a valid regex ({exc})")
        missing = [op for op in ("create", "read", "update", "delete") if op not in ops]
        if missing:
            errors.append(
                f"{source}: section [{section}] lacks {', '.join(missing)} — "
                "every section needs create, read, update and delete"
            )
        for op, value in ops.items():
            items = [item.strip() for item in value.split(",") if item.strip()]
            if rule_format == "roles" and "@" in items and "!" in items:
                errors.append(
                    f"{source}: [{section}] {op} = {value} mixes '@' (everyone) and "
                    "'!' (no one) — keep only one of them"
                )
            if rule_format == "policies" and len(items) > 1:
                errors.append(
                    f"{source}: [{section}] {op} = {value} lists several rules — "
                    "the policies format takes one policy rule name per operation"
                )
    return errors


def first_section(text):
    match = re.search(r"^\s*\[([^\]]*)\]", text, re.MULTILINE)
    return match.group(1) if match else ""


def s3_url_error(url):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return (
            f"glance:s3_url is {url!r}, which is not an http(s) URL — "
            "set it like http://10.0.0.5:9000 (https:// for TLS)"
        )
    try:
        parsed.port  # noqa: B018 — raises on a bad port
    except ValueError:
        return f"glance:s3_url is {url!r}, whose port is not a number — fix the port"
    return None


# ---------------------------------------------------------------- settings


def coerce_flags(defaults, pillar, errors):
    """Defaults merged with pillar; unknown keys and bad values land in errors."""
    known = sorted(defaults)
    flags = dict(defaults)
    for key, value in (pillar or {}).items():
        if key not in defaults:
            hint = closest_key(key, known)
            fix = f"did you mean {hint!r}?" if hint else "see pillar.example for the keys"
            errors.append(f"glance:{key} is not a key this formula knows — {fix}")
            continue
        flags[key] = value
    for key in BOOL_KEYS:
        value = flags[key]
        if key in DERIVED_BOOL_KEYS and (value is None or value == ""):
            flags[key] = None
            continue
        try:
            flags[key] = to_bool(value, key)
        except PillarError as exc:
            errors.append(str(exc))
            flags[key] = False
    return flags


def enabled_stores(flags):
    """Store names in priority order; file is on only when nothing else is."""
    ceph = flags["glance_backend_ceph"]
    if ceph is None:
        ceph = flags["enable_ceph"] or flags["external_ceph"]
    swift = flags["glance_backend_swift"]
    if swift is None:
        swift = flags["enable_swift"]
    on = {
        "rbd": ceph,
        "swift": swift,
        "s3": flags["glance_backend_s3"],
        "vmware": flags["glance_backend_vmware"],
    }
    file_on = flags["glance_backend_file"]
    if file_on is None:
        file_on = not any(on.values())
    on["file"] = file_on
    return [name for name in STORE_PRIORITY if on[name]]


def default_store(stores, requested, errors):
    if requested:
        name = STORE_ALIASES.get(requested, requested)
        if name in stores:
            return name
        errors.append(
            f"glance:glance_default_backend is {requested!r}, which is not an enabled "
            f"store ({', '.join(stores) or 'none'}) — pick one of them or enable it"
        )
    return stores[0] if stores else None


def api_hosts(flags, minion_id, errors):
    """[{'id', 'address'}] from glance_api_hosts (strings or {id, address})."""
    entries = flags["glance_api_hosts"] or [minion_id]
    hosts = []
    for entry in entries:
        if isinstance(entry, str):
            address = flags["api_interface_address"] if entry == minion_id else ""
            hosts.append({"id": entry, "address": str(address)})
        elif isinstance(entry, dict) and entry.get("id"):
            host = {"id": str(entry["id"]), "address": str(entry.get("address", ""))}
            if entry.get("api_interface"):
                host["api_interface"] = str(entry["api_interface"])
            hosts.append(host)
        else:
            errors.append(
                f"glance:glance_api_hosts has {entry!r} — each entry is a minion id or "
                "{id: <minion id>, address: <api address>}"
            )
    for field, why in (("id", "list each API host once"),
                       ("address", "give each API host its own address (two APIs "
                                   "cannot bind one address and port)")):
        values = [host[field] for host in hosts if host[field]]
        for value in sorted({v for v in values if values.count(v) > 1}):
            errors.append(f"glance:glance_api_hosts lists the {field} {value!r} twice — "
                          f"{why}")
    return hosts


# ---------------------------------------------------------------- addresses and interfaces

# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
# keys that hold this deployment's IP addresses (kolla binds or serves on them)
IP_KEYS = ("api_interface_address", "kolla_internal_vip_address",
           "kolla_external_vip_address")
# keys where kolla allows a host name as well (database_address defaults to kolla's FQDN)
HOST_KEYS = ("database_address", "vmware_vcenter_host_ip")
ADDRESS_FAMILIES = {"ipv4": "ip4_interfaces", "ipv6": "ip6_interfaces"}


def is_ip(text):
    try:
        ipaddress.ip_address(str(text).strip())
    except ValueError:
        return False
    return True


def url_host(address):
    """An address as it goes into a URL or host:port (IPv6 in brackets)."""
    address = str(address)
    return f"[{address}]" if ":" in address and is_ip(address) else address


def address_error(key, value, hostname_ok=False):
    """Why ``value`` cannot be the address in glance:``key`` (None: fine)."""
    text = str(value).strip()
    if is_ip(text):
        return None
    looks_numeric = re.fullmatch(r"[\d.]+", text) is not None
    if hostname_ok and not looks_numeric and HOSTNAME_RE.fullmatch(text):
        return None
    kind = "an IP address or host name" if hostname_ok else "an IP address"
    hint = ""
    if "://" in text or "/" in text:
        hint = " without a scheme or path"
    elif ":" in text:
        hint = " without a port (the port has its own key)"
    return (f"glance:{key} is {value!r}, which is not {kind} — set it to {kind}{hint}, "
            f"e.g. {key}: 10.0.0.11")


def check_addresses(flags, hosts, errors):
    for key in IP_KEYS + HOST_KEYS:
        if str(flags[key]).strip():
            error = address_error(key, flags[key], hostname_ok=key in HOST_KEYS)
            if error:
                errors.append(error)
    for host in hosts:
        if host["address"] and not is_ip(host["address"]):
            errors.append(
                f"glance:glance_api_hosts entry {host['id']!r} has address "
                f"{host['address']!r}, which is not an IP address — write the address "
                f"its API binds, e.g. {{id: {host['id']}, address: 10.0.0.11}}"
            )


def address_family(flags, errors):
    """kolla's api_address_family (falls back to network_address_family)."""
    family = str(flags["api_address_family"] or flags["network_address_family"])
    if family not in ADDRESS_FAMILIES:
        key = "api_address_family" if flags["api_address_family"] else \
            "network_address_family"
        errors.append(f"glance:{key} is {family!r} — use ipv4 or ipv6")
        return "ipv4"
    return family


def interface_address(grains, interface, family, minion_id, key):
    """
    (address, error) for ``interface`` from the minion's grains, as kolla derives
    api_interface_address from api_interface: its first address of ``family``
    (IPv6 link-local addresses skipped; they cannot be bound without a scope).
    """
    grain = ADDRESS_FAMILIES[family]
    table = (grains or {}).get(grain) or {}
    if interface not in table:
        known = ", ".join(sorted(table)) or "none"
        return None, (
            f"glance:{key} is {interface!r}, but minion {minion_id} has no interface "
            f"{interface!r} (its {grain}: {known}) — set {key} to one of its "
            "interfaces (per minion in its pillar), or set api_interface_address"
        )
    usable = [a for a in table[interface] or ()
              if is_ip(a) and not ipaddress.ip_address(a).is_link_local]
    if not usable:
        return None, (
            f"glance:{key} is {interface!r}, but interface {interface!r} on minion "
            f"{minion_id} has no {family} address — give it one, pick another "
            "interface, or set api_interface_address"
        )
    return usable[0], None


def own_address(flags, entry, grains, minion_id, errors):
    """
    This minion's API address: its glance_api_hosts address, else
    api_interface_address, else its api_interface / network_interface (the entry's
    own ``api_interface`` first) looked up in the grains.
    """
    if entry and entry["address"]:
        return entry["address"]
    if str(flags["api_interface_address"]).strip():
        return str(flags["api_interface_address"]).strip()
    interface, key = (entry or {}).get("api_interface"), "glance_api_hosts api_interface"
    if not interface:
        interface, key = flags["api_interface"], "api_interface"
    if not interface:
        interface, key = flags["network_interface"], "network_interface"
    if not interface:
        return ""
    family = address_family(flags, errors)
    address, error = interface_address(grains, str(interface), family, minion_id, key)
    if error:
        errors.append(error)
    return address or ""


def s3_settings(flags):
    def pick(own, shared):
        return str(flags[own] or shared or "")

    return {
        "url": pick("glance_backend_s3_url", flags["s3_url"]),
        "access_key": pick("glance_backend_s3_access_key", flags["s3_access_key"]),
        "secret_key": pick("glance_backend_s3_secret_key", flags["s3_secret_key"]),
        "bucket": pick(
            "glance_backend_s3_bucket", flags["s3_glance_bucket"] or flags["s3_bucket"]
        ),
        "url_format": str(flags["glance_backend_s3_bucket_url_format"]),
    }


def check_backends(flags, stores, s3, errors):
    if not stores:
        errors.append(
            "no image store is enabled (glance_backend_file is off and no other "
            "glance_backend_* is on) — turn one on, e.g. glance_backend_file: \"yes\""
        )
    if "s3" in stores:
        for field, key in (
            ("url", "s3_url"),
            ("access_key", "s3_access_key"),
            ("secret_key", "s3_secret_key"),
            ("bucket", "s3_glance_bucket"),
        ):
            if not s3[field]:
                errors.append(
                    f"glance:{key} is empty but glance_backend_s3 is on — set {key} "
                    f"(or glance_backend_s3_{field}) or turn the backend off"
                )
        if s3["url"]:
            error = s3_url_error(s3["url"])
            if error:
                errors.append(error)
        if s3["url_format"] not in ("auto", "virtual", "path"):
            errors.append(
                "glance:glance_backend_s3_bucket_url_format must be auto, virtual or "
                f"path, not {s3['url_format']!r} (path suits local S3 servers)"
            )
    if "vmware" in stores:
        for key in ("vmware_vcenter_name", "vmware_datastore_name",
                    "vmware_vcenter_host_password"):
            if not flags[key]:
                errors.append(
                    f"glance:{key} is empty but glance_backend_vmware is on — set it "
                    "(the same vCenter settings the VMware compute driver uses)"
                )
    if "swift" in stores and not (
        flags["glance_swift_auth_address"] or flags["keystone_internal_url"]
    ):
        errors.append(
            "glance:keystone_internal_url is empty but glance_backend_swift is on — "
            "set keystone_internal_url (or glance_swift_auth_address)"
        )


def check_features(flags, stores, pinned, errors, warnings):
    if flags["glance_enable_rolling_upgrade"] and pinned:
        errors.append(
            "glance:glance_enable_rolling_upgrade is on but the file backend keeps images "
            f"on the local volume {flags['glance_file_datadir_volume']!r}, so only one "
            "host runs glance-api and a rolling upgrade would break the service — set "
            "glance_file_datadir_volume to a shared path (e.g. NFS) or turn rolling "
            "upgrade off"
        )
    if flags["enable_glance_image_cache"] and "rbd" in stores:
        warnings.append(
            "enable_glance_image_cache is on with the ceph backend: nova copies images "
            "straight from ceph, so the cache only uses disk — consider turning it off"
        )
    if flags["property_protection_rule_format"] not in ("roles", "policies"):
        errors.append(
            "glance:property_protection_rule_format is "
            f"{flags['property_protection_rule_format']!r} — use roles or policies"
        )
    if flags["enable_keystone"]:
        for key in ("keystone_internal_url", "glance_keystone_password"):
            if not flags[key]:
                errors.append(
                    f"glance:{key} is empty but enable_keystone is on — set it, or "
                    'set enable_keystone: "no" for an unauthenticated test deployment'
                )
        if flags["memcached_servers"] and not flags["memcache_secret_key"]:
            errors.append(
                "glance:memcache_secret_key is empty but memcached_servers is set — set it "
                "(kolla keeps it in passwords.yml); the token cache is encrypted with it"
            )
    else:
        warnings.append(
            "UNAUTHENTICATED: enable_keystone is off, so the Glance API accepts every "
            "request from anyone as admin — never do this outside a throw-away test"
        )
    if not flags["glance_database_password"]:
        errors.append(
            "glance:glance_database_password is empty — set it (kolla keeps it in "
            "passwords.yml)"
        )


def numbers(flags, grains, errors):
    """Numeric keys as ints; failures recorded in errors."""
    out = {}
    specs = {
        "glance_api_port": 1,
        "database_port": 1,
        "glance_upgrade_max_unavailable": 1,
        "glance_cache_max_size": 0,
        "glance_cache_prune_interval": 1,
        "glance_cache_clean_hour": 0,
        "glance_api_healthy_timeout": 1,
        "glance_drain_timeout": 1,
        "default_container_healthcheck_interval": 1,
        "default_container_healthcheck_timeout": 1,
        "default_container_healthcheck_retries": 1,
        "default_container_healthcheck_start_period": 0,
        "glance_file_store_chunk_size": 4096,
    }
    for key, minimum in specs.items():
        try:
            out[key] = to_int(flags[key], key, minimum)
        except PillarError as exc:
            errors.append(str(exc))
            out[key] = minimum
    for key, fallback in (
        ("glance_api_listen_port", out["glance_api_port"]),
        ("glance_api_workers", min(int((grains or {}).get("num_cpus") or 1), 5)),
    ):
        try:
            out[key] = to_int(flags[key], key, 1) if flags[key] != "" else fallback
        except PillarError as exc:
            errors.append(str(exc))
            out[key] = fallback
    for key, example in PORT_KEYS.items():
        if out[key] > 65535:
            errors.append(
                f"glance:{key} is {out[key]}, which is not a TCP port — use a port from "
                f"1 to 65535, e.g. {key}: {example}"
            )
    check_cache_schedule(out, errors)
    return out


# every *_port key, with the example its error message gives
PORT_KEYS = {"glance_api_port": 9292, "glance_api_listen_port": 9292, "database_port": 3306}


def check_cache_schedule(nums, errors):
    """
    The cache cleanup's schedule, in the precheck (glance_cache.check_schedule
    refuses the same values when the cron entries are written).
    """
    interval, hour = nums["glance_cache_prune_interval"], nums["glance_cache_clean_hour"]
    if interval > 60 or 60 % interval:
        divisors = ", ".join(str(n) for n in range(1, 61) if 60 % n == 0)
        errors.append(
            f"glance:glance_cache_prune_interval is {interval}, which does not divide "
            f"60, so the prunes would drift against the hour — use one of {divisors}"
        )
    if hour > 23:
        errors.append(
            f"glance:glance_cache_clean_hour is {hour}, which is not an hour of the day — "
            "use 0 to 23 (e.g. glance_cache_clean_hour: 3)"
        )


def settings(defaults, pillar, minion_id, grains=None, read_file=None, topology=False,
             **kwargs):
    """
    The one merged dict every glance state and template reads (masked from the CLI).

    ``topology=True`` (the upgrade orchestration on the master): hosts, image, flags
    and numbers only — no service files, so no operator file is read, and no address
    of ``minion_id`` is needed; each API host checks its own files before it is touched.
    """
    if _called_as_job(kwargs):
        return for_output(settings(defaults, pillar, minion_id, grains, read_file, topology))
    read_file = read_file or (lambda path: None)
    errors, warnings, notes = [], [], []
    flags = coerce_flags(defaults, pillar, errors)
    nums = numbers(flags, grains, errors)
    try:
        release = str(flags["openstack_release"])
        major = glance_major(release)
    except PillarError as exc:
        errors.append(str(exc))
        release, major = "2026.1", 32
    server = api_server(flags["glance_api_server"], release, major, errors)

    stores = enabled_stores(flags)
    chosen = default_store(stores, flags["glance_default_backend"], errors)
    s3 = s3_settings(flags)
    check_backends(flags, stores, s3, errors)

    hosts = api_hosts(flags, minion_id, errors)
    pinned = "file" in stores and flags["glance_file_datadir_volume"] == "glance"
    running = hosts[:1] if pinned else hosts
    if pinned and len(hosts) > 1:
        notes.append(
            f"glance-api runs only on {hosts[0]['id']}: the file backend keeps images "
            "in the local named volume 'glance'; set glance_file_datadir_volume to a "
            "shared path to run it on every API host"
        )
        warnings.append(notes[-1])
    me = None if topology else next((h for h in running if h["id"] == minion_id), None)
    api_address, known_errors = "", len(errors)
    if me:
        api_address = own_address(flags, me, grains, minion_id, errors)
        me["address"] = me["address"] or api_address
    else:
        api_address = str(flags["api_interface_address"]).strip()
    if me and not api_address and len(errors) == known_errors:
        errors.append(
            f"glance:api_interface_address is empty for {minion_id} — set it, or "
            "api_interface / network_interface (its address comes from the grains), "
            f"or give glance_api_hosts an entry {{id: {minion_id}, address: <ip>}}"
        )
    check_addresses(flags, hosts, errors)
    check_images(flags, errors)
    check_features(flags, stores, pinned, errors, warnings)
    if flags["glance_enable_rolling_upgrade"] and not pinned and len(running) < 2:
        errors.append(
            "glance:glance_enable_rolling_upgrade is on but "
            f"{running[0]['id'] if running else minion_id} is the only API host, so "
            "draining it stops the service — add API hosts to glance_api_hosts or set "
            'glance_enable_rolling_upgrade: "no" for an offline (legacy) upgrade'
        )

    out = {
        "minion_id": minion_id,
        "errors": errors,
        "warnings": warnings,
        "notes": notes,
        "flags": flags,
        "numbers": nums,
        "release": release,
        "glance_major": major,
        "server": server,
        "image": image_name(flags, release),
        "stores": stores,
        "default_store": chosen,
        "s3": s3,
        "api_hosts": running,
        "all_hosts": hosts,
        "am_i_api_host": me is not None,
        # False: images sit in a node-local volume, so one host runs the API (no rolling)
        "shared_storage": not pinned,
        # the first API host creates the database and runs schema changes
        "db_node": running[0]["id"] if running else None,
        "am_i_db_node": bool(running) and running[0]["id"] == minion_id,
        "api_address": api_address,
        "api_port": nums["glance_api_port"],
        "listen_port": nums["glance_api_listen_port"],
        "service_dir": f"{flags['node_config_directory']}/{SERVICE_NAME}",
        "drain_dir": f"{flags['node_config_directory']}/{SERVICE_NAME}-drain",
        "database": database(flags, nums),
        "container": container_options(flags, api_address, errors, warnings),
    }
    files = {} if topology else service_files(out, read_file, errors, warnings)
    out["files"] = {} if errors else files
    out["config_hash"] = config_hash(out["files"])
    out["config_validation"] = config_validation(out, read_file)
    out["services"] = services(out)
    out["loadbalancer"] = loadbalancer(out, errors)
    out["lb_files"] = {} if errors else lb_files(out)
    out["services"]["glance-haproxy"] = haproxy_service(out)
    return out


def api_server(requested, release, major, errors):
    """eventlet or uwsgi: what kolla-ansible of that release runs, unless pinned."""
    if requested == "auto":
        # kolla-ansible starts glance-api under uWSGI from 2026.1 (glance 32); the
        # official images of earlier releases are started with the eventlet server
        return "uwsgi" if major >= UWSGI_FROM_MAJOR else "eventlet"
    if requested not in ("eventlet", "uwsgi"):
        errors.append(
            f"glance:glance_api_server is {requested!r} — use auto, eventlet or uwsgi"
        )
        return "eventlet"
    if major >= 33 and requested == "eventlet":
        errors.append(
            f"glance:glance_api_server is eventlet but {release} (glance {major}) has no "
            "standalone server — use uwsgi or auto"
        )
    if major < 30 and requested == "uwsgi":
        errors.append(
            f"glance:glance_api_server is uwsgi but {release} (glance {major}) has no "
            "glance.wsgi.api module (it came with 2025.1) — use eventlet or auto"
        )
    return requested


# docker's image reference grammar (github.com/distribution/reference)
REGISTRY_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*"
    r"[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
)
PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# docker volume names ([a-zA-Z0-9][a-zA-Z0-9_.-]+); anything else must be a host path
VOLUME_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]+")
VOLUME_KEYS = ("glance_file_datadir_volume", "glance_staging_volume")


def check_images(flags, errors):
    """Registry, namespace and tag as docker's reference grammar takes them."""
    registry = str(flags["docker_registry"] or "")
    if "://" in registry:
        bare = registry.split("://", 1)[1].rstrip("/")
        errors.append(
            f"glance:docker_registry is {registry!r} — docker takes a registry as "
            f"host[:port] without a scheme: set docker_registry: {bare} (a plain-http "
            "registry goes in the docker daemon's insecure-registries)"
        )
    elif registry and not REGISTRY_RE.fullmatch(registry):
        errors.append(
            f"glance:docker_registry is {registry!r}, which docker cannot parse as a "
            "registry — use host[:port], e.g. docker_registry: quay.io or 10.0.0.5:4000"
        )
    namespace = str(flags["docker_namespace"] or "")
    if namespace and not all(PATH_COMPONENT_RE.fullmatch(part)
                             for part in namespace.split("/")):
        errors.append(
            f"glance:docker_namespace is {namespace!r}, which docker refuses in an image "
            "name — use lowercase letters, digits and single . _ - between them "
            "(slashes between parts), e.g. docker_namespace: openstack.kolla"
        )
    for key in ("openstack_tag", "glance_tag"):
        tag = str(flags[key] or "")
        if tag and not TAG_RE.fullmatch(tag):
            errors.append(
                f"glance:{key} is {tag!r}, which docker refuses as a tag — use up to "
                "128 letters, digits, _ . - (not starting with . or -), e.g. "
                f"{key}: 2025.1-debian-bookworm"
            )
    for key in VOLUME_KEYS:
        value = str(flags[key] or "")
        if value and not value.startswith("/") and not VOLUME_NAME_RE.fullmatch(value):
            errors.append(
                f"glance:{key} is {value!r}, which is neither a docker volume name nor "
                "an absolute path — use a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+, e.g. "
                f"glance) or an absolute host path (e.g. /srv/nfs/glance)"
            )


def image_name(flags, release):
    # kolla: glance_tag falls back to openstack_tag (the release here)
    tag = flags["glance_tag"] or flags["openstack_tag"] or release
    registry = flags["docker_registry"]
    prefix = f"{registry}/" if registry else ""
    return f"{prefix}{flags['docker_namespace']}/glance-api:{tag}"


def database(flags, nums):
    return {
        "host": str(flags["database_address"]),
        "port": nums["database_port"],
        "admin_user": str(flags["database_user"]),
        "admin_password": str(flags["database_password"]),
        "name": str(flags["glance_database_name"]),
        "user": str(flags["glance_database_user"]),
        "password": str(flags["glance_database_password"]),
    }


# ---------------------------------------------------------------- file builders


def api_conf(s):
    """glance-api.conf as a dict, before operator overrides."""
    flags, stores, nums = s["flags"], s["stores"], s["numbers"]
    self_url = f"http://{url_host(s['api_address'])}:{s['listen_port']}"
    db = s["database"]
    conf = {
        "DEFAULT": {
            "debug": flags["glance_logging_debug"],
            "log_file": f"{LOG_DIR}/glance-api.log",
            "bind_host": s["api_address"],
            "bind_port": s["listen_port"],
            "workers": nums["glance_api_workers"],
            "enabled_backends": [f"{name}:{name}" for name in stores + ["http"]],
            "worker_self_reference_url": self_url,
        },
        "database": {
            "connection": (
                f"mysql+pymysql://{db['user']}:{urllib.parse.quote(db['password'], safe='')}"
                f"@{url_host(db['host'])}:{db['port']}/{db['name']}"
            ),
            "max_retries": -1,
        },
        "paste_deploy": {"flavor": paste_flavor(flags)},
        "glance_store": {"default_backend": s["default_store"]},
    }
    if flags["glance_enable_property_protection"]:
        conf["DEFAULT"]["property_protection_file"] = (
            "/etc/glance/property-protections-rules.conf"
        )
        conf["DEFAULT"]["property_protection_rule_format"] = flags[
            "property_protection_rule_format"
        ]
    if flags["enable_glance_image_cache"]:
        conf["DEFAULT"]["image_cache_dir"] = IMAGE_CACHE_DIR
        conf["DEFAULT"]["image_cache_max_size"] = nums["glance_cache_max_size"]
    if flags["enable_keystone"]:
        conf["keystone_authtoken"] = keystone_authtoken(flags)
    else:
        conf["oslo_policy"] = {"policy_file": "policy.yaml"}
    conf.update(store_sections(s))
    chunk = {"filesystem_store_chunk_size": s["numbers"]["glance_file_store_chunk_size"]}
    conf["os_glance_tasks_store"] = {
        "filesystem_store_datadir": "/var/lib/glance/tasks_work_dir", **chunk}
    conf["os_glance_staging_store"] = {"filesystem_store_datadir": STAGING_DIR, **chunk}
    conf["oslo_concurrency"] = {"lock_path": "/var/lib/glance/tmp"}
    conf["oslo_middleware"] = {"enable_proxy_headers_parsing": True}
    return conf


def paste_flavor(flags):
    base = "keystone" if flags["enable_keystone"] else ""
    if not flags["enable_glance_image_cache"]:
        return base
    cache = "cachemanagement"
    return f"{base}+{cache}" if base else cache


def keystone_authtoken(flags):
    auth = {
        "service_type": "image",
        "www_authenticate_uri": flags["keystone_public_url"] or flags["keystone_internal_url"],
        "auth_url": flags["keystone_internal_url"],
        "auth_type": "password",
        "project_domain_id": "default",
        "user_domain_id": "default",
        "project_name": "service",
        "username": flags["glance_keystone_user"],
        "password": flags["glance_keystone_password"],
    }
    if flags["memcached_servers"]:
        auth["memcache_security_strategy"] = "ENCRYPT"
        auth["memcache_secret_key"] = flags["memcache_secret_key"]
        auth["memcached_servers"] = list(flags["memcached_servers"])
    return auth


def store_sections(s):
    flags, stores, s3 = s["flags"], s["stores"], s["s3"]
    sections = {}
    if "file" in stores:
        sections["file"] = {
            "filesystem_store_datadir": "/var/lib/glance/images/",
            "filesystem_store_chunk_size": s["numbers"]["glance_file_store_chunk_size"],
        }
    if "rbd" in stores:
        sections["rbd"] = {
            "rbd_store_user": flags["ceph_glance_user"],
            "rbd_store_pool": flags["ceph_glance_pool_name"],
            "rbd_store_ceph_conf": f"/etc/ceph/{flags['ceph_cluster']}.conf",
        }
    if "swift" in stores:
        sections["swift"] = {
            "swift_store_container": "glance",
            "swift_store_multiple_containers_seed": 0,
            "swift_store_multi_tenant": False,
            "swift_store_create_container_on_put": True,
            "default_swift_reference": "swift",
            "swift_store_config_file": "/etc/glance/glance-swift.conf",
            "swift_store_auth_insecure": True,
            # kolla's: the catalog may list object-store in several regions
            "swift_store_region": flags["openstack_region_name"],
        }
    if "vmware" in stores:
        sections["vmware"] = {
            "vmware_server_host": flags["vmware_vcenter_host_ip"],
            "vmware_server_username": flags["vmware_vcenter_host_username"],
            "vmware_server_password": flags["vmware_vcenter_host_password"],
            "vmware_datastores": (
                f"{flags['vmware_vcenter_name']}:{flags['vmware_datastore_name']}"
            ),
            "vmware_insecure": flags["vmware_vcenter_insecure"],
        }
    if "s3" in stores:
        sections["s3"] = {
            "s3_store_host": s3["url"],
            "s3_store_access_key": s3["access_key"],
            "s3_store_secret_key": s3["secret_key"],
            "s3_store_bucket": s3["bucket"],
            "s3_store_create_bucket_on_put": True,
            "s3_store_bucket_url_format": s3["url_format"],
        }
    return sections


def cache_conf(s):
    flags = s["flags"]
    conf = {
        "DEFAULT": {
            "debug": flags["glance_logging_debug"],
            "log_file": f"{LOG_DIR}/glance-cache.log",
            "image_cache_dir": IMAGE_CACHE_DIR,
            "image_cache_max_size": s["numbers"]["glance_cache_max_size"],
            "image_cache_stall_time": 86400,
            "worker_self_reference_url": (
                f"http://{url_host(s['api_address'])}:{s['listen_port']}"),
        },
        "database": {"connection": api_conf(s)["database"]["connection"]},
    }
    if "file" in s["stores"]:
        conf["DEFAULT"]["filesystem_store_datadir"] = "/var/lib/glance/images/"
    return conf


def swift_conf(flags):
    address = flags["glance_swift_auth_address"] or f"{flags['keystone_internal_url']}/v3"
    return {
        "swift": {
            "auth_version": 3 if address.rstrip("/").endswith("/v3") else 1,
            "auth_address": address,
            # kolla: service:{{ glance_keystone_user }}, the user glance.register creates
            "user": flags["glance_swift_user"] or f"service:{flags['glance_keystone_user']}",
            "key": flags["glance_swift_key"] or flags["glance_keystone_password"],
            "project_domain_id": "default",
            "user_domain_id": "default",
        }
    }


def uwsgi_ini(s):
    """kolla's uWSGI settings for glance-api (role service-uwsgi-config)."""
    return {
        "uwsgi": {
            "add-header": "Connection: close",
            "buffer-size": 65535,
            "chunked-input-limit": UWSGI_CHUNKED_INPUT_LIMIT,
            "die-on-term": True,
            "enable-threads": True,
            "exit-on-reload": False,
            "hook-master-start": "unix_signal:15 gracefully_kill_them_all",
            # kolla writes `http =` (the router of a pip-built uwsgi); distro uwsgi has
            # no http router plugin, while http-socket is in every build, one hop less
            "http-socket": f"{url_host(s['api_address'])}:{s['listen_port']}",
            "http-auto-chunked": True,
            "http-chunked-input": True,
            "http-raw-body": True,
            "lazy-apps": True,
            "logto2": f"{LOG_DIR}/glance-api-uwsgi.log",
            "master": True,
            # a module, never a script path: official images keep glance in a venv
            "module": "glance.wsgi.api:application",
            # uWSGI only warns when the plugin is built in (pip-installed uwsgi)
            "plugins-dir": "/usr/lib/uwsgi/plugins",
            "plugins": "python3",
            "processes": s["numbers"]["glance_api_workers"],
            "thunder-lock": True,
            "worker-reload-mercy": 80,
        }
    }


def api_paste(s):
    """
    glance-api-paste.ini as a dict: glance's own pipelines for every flavor, with the
    health check switched off by a file in the drain dir instead of /etc/glance
    (which the host cannot reach: /etc/glance lives inside the container).
    """
    head = ["cors", "http_proxy_to_wsgi", "versionnegotiation", "osprofiler"]
    auth = {"": ["unauthenticated-context"], "keystone": ["authtoken", "context"]}
    cache = {"": [], "caching": ["cache"], "cachemanagement": ["cache", "cachemanage"]}
    chains = {}
    for auth_name, auth_filters in auth.items():
        for cache_name, cache_filters in cache.items():
            flavor = "+".join(name for name in (auth_name, cache_name) if name)
            chains[flavor] = head + auth_filters + cache_filters + ["rootapp"]
    check = {
        "backends": "disable_by_file",
        "disable_by_file_path": f"{DRAIN_DIR_IN_CONTAINER}/{HEALTHCHECK_DISABLE_FILE}",
    }
    paste = {}
    if s["glance_major"] >= PASTE_APP_HEALTHCHECK_FROM_MAJOR:
        for flavor in chains:
            paste[f"composite:glance-api{'-' if flavor else ''}{flavor}"] = {
                "paste.composite_factory": "glance.api:root_app_factory",
                "/": "api", "/healthcheck": "healthcheck"}
        paste["composite:api"] = {"paste.composite_factory": "glance.api:pipeline_factory"}
        paste["composite:api"].update(
            {flavor or "default": " ".join(chain) for flavor, chain in chains.items()})
        paste["app:healthcheck"] = dict(
            {"paste.app_factory": "oslo_middleware:Healthcheck.app_factory"}, **check)
    else:
        for flavor, chain in chains.items():
            paste[f"pipeline:glance-api{'-' if flavor else ''}{flavor}"] = {
                "pipeline": " ".join(chain[:1] + ["healthcheck"] + chain[1:])}
        paste["filter:healthcheck"] = dict(
            {"paste.filter_factory": "oslo_middleware:Healthcheck.factory"}, **check)
    paste.update({
        "composite:rootapp": {"paste.composite_factory": "glance.api:root_app_factory",
                              "/": "apiversions", "/v2": "apiv2app"},
        "app:apiversions": {"paste.app_factory": "glance.api.versions:create_resource"},
        "app:apiv2app": {"paste.app_factory": "glance.api.v2.router:API.factory"},
    })
    filters = {
        "versionnegotiation": "glance.api.middleware.version_negotiation:"
                              "VersionNegotiationFilter.factory",
        "cache": "glance.api.middleware.cache:CacheFilter.factory",
        "cachemanage": "glance.api.middleware.cache_manage:CacheManageFilter.factory",
        "context": "glance.api.middleware.context:ContextMiddleware.factory",
        "unauthenticated-context": "glance.api.middleware.context:"
                                   "UnauthenticatedContextMiddleware.factory",
        "authtoken": "keystonemiddleware.auth_token:filter_factory",
        "gzip": "glance.api.middleware.gzip:GzipMiddleware.factory",
        "osprofiler": "osprofiler.web:WsgiMiddleware.factory",
        "cors": "oslo_middleware.cors:filter_factory",
        "http_proxy_to_wsgi": "oslo_middleware:HTTPProxyToWSGI.factory",
    }
    for name, factory in filters.items():
        paste[f"filter:{name}"] = {"paste.filter_factory": factory}
    paste["filter:authtoken"]["delay_auth_decision"] = "true"
    paste["filter:cors"].update(oslo_config_project="glance",
                                oslo_config_program="glance-api")
    return paste


def noauth_policy():
    # Without keystone every request carries an anonymous context; glance >= 26
    # then needs this rule to treat it as admin. Rendered only when enable_keystone is off.
    return '"context_is_admin": "@"\n'


def service_files(s, read_file, errors, warnings):
    """{relative path: {'contents', 'mode'}} for the service directory."""
    flags = s["flags"]
    custom = str(flags["node_custom_config"]).rstrip("/")
    me = s["minion_id"]
    files, entries = {}, []

    def add(name, contents, dest=None):
        files[name] = {"contents": contents, "mode": "0600"}
        if dest:
            entries.append({"source": f"{CONFIG_DIR_IN_CONTAINER}/{name}", "dest": dest,
                            "owner": "glance", "perm": "0600"})

    def add_ini(name, base, dest):
        try:
            merged, _ = apply_overrides(base, custom, me, name, read_file)
        except PillarError as exc:
            errors.append(str(exc))
            merged = base
        add(name, ini_dumps(merged), dest)

    add_ini("glance-api.conf", api_conf(s), "/etc/glance/glance-api.conf")
    command = "glance-api --config-file /etc/glance/glance-api.conf"
    if flags["enable_glance_image_cache"]:
        add_ini("glance-cache.conf", cache_conf(s), "/etc/glance/glance-cache.conf")
    if "swift" in s["stores"]:
        add_ini("glance-swift.conf", swift_conf(flags), "/etc/glance/glance-swift.conf")
    if "rbd" in s["stores"]:
        cluster, user = flags["ceph_cluster"], flags["ceph_glance_user"]
        for name in (f"{cluster}.conf", f"{cluster}.client.{user}.keyring"):
            text = read_file(f"{custom}/glance/{name}")
            if text is None:
                errors.append(
                    f"glance_backend_ceph is on but {custom}/glance/{name} is missing — "
                    "copy the cluster's conf and the glance client keyring there "
                    "(node_custom_config), or turn the ceph backend off"
                )
                continue
            add(f"ceph/{name}", text)
        entries.append({"source": f"{CONFIG_DIR_IN_CONTAINER}/ceph", "dest": "/etc/ceph",
                        "owner": "glance", "perm": "0700"})
    if flags["glance_enable_property_protection"]:
        path = f"{custom}/glance/property-protections-rules.conf"
        text = read_file(path)
        if text is None:
            errors.append(
                "glance_enable_property_protection is on but "
                f"{path} is missing — write the rules there or turn the flag off"
            )
        else:
            errors.extend(
                property_rule_errors(text, flags["property_protection_rule_format"], path)
            )
            if s["glance_major"] < 32 and not first_section(text).lstrip("^").startswith(
                "os_glance"
            ):
                warnings.append(
                    f"{path}: releases before 2026.1 need an [^os_glance.*] section "
                    "allowing '@' for every operation first, or image import breaks"
                )
            add("property-protections-rules.conf", text,
                "/etc/glance/property-protections-rules.conf")
    if flags["glance_enable_interoperable_image_import"]:
        path = f"{custom}/glance/glance-image-import.conf"
        text = read_file(path)
        if text is None:
            errors.append(
                "glance_enable_interoperable_image_import is on but "
                f"{path} is missing — write it there or turn the flag off"
            )
        else:
            try:
                ini_loads(text, source=path)
            except PillarError as exc:
                errors.append(str(exc))
            # glance's WSGI app reads it from here by itself; eventlet needs the option,
            # before glance-api.conf: glance-api looks for its paste file beside the
            # LAST --config-file (<name>-paste.ini)
            dest = "/etc/glance/glance-image-import.conf"
            if s["server"] == "eventlet":
                command = command.replace("glance-api ", f"glance-api --config-file {dest} ", 1)
            add("glance-image-import.conf", text, dest)
    add("glance-api-paste.ini", ini_dumps(api_paste(s)), "/etc/glance/glance-api-paste.ini")
    if not flags["enable_keystone"]:
        add("policy.yaml", noauth_policy(), "/etc/glance/policy.yaml")
    if s["server"] == "uwsgi":
        add("glance-api-uwsgi.ini", ini_dumps(uwsgi_ini(s)), "/etc/glance/glance-api-uwsgi.ini")
        command = "uwsgi /etc/glance/glance-api-uwsgi.ini"
    config_json = {
        "command": command,
        "config_files": entries,
        "permissions": [
            {"path": "/var/lib/glance", "owner": "glance:glance", "recurse": True},
            {"path": LOG_DIR, "owner": "glance:glance", "recurse": True},
        ],
    }
    add("config.json", json.dumps(config_json, indent=4, sort_keys=True) + "\n")
    return files


def config_hash(files):
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name]["contents"].encode() + b"\0")
    return digest.hexdigest()[:16]


# kolla's container dimensions (docs: resource-constraints) -> docker_container.running
# arguments of the same name; sizes are bytes or <n>[b|k|m|g] (docker's 1024 units)
DIMENSION_INTS = ("cpu_period", "cpu_quota", "cpu_shares", "blkio_weight")
DIMENSION_BYTES = ("mem_limit", "memswap_limit", "mem_reservation", "kernel_memory")
DIMENSION_CPUSETS = ("cpuset_cpus", "cpuset_mems")
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def kolla_fallback(flags, *keys):
    """The first key that is not '' (derived) — kolla's `x: "{{ y }}"` chains."""
    for key in keys:
        if flags[key] != "" and flags[key] is not None:
            return key, flags[key]
    return keys[-1], flags[keys[-1]]


def extra_volumes(flags, errors):
    """glance_api_extra_volumes -> glance_extra_volumes -> default_extra_volumes."""
    key, value = kolla_fallback(
        flags, "glance_api_extra_volumes", "glance_extra_volumes", "default_extra_volumes"
    )
    if not isinstance(value, list):
        errors.append(
            f"glance:{key} is {value!r}, which is not a list — write it as a list of "
            "binds, e.g. [/mnt/nfs/certs:/etc/glance/certs:ro]"
        )
        return []
    volumes = []
    for entry in value:
        if entry in ("", None):
            continue  # kolla drops empty entries (its conditional volumes)
        parts = str(entry).split(":")
        if (not isinstance(entry, str) or len(parts) not in (2, 3) or not parts[0]
                or not parts[1].startswith("/")
                or (len(parts) == 3 and parts[2] not in ("ro", "rw", "z", "Z", "shared",
                                                         "slave", "private", "rshared",
                                                         "rslave", "rprivate"))):
            errors.append(
                f"glance:{key} has {entry!r}, which is not a bind — write "
                "<host path or volume>:<absolute container path>[:ro], e.g. "
                "/mnt/nfs/certs:/etc/glance/certs:ro"
            )
            continue
        volumes.append(entry)
    return volumes


def dimension_value(key, name, value, errors):
    """One kolla dimension as the docker_container.running argument value."""
    where = f"glance:{key}:{name}"
    text = str(value).strip().lower()
    if name in DIMENSION_INTS:
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", text):
            errors.append(f"{where} is {value!r}, which is not a whole number")
            return None
        return int(text)
    if name in DIMENSION_BYTES:
        match = re.fullmatch(r"(-?\d+)([bkmg]?)", text)
        if isinstance(value, bool) or not match:
            errors.append(
                f"{where} is {value!r}, which is not a size — use bytes or <n>[b|k|m|g], "
                "e.g. 2g"
            )
            return None
        return int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if name in DIMENSION_CPUSETS:
        if not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", text):
            errors.append(f"{where} is {value!r}, which is not a cpu/node list like 0-3,6")
            return None
        return text
    # ulimits: kolla's {name: {soft: n, hard: n}} -> docker's name=soft:hard
    def well_formed(bounds):
        return (isinstance(bounds, dict) and set(bounds) == {"soft", "hard"}
                and all(re.fullmatch(r"-?\d+", str(b)) for b in bounds.values()))

    if not isinstance(value, dict) or not all(map(well_formed, value.values())):
        errors.append(
            f"{where} is {value!r} — write it as kolla does, e.g. "
            "ulimits: {nofile: {soft: 131072, hard: 131072}}"
        )
        return None
    return [f"{limit}={int(b['soft'])}:{int(b['hard'])}" for limit, b in sorted(value.items())]


def dimensions(flags, errors, warnings):
    """glance_api_dimensions -> default_container_dimensions, as container arguments."""
    key, value = kolla_fallback(flags, "glance_api_dimensions", "default_container_dimensions")
    if not isinstance(value, dict):
        errors.append(
            f"glance:{key} is {value!r}, which is not a mapping — write it as kolla "
            "does, e.g. {mem_limit: 4g, cpu_shares: 512}"
        )
        return {}
    known = DIMENSION_INTS + DIMENSION_BYTES + DIMENSION_CPUSETS + ("ulimits",)
    args = {}
    for name, raw in sorted(value.items()):
        if name not in known:
            errors.append(
                f"glance:{key}:{name} is not a container dimension kolla supports — use "
                f"one of {', '.join(known)}"
            )
            continue
        converted = dimension_value(key, name, raw, errors)
        if converted is not None:
            args[name] = converted
    if "kernel_memory" in args:
        warnings.append(
            f"glance:{key}:kernel_memory is deprecated in Docker and ignored on cgroup v2 "
            "hosts — use mem_limit"
        )
    return args


def container_proxy(flags, api_address, errors):
    """glance_api_container_proxy -> container_proxy -> container_*_proxy, as env."""
    key, value = kolla_fallback(flags, "glance_api_container_proxy", "container_proxy")
    if value == "" or value is None:
        value = {
            "http_proxy": flags["container_http_proxy"],
            "https_proxy": flags["container_https_proxy"],
            "no_proxy": ",".join(
                str(entry) for entry in (flags["container_no_proxy"], api_address,
                                         flags["kolla_internal_vip_address"]) if entry
            ),
        }
        # no_proxy alone changes nothing; without a proxy the container keeps its env
        if not (value["http_proxy"] or value["https_proxy"]):
            return {}
    if not isinstance(value, dict) or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in value.values()
    ):
        errors.append(
            f"glance:{key} is {value!r} — write it as kolla does, a mapping of "
            "environment variables, e.g. {http_proxy: http://10.0.0.2:3128, "
            "https_proxy: http://10.0.0.2:3128, no_proxy: localhost,127.0.0.1}"
        )
        return {}
    return {str(k): str(v) for k, v in value.items() if v != ""}


def container_options(flags, api_address, errors, warnings):
    """kolla's per-container knobs for glance_api: extra binds, dimensions, proxy env."""
    return {
        "extra_volumes": extra_volumes(flags, errors),
        "dimensions": dimensions(flags, errors, warnings),
        "proxy": container_proxy(flags, api_address, errors),
    }


def services(s):
    """kolla-style services dict: one place that containers, checks and LB read."""
    flags, nums = s["flags"], s["numbers"]
    url = f"http://{url_host(s['api_address'])}:{s['listen_port']}"
    volumes = [
        f"{s['service_dir']}/:{CONFIG_DIR_IN_CONTAINER}/:ro",
        f"{s['drain_dir']}/:{DRAIN_DIR_IN_CONTAINER}/:ro",
        "/etc/localtime:/etc/localtime:ro",
        f"{flags['glance_file_datadir_volume']}:/var/lib/glance/",
        "kolla_logs:/var/log/kolla/",
    ]
    if flags["enable_glance_image_cache"]:
        # the cache must stay node-local even when /var/lib/glance is shared
        volumes.append(f"{IMAGE_CACHE_VOLUME}:{IMAGE_CACHE_DIR}/")
    if flags["glance_staging_volume"]:
        # node-local staging: glance-direct imports are proxied to the node that staged
        # the data (worker_self_reference_url) instead of sharing the directory
        volumes.append(f"{flags['glance_staging_volume']}:{STAGING_DIR}/")
    named = [v.split(":", 1)[0] for v in volumes if not v.startswith("/")]
    container = s["container"]
    # the operator's binds: created when named, never deleted by glance.clean
    volumes += container["extra_volumes"]
    extra_named = [v.split(":", 1)[0] for v in container["extra_volumes"]
                   if not v.startswith("/")]
    return {
        SERVICE_NAME: {
            "container_name": flags["glance_api_container_name"],
            "enabled": s["am_i_api_host"],
            "image": s["image"],
            "volumes": volumes,
            "named_volumes": named + [v for v in extra_named if v not in named],
            # what glance.clean may delete with glance_clean_remove_data (kolla_logs is shared)
            "data_volumes": [v for v in named if v != "kolla_logs"],
            "environment": dict(container["proxy"], KOLLA_CONFIG_STRATEGY="COPY_ALWAYS"),
            "dimensions": container["dimensions"],
            "labels": {HASH_LABEL: s["config_hash"]},
            "url": url,
            "healthcheck": {
                "test": ["CMD-SHELL", f"healthcheck_curl {url}/healthcheck"],
                "interval": nums["default_container_healthcheck_interval"] * NANOSECONDS,
                "timeout": nums["default_container_healthcheck_timeout"] * NANOSECONDS,
                "retries": nums["default_container_healthcheck_retries"],
                "start_period": (
                    nums["default_container_healthcheck_start_period"] * NANOSECONDS
                ),
            },
            "haproxy": {
                "port": s["api_port"],
                "backends": [
                    {"id": host["id"], "address": host["address"], "port": s["listen_port"]}
                    for host in s["api_hosts"]
                ],
            },
        }
    }


def loadbalancer(s, errors):
    """Where HAProxy runs and what it fronts (glance_loadbalancer_hosts)."""
    flags = s["flags"]
    hosts = [str(host) for host in flags["glance_loadbalancer_hosts"] or []]
    lb = {
        "hosts": hosts,
        "enabled": s["minion_id"] in hosts,
        "address": str(flags["kolla_internal_vip_address"]),
        "port": s["api_port"],
        "backend": LB_BACKEND,
        "service_dir": f"{flags['node_config_directory']}/glance-haproxy",
        "socket_volume": LB_SOCKET_VOLUME,
    }
    if hosts and not lb["address"]:
        errors.append(
            "glance:kolla_internal_vip_address is empty but glance_loadbalancer_hosts is "
            "set — set it to the address HAProxy serves the Glance API on"
        )
    if hosts:
        for host in s["api_hosts"]:
            if not host["address"]:
                errors.append(
                    f"glance:glance_api_hosts entry {host['id']!r} has no address, which "
                    f"HAProxy needs — write it as {{id: {host['id']}, address: <ip>}}"
                )
    return lb


def lb_files(s):
    """The HAProxy service directory: config.json (Kolla contract) and haproxy.cfg."""
    lb = s["loadbalancer"]
    if not lb["hosts"]:
        return {}
    backends = s["services"][SERVICE_NAME]["haproxy"]["backends"]
    cfg = haproxy_config(lb["address"], lb["port"], backends, f"{LB_SOCKET_DIR}/haproxy.sock")
    config_json = {
        "command": "/usr/sbin/haproxy -W -db -f /etc/haproxy/haproxy.cfg",
        "config_files": [{"source": f"{CONFIG_DIR_IN_CONTAINER}/haproxy.cfg",
                          "dest": "/etc/haproxy/haproxy.cfg", "owner": "haproxy",
                          "perm": "0600"}],
        "permissions": [{"path": LB_SOCKET_DIR, "owner": "haproxy:haproxy", "recurse": True}],
    }
    return {
        "config.json": {"contents": json.dumps(config_json, indent=4, sort_keys=True) + "\n",
                        "mode": "0600"},
        "haproxy.cfg": {"contents": cfg, "mode": "0600"},
    }


def haproxy_service(s):
    flags, lb = s["flags"], s["loadbalancer"]
    tag = flags["openstack_tag"] or s["release"]
    registry = f"{flags['docker_registry']}/" if flags["docker_registry"] else ""
    return {
        "container_name": flags["glance_haproxy_container_name"],
        "enabled": lb["enabled"],
        "image": f"{registry}{flags['docker_namespace']}/haproxy:{tag}",
        "volumes": [f"{lb['service_dir']}/:{CONFIG_DIR_IN_CONTAINER}/:ro",
                    f"{LB_SOCKET_VOLUME}:{LB_SOCKET_DIR}/"],
        "named_volumes": [LB_SOCKET_VOLUME],
        "environment": {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS"},
        "labels": {HASH_LABEL: config_hash(s["lb_files"])},
    }


def masked(value, key=""):
    """A copy of ``value`` with every secret-looking key replaced by stars."""
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if key and SECRET_PATTERN.search(key) and value:
        return "********"
    return value


# ---------------------------------------------------------------- load balancer (kolla's HAProxy shape)

LB_NAME = "glance_api"
LB_SOCKET_VOLUME = "glance_haproxy_socket"
# kolla's haproxy admin socket directory inside the container
LB_SOCKET_DIR = "/var/lib/kolla/haproxy"
LB_BACKEND = LB_NAME + "_back"
LB_CHECK = {"inter": 2000, "rise": 2, "fall": 5}
LB_TIMEOUTS = {
    "http-request": "10s",
    "queue": "1m",
    "connect": "10s",
    # image uploads and downloads stream for a long time
    "client": "6h",
    "server": "6h",
    "check": "10s",
}


def haproxy_config(frontend_address, port, backends, admin_socket, timeouts=None,
                   maxconn=4000, name=LB_NAME):
    """
    haproxy.cfg text in kolla's shape for glance-api (deterministic).

    ``backends`` is ``services["glance-api"]["haproxy"]["backends"]``:
    ``[{"id", "address", "port"}]``; ``timeouts`` overrides :data:`LB_TIMEOUTS`.
    """
    if not backends:
        raise ValueError("haproxy_config needs at least one backend {id, address, port} — "
                         "glance_api_hosts is empty")
    for backend in backends:
        missing = [key for key in ("id", "address", "port") if not backend.get(key)]
        if missing:
            raise ValueError(f"backend {backend!r} has no {', '.join(missing)} — give every "
                             "API host an address (glance_api_hosts: {id, address})")
    merged = dict(LB_TIMEOUTS, **(timeouts or {}))
    check = " ".join(f"{key} {value}" for key, value in LB_CHECK.items())
    lines = [
        "global",
        f"    maxconn {int(maxconn)}",
        f"    stats socket {admin_socket} mode 600 level admin",
        "    stats timeout 30s",
        "",
        "defaults",
        "    mode http",
        "    balance roundrobin",
        # a request whose connection to a node fails goes to another node
        "    retries 3",
        "    option redispatch",
        "    http-reuse safe",
        *(f"    timeout {key} {value}" for key, value in merged.items()),
        "",
        f"frontend {name}_front",
        f"    bind {frontend_address}:{int(port)}",
        f"    default_backend {name}_back",
        "",
        f"backend {name}_back",
        "    option httpchk GET /healthcheck",
        *(f"    server {b['id']} {url_host(b['address'])}:{int(b['port'])} check {check}"
          for b in backends),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- Salt wrappers


def _read_file(path):
    if path.startswith("salt://"):
        try:
            text = __salt__["cp.get_file_str"](path)  # noqa: F821
        except Exception:  # pylint: disable=broad-except
            return None
        return text if isinstance(text, str) else None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _defaults():
    """parameters/defaults.yaml, read once per run: every sls imports map.jinja, and each
    import_yaml of it was a file-server round trip and a YAML parse."""
    import yaml  # pylint: disable=import-outside-toplevel

    if "glance_config.defaults" not in __context__:  # noqa: F821
        text = __salt__["cp.get_file_str"]("salt://glance/parameters/defaults.yaml")  # noqa: F821
        # libyaml's loader when PyYAML has it: the pure-Python one took 30 ms a run
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        __context__["glance_config.defaults"] = yaml.load(text, Loader=loader)  # noqa: F821,S506
    return copy.deepcopy(__context__["glance_config.defaults"])  # noqa: F821


def _called_as_job(kwargs):
    """
    True when the CLI (salt, salt-call, orchestrate's salt.function) called us.

    Salt hands a job's publish data (``__pub_fun``, ``__pub_jid``...) to every
    function that takes ``**kwargs``; map.jinja and the other glance modules call
    through ``__salt__`` without it.  A job's return lands in the master's job
    cache, so such a return is masked; the states still get the real values.
    """
    return any(str(key).startswith("__pub_") for key in kwargs)


def for_output(result):
    """A settings dict fit for a job return: secrets starred, files as name -> digest."""
    result = dict(result)
    result["files"] = {
        name: {"mode": file["mode"],
               "sha256": hashlib.sha256(file["contents"].encode()).hexdigest()[:16]}
        for name, file in result.get("files", {}).items()
    }
    result["lb_files"] = sorted(result.get("lb_files", {}))
    return masked(result)


def render(defaults=None, pillar=None, minion_id=None, **kwargs):
    """
    Called by map.jinja: settings for this minion (secrets masked when called from the CLI).
    ``defaults`` is parameters/defaults.yaml unless given.
    """
    defaults = _defaults() if defaults is None else defaults
    pillar = pillar if pillar is not None else __pillar__.get("glance", {})  # noqa: F821
    minion_id = minion_id or __grains__["id"]  # noqa: F821
    # every sls of a run imports map.jinja: the same inputs give the same settings, so
    # they are worked out once per run (__context__ is the run's, grains do not change)
    memo = __context__.setdefault("glance_config.render", {})  # noqa: F821
    key = hashlib.sha256(json.dumps([defaults, pillar, minion_id], sort_keys=True,
                                    default=str).encode()).hexdigest()
    if key not in memo:
        memo[key] = settings(defaults, pillar, minion_id,
                             grains=dict(__grains__), read_file=_read_file)  # noqa: F821
    result = copy.deepcopy(memo[key])
    return for_output(result) if _called_as_job(kwargs) else result


def current(**kwargs):
    """This minion's settings for the other glance modules (masked from the CLI)."""
    return render(_defaults(), **kwargs)


def show(minion_id=None, pillar=None, **kwargs):  # pylint: disable=unused-argument
    """
    The merged settings with secrets masked (template-formula's _mapdata).

    CLI Example::

        salt '*' glance_config.show
    """
    glance = (pillar or {}).get("glance") if pillar else None
    return for_output(render(_defaults(), pillar=glance, minion_id=minion_id))
