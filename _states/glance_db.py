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
            interval=5):
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
    bootstrap
        True on the database node: run db_sync + metadefs when behind.
        False elsewhere: wait up to ``wait`` seconds for the database node.
    """
    ret = _ret(name)
    salt = __salt__  # noqa: F821
    if __opts__["test"] and (  # noqa: F821
        not os.path.exists(os.path.join(config_dir, "config.json"))
        or not salt["docker.resolve_image_id"](image)
    ):
        ret["result"] = None
        ret["comment"] = "image or config not in place yet: would check the schema and " + (
            "bootstrap it when behind" if bootstrap else f"wait for {db_node} to bootstrap it"
        )
        return ret
    before = salt["glance_db.check"](image, binds)
    if before["status"] == "current":
        ret["comment"] = "the glance schema is current"
        return ret
    if before["status"] == "error":
        return _failed_check(ret, before, db_node)
    if before["status"] == "contract":
        # expand + migrate are done: old and new releases share this schema until the
        # upgrade orchestration contracts it after the last node
        ret["comment"] = ("the glance schema is expanded for this release; "
                          "glance.orch.upgrade contracts it once every node runs it")
        return ret
    if salt["glance_db.populated"](database):
        ret["result"] = False
        ret["comment"] = (
            f"the glance schema is older than {image} (db check: {before['status']}) — "
            "upgrade with `salt-run state.orchestrate glance.orch.upgrade` (rolling or "
            "legacy, per glance_enable_rolling_upgrade); nothing was changed"
        )
        return ret
    if __opts__["test"]:  # noqa: F821
        ret["result"] = None
        ret["comment"] = f"the schema needs {before['status']}: would " + (
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
        deadline = time.monotonic() + wait
        after = before
        while after["status"] not in ("current", "contract") and time.monotonic() < deadline:
            time.sleep(interval)
            after = salt["glance_db.check"](image, binds)
    if after["status"] not in ("current", "contract"):
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
