"""
State: the image cache's prune and clean jobs in this minion's crontab.

The entries are written by Salt's own ``cron.present`` / ``cron.absent`` with the
identifiers ``<prefix>-prune`` and ``<prefix>-clean``; their command is
``salt-call -c <this minion's config dir> --out-file=/dev/null glance_cache.<job>``:
cron runs what an operator would type, with the same minion config, pillar and
docker.url (the result is discarded; failures print and exit 1).
"""

import os
import shlex
import shutil
import sys

__virtualname__ = "glance_cache"

JOBS = ("prune", "clean")
CRON_FIELDS = ("minute", "hour", "daymonth", "month", "dayweek")


def __virtual__():
    return __virtualname__


def cron_command(config_dir, job, salt_call="salt-call"):
    """
    Pure: the command line cron runs for ``job`` (prune or clean).

    The result goes to /dev/null; a failure still prints its error (stderr) and
    exits 1, so cron mails failures only.
    """
    return shlex.join([salt_call, "-c", config_dir, "--out-file=/dev/null",
                       f"glance_cache.{job}"])


def cron_line(fields, command):
    """Pure: ``'7,37 * * * * <command>'``, how the entry reads in the crontab."""
    return " ".join([str(fields.get(field, "*")) for field in CRON_FIELDS] + [command])


def current_lines(crons, prefix):
    """Pure: {job: crontab line} of our entries in ``cron.list_tab``'s ``crons``."""
    lines = {}
    for cron in crons:
        for job in JOBS:
            if cron.get("identifier") == f"{prefix}-{job}":
                lines[job] = cron_line(cron, cron["cmd"])
    return lines


def default_salt_call():
    """The salt-call next to this minion's Python, else the one on PATH (cron's PATH is bare)."""
    beside = os.path.join(os.path.dirname(sys.executable), "salt-call")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("salt-call") or "salt-call"


def _config_dir():
    return __opts__.get("config_dir") or os.path.dirname(__opts__["conf_file"])  # noqa: F821


def scheduled(name, prune, clean, identifier_prefix="glance-cache", user="root",
              salt_call=None):
    """
    The prune and clean cron entries match the schedule; an empty one is removed.

    name
        Any ID.
    prune / clean
        Cron fields (``glance_cache.schedule``'s result), ``{}`` for no entry.
    identifier_prefix
        Entries are ``<prefix>-prune`` and ``<prefix>-clean`` in the crontab.
    user
        Whose crontab (``glance_cache_cron_user``).
    salt_call
        salt-call to run; default: the one of this minion's installation.

    Changes are reported only when an entry's schedule or command changes.
    """
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    wanted = {job: fields for job, fields in (("prune", prune), ("clean", clean)) if fields}
    if "cron.list_tab" not in __salt__:  # noqa: F821
        if wanted:
            ret["result"] = False
            ret["comment"] = ("scheduling the image cache cleanup needs the crontab "
                              "command — install cron on this host")
        else:
            ret["comment"] = "no crontab on this host, so no cache cleanup is scheduled"
        return ret
    salt_call = salt_call or default_salt_call()
    commands = {job: cron_command(_config_dir(), job, salt_call) for job in wanted}
    new = {job: cron_line(wanted[job], commands[job]) for job in wanted}
    crons = __salt__["cron.list_tab"](user)["crons"]  # noqa: F821
    old = current_lines(crons, identifier_prefix)
    comments = []
    for job in JOBS:
        if old.get(job) == new.get(job):
            continue
        identifier = f"{identifier_prefix}-{job}"
        if job in new:
            result = __states__["cron.present"](  # noqa: F821
                commands[job], user=user, identifier=identifier, **wanted[job])
        else:
            command = next(c["cmd"] for c in crons if c.get("identifier") == identifier)
            result = __states__["cron.absent"](  # noqa: F821
                command, user=user, identifier=identifier)
        comments.append(result["comment"])
        if result["result"] is False:
            ret["result"] = False
            continue
        ret["changes"][job] = {"old": old.get(job), "new": new.get(job)}
    if ret["changes"] and __opts__["test"] and ret["result"]:  # noqa: F821
        ret["result"] = None
    if not comments:
        comments.append(
            f"{user}'s crontab already runs " + " and ".join(
                f"{job} at '{cron_line(wanted[job], '').strip()}'" for job in wanted)
            if wanted else f"no image cache cleanup is scheduled in {user}'s crontab")
    ret["comment"] = "\n".join(comments)
    return ret


def absent(name, identifier_prefix="glance-cache", user="root"):
    """Neither cron entry is in ``user``'s crontab (glance.cache.clean)."""
    return scheduled(name, {}, {}, identifier_prefix=identifier_prefix, user=user)
