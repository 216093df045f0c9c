"""glance_db's container-free schema answer: the pure cache decisions."""

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
