"""
The Glance database schema: where it stands and the one-shot containers that move it.

Every glance-manage call runs in a one-shot container of the same image and
mounts as glance_api, through the Kolla contract (kolla_set_configs copies the
config first), so it works unchanged with the official Kolla images. Calls are
bounded in time: glance's ``max_retries = -1`` would otherwise wait forever for
an unreachable database.
"""

import hashlib
import json
import logging
import os
import re
import time

__virtualname__ = "glance_db"
log = logging.getLogger(__name__)

# glance-manage db check exit codes (glance/cmd/manage.py)
CHECK_CODES = {0: "current", 3: "expand", 4: "migrate", 5: "contract"}
SET_CONFIGS = "sudo -E kolla_set_configs"
# a schema step whose database stops answering for this long is stopped: glance's
# max_retries = -1 (kolla's) would otherwise keep it waiting until the step's timeout
DATABASE_LOST_AFTER = 30
MANAGE = "glance-manage --config-file /etc/glance/glance-api.conf"
UNKNOWN_DATABASE = 1049  # MySQL/MariaDB ER_BAD_DB_ERROR
# The formula configures no database TLS (glance's own connection URL asks for none), so
# its PyMySQL logins do not try it either: PyMySQL >= 1.2 otherwise builds an SSL
# context with the system's CA bundle for every connection (60-150 ms of each re-apply)
SSL_DISABLED = True


def __virtual__():
    if "docker.run_container" not in __salt__:  # noqa: F821
        return False, "glance_db needs saltext.dockermod (docker module) and the docker SDK"
    return __virtualname__


def interpret_check(code):
    """Exit code of ``glance-manage db check`` -> what the schema needs."""
    return CHECK_CODES.get(code, "error")


def manage_command(args):
    """Shell command for a one-shot container: set configs, then glance-manage."""
    return ["bash", "-c", f"{SET_CONFIGS} && exec {MANAGE} {args}"]


def log_tail(text, lines=15):
    return "\n".join((text or "").strip().splitlines()[-lines:])


def oneshot(name, image, binds, command=None, environment=None, timeout=600, alive=None,
            lost_after=DATABASE_LOST_AFTER):
    """
    Run a one-shot container of ``image`` to completion (or ``timeout`` seconds).
    ``alive`` (optional, no arguments) tells whether what the container needs still
    answers; ``lost_after`` seconds of no answer in a row stop the container.

    Returns ``{"exit_code", "logs", "timed_out", "lost"}``; the container is removed.
    """
    env = {"KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS"}
    env.update(environment or {})
    docker = __salt__  # noqa: F821
    kwargs = {"binds": binds, "network_mode": "host", "environment": env}
    if command:
        kwargs["command"] = command
    docker["docker.run_container"](image, name=name, bg=True, replace=True, force=True,
                                   **kwargs)
    deadline = time.monotonic() + timeout
    timed_out = lost = False
    watch = Watch(alive, lost_after)
    # docker.state caches its answer in __context__ for the whole run: inspect instead
    info = docker["docker.inspect_container"](name)
    while info["State"]["Running"]:
        timed_out = time.monotonic() > deadline
        lost = watch.lost()
        if timed_out or lost:
            docker["docker.kill"](name)
            break
        time.sleep(0.5)
        info = docker["docker.inspect_container"](name)
    logs = docker["docker.logs"](name)
    docker["docker.rm"](name, force=True)
    return {
        "exit_code": None if timed_out or lost else info["State"]["ExitCode"],
        "logs": logs,
        "timed_out": timed_out,
        "lost": lost,
    }


class Watch:
    """``alive()`` asked at most every ``interval`` seconds; ``lost()`` is True once it
    has said False for ``after`` seconds in a row (never, without ``alive``)."""

    def __init__(self, alive, after, interval=2.0, clock=time.monotonic):
        self.alive, self.after, self.interval, self.clock = alive, after, interval, clock
        self.asked = self.down_since = None

    def lost(self):
        if self.alive is None:
            return False
        now = self.clock()
        if self.asked is not None and now - self.asked < self.interval:
            return self.down_since is not None and now - self.down_since >= self.after
        self.asked = now
        if self.alive():
            self.down_since = None
        elif self.down_since is None:
            self.down_since = now
        return self.down_since is not None and now - self.down_since >= self.after


