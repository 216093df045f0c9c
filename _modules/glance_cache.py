"""
The Glance image cache's housekeeping: when to prune and clean, how big the cache
is, and the prune and clean runs themselves.

Glance trims nothing by itself: ``glance-cache-pruner`` removes least recently used
images until the cache is under ``image_cache_max_size``, ``glance-cache-cleaner``
removes invalid files and stalled downloads. ``glance.cache`` puts both in each API
host's crontab, and cron runs ``salt-call glance_cache.prune`` (``clean``), the same
command an operator types.

Everything above the Salt wrappers at the end is a plain function, so the unit tests
and ``bench/cache.py`` call it without Salt.
"""

import json
import os
import urllib.error
import urllib.request

__virtualname__ = "glance_cache"

TOOLS = {"prune": "glance-cache-pruner", "clean": "glance-cache-cleaner"}
# explicit files: glance 25 (Zed) reads only glance-cache.conf by default, later
# releases glance-api.conf then glance-cache.conf; with both named every release
# reads the same files in the same order
TOOL_CONFIG_FILES = ("/etc/glance/glance-api.conf", "/etc/glance/glance-cache.conf")
# glance >= 33 (2026.2) prunes and cleans through the API (POST /v2/cache/<job>)
API_MAJOR = 33
CACHE_DIR = "/var/lib/glance/image-cache"
SUBDIRS = ("incomplete", "invalid", "queue")
# the sqlite driver's bookkeeping (image_cache_sqlite_db, plus -journal/-wal files)
SQLITE_DB = "cache.db"
EXEC_TIMEOUT = 900


def __virtual__():
    return __virtualname__


# ---------------------------------------------------------------- schedule


def _whole(value, key, low, high):
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(f"glance:{key} is {value!r}, which is not a whole number "
                         f"from {low} to {high}")
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError(f"glance:{key} is {number}, which is not from {low} to {high}")
    return number


def check_schedule(prune_interval, clean_hour):
    """(interval, hour) as ints; ValueError naming the pillar key and the fix otherwise."""
    interval = _whole(prune_interval, "glance_cache_prune_interval", 1, 60)
    if 60 % interval:
        divisors = ", ".join(str(n) for n in range(1, 61) if 60 % n == 0)
        raise ValueError(
            f"glance:glance_cache_prune_interval is {interval}, which does not divide "
            f"60, so the prunes would drift against the hour — use one of {divisors}"
        )
    return interval, _whole(clean_hour, "glance_cache_clean_hour", 0, 23)


def cron_fields(minute, hour="*"):
    return {"minute": minute, "hour": hour, "daymonth": "*", "month": "*", "dayweek": "*"}


