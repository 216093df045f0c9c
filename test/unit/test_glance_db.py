"""glance_db's container-free schema answer: the pure cache decisions."""
import pytest

from salt_module_loader import load

db = load("glance_db", "modules")
DATABASE = {"host": "10.0.0.5", "port": 3306, "name": "glance"}


def test_the_key_names_the_image_and_the_database():
    assert db.schema_key("sha256:ab", DATABASE) == "sha256:ab@10.0.0.5:3306/glance"


def test_a_current_answer_is_reused_only_at_the_same_revision():
    cache = db.remember({}, "k", "2025_1_contract01")
    assert db.cached_status(cache, "k", "2025_1_contract01") == "current"
    # expand/contract or a db_sync moved the revision: run the check again
    assert db.cached_status(cache, "k", "2026_1_expand01") is None
    # another image or another database: never learned
    assert db.cached_status(cache, "other", "2025_1_contract01") is None


def test_an_empty_database_is_never_current_from_the_cache():
    cache = {"k": ""}
    assert db.cached_status(cache, "k", None) is None and db.cached_status(cache, "k", "") is None


def test_the_cache_keeps_the_newest_entries():
    cache = {}
    for n in range(5):
        cache = db.remember(cache, f"k{n}", f"r{n}", limit=3)
    cache = db.remember(cache, "k2", "r2b", limit=3)
    assert list(cache.items()) == [("k3", "r3"), ("k4", "r4"), ("k2", "r2b")]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_database_down_for_the_whole_grace_period_is_lost_and_a_blip_is_not():
    answers, clock = [True, False, True, False, False, False], Clock()
    watch = db.Watch(lambda: answers.pop(0), after=30, interval=2, clock=clock)
    seen = []
    for t in (0, 2, 4, 10, 12, 40, 41):
        clock.now = t
        seen.append(watch.lost())
    # asked at 0 (up), 2 (down), 4 (up again: the blip is forgotten), 10 (down), 12, 40
    # (down since 10: 30 s) and not at 41 (inside the interval, still lost)
    assert seen == [False, False, False, False, False, True, True]
    assert answers == []


def test_without_a_probe_nothing_is_ever_lost():
    watch = db.Watch(None, after=0)
    assert watch.lost() is False


def test_the_lost_database_message_names_the_database_the_step_and_the_fix():
    text = db.lost_message("db expand", {"host": "127.0.0.1", "port": 3306}, 30)
    assert "127.0.0.1:3306 stopped answering during db expand" in text
    assert "run the same orchestration again" in text


# ------------------------------------------- the glance account, as bootstrap's unless sees it

ACCOUNT = {"host": "127.0.0.1", "port": 3306, "name": "glance_formula", "user": "glance",
           "password": "pw"}
GRANTS = ["GRANT USAGE ON *.* TO `glance`@`%` IDENTIFIED BY PASSWORD '*ABC'",
          "GRANT ALL PRIVILEGES ON `glance_formula`.* TO `glance`@`%`"]
SCHEMA = ("utf8mb4", "utf8mb4_general_ci")


def test_account_current_when_login_grant_and_collation_match():
    assert db.account_current("glance@%", GRANTS, SCHEMA, ACCOUNT) is True
    escaped = [GRANTS[0], r"GRANT ALL PRIVILEGES ON `glance\_formula`.* TO `glance`@`%`"]
    assert db.account_current("glance@%", escaped, SCHEMA, ACCOUNT) is True


@pytest.mark.parametrize("current_user, grants, schema", [
    ("glance@localhost", GRANTS, SCHEMA),            # another account answered the login
    ("glance@%", GRANTS[:1], SCHEMA),                # the grant is gone
    ("glance@%", ["GRANT SELECT ON `glance_formula`.* TO `glance`@`%`"], SCHEMA),
    ("glance@%", ["GRANT ALL PRIVILEGES ON `glanceXformula`.* TO `glance`@`%`"], SCHEMA),
    ("glance@%", ["GRANT ALL PRIVILEGES ON `glance_formula_old`.* TO `glance`@`%`"], SCHEMA),
    ("glance@%", GRANTS, ("latin1", "latin1_swedish_ci")),
    ("glance@%", GRANTS, None),                       # the database is not there
])
def test_account_not_current_means_the_mysql_states_run(current_user, grants, schema):
    assert db.account_current(current_user, grants, schema, ACCOUNT) is False


def test_access_current_asks_once_per_run(monkeypatch):
    calls = []
    monkeypatch.setattr(db, "__context__", {}, raising=False)
    monkeypatch.setattr(db, "_access_current", lambda database: calls.append(database) or True)
    assert db.access_current(ACCOUNT) and db.access_current(dict(ACCOUNT))
    assert db.access_current(dict(ACCOUNT, password="new")) and len(calls) == 2
