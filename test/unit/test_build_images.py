"""test/images/build.py: the image table, hashes, names, the CLI (no root, no docker),
and extend_start.keystone run against a stub keystone-manage."""

import copy
import fnmatch
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
sys.path.insert(0, str(IMAGES_DIR))

import build  # noqa: E402  pylint: disable=wrong-import-position

ALL = [(image, release) for image in sorted(build.IMAGES) for release in build.releases(image)]


def test_the_table_has_the_images_and_tags_the_tests_use():
    assert build.releases("glance-api") == ["2022.2", "2025.1", "2026.2"]
    # one openstack_tag serves glance-api and haproxy
    assert build.releases("haproxy") == build.releases("glance-api")
    assert build.releases("keystone") == ["2025.1", "2026.2"]
    suites = {r: build.recipe(r)["suite"] for r in build.releases()}
    assert suites == {"2022.2": "bookworm", "2025.1": "trixie", "2026.2": "sid"}
    versions = {r: build.recipe(r)["version"] for r in build.releases()}
    assert versions == {"2022.2": "25.1.0", "2025.1": "30.0.0", "2026.2": "33.0.0"}
    assert build.recipe("2025.1", "keystone")["version"] == "27.0.0"


@pytest.mark.parametrize("image", sorted(build.IMAGES))
def test_every_entry_is_complete_and_its_files_exist(image):
    build.check_spec(image, build.IMAGES[image])   # raises BuildError otherwise
    entry = build.IMAGES[image]
    for name, (path, mode) in entry["files"].items():
        assert (IMAGES_DIR / name).is_file(), name
        assert not path.startswith("/") and mode in (0o755, 0o440), (name, path, mode)


@pytest.mark.parametrize("image", sorted(build.IMAGES))
def test_sudoers_and_extend_start_name_the_images_user(image):
    entry = build.IMAGES[image]
    user = entry["user"]["name"]
    by_path = {path: name for name, (path, _) in entry["files"].items()}
    sudoers = [name for path, name in by_path.items() if path.startswith("etc/sudoers.d/")]
    assert len(sudoers) == 1
    assert (f"{user} ALL=(root) NOPASSWD: SETENV: /usr/local/bin/kolla_set_configs"
            in (IMAGES_DIR / sudoers[0]).read_text())
    extend = IMAGES_DIR / by_path[build.EXTEND_START]
    assert subprocess.run(["bash", "-n", str(extend)]).returncode == 0


def test_kolla_ids_and_packages():
    ids = {i: (e["user"]["name"], e["user"]["uid"], e["user"]["gid"])
           for i, e in build.IMAGES.items()}
    assert ids == {"glance-api": ("glance", 42415, 42415),
                   "haproxy": ("haproxy", 42454, 42454),
                   "keystone": ("keystone", 42425, 42425),
                   "ceph": ("ceph", 64045, 64045),
                   "swift": ("swift", 42445, 42445)}
    glance = build.IMAGES["glance-api"]["packages"]
    for pkg in ("python3-rbd", "python3-rados", "python3-boto3", "python3-swiftclient"):
        assert pkg in glance
    for release in ("2025.1", "2026.2"):
        assert {"uwsgi-core", "uwsgi-plugin-python3"} <= set(build.recipe(release)["extra"])
    keystone = build.IMAGES["keystone"]
    assert {"keystone", "python3-pymysql", "python3-memcache", "uwsgi-core",
            "uwsgi-plugin-python3", "curl", "sudo"} <= set(keystone["packages"])
    assert "keystone keystone/configure_db boolean false" in keystone["debconf"]
    assert "etc/keystone/keystone.conf" in keystone["remove"]
    assert {"ceph-mon", "ceph-osd", "ceph-common"} <= set(build.IMAGES["ceph"]["packages"])
    assert {"swift-proxy", "swift-account", "swift-container", "swift-object",
            "python3-keystonemiddleware"} <= set(build.IMAGES["swift"]["packages"])


