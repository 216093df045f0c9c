"""
The operator's override files checked against Glance's option definitions, like
kolla-ansible's ``validate-config``: ``oslo-config-validator`` in a one-shot
container of the image that will read them, before anything changes.

The container gets each file's text in an environment variable (so ``salt://``
sources work and nothing is written on the host), writes the option data of
Glance's namespaces once (``oslo-config-generator --format yaml``), then runs
``oslo-config-validator --opt-data`` on every file. The store sections
(``[file]``, ``[rbd]``, ... named by ``enabled_backends``, and the reserved
``os_glance_*_store``) are aliases of their driver's group: glance_store lists
some drivers under their class path only, so without the alias every
``[rbd] rbd_store_pool`` would be reported.

Everything above the Salt wrappers is a plain function for the unit tests.
"""

import difflib
import hashlib
import json
import os
import re

__virtualname__ = "glance_validate"

# glance's etc/oslo-config-generator/glance-api.conf and glance-cache.conf
# (global.conf and glance.conf feed both files); missing ones are skipped
NAMESPACES = (
    "castellan.config",
    "glance.api",
    "glance.cache",
    "glance.store",
    "glance.multi_store",
    "oslo.concurrency",
    "oslo.messaging",
    "oslo.db",
    "oslo.policy",
    "keystonemiddleware.auth_token",
    "oslo.log",
    "oslo.middleware.cors",
    "oslo.middleware.healthcheck",
    "oslo.middleware.http_proxy_to_wsgi",
    "oslo.reports",
    "oslo.limit",
    "osprofiler",
)
# the reserved stores glance always configures, as filesystem stores
RESERVED_STORES = {"os_glance_tasks_store": "file", "os_glance_staging_store": "file"}
CONTAINER_NAME = "glance_config_validate"
OPT_DATA = "/tmp/glance-opt-data.yaml"
MARK = "@@glance-validate"

# Adds each store section as an alias of its driver's group, then prints the groups.
# Python 3.9 (older kolla images) has no entry_points(group=...).
ALIAS_SCRIPT = """
import os, sys, yaml
from importlib.metadata import entry_points
path = sys.argv[1]
# libyaml when the image has it: the option data is large
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
with open(path) as handle:
    data = yaml.load(handle, Loader=loader)
groups = data["options"]
eps = entry_points()
eps = eps.select(group="glance_store.drivers") if hasattr(eps, "select") \\
    else eps.get("glance_store.drivers", [])
target = {ep.name: ep.value for ep in eps}
group_of = {}
for name, value in sorted(target.items()):
    for candidate in (name, name.lower()):
        if candidate in groups:
            group_of.setdefault(value, candidate)
for pair in os.environ.get("GLANCE_STORE_GROUPS", "").split():
    section, kind = pair.split("=", 1)
    group = group_of.get(target.get(kind))
    if group and section not in groups:
        groups[section] = groups[group]
with open(path, "w") as handle:
    yaml.dump(data, handle, Dumper=dumper)
print("%s groups " + " ".join(sorted(groups)))
"""

# "<group>/<option> is not part of the sample config" (the first releases said
# "not found"), logged as root up to oslo.config 9, as oslo_config.validator from 10
UNKNOWN_RE = re.compile(
    r"^ERROR:[\w.]+:(?P<group>.+)/(?P<option>[^/]+?)"
    r"(?: is not part of the sample config| not found)\s*$")
DEPRECATED_RE = re.compile(
    r"^WARNING:[\w.]+:Deprecated opt (?P<group>.+)/(?P<option>[^/]+) found")


def __virtual__():
    return __virtualname__


def command(count):
    """``bash -c`` script for ``count`` files in $GLANCE_VALIDATE_<i>."""
    namespaces = " ".join(f"--namespace {name}" for name in NAMESPACES)
    script = "\n".join([
        "set -u",
        f"oslo-config-generator --format yaml --output-file {OPT_DATA} {namespaces} "
        "> /tmp/glance-opt-data.log 2>&1 || "
        f"{{ echo '{MARK} generator-failed'; tail -n 20 /tmp/glance-opt-data.log; exit 3; }}",
        f"python3 -c \"$GLANCE_ALIAS_SCRIPT\" {OPT_DATA} || exit 3",
        f"for i in $(seq 0 {count - 1}); do",
        '  var="GLANCE_VALIDATE_$i"',
        '  printf "%s" "${!var}" > "/tmp/glance-validate-$i.conf"',
        f'  echo "{MARK} file $i"',
        f'  oslo-config-validator --opt-data {OPT_DATA} '
        '--input-file "/tmp/glance-validate-$i.conf" 2>&1',
        f'  echo "{MARK} exit $?"',
        "done",
    ])
    return ["bash", "-c", script]


def environment(texts, store_groups):
    """The container's environment: the files, the store aliases, the alias script."""
    env = {f"GLANCE_VALIDATE_{index}": text for index, text in enumerate(texts)}
    env["GLANCE_STORE_GROUPS"] = " ".join(
        f"{section}={kind}" for section, kind in sorted(store_groups.items()))
    env["GLANCE_ALIAS_SCRIPT"] = ALIAS_SCRIPT % MARK
    return env


def store_groups(enabled_backends):
    """{section: store type} for ``enabled_backends`` (``name:type, ...``) + reserved."""
    groups = dict(RESERVED_STORES)
    items = enabled_backends if isinstance(enabled_backends, list) else \
        str(enabled_backends or "").split(",")
    for item in items:
        name, _, kind = str(item).strip().partition(":")
        if name and kind:
            groups[name.strip()] = kind.strip()
    return groups