def schedule(minion_id, hosts, prune_interval=30, clean_hour=3, enabled=True):
    """
    Cron fields of this minion's prune and clean jobs, or ``{}``.

    minion_id
        The minion asking.
    hosts
        Ordered list of API host minion ids (``glance_api_hosts``); a minion not in
        it gets ``{}``, as does ``enabled=False``.
    prune_interval
        Minutes between prunes; must divide 60 so every hour looks the same.
    clean_hour
        Hour (0-23) of the daily clean.

    Host number ``i`` of ``n`` prunes at minute ``(2i+1) * interval // (2n)`` of each
    interval: the hosts split the interval evenly, each in the middle of its share
    (one host alone prunes at :15 and :45, not with every hourly job at :00). Up to
    ``interval`` hosts never prune at the same minute. With more hosts than that,
    consecutive hosts share a minute and every minute of the interval carries
    ``n // interval`` or ``n // interval + 1`` hosts — as even as it gets.

    The clean runs half an interval after the host's own prune (never together
    with it, unless the interval is 1), shifted by whole intervals so that up to 60
    hosts each clean at a different minute; beyond 60 they share minutes evenly.

    Pure and deterministic: the same list gives the same schedule on every minion.

    CLI Example::

        salt '*' glance_cache.schedule node2 '[node1, node2, node3]'
    """
    interval, hour = check_schedule(prune_interval, clean_hour)
    if not enabled:
        return {}
    try:
        index = hosts.index(minion_id)
    except ValueError:
        return {}
    offset = (2 * index + 1) * interval // (2 * len(hosts))
    blocks = 60 // interval
    clean = (offset + interval // 2 + interval * (index % blocks)) % 60
    prunes = ",".join(str(minute) for minute in range(offset, 60, interval))
    return {"prune": cron_fields(prunes), "clean": cron_fields(str(clean), str(hour))}


# ---------------------------------------------------------------- usage


def walk(root):
    """``(path relative to root, size, mtime, atime)`` of every file under ``root``."""
    entries, pending = [], [("", root)]
    while pending:
        prefix, path = pending.pop()
        with os.scandir(path) as found:
            for entry in found:
                relative = prefix + entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((relative + "/", entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        entries.append((relative, st.st_size, st.st_mtime, st.st_atime))
                except FileNotFoundError:
                    continue  # pruned or renamed by glance while we looked
    return entries


def summarize(entries):
    """
    What a cache directory holds, from ``(relative path, size, mtime, atime)`` tuples.

    Glance's layout: complete images are ``<image id>`` files at the top,
    in-progress downloads in ``incomplete/``, failed ones in ``invalid/``, images
    queued for prefetching as empty files in ``queue/``; the sqlite driver's
    ``cache.db`` sits at the top too and is not an image.

    ``bytes`` and ``files`` count complete images only: what the pruner compares
    with ``image_cache_max_size``. ``disk_bytes`` is everything.
    """
    images, db_bytes, disk_bytes = [], 0, 0
    groups = {name: [] for name in SUBDIRS}
    for path, size, mtime, atime in entries:
        disk_bytes += size
        top, _, rest = path.partition("/")
        if not rest:
            if top.startswith(SQLITE_DB):
                db_bytes += size
            else:
                images.append({"id": top, "bytes": size, "mtime": mtime, "atime": atime})
        elif top in groups and "/" not in rest:
            groups[top].append((rest, size))
    images.sort(key=lambda image: image["id"])

    def group(name):
        return {"ids": sorted(image_id for image_id, _ in groups[name]),
                "bytes": sum(size for _, size in groups[name])}

    return {
        "bytes": sum(image["bytes"] for image in images),
        "files": len(images),
        "images": images,
        "incomplete": group("incomplete"),
        "invalid": group("invalid"),
        "queued": group("queue")["ids"],
        "db_bytes": db_bytes,
        "disk_bytes": disk_bytes,
    }


def removed(before, after):
    """Image ids that left the cache between two summaries, and the bytes freed."""
    def gone(ids_before, ids_after):
        return sorted(set(ids_before) - set(ids_after))

    return {
        "images": gone([i["id"] for i in before["images"]], [i["id"] for i in after["images"]]),
        "incomplete": gone(before["incomplete"]["ids"], after["incomplete"]["ids"]),
        "invalid": gone(before["invalid"]["ids"], after["invalid"]["ids"]),
        "bytes_freed": before["disk_bytes"] - after["disk_bytes"],
    }


def tail(text, lines=15):
    return "\n".join((text or "").strip().splitlines()[-lines:])


def brief(summary):
    return {"bytes": summary["bytes"], "files": summary["files"],
            "disk_bytes": summary["disk_bytes"]}


# ---------------------------------------------------------------- prune / clean


def tool_command(job):
    """argv of the glance tool for ``job`` (glance <= 32), run inside glance_api."""
    argv = [TOOLS[job]]
    for path in TOOL_CONFIG_FILES:
        argv += ["--config-file", path]
    return argv


def cache_volume(volumes):
    """The named volume mounted at the cache dir in the services dict, or None."""
    for volume in volumes:
        source, _, rest = volume.partition(":")
        if rest.split(":", 1)[0].rstrip("/") == CACHE_DIR:
            return source
    return None


def token_request(authtoken):
    """(url, body) of a keystone v3 password token for glance's own service user."""
    base = authtoken["auth_url"].rstrip("/")
    if not base.endswith("/v3"):
        base += "/v3"
    user = {"name": authtoken["username"], "password": authtoken["password"],
            "domain": {"id": authtoken.get("user_domain_id", "default")}}
    project = {"name": authtoken.get("project_name", "service"),
               "domain": {"id": authtoken.get("project_domain_id", "default")}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": project}}}
    return f"{base}/auth/tokens", body


# ---------------------------------------------------------------- Salt wrappers


def _fail(message):
    from salt.exceptions import CommandExecutionError  # pylint: disable=import-outside-toplevel

    raise CommandExecutionError(message)


def _target(container, volume, major, url):
    """This node's container, volume, glance major and URL: given ones win over settings."""
    # show() loads the formula defaults the way glance_config does; its secrets are
    # masked, and none of the keys used here is one
    s = __salt__["glance_config.show"]()  # noqa: F821
    if s["errors"]:
        _fail("the glance pillar has errors (state.apply glance.precheck lists them): "
              + "; ".join(s["errors"]))
    api = s["services"]["glance-api"]
    skip = None
    if not s["flags"]["enable_glance_image_cache"]:
        skip = "the image cache is off (enable_glance_image_cache)"
    elif not s["am_i_api_host"]:
        skip = f"glance-api does not run on {s['minion_id']}"
    return {
        "container": container or api["container_name"],
        "volume": volume or cache_volume(api["volumes"]),
        "major": int(major if major is not None else s["glance_major"]),
        "url": (url or api["url"]).rstrip("/"),
        "service_dir": s["service_dir"],
        "skip": skip,
    }


def _summary(volume):
    if "docker.inspect_volume" not in __salt__:  # noqa: F821
        _fail("glance_cache needs saltext.dockermod (docker module) and the docker SDK")
    try:
        root = __salt__["docker.inspect_volume"](volume)["Mountpoint"]  # noqa: F821
    except Exception as exc:  # pylint: disable=broad-except
        _fail(f"cannot inspect the docker volume {volume!r} ({exc}) — is the cache on "
              "and glance.service applied on this host?")
    if not os.path.isdir(root):
        _fail(f"the volume {volume!r} is at {root}, which this minion cannot read — "
              "run the minion on the same host as its dockerd")
    return dict(summarize(walk(root)), volume=volume, path=root)


def usage(volume=None):
    """
    Bytes and files in this node's image cache (walks the volume on the host).

    CLI Example::

        salt '*' glance_cache.usage
    """
    if volume is None:
        target = _target(None, None, None, None)
        if target["skip"]:
            return {"comment": f"no image cache here: {target['skip']}"}
        volume = target["volume"]
    return _summary(volume)


def _docker_exec(container, argv):
    # the docker CLI behind docker.run_all ignores the minion's docker.url; the
    # API client honours it, like every other docker call of the formula
    import docker  # pylint: disable=import-outside-toplevel

    option = __salt__["config.option"]  # noqa: F821
    url = option("docker.url", None) or os.environ.get("DOCKER_HOST")
    client = docker.APIClient(base_url=url, version="auto", timeout=EXEC_TIMEOUT)
    try:
        exec_id = client.exec_create(container, argv)["Id"]
        stdout, stderr = client.exec_start(exec_id, demux=True)
        code = client.exec_inspect(exec_id)["ExitCode"]
    except docker.errors.APIError as exc:
        _fail(f"cannot run {argv[0]} in {container} ({exc.explanation or exc}) — is "
              "glance_api running (state.apply glance.service)?")
    finally:
        client.close()
    output = (stdout or b"").decode(errors="replace") + (stderr or b"").decode(errors="replace")
    return {"ok": code == 0, "exit_code": code, "output": output.strip()}


def _header(headers, name):
    return next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), None)


def _keystone_token(service_dir):
    """A token for glance's service user from the deployed glance-api.conf, or None."""
    try:
        with open(os.path.join(service_dir, "glance-api.conf"), encoding="utf-8") as handle:
            conf = __salt__["glance_config.ini_loads"](handle.read())  # noqa: F821
    except FileNotFoundError:
        _fail(f"{service_dir}/glance-api.conf is missing — apply glance.config first")
    authtoken = conf.get("keystone_authtoken")
    if not authtoken:
        return None
    url, body = token_request(authtoken)
    reply = __salt__["http.query"](  # noqa: F821
        url, method="POST", data=json.dumps(body), decode=False, status=True, headers=True,
        header_dict={"Content-Type": "application/json"})
    token = _header(reply.get("headers"), "X-Subject-Token")
    if not token:
        _fail(f"keystone refused a token for glance's service user at {url} "
              f"(HTTP {reply.get('status')}: {reply.get('error', '')})")
    return token


def _api_call(url, job, service_dir):
    token = _keystone_token(service_dir)
    # glance 33 wants these POSTs without a body: Salt's http.query always sends one
    # (an empty one is "Malformed JSON" there, "{}" a 500: prune_cache() gets `body`)
    request = urllib.request.Request(f"{url}/v2/cache/{job}", method="POST",
                                     headers={"X-Auth-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=600) as reply:
            return {"ok": True, "status": reply.status,
                    "output": reply.read().decode(errors="replace")}
    except urllib.error.HTTPError as exc:
        return {"ok": False, "status": exc.code,
                "output": exc.read().decode(errors="replace")}
    except OSError as exc:
        return {"ok": False, "status": 0, "output": str(exc)}


def _run(job, container, volume, major, url):
    target = _target(container, volume, major, url)
    if target["skip"]:
        return {"ok": True, "comment": f"nothing to {job}: {target['skip']}"}
    before = _summary(target["volume"])
    if target["major"] >= API_MAJOR:
        how = f"POST {target['url']}/v2/cache/{job}"
        outcome = _api_call(target["url"], job, target["service_dir"])
    else:
        argv = tool_command(job)
        how = f"{' '.join(argv)} in {target['container']}"
        outcome = _docker_exec(target["container"], argv)
    if not outcome["ok"]:
        # raised, not returned: salt-call then prints it on stderr and exits 1 even
        # with cron's --out-file=/dev/null, so cron mails failures and nothing else
        code = outcome.get("exit_code", outcome.get("status"))
        _fail(f"{how} failed ({code}); the cache holds {before['bytes']} bytes in "
              f"{before['files']} images. Output:\n{tail(outcome['output'])}")
    after = _summary(target["volume"])
    return dict(outcome, ran=how, before=brief(before), after=brief(after),
                removed=removed(before, after))


def prune(container=None, volume=None, major=None, url=None):
    """
    Trim this node's cache to ``image_cache_max_size``, least recently used first.

    glance <= 32: ``glance-cache-pruner`` inside the running glance_api; glance >=
    33: ``POST <this node's url>/v2/cache/prune``. Arguments left out come from the
    settings (services dict). Returns usage before and after, the removed image ids
    and the tool's exit code (or HTTP status) and output; a failure raises, with the
    tool's last output lines. Cron runs it (glance.cache).

    CLI Example::

        salt '*' glance_cache.prune
    """
    return _run("prune", container, volume, major, url)


def clean(container=None, volume=None, major=None, url=None):
    """
    Remove invalid cache files and downloads stalled longer than
    ``image_cache_stall_time`` (``glance-cache-cleaner`` / ``POST /v2/cache/clean``).

    CLI Example::

        salt '*' glance_cache.clean
    """
    return _run("clean", container, volume, major, url)