def check(image, binds, timeout=300):
    """
    Where the schema stands: current, expand, migrate, contract or error.

    CLI Example::

        salt node1 glance_db.check <image> '[binds]'
    """
    run = oneshot("glance_db_check", image, binds, manage_command("db check"),
                  timeout=timeout)
    status = "error" if run["timed_out"] else interpret_check(run["exit_code"])
    return {"status": status, "exit_code": run["exit_code"], "timed_out": run["timed_out"],
            "logs": log_tail(run["logs"])}


# ---------------------------------------------------------------- db check without a container

SCHEMA_CACHE = "glance_db_schema.json"
SCHEMA_CACHE_ENTRIES = 32


def schema_key(image_id, database):
    """Which image looked at which database: the cache key of a ``db check`` answer."""
    return f"{image_id}@{database['host']}:{database['port']}/{database['name']}"


def cached_status(cache, key, revision):
    """
    Pure: "current" when ``db check`` of this image against this database already
    said current at this alembic ``revision``; else None (run the check). Any
    schema step (db_sync, expand, contract) moves the revision, so a stale answer
    cannot be reused.
    """
    if revision and cache.get(key) == revision:
        return "current"
    return None


def remember(cache, key, revision, limit=SCHEMA_CACHE_ENTRIES):
    """Pure: the cache with ``key`` -> ``revision`` as its newest entry, at most ``limit``."""
    out = {k: v for k, v in cache.items() if k != key}
    out[key] = revision
    return dict(list(out.items())[-limit:])


def _cache_path():
    return os.path.join(__opts__["cachedir"], SCHEMA_CACHE)  # noqa: F821