def test_only_sid_releases_skip_the_valid_until_check():
    for image, release in ALL:
        options = build.recipe(release, image).get("apt_options", [])
        sid = build.recipe(release, image)["suite"] == "sid"
        assert (options == ["Acquire::Check-Valid-Until=false"]) is sid, (image, release)


def test_check_spec_rejects_broken_entries(monkeypatch):
    broken = copy.deepcopy(build.IMAGES["haproxy"])
    del broken["packages"]
    broken["dirs"].append({"path": "x", "owner": "nobody:kolla"})
    broken["files"]["missing.sh"] = (build.EXTEND_START, 0o755)
    with pytest.raises(build.BuildError) as exc:
        build.check_spec("broken", broken)
    msg = str(exc.value)
    assert "missing ['packages']" in msg
    assert "unknown owner 'nobody'" in msg
    assert "two files go to the same path" in msg
    assert "file missing.sh is not in" in msg


def test_adding_an_image_is_adding_a_table_entry(monkeypatch):
    entry = copy.deepcopy(build.IMAGES["haproxy"])
    entry["releases"] = {"2030.1": {"suite": "trixie", "version": None, "extra": []}}
    monkeypatch.setitem(build.IMAGES, "memcached", entry)
    assert build.releases("memcached") == ["2030.1"]
    digest = build.content_hash("2030.1", image="memcached")
    assert len(digest) == 12 and digest != build.content_hash("2025.1", image="haproxy")
    assert build.tarball_name("memcached", "2030.1", digest) == f"memcached-2030.1-{digest}.tar"
    assert "LABEL glance_formula_image=memcached" in build.import_changes("memcached", digest,
                                                                        "2030.1")
    with pytest.raises(SystemExit):   # the CLI's --image choices come from the table
        build.main(["--image", "nope", "--release", "2030.1"])


def test_glance_api_is_the_default_image():
    for release in build.releases():
        assert build.content_hash(release) == build.content_hash(release, image="glance-api")
        assert build.base_hash(release) == build.base_hash(release, image="glance-api")


def test_public_signatures_are_kept():
    params = list(inspect.signature(build.ensure_pushed).parameters.values())
    assert [p.name for p in params] == ["release", "cache_dir", "docker_host", "repo",
                                        "timer", "image"]
    assert params[4].default is None and params[5].default == "glance-api"
    params = list(inspect.signature(build.build_rootfs_tarball).parameters.values())
    assert [p.name for p in params] == ["release", "cache_dir", "timer", "image"]
    assert inspect.signature(build.content_hash).parameters["image"].default == "glance-api"
    assert issubclass(build.BuildError, Exception)


def test_hashes_are_distinct_per_image_and_release():
    finals = {(i, r): build.content_hash(r, i) for i, r in ALL}
    assert len(set(finals.values())) == len(finals)
    assert all(len(h) == 12 and int(h, 16) >= 0 for h in finals.values())
    bases = {(i, r): build.base_hash(r, i) for i, r in ALL}
    # same recipe (haproxy 2025.1 and 2026.2 are both trixie's 3.0) = one shared base
    assert bases[("haproxy", "2025.1")] == bases[("haproxy", "2026.2")]
    assert bases[("glance-api", "2025.1")] != bases[("glance-api", "2026.2")]
    assert bases[("glance-api", "2025.1")] != bases[("haproxy", "2025.1")]


def test_a_script_change_rebuilds_only_the_images_that_carry_it(tmp_path, monkeypatch):
    before = {(i, r): (build.base_hash(r, i), build.content_hash(r, i)) for i, r in ALL}
    for name in os.listdir(IMAGES_DIR):
        if (IMAGES_DIR / name).is_file():
            shutil.copy(IMAGES_DIR / name, tmp_path / name)
    monkeypatch.setattr(build, "HERE", tmp_path)
    assert {k: (build.base_hash(k[1], k[0]), build.content_hash(k[1], k[0]))
            for k in before} == before
    with open(tmp_path / "extend_start.keystone", "a") as f:
        f.write(": changed\n")
    for image, release in ALL:
        base, final = before[(image, release)]
        assert build.base_hash(release, image) == base   # no re-debootstrap
        assert (build.content_hash(release, image) != final) is (image == "keystone")
    with open(tmp_path / "kolla_start", "a") as f:
        f.write(": changed\n")
    assert all(build.content_hash(r, i) != before[(i, r)][1] for i, r in ALL)


