"""The README documents every pillar key, and pillar.example uses only known keys."""

import pathlib
import re

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULTS = yaml.safe_load((REPO / "glance/parameters/defaults.yaml").read_text())


def test_every_default_key_is_in_the_readme_pillar_reference():
    readme = (REPO / "README.md").read_text()
    reference = readme.split("## Pillar reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z0-9_]+)`", reference))
    # "vmware_vcenter_host_ip / _username / _password" style rows document suffixes
    for prefix, suffixes in re.findall(r"`([a-z0-9_]+)` / `(_[a-z_` /]+)", reference):
        base = prefix.rsplit("_", 1)[0]
        documented |= {base + s for s in re.findall(r"_[a-z_]+", suffixes)}
    assert sorted(set(DEFAULTS) - documented) == []


def test_pillar_example_uses_only_known_keys():
    example = yaml.safe_load((REPO / "pillar.example").read_text())["glance"]
    assert sorted(set(example) - set(DEFAULTS)) == []


def test_readme_has_one_two_command_setup_block_near_the_top():
    readme = (REPO / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert first_block and first_block.start() < 1200
    commands = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == [
        "bash scripts/demo.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci/run").read_text()
