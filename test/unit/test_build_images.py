"""test/images/build.py: image kinds, their separate hashes and names (no root, no docker)."""

import fnmatch
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

IMAGES_DIR = Path(__file__).resolve().parents[1] / "images"
sys.path.insert(0, str(IMAGES_DIR))

import build  # noqa: E402  pylint: disable=wrong-import-position
import glance_image  # noqa: E402  pylint: disable=wrong-import-position
import haproxy_image  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("release", ["2022.2", "2025.1"])
def test_glance_api_is_the_default_and_its_hash_is_glance_images(release):
    assert build.content_hash(release) == glance_image.content_hash(release)
    assert build.content_hash(release, image="glance-api") == glance_image.content_hash(release)
    assert build.base_hash(release) == glance_image.base_hash(release)


def test_ensure_pushed_keeps_its_old_positional_signature():
    params = list(inspect.signature(build.ensure_pushed).parameters.values())
    assert [p.name for p in params[:5]] == ["release", "cache_dir", "docker_host", "repo",
                                            "timer"]
    assert params[5].name == "image" and params[5].default == "glance-api"
    assert build.BuildError is glance_image.BuildError is haproxy_image.BuildError


@pytest.mark.parametrize("release", ["2022.2", "2025.1"])
def test_haproxy_has_its_own_hashes(release):
    hap = build.content_hash(release, image="haproxy")
    assert hap == haproxy_image.content_hash(release)
    assert hap != build.content_hash(release)
    assert build.base_hash(release, image="haproxy") != build.base_hash(release)
    assert len(hap) == 12


def test_haproxy_releases_are_tags_shared_with_glance_api():
    assert build.releases("haproxy") == build.releases("glance-api") == ["2022.2", "2025.1"]
    assert haproxy_image.RELEASES["2022.2"]["suite"] == glance_image.RELEASES["2022.2"]["suite"]


def test_unknown_image_or_release_is_a_build_error():
    with pytest.raises(build.BuildError, match="unknown image 'nginx'"):
        build.content_hash("2022.2", image="nginx")
    with pytest.raises(build.BuildError, match="unknown release '2023.1' for the haproxy"):
        build.content_hash("2023.1", image="haproxy")


def test_cli_rejects_a_release_the_image_does_not_have(capsys):
    with pytest.raises(SystemExit) as exc:
        build.main(["--image", "haproxy", "--release", "2023.1"])
    assert exc.value.code == 2
    assert "--image haproxy has no release 2023.1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build.main(["--image", "nginx", "--release", "2022.2"])


def test_an_haproxy_script_change_rebuilds_haproxy_only(tmp_path, monkeypatch):
    glance_before = glance_image.content_hash("2022.2")
    hap_before = haproxy_image.content_hash("2022.2")
    hap_base_before = haproxy_image.base_hash("2022.2")
    for name in haproxy_image.IMAGE_FILES:
        shutil.copy(IMAGES_DIR / name, tmp_path / name)
    monkeypatch.setattr(haproxy_image, "HERE", tmp_path)
    assert haproxy_image.content_hash("2022.2") == hap_before
    with open(tmp_path / "extend_start.haproxy", "a") as f:
        f.write(": changed\n")
    assert haproxy_image.content_hash("2022.2") != hap_before
    assert haproxy_image.base_hash("2022.2") == hap_base_before
    assert glance_image.content_hash("2022.2") == glance_before


def test_import_changes_make_a_kolla_haproxy_image():
    changes = haproxy_image.import_changes("0123456789ab", "2022.2")
    assert changes[:2] == ["USER haproxy", 'CMD ["kolla_start"]']
    assert "LABEL glance_formula_build_hash=0123456789ab" in changes
    assert "LABEL glance_formula_release=2022.2" in changes
    assert "LABEL glance_formula_image=haproxy" in changes
    assert any(c.startswith("ENV PATH=/usr/local/sbin:/usr/local/bin:") for c in changes)


def test_passwd_ids():
    text = ("root:x:0:0:root:/root:/bin/bash\n"
            "haproxy:x:104:111::/var/lib/haproxy:/usr/sbin/nologin\n")
    assert haproxy_image.passwd_ids(text, "haproxy") == (104, 111)
    assert haproxy_image.passwd_ids(text, "glance") is None
    assert haproxy_image.passwd_ids("broken\n", "broken") is None


def test_cache_names_do_not_collide_with_glances():
    final = haproxy_image.tarball_name("2022.2", "aaaaaaaaaaaa")
    base = haproxy_image.tarball_name("2022.2", "bbbbbbbbbbbb", base=True)
    assert (final, base) == ("haproxy-2022.2-aaaaaaaaaaaa.tar",
                             "haproxy-base-2022.2-bbbbbbbbbbbb.tar")
    # the stale-tarball globs of each stage (glance_image._remove_stale) and the
    # stale-build-dir glob of glance's lock (glance_image._release_lock)
    assert not fnmatch.fnmatch(base, "haproxy-2022.2-*.tar")
    assert not fnmatch.fnmatch(final, "haproxy-base-2022.2-*.tar")
    for name in (final, base):
        assert not fnmatch.fnmatch(name, "glance-api-2022.2-*.tar")
        assert not fnmatch.fnmatch(name, "glance-base-2022.2-*.tar")
    assert not fnmatch.fnmatch(".build-haproxy-2022.2-x1y2", ".build-2022.2-*")


def test_haproxy_image_files_are_there_and_sane():
    for name in haproxy_image.IMAGE_FILES:
        assert (IMAGES_DIR / name).is_file(), name
    sudoers = (IMAGES_DIR / "sudoers.haproxy").read_text()
    assert "haproxy ALL=(root) NOPASSWD: SETENV: /usr/local/bin/kolla_set_configs" in sudoers
    dest = haproxy_image.IMAGE_FILES["extend_start.haproxy"][0]
    assert dest == "usr/local/bin/kolla_extend_start"
    assert subprocess.run(["bash", "-n", str(IMAGES_DIR / "extend_start.haproxy")]).returncode == 0