def test_a_recipe_change_rebuilds_the_base(monkeypatch):
    base = build.base_hash("2025.1", "keystone")
    final = build.content_hash("2025.1", "keystone")
    entry = copy.deepcopy(build.IMAGES["keystone"])
    entry["packages"].append("python3-ldap")
    monkeypatch.setitem(build.IMAGES, "keystone", entry)
    assert build.base_hash("2025.1", "keystone") != base
    assert build.content_hash("2025.1", "keystone") != final


def test_unknown_image_or_release_is_a_build_error():
    with pytest.raises(build.BuildError, match="unknown image 'nginx'"):
        build.content_hash("2022.2", image="nginx")
    with pytest.raises(build.BuildError, match="unknown release '2022.2' for the keystone"):
        build.content_hash("2022.2", image="keystone")


def test_cli_rejects_a_release_the_image_does_not_have(capsys):
    with pytest.raises(SystemExit) as exc:
        build.main(["--image", "keystone", "--release", "2022.2"])
    assert exc.value.code == 2
    assert "--image keystone has no release 2022.2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build.main(["--release", "2022.2", "--repo", "127.0.0.1:5000/x/glance-api"])


def test_cli_script_runs_from_anywhere():
    res = subprocess.run([sys.executable, str(IMAGES_DIR / "build.py"), "--image", "haproxy",
                          "--release", "2023.1"], capture_output=True, text=True, cwd="/")
    assert res.returncode == 2 and "has no release 2023.1" in res.stderr


def test_import_changes_make_a_kolla_image():
    changes = build.import_changes("keystone", "0123456789ab", "2025.1")
    assert changes[:2] == ["USER keystone", 'CMD ["kolla_start"]']
    assert "LABEL glance_formula_build_hash=0123456789ab" in changes
    assert "LABEL glance_formula_release=2025.1" in changes
    assert "LABEL glance_formula_image=keystone" in changes
    assert any(c.startswith("ENV PATH=/usr/local/sbin:/usr/local/bin:") for c in changes)
    assert build.import_changes("glance-api", "x", "2022.2")[0] == "USER glance"


def test_passwd_ids():
    text = ("root:x:0:0:root:/root:/bin/bash\n"
            "haproxy:x:104:111::/var/lib/haproxy:/usr/sbin/nologin\n")
    assert build.passwd_ids(text, "haproxy") == (104, 111)
    assert build.passwd_ids(text, "glance") is None
    assert build.passwd_ids("broken\n", "broken") is None


def test_resolve_owner():
    user = build.IMAGES["haproxy"]["user"]
    assert build.resolve_owner("root", user) == (0, 0)
    assert build.resolve_owner("haproxy:haproxy", user) == (42454, 42454)
    assert build.resolve_owner("haproxy", user) == (42454, 42454)
    assert build.resolve_owner("root:kolla", user) == (0, 42400)
    with pytest.raises(build.BuildError, match="owner 'glance'"):
        build.resolve_owner("glance", user)


def test_make_dirs_follows_the_table(tmp_path, monkeypatch):
    calls = {}
    monkeypatch.setattr(build.os, "lchown", lambda p, u, g: calls.__setitem__(str(p), (u, g)))
    monkeypatch.setattr(build.os, "chown", lambda p, u, g: calls.__setitem__(str(p), (u, g)))
    (tmp_path / "run/lock").mkdir(parents=True)
    entry = build.IMAGES["haproxy"]
    build._make_dirs(tmp_path, entry["dirs"], entry["user"])
    assert calls[str(tmp_path / "run/lock")] == (42454, 42454)        # recurse
    assert calls[str(tmp_path / "var/lib/kolla/haproxy")] == (42454, 42454)
    assert calls[str(tmp_path / "var/log/kolla")] == (0, 42400)
    assert (tmp_path / "var/log/kolla").stat().st_mode & 0o7777 == 0o2775


