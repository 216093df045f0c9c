"""
What a deployment runs, per host, for ``salt-run glance.status``: the facts each
minion reports (:func:`host`), the schema and Keystone answers of the database
node (:func:`deployment`), and the pure parts that turn docker's answers into
them (unit-tested without Salt).

Nothing here changes anything: the Keystone registration is a test-mode
``glance_keystone.ensure``, the schema comes from ``glance_db.check_cached``.
"""

import datetime

__virtualname__ = "glance_status"

# glance_config.HASH_LABEL: the loader keeps glance_config's constants to itself
HASH_LABEL = "glance_formula.config_hash"
HEALTH_WORDS = {"healthy": "healthy", "unhealthy": "UNHEALTHY", "starting": "starting"}


def __virtual__():
    if "docker.inspect_container" not in __salt__:  # noqa: F821
        return False, "glance_status needs saltext.dockermod (docker module) and the docker SDK"
    return __virtualname__


# ---------------------------------------------------------------- pure


def release_of(image):
    """The tag of an image reference (``registry:5000/ns/glance-api:2025.1`` -> 2025.1)."""
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def container_row(info, wanted_image, wanted_image_id, wanted_hash, hash_label):
    """
    Pure: one API host's container, from ``docker inspect`` (``info``, None when
    there is no container) and what the pillar renders now.

    ``drift`` lists why a re-apply would replace the container: ``config`` (the
    rendered config hash differs from the container's label), ``image`` (another
    tag, or the same tag now pointing at another image), ``stopped``.
    """
    if info is None:
        return {"container": "absent", "health": "-", "release": "-", "image_id": "-",
                "drift": ["absent"]}
    state = info.get("State") or {}
    running = bool(state.get("Running"))
    health = (state.get("Health") or {}).get("Status")
    labels = (info.get("Config") or {}).get("Labels") or {}
    image = (info.get("Config") or {}).get("Image", "")
    drift = []
    if labels.get(hash_label) != wanted_hash:
        drift.append("config")
    if image != wanted_image or (wanted_image_id and info.get("Image") != wanted_image_id):
        drift.append("image")
    if not running:
        drift.append("stopped")
    return {
        "container": "running" if running else state.get("Status", "stopped"),
        "health": HEALTH_WORDS.get(health, health or "no check") if running else "-",
        "release": release_of(image),
        "image_id": (info.get("Image") or "")[7:19] if str(info.get("Image", "")).startswith(
            "sha256:") else str(info.get("Image", ""))[:12],
        "drift": drift,
    }


def next_run(minutes, hour, now):
    """
    Pure: the next time a cron line with ``minutes`` ("15,45") and ``hour`` ("*" or
    "3") fires after ``now`` (a datetime), as a datetime; None for no line.
    """
    if not minutes:
        return None
    wanted = sorted(int(m) for m in str(minutes).split(","))
    hours = range(24) if str(hour) == "*" else [int(hour)]
    start = now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    for step in range(0, 48 * 60):
        moment = start + datetime.timedelta(minutes=step)
        if moment.minute in wanted and moment.hour in hours:
            return moment
    return None


def lb_word(status):
    """HAProxy's server status -> UP / DRAIN / DOWN / MAINT (transitions keep their word)."""
    if not status:
        return "-"
    word = str(status).split()[0]
    return {"NOLB": "DRAIN"}.get(word, word)


def human_bytes(number):
    if number is None:
        return "-"
    value = float(number)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


# ---------------------------------------------------------------- on each minion


def _container(name):
    docker = __salt__  # noqa: F821
    if not docker["docker.exists"](name):
        return None
    return docker["docker.inspect_container"](name)


def _local_image_id(image):
    try:
        return __salt__["docker.resolve_image_id"](image) or None  # noqa: F821
    except Exception:  # pylint: disable=broad-except — absent locally: no same-tag drift
        return None


def _cache(settings, now):
    flags = settings["flags"]
    if not flags["enable_glance_image_cache"]:
        return {"cache": "off", "next_prune": "-"}
    out = {}
    try:
        used = __salt__["glance_cache.usage"]()  # noqa: F821
        out["cache"] = (f"{human_bytes(used.get('bytes'))} / "
                        f"{human_bytes(settings['numbers']['glance_cache_max_size'])}, "
                        f"{used.get('files', 0)} image(s)")
    except Exception as exc:  # pylint: disable=broad-except — status reports, never fails
        out["cache"] = f"unknown ({exc})"
    schedule = {}
    if flags["glance_cache_cleanup_enabled"]:
        schedule = __salt__["glance_cache.schedule"](  # noqa: F821
            settings["minion_id"], [h["id"] for h in settings["api_hosts"]],
            settings["numbers"]["glance_cache_prune_interval"],
            settings["numbers"]["glance_cache_clean_hour"])
    prune = schedule.get("prune")
    moment = next_run(prune["minute"], prune["hour"], now) if prune else None
    out["next_prune"] = moment.strftime("%H:%M") if moment else "not scheduled"
    return out