def _load_cache():
    try:
        with open(_cache_path(), encoding="utf-8") as handle:
            cache = json.load(handle)
        return cache if isinstance(cache, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(cache):
    path = _cache_path()
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(cache, handle)
    os.replace(tmp, path)


def revision(database):
    """
    The alembic revision of the glance database (None without a schema or without
    the database). One PyMySQL connection, for the reason _trust_function_creators
    gives.
    """
    import pymysql  # pylint: disable=import-outside-toplevel

    try:
        connection = _admin_connection(database, database["name"])
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] == UNKNOWN_DATABASE:
            return None
        raise
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE 'alembic_version'")
            if cursor.fetchone() is None:
                return None
            cursor.execute("SELECT version_num FROM alembic_version ORDER BY version_num")
            rows = [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    return ",".join(rows) or None


def check_cached(image, binds, database, timeout=300):
    """
    :func:`check`, but without a container when this image already found this
    database current at the revision it has now (a no-op re-apply). The answer
    has ``cached: True`` then.
    """
    docker = __salt__  # noqa: F821
    try:
        key = schema_key(docker["docker.resolve_image_id"](image), database)
        before = revision(database)
    except Exception:  # pylint: disable=broad-except — the real check reports it
        key, before = None, None
    if key and cached_status(_load_cache(), key, before):
        return {"status": "current", "exit_code": 0, "timed_out": False, "logs": "",
                "cached": True}
    result = check(image, binds, timeout)
    if key and result["status"] == "current":
        after = revision(database)
        if after:
            _save_cache(remember(_load_cache(), key, after))
    return result


def bootstrap(image, binds, timeout=900, alive=None):
    """db_sync + db_load_metadefs through the image's KOLLA_BOOTSTRAP path."""
    return oneshot("glance_bootstrap", image, binds,
                   environment={"KOLLA_BOOTSTRAP": ""}, timeout=timeout, alive=alive)


def upgrade_step(image, binds, steps, timeout=900, alive=None):
    """KOLLA_UPGRADE with GLANCE_DB_EXPAND / _MIGRATE / _CONTRACT for ``steps``."""
    env = {"KOLLA_UPGRADE": ""}
    env.update({f"GLANCE_DB_{step.upper()}": "" for step in steps})
    return oneshot("glance_db_upgrade", image, binds, environment=env, timeout=timeout,
                   alive=alive)


# ---------------------------------------------------------------- with this minion's settings


def connection_args(database):
    """saltext.mysql connection kwargs for the admin account of ``database``."""
    return {
        "connection_host": database["host"],
        "connection_port": database["port"],
        "connection_user": database["admin_user"],
        "connection_pass": database["admin_password"],
    }


# what glance/bootstrap creates with saltext.mysql
CHARACTER_SET = "utf8mb4"
COLLATE = "utf8mb4_general_ci"


def account_current(current_user, grants, schema, database):
    """
    Pure: does what the glance account sees of itself show that the three
    saltext.mysql states of glance/bootstrap have nothing to do? ``current_user``
    is ``CURRENT_USER()`` of a login with the wanted password, ``grants`` the rows
    of ``SHOW GRANTS FOR CURRENT_USER()``, ``schema`` the database's (character
    set, collation). Anything else (a login as another host's account, a missing
    grant, another collation) means no: the states look properly.
    """
    if current_user != f"{database['user']}@%":
        return False
    if tuple(schema or ()) != (CHARACTER_SET, COLLATE):
        return False
    # GRANT ALL PRIVILEGES ON `glance`.* TO `glance`@`%` (MariaDB may escape the _)
    name = re.escape(database["name"]).replace("_", r"\\?_")
    wanted = re.compile(rf"^GRANT ALL PRIVILEGES ON [`']?{name}[`']?\.\* TO ", re.IGNORECASE)
    return any(wanted.match(str(grant)) for grant in grants or ())


def access_current(database):
    """
    True when the glance database and account already are what glance/bootstrap's
    saltext.mysql states make them (their ``unless``): one login as the glance user
    with its password, instead of the states' nine admin connections on every
    re-apply. Asked once per ``state.apply``; any error means False (the states run
    and report it).
    """
    memo = __context__.setdefault("glance_db.access_current", {})  # noqa: F821
    key = hashlib.sha256(json.dumps(
        [database["host"], database["port"], database["name"], database["user"],
         database["password"]]).encode()).hexdigest()
    if key not in memo:
        memo[key] = _access_current(database)
    return memo[key]


def _access_current(database):
    import pymysql  # pylint: disable=import-outside-toplevel

    try:
        connection = pymysql.connect(
            host=database["host"], port=int(database["port"]), user=database["user"],
            password=database["password"], database=database["name"], connect_timeout=10,
            ssl_disabled=SSL_DISABLED)
    except pymysql.MySQLError:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER()")
            current_user = cursor.fetchone()[0]
            cursor.execute("SHOW GRANTS FOR CURRENT_USER()")
            grants = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                           "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                           (database["name"],))
            schema = cursor.fetchone()
    except pymysql.MySQLError:
        return False
    finally:
        connection.close()
    return account_current(current_user, grants, schema, database)


def populated(database):
    """True when the glance database already holds a schema (an upgrade, not a fresh deploy)."""
    tables = __salt__["mysql.db_tables"](database["name"], **connection_args(database))  # noqa: F821
    return bool(tables) and "alembic_version" in tables


def _admin_connection(database, name=None, connect_timeout=10):
    import pymysql  # pylint: disable=import-outside-toplevel

    return pymysql.connect(host=database["host"], port=int(database["port"]),
                           user=database["admin_user"], password=database["admin_password"],
                           database=name, autocommit=True, connect_timeout=connect_timeout,
                           ssl_disabled=SSL_DISABLED)


def _trust_function_creators(database, value):
    """Set log_bin_trust_function_creators; returns the previous value (glance's triggers
    need it on MySQL/MariaDB with binary logging during expand/contract).

    saltext.mysql's ``mysql.query`` cannot run under PyMySQL (it installs ``str`` as
    every converter, and PyMySQL calls encoders as ``str(value, mapping)``), so this
    one statement goes through PyMySQL itself; everything else uses saltext.mysql.
    """
    connection = _admin_connection(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@GLOBAL.log_bin_trust_function_creators")
            previous = int(cursor.fetchone()[0])
            cursor.execute("SET GLOBAL log_bin_trust_function_creators = %s", (int(value),))
    finally:
        connection.close()
    return previous


def _here():
    settings = __salt__["glance_config.current"]()  # noqa: F821
    return settings, settings["services"]["glance-api"]["volumes"]


def status(image=None):
    """
    ``db check`` on this node with ``image`` (default: the configured one).

    CLI Example::

        salt node1 glance_db.status 127.0.0.1:5000/openstack.kolla/glance-api:2025.1
    """
    settings, binds = _here()
    return check(image or settings["image"], binds)


def _answers(database):
    """True when the database accepts an admin login now."""
    try:
        _admin_connection(database, connect_timeout=3).close()
    except Exception:  # pylint: disable=broad-except
        return False
    return True


def lost_message(what, database, seconds=DATABASE_LOST_AFTER):
    where = f"{database['host']}:{database['port']}"
    return (f"the database at {where} stopped answering during {what} (no answer for "
            f"{seconds} s): the step was stopped and nothing after it ran. Bring the "
            f"database back, then run the same orchestration again: it starts again "
            f"from the schema state it finds")


def _run_with_trust(settings, runner):
    """``runner(alive)`` with log_bin_trust_function_creators on around it; ``alive``
    asks the database. A database that is down before the step is an error here."""
    from salt.exceptions import CommandExecutionError  # pylint: disable=import-outside-toplevel

    database = settings["database"]
    try:
        previous = _trust_function_creators(database, 1)
    except Exception as exc:  # pylint: disable=broad-except
        raise CommandExecutionError(
            f"the database at {database['host']}:{database['port']} does not answer "
            f"({exc}); nothing ran. Bring it back and run the same command again"
        ) from exc
    try:
        return runner(lambda: _answers(database))
    finally:
        try:
            _trust_function_creators(database, previous)
        except Exception as exc:  # pylint: disable=broad-except
            log.warning("log_bin_trust_function_creators not set back to %s: %s",
                        previous, exc)


def _finished(what, run, image, binds, database=None):
    if run["exit_code"] != 0:
        from salt.exceptions import CommandExecutionError  # pylint: disable=import-outside-toplevel

        if run.get("lost"):
            raise CommandExecutionError(
                f"glance-manage {what} with {image}: {lost_message(what, database)}. "
                f"Last log lines:\n{log_tail(run['logs'])}")
        raise CommandExecutionError(
            f"glance-manage {what} with {image} failed (exit {run['exit_code']}); nothing "
            f"after it ran. Last log lines:\n{log_tail(run['logs'])}"
        )
    # remembered when current: the status at the end of the upgrade orchestration (the
    # same image at the same revision) then runs no second check container
    schema = check_cached(image, binds, database or _here()[0]["database"])
    return {"ran": what, "image": image, "schema": schema["status"],
            "logs": log_tail(run["logs"], 5)}


def upgrade(image, steps):
    """
    Rolling-upgrade schema steps (``expand``, ``migrate``, ``contract``) on this
    node with the target ``image``, log_bin_trust_function_creators on around them.

    CLI Example::

        salt node1 glance_db.upgrade <image> '[expand, migrate]'
    """
    settings, binds = _here()
    run = _run_with_trust(settings, lambda alive: upgrade_step(image, binds, steps,
                                                               alive=alive))
    return _finished(f"db {' + '.join(steps)}", run, image, binds, settings["database"])


def sync(image):
    """Legacy (offline) upgrade: db_sync + metadefs with the target ``image``."""
    settings, binds = _here()
    run = _run_with_trust(settings, lambda alive: bootstrap(image, binds, alive=alive))
    return _finished("db_sync", run, image, binds, settings["database"])
