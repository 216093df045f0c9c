"""How applies behave: test=True, idempotency, secrets, turning features off."""

import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_test_mode_reports_changes_without_writing(minion):
    run = minion.apply(test=True)
    assert run.returncode == 0, run.stdout
    managed = [s for s in run.states.values() if s["__id__"].startswith("glance-config-file-managed")]
    assert managed and all(s["result"] is None for s in managed)
    assert not minion.service_dir.exists()


def test_second_apply_reports_no_changes(minion):
    first = minion.apply(enable_glance_image_cache="yes")
    assert first.returncode == 0 and first.changed()
    second = minion.apply(enable_glance_image_cache="yes")
    assert second.returncode == 0, second.stdout
    assert second.changed() == {}


def test_secrets_never_appear_in_state_output(minion, moto_s3):
    run = minion.apply(glance_backend_s3="yes", s3_url="http://127.0.0.1:9000",
                       s3_access_key="a", s3_secret_key="s3-very-secret",
                       s3_glance_bucket="b")
    assert run.returncode == 0, run.stdout
    assert "s3-very-secret" in (minion.service_dir / "glance-api.conf").read_text()
    assert "s3-very-secret" not in run.stdout
    assert "db-secret-pw" not in run.stdout
    modes = {p.stat().st_mode & 0o777 for p in minion.service_dir.rglob("*") if p.is_file()}
    assert modes == {0o600}


def test_turning_a_feature_off_removes_its_files(minion):
    assert minion.apply(enable_glance_image_cache="yes").returncode == 0
    assert "glance-cache.conf" in minion.apply(enable_glance_image_cache="yes").files()
    run = minion.apply(enable_glance_image_cache="no")
    assert run.returncode == 0, run.stdout
    assert "glance-cache.conf" not in run.files()
    assert "/etc/glance/glance-cache.conf" not in run.dests()


def test_pillar_example_renders(minion_factory):
    minion = minion_factory("ctl2")
    example = yaml.safe_load((REPO / "pillar.example").read_text())["glance"]
    example.update(node_config_directory=str(minion.service_root))
    run = minion.apply(raw_pillar=example)
    assert run.returncode == 0, run.stdout
    assert run.ini("glance-api.conf")["DEFAULT"]["bind_host"] == "10.0.0.12"


def test_show_dumps_the_merged_settings_with_secrets_masked(minion):
    import json
    import subprocess
    import sys

    pillar = minion.base_pillar(glance_backend_s3="yes", s3_url="http://127.0.0.1:9000",
                                s3_access_key="a", s3_secret_key="hidden-s3",
                                s3_glance_bucket="b")
    proc = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "salt-call"), "--local", "-c", str(minion.conf), "--out", "json",
         "glance_config.show", "pillar=" + json.dumps({"glance": pillar})],
        capture_output=True, text=True, check=True)
    shown = json.loads(proc.stdout)["local"]
    assert shown["stores"] == ["s3"]
    assert shown["flags"]["glance_backend_s3"] is True
    assert shown["s3"]["secret_key"] == "********"
    assert "hidden-s3" not in proc.stdout