def _balancer(settings):
    lb = settings["loadbalancer"]
    if not lb["enabled"]:
        return {}
    states = {}
    backend = lb["backend"]
    try:
        volume = __salt__["docker.inspect_volume"](lb["socket_volume"])  # noqa: F821
        socket_path = f"{volume['Mountpoint']}/haproxy.sock"
    except Exception:  # pylint: disable=broad-except — HAProxy not deployed: unknown
        socket_path = None
    for api_host in settings["api_hosts"]:
        try:
            if socket_path is None:
                raise RuntimeError("no HAProxy admin socket")
            seen = __salt__["glance_upgrade.server_state"](  # noqa: F821
                socket_path, backend, api_host["id"])
            states[api_host["id"]] = lb_word(seen["status"])
        except Exception:  # pylint: disable=broad-except — HAProxy down: say so
            states[api_host["id"]] = "unknown"
    return states


def _settings(override):
    """This minion's settings; ``override`` (the upgrade orchestration's glance keys,
    e.g. the target release) merged over its pillar, as glance_upgrade.prepare does."""
    glance = dict(__pillar__.get("glance") or {})  # noqa: F821
    glance.update(override or {})
    return __salt__["glance_config.current"](pillar=glance)  # noqa: F821


def host(override=None, with_deployment=False):
    """
    This minion's part of the status: its glance_api container (release, image
    id, health, drift against what the pillar renders now), its image cache and
    next prune, and the servers its HAProxy sees when it runs one. With
    ``with_deployment`` the database node adds :func:`deployment` (salt-run
    glance.status: one job instead of two).

    CLI Example::

        salt '*' glance_status.host
    """
    if "glance" not in __pillar__:  # noqa: F821
        return {"minion": __grains__["id"], "glance": False}  # noqa: F821
    settings = _settings(override)
    out = {"minion": settings["minion_id"], "glance": True, "errors": settings["errors"]}
    api = settings["services"]["glance-api"]
    out["api_host"] = bool(api["enabled"])
    if api["enabled"] and not settings["errors"]:
        out.update(container_row(
            _container(api["container_name"]), api["image"], _local_image_id(api["image"]),
            api["labels"].get(HASH_LABEL), HASH_LABEL))
        out["wanted_release"] = release_of(api["image"])
        out.update(_cache(settings, datetime.datetime.now()))
        out["db_node"] = settings["am_i_db_node"]
        if with_deployment and settings["am_i_db_node"]:
            try:
                out["deployment"] = deployment(override)
            except Exception as exc:  # pylint: disable=broad-except — the table says it
                out["deployment"] = {"schema": f"unknown ({exc})",
                                     "keystone": f"unknown ({exc})"}
    out["balancer"] = _balancer(settings) if not settings["errors"] else {}
    return out


def deployment(override=None):
    """
    Once per deployment, on the database node: where the schema stands for the
    image the pillar names, and whether Glance's Keystone registration is complete.

    CLI Example::

        salt node1 glance_status.deployment
    """
    settings = _settings(override)
    api = settings["services"]["glance-api"]
    out = {}
    try:
        check = __salt__["glance_db.check_cached"](  # noqa: F821
            api["image"], api["volumes"], settings["database"])
        out["schema"] = check["status"] + (" (cached)" if check.get("cached") else "")
    except Exception as exc:  # pylint: disable=broad-except
        out["schema"] = f"unknown ({exc})"
    registration = __salt__["glance_keystone.registration"](settings)  # noqa: F821
    if not settings["flags"]["enable_keystone"]:
        out["keystone"] = "off (enable_keystone: no)"
    elif not registration["enabled"]:
        out["keystone"] = "not managed (glance_keystone_register: no)"
    else:
        want = {key: registration[key] for key in (
            "auth", "region", "service", "service_type", "description", "endpoints", "user",
            "password", "project", "role", "domain")}
        seen = __salt__["glance_keystone.ensure"](want, True)  # noqa: F821
        if seen["status"] != "ok":
            out["keystone"] = f"{seen['status']}: {seen['detail']}"
        elif seen["changes"]:
            out["keystone"] = "incomplete: " + ", ".join(sorted(seen["changes"]))
        else:
            out["keystone"] = (f"registered in {registration['region']} "
                               f"({registration['endpoints']['internal']})")
    return out