def test_cache_names_do_not_collide():
    names = {(i, r): build.tarball_name(i, r, build.content_hash(r, i)) for i, r in ALL}
    for (image, release), name in names.items():
        mine = f"{image}-{release}-*.tar"          # the stale-final glob of that build
        others = [n for k, n in names.items() if k != (image, release)]
        assert fnmatch.fnmatch(name, mine)
        assert not any(fnmatch.fnmatch(n, mine) for n in others), (image, release)
    base = build.base_tarball_name("glance-api", "aaaaaaaaaaaa")
    assert base == "base/glance-api-aaaaaaaaaaaa.tar"
    assert not fnmatch.fnmatch(Path(base).name, "glance-api-2022.2-*.tar")


# --------------------------------------------------------------- extend_start.keystone
@pytest.fixture
def stub_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "keystone-manage"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    stub.chmod(0o755)
    return tmp_path


def _source(tmp, env):
    script = f"set -o errexit; . {IMAGES_DIR / 'extend_start.keystone'}; echo FELL-THROUGH"
    full = {"PATH": f"{tmp}/bin:/usr/bin:/bin", **env}
    res = subprocess.run(["bash", "-c", script], env=full, capture_output=True, text=True)
    calls = (tmp / "calls").read_text().splitlines() if (tmp / "calls").exists() else []
    return res, calls


def test_keystone_bootstrap_runs_the_four_steps(stub_path):
    res, calls = _source(stub_path, {
        "KOLLA_BOOTSTRAP": "", "KEYSTONE_BOOTSTRAP_PASSWORD": "s3cret pw",
        "KEYSTONE_BOOTSTRAP_URL": "http://127.0.0.5:5000/v3",
        "KEYSTONE_BOOTSTRAP_REGION": "RegionTwo"})
    assert res.returncode == 0 and "FELL-THROUGH" not in res.stdout
    ids = "--keystone-user keystone --keystone-group keystone"
    assert calls[:3] == ["db_sync", f"fernet_setup {ids}", f"credential_setup {ids}"]
    assert calls[3] == (
        "bootstrap --bootstrap-password s3cret pw --bootstrap-username admin "
        "--bootstrap-project-name admin --bootstrap-role-name admin "
        "--bootstrap-public-url http://127.0.0.5:5000/v3 "
        "--bootstrap-internal-url http://127.0.0.5:5000/v3 "
        "--bootstrap-admin-url http://127.0.0.5:5000/v3 --bootstrap-region-id RegionTwo")
    assert len(calls) == 4


def test_keystone_bootstrap_needs_password_and_url(stub_path):
    res, calls = _source(stub_path, {"KOLLA_BOOTSTRAP": "",
                                     "KEYSTONE_BOOTSTRAP_URL": "http://x/v3"})
    assert res.returncode != 0 and "KEYSTONE_BOOTSTRAP_PASSWORD must be set" in res.stderr
    assert calls == []


def test_keystone_upgrade_steps_and_service_start(stub_path):
    res, calls = _source(stub_path, {"KOLLA_UPGRADE": "", "KEYSTONE_DB_EXPAND": "",
                                     "KEYSTONE_DB_CONTRACT": ""})
    assert res.returncode == 0 and "FELL-THROUGH" not in res.stdout
    assert calls == ["db_sync --expand", "db_sync --contract"]
    (stub_path / "calls").unlink()
    res, calls = _source(stub_path, {})
    assert res.returncode == 0 and "FELL-THROUGH" in res.stdout and calls == []
