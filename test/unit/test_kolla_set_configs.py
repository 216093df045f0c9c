"""kolla_set_configs (test/images) copies config like Kolla's own script."""

import grp
import importlib.machinery
import importlib.util
import json
import os
import pwd
import stat
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "images" / "kolla_set_configs"


def _load():
    loader = importlib.machinery.SourceFileLoader("kolla_set_configs", str(SCRIPT))
    spec = importlib.util.spec_from_loader("kolla_set_configs", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


ksc = _load()
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "config_files"
    d.mkdir()
    (d / "glance-api.conf").write_text("[DEFAULT]\n")
    (d / "a.rules").write_text("a\n")
    (d / "b.rules").write_text("b\n")
    ceph = d / "ceph"
    (ceph / "sub").mkdir(parents=True)
    (ceph / "ceph.conf").write_text("[global]\n")
    (ceph / "sub" / "keyring").write_text("key\n")
    return d


def entry(source, dest, **kw):
    return {"source": str(source), "dest": str(dest), "owner": ME, "perm": "0600", **kw}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run_main(tmp_path, config, strategy="COPY_ALWAYS"):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    return ksc.main(config_path=str(config_path),
                    run_command_path=str(tmp_path / "run_command"),
                    marker_path=str(tmp_path / "configured"),
                    env={"KOLLA_CONFIG_STRATEGY": strategy})


def test_copies_a_file_with_owner_and_perm(src, tmp_path):
    dest = tmp_path / "etc/glance/glance-api.conf"
    ksc.copy_config_file(entry(src / "glance-api.conf", dest))
    assert dest.read_text() == "[DEFAULT]\n"
    assert mode(dest) == 0o600
    assert os.stat(dest).st_uid == os.getuid()


def test_glob_copies_every_match_into_a_dest_ending_in_slash(src, tmp_path):
    dest = tmp_path / "etc/glance/rules"
    copied = ksc.copy_config_file(entry(src / "*.rules", str(dest) + "/"))
    assert sorted(os.listdir(dest)) == ["a.rules", "b.rules"]
    assert len(copied) == 2


def test_directory_source_is_copied_recursively_and_replaces_dest(src, tmp_path):
    dest = tmp_path / "etc/ceph"
    dest.mkdir(parents=True)
    (dest / "stale.conf").write_text("old")
    ksc.copy_config_file(entry(src / "ceph", dest, perm="0700"))
    assert (dest / "ceph.conf").read_text() == "[global]\n"
    assert (dest / "sub" / "keyring").read_text() == "key\n"
    assert not (dest / "stale.conf").exists()
    assert not (dest / "ceph").exists()
    assert mode(dest) == 0o700 and mode(dest / "sub" / "keyring") == 0o700


def test_merge_keeps_what_dest_already_has(src, tmp_path):
    dest = tmp_path / "etc/ceph"
    dest.mkdir(parents=True)
    (dest / "rbdmap").write_text("keep")
    ksc.copy_config_file(entry(src / "ceph", dest, merge=True))
    assert (dest / "rbdmap").read_text() == "keep"
    assert (dest / "ceph.conf").exists()


def test_missing_optional_source_is_skipped(src, tmp_path):
    dest = tmp_path / "etc/glance/glance-swift.conf"
    assert ksc.copy_config_file(entry(src / "glance-swift.conf", dest, optional=True)) == []
    assert not dest.exists()


def test_missing_required_source_fails_main_with_exit_1(src, tmp_path, capsys):
    config = {"command": "glance-api", "config_files": [
        entry(src / "glance-swift.conf", tmp_path / "glance-swift.conf")]}
    assert run_main(tmp_path, config) == 1
    err = capsys.readouterr().err
    assert "glance-swift.conf not found" in err and "optional" in err
    assert not (tmp_path / "run_command").exists()


def test_command_is_written_and_permissions_applied(src, tmp_path):
    data = tmp_path / "var/lib/glance/images"
    data.mkdir(parents=True)
    (data / "img").write_text("x")
    config = {"command": "glance-api --config-file /etc/glance/glance-api.conf",
              "config_files": [entry(src / "glance-api.conf", tmp_path / "glance-api.conf")],
              "permissions": [{"path": str(tmp_path / "var/lib/glance"),
                               "owner": f"{ME}:{MY_GROUP}", "perm": "0640",
                               "recurse": True}]}
    assert run_main(tmp_path, config) == 0
    assert (tmp_path / "run_command").read_text() == config["command"]
    # directories keep their search bit where read is granted
    assert mode(data) == 0o750
    assert mode(data / "img") == 0o640


def test_copy_once_skips_the_second_start(src, tmp_path):
    dest = tmp_path / "glance-api.conf"
    config = {"command": "glance-api",
              "config_files": [entry(src / "glance-api.conf", dest)]}
    assert run_main(tmp_path, config, "COPY_ONCE") == 0
    assert (tmp_path / "configured").exists()
    dest.write_text("edited in the container")
    (src / "glance-api.conf").write_text("[DEFAULT]\nnew = 1\n")
    assert run_main(tmp_path, config, "COPY_ONCE") == 0
    assert dest.read_text() == "edited in the container"


def test_copy_always_copies_every_start(src, tmp_path):
    dest = tmp_path / "glance-api.conf"
    config = {"command": "glance-api",
              "config_files": [entry(src / "glance-api.conf", dest)]}
    assert run_main(tmp_path, config) == 0
    (src / "glance-api.conf").write_text("[DEFAULT]\nnew = 1\n")
    assert run_main(tmp_path, config) == 0
    assert dest.read_text() == "[DEFAULT]\nnew = 1\n"


def test_unset_strategy_is_an_error(src, tmp_path, capsys):
    assert run_main(tmp_path, {"command": "glance-api"}, strategy=None) == 1
    assert "KOLLA_CONFIG_STRATEGY" in capsys.readouterr().err


def test_entry_without_owner_and_perm_is_rejected(tmp_path, capsys):
    config = {"command": "x", "config_files": [{"source": "/a", "dest": "/b"}]}
    assert run_main(tmp_path, config) == 1
    assert "needs owner and perm" in capsys.readouterr().err


def test_owner_without_group_uses_the_same_name():
    assert ksc.user_group("glance") == ("glance", "glance")
    assert ksc.user_group("glance:") == ("glance", "glance")
    assert ksc.user_group("glance:kolla") == ("glance", "kolla")


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_owner_is_changed_as_root(src, tmp_path):
    nobody = pwd.getpwnam("nobody")
    dest = tmp_path / "glance-api.conf"
    ksc.copy_config_file({**entry(src / "glance-api.conf", dest), "owner": f"nobody:{MY_GROUP}"})
    assert os.stat(dest).st_uid == nobody.pw_uid