def _split(logs):
    """(known groups or None, {file index: (lines, exit code)}, lines before any file)."""
    groups, files, head, current = None, {}, [], None
    for line in (logs or "").splitlines():
        if line.startswith(f"{MARK} groups"):
            groups = set(line[len(f"{MARK} groups"):].split())
        elif line.startswith(f"{MARK} file "):
            current = int(line.split()[-1])
            files[current] = ([], None)
        elif line.startswith(f"{MARK} exit ") and current is not None:
            files[current] = (files[current][0], int(line.split()[-1]))
            current = None
        elif current is not None:
            files[current][0].append(line)
        else:
            head.append(line)
    return groups, files, head


def findings(logs, paths, image, exit_code=0):
    """
    The validator's output -> ``{"errors": [...], "warnings": [...]}``, each naming
    the file; an unknown section once (with its options), an unknown option each.
    """
    groups, files, head = _split(logs)
    errors, warnings = [], []
    if groups is None or len(files) < len(paths):
        tail = "\n".join(line for line in head if line.strip())[-1500:]
        missing = [path for index, path in enumerate(paths) if index not in files]
        errors.append(
            f"the override files ({', '.join(missing)}) could not be validated in "
            f"{image} (exit {exit_code}): {tail or 'no output'} — the image needs "
            "oslo-config-validator (python3-oslo.config); set "
            'glance_validate_config: "no" to deploy without the check')
        return {"errors": errors, "warnings": warnings}
    for index, path in enumerate(paths):
        lines, code = files[index]
        sections = {}
        found = False
        for line in lines:
            unknown = UNKNOWN_RE.match(line)
            deprecated = DEPRECATED_RE.match(line)
            if unknown:
                found = True
                group, option = unknown.group("group"), unknown.group("option")
                if group in groups:
                    errors.append(
                        f"{path}: [{group}] {option} is not a Glance option — remove it "
                        "or fix its name (oslo-config-validator with Glance's option "
                        f"definitions in {image})")
                else:
                    sections.setdefault(group, []).append(option)
            elif deprecated:
                warnings.append(
                    f"{path}: [{deprecated.group('group')}] {deprecated.group('option')} "
                    "is deprecated — move to its replacement before it is removed")
        for group, options in sections.items():
            hint = difflib.get_close_matches(group, sorted(groups), n=1, cutoff=0.6)
            fix = f"did you mean [{hint[0]}]?" if hint else "remove it or fix its name"
            errors.append(
                f"{path}: section [{group}] is not a Glance section (it sets "
                f"{', '.join(options)}) — {fix}")
        if code and not found:
            tail = "\n".join(lines[-10:])
            errors.append(f"{path}: oslo-config-validator failed in {image} (exit {code}): "
                          f"{tail}")
    return {"errors": errors, "warnings": warnings}


# ---------------------------------------------------------------- with Salt


def _read(path):
    if str(path).startswith("salt://"):
        text = __salt__["cp.get_file_str"](path)  # noqa: F821
        return text if isinstance(text, str) else None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def verdict_key(image_id, texts, groups):
    """What a passed validation depends on: the image, the files, the store sections."""
    payload = json.dumps([image_id, NAMESPACES, sorted(groups.items()), texts])
    return hashlib.sha256(payload.encode()).hexdigest()


def _verdict_path(key):
    return os.path.join(__opts__["cachedir"], "glance_validate", key)  # noqa: F821


def _image_id(image):
    try:
        return __salt__["docker.inspect_image"](image)["Id"]  # noqa: F821
    except Exception:  # pylint: disable=broad-except
        return None


def overrides(image, paths, enabled_backends="", timeout=300):
    """
    Validate the override files ``paths`` with ``image``'s oslo-config-validator.

    Returns ``{"errors", "warnings", "files"}``; errors name the file and the fix.
    A pass is remembered in the minion's cache dir for the same image and file
    contents, so a re-apply with nothing changed starts no container.

    CLI Example::

        salt ctl1 glance_validate.overrides <image> '[/etc/kolla/config/glance.conf]'
    """
    texts, readable = [], []
    errors = []
    for path in paths:
        text = _read(path)
        if text is None:
            errors.append(f"{path} cannot be read any more — check the file")
            continue
        texts.append(text)
        readable.append(path)
    if not readable:
        return {"errors": errors, "warnings": [], "files": []}
    groups = store_groups(enabled_backends)
    image_id = _image_id(image)
    key = verdict_key(image_id, texts, groups) if image_id else None
    if key and not errors and os.path.exists(_verdict_path(key)):
        with open(_verdict_path(key), encoding="utf-8") as handle:
            warnings = json.load(handle)["warnings"]
        return {"errors": [], "warnings": warnings, "files": readable, "cached": True}
    try:
        run = __salt__["glance_db.oneshot"](  # noqa: F821
            CONTAINER_NAME, image, [], command(len(readable)),
            environment=environment(texts, groups),
            timeout=timeout)
    except Exception as exc:  # pylint: disable=broad-except
        errors.append(
            f"the override files could not be validated: starting a container of {image} "
            f"failed ({exc}) — check that docker runs (minion option docker.url) and the "
            'image can be pulled, or set glance_validate_config: "no"')
        return {"errors": errors, "warnings": [], "files": readable}
    if run["timed_out"]:
        errors.append(f"validating the override files in {image} took over {timeout} s — "
                      "check the docker daemon")
        return {"errors": errors, "warnings": [], "files": readable}
    result = findings(run["logs"], readable, image, run["exit_code"])
    result["errors"] = errors + result["errors"]
    result["files"] = readable
    key = verdict_key(_image_id(image), texts, groups)
    if not result["errors"]:
        os.makedirs(os.path.dirname(_verdict_path(key)), mode=0o700, exist_ok=True)
        with open(_verdict_path(key), "w", encoding="utf-8") as handle:
            json.dump({"image": image, "warnings": result["warnings"]}, handle)
    return result
