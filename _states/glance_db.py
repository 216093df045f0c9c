"""
State: the Glance schema is current before glance_api starts.

On the database node it bootstraps (db_sync + metadefs, Kolla's KOLLA_BOOTSTRAP)
only when ``glance-manage db check`` says the schema is behind — kolla-ansible
re-runs it on every deploy. Other API nodes wait for the database node instead of
racing it.
"""

import os
import time

__virtualname__ = "glance_db"


def __virtual__():
    if "glance_db.check" not in __salt__:  # noqa: F821
        return False, "glance_db state needs the glance_db execution module (saltutil.sync_all)"
    return __virtualname__


OK = ("current", "contract")
COMMENTS = {
    "current": "the glance schema is current",
    # expand + migrate are done: old and new releases share this schema until the
    # upgrade orchestration contracts it after the last node
    "contract": ("the glance schema is expanded for this release; glance.orch.upgrade "
                 "contracts it once every node runs it"),
}


def _needs_upgrade(ret, image, check):
    ret["result"] = False
    ret["comment"] = (
        f"the glance schema is older than {image} (db check: {check['status']}) — "
        "upgrade with `salt-run state.orchestrate glance.orch.upgrade` (rolling or "
        "legacy, per glance_enable_rolling_upgrade); nothing was changed"
    )
    return ret


def _wait_for_db_node(salt, image, binds, database, check, wait, grace, interval):
    """
    Wait for the database node's bootstrap. A plain apply never migrates a populated
    schema, so one that is behind and whose alembic revision has not moved for
    ``grace`` seconds is not being bootstrapped (the database node refused a newer
    release, or is not applying): stop waiting. While the schema is behind at the
    revision the last check saw, no new check container runs (it would say the same).
    """
    start = time.monotonic()
    revision = checked = _revision(salt, database)
    moved = start
    while check["status"] not in OK and time.monotonic() - start < wait:
        time.sleep(interval)
        now = _revision(salt, database)
        if now != revision:
            revision, moved = now, time.monotonic()
        if check["status"] in ("expand", "migrate") and now is not None and now == checked:
            if time.monotonic() - moved >= grace and salt["glance_db.populated"](database):
                # one last look: the bootstrap may have ended just before the first read
                return salt["glance_db.check"](image, binds)
            continue
        checked = now
        check = salt["glance_db.check"](image, binds)
    return check


def _revision(salt, database):
    """The database's alembic revision; None without a schema or when it does not answer
    (the check container reports why)."""
    try:
        return salt["glance_db.revision"](database)
    except Exception:  # pylint: disable=broad-except — the full check reports it
        return None


def _has_schema(salt, database):
    return bool(_revision(salt, database))


def _ret(name):
    return {"name": name, "changes": {}, "result": True, "comment": ""}


def _failed_check(ret, check, db_node):
    ret["result"] = False
    reason = "timed out" if check["timed_out"] else f"exited {check['exit_code']}"
    ret["comment"] = (
        f"glance-manage db check {reason} — is the database reachable and are "
        "database_address / glance_database_password right? "
        f"(database node: {db_node}). Last log lines:\n{check['logs']}"
    )
    return ret


def current(name, image, binds, config_dir, db_node, database, bootstrap=False, wait=600,
            upgrade_grace=20, interval=3, schema_ready=False):
    """
    Make sure the schema is current.

    name
        Any ID.
    image / binds
        Image and volume binds of glance_api (the one-shot containers use them).
    config_dir
        The service directory on this host (test mode checks it exists).
    db_node
        Minion id that runs the bootstrap (named in messages).
    database
        settings["database"]: tells a fresh database from one that needs an upgrade.
    upgrade_grace
        Seconds a non-database node waits on a populated schema that is behind and
        whose alembic revision does not move before it says an upgrade is needed (a
        db_sync in progress looks the same, but its revision moves).
    bootstrap
        True on the database node: run db_sync + metadefs when behind.
        False elsewhere: wait up to ``wait`` seconds for the database node.
    schema_ready
        True only from glance.orch.upgrade's apply steps: it checked the schema with
        this image before anything stopped and ran expand + migrate (or db_sync)
        before this step when it was behind, every step failhard — no check
        container here, only that the database has a schema.
    """
    ret = _ret(name)
    salt = __salt__  # noqa: F821
    if schema_ready and not __opts__["test"] and _has_schema(salt, database):  # noqa: F821
        ret["comment"] = ("glance.orch.upgrade brought the schema to this image's level "
                          "before this step (db check with the target image, then expand + "
                          "migrate or db_sync): no check container")
        return ret
    if __opts__["test"] and (  # noqa: F821
        not os.path.exists(os.path.join(config_dir, "config.json"))
        or not salt["docker.resolve_image_id"](image)
    ):
        ret["result"] = None
        ret["comment"] = "image or config not in place yet: would check the schema and " + (
            "bootstrap it when behind" if bootstrap else f"wait for {db_node} to bootstrap it"
        )
        return ret
    before = salt["glance_db.check_cached"](image, binds, database)
    if before["status"] in OK:
        ret["comment"] = COMMENTS[before["status"]] + (
            " (this image found it current at the same revision before: no check container)"
            if before.get("cached") else "")
        return ret
    if bootstrap and before["status"] == "error":
        return _failed_check(ret, before, db_node)
    if bootstrap and salt["glance_db.populated"](database):
        return _needs_upgrade(ret, image, before)
    if __opts__["test"]:  # noqa: F821
        ret["result"] = None
        ret["comment"] = f"the schema is {before['status']}: would " + (
            "run the bootstrap (db_sync + metadefs)" if bootstrap
            else f"wait for {db_node} to bootstrap it"
        )
        return ret
    if bootstrap:
        run = salt["glance_db.bootstrap"](image, binds)
        if run["exit_code"] != 0:
            ret["result"] = False
            ret["comment"] = (
                f"bootstrap (db_sync + metadefs) failed with exit {run['exit_code']}:\n"
                + salt["glance_db.log_tail"](run["logs"])
            )
            return ret
        after = salt["glance_db.check"](image, binds)
    else:
        # the database node may still be creating the user or running db_sync
        after = _wait_for_db_node(salt, image, binds, database, before, wait, upgrade_grace,
                                  interval)
    if after["status"] not in OK:
        if after["status"] == "error":
            return _failed_check(ret, after, db_node)
        if salt["glance_db.populated"](database):
            return _needs_upgrade(ret, image, after)
        ret["result"] = False
        ret["comment"] = (
            f"the glance schema is still {after['status']} — " + (
                "the bootstrap ran but did not bring it up to date" if bootstrap
                else f"apply glance on {db_node} (the database node) first"
            )
        )
        return ret
    if bootstrap:
        ret["changes"] = {"schema": {"old": before["status"], "new": "current"}}
    ret["comment"] = "bootstrapped the glance schema" if bootstrap else (
        f"{db_node} brought the schema up to date")
    return ret
