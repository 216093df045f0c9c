#!/usr/bin/env python3
"""Build haproxy test images that honour the Kolla image contract.

The load balancer in front of the glance-api hosts, as Kolla runs it in a
container: Debian's haproxy package plus this folder's kolla_start /
kolla_set_configs / kolla_extend_start (extend_start.haproxy), run as user
haproxy (uid/gid 42454, Kolla's).  Use it through build.py (`--image haproxy`,
`build.ensure_pushed(..., image="haproxy")`).

Same two cached stages as the glance image, with their own names and hashes
(so nothing here touches the glance-api hashes):

* haproxy-base-<release>-<basehash>.tar: debootstrap + packages + Kolla's
  haproxy user; keyed by the recipe and the source of the functions that
  build it.
* haproxy-<release>-<hash>.tar: the base plus the Kolla scripts; keyed by
  content_hash() (this file, glance_image.py whose helpers it uses, every
  file that goes into the image, the release).

Standard library only; builds need root (debootstrap, chroot, mount).
"""

import inspect
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import glance_image as common
from glance_image import BuildError, Timer

HERE = Path(__file__).resolve().parent
IMAGE = "haproxy"
USER = "haproxy"

RELEASES = {
    # release (the tag, as for glance-api): Debian suite, haproxy version prefix
    "2022.2": {"suite": "bookworm", "haproxy": "2.6."},
    "2025.1": {"suite": "trixie", "haproxy": "3.0."},
}
# python3 for kolla_set_configs, sudo for kolla_start, curl for healthcheck_curl
PACKAGES = ["haproxy", "python3", "sudo", "curl", "ca-certificates"]
# files of this folder -> (path in the image, mode); all owned by root
IMAGE_FILES = {
    "kolla_start": ("usr/local/bin/kolla_start", 0o755),
    "kolla_set_configs": ("usr/local/bin/kolla_set_configs", 0o755),
    "extend_start.haproxy": ("usr/local/bin/kolla_extend_start", 0o755),
    "healthcheck_curl": ("usr/local/bin/healthcheck_curl", 0o755),
    "sudoers.haproxy": ("etc/sudoers.d/kolla_haproxy", 0o440),
}
HAPROXY_UID = HAPROXY_GID = 42454   # Kolla's haproxy-user
KOLLA_GID = 42400                   # Kolla's shared group ("stats socket ... group kolla")
# Kolla's haproxy Dockerfile: mkdir -p /var/lib/kolla/haproxy && chown -R haproxy: /var/lib /run
HAPROXY_OWNED = ["var/lib", "run"]


def content_hash(release):
    """Hash of everything the final image is made from; a change means rebuild."""
    _recipe(release)
    parts = [IMAGE, release, Path(__file__).resolve().read_bytes(),
             Path(common.__file__).resolve().read_bytes()]
    for name in sorted(IMAGE_FILES):
        parts += [name, (HERE / name).read_bytes()]
    return common._sha12(parts)


def base_hash(release):
    """Hash of the base recipe only, so editing a script does not re-debootstrap."""
    recipe = _recipe(release)
    sources = [inspect.getsource(f) for f in (_build_base, _install, _kolla_user,
                                              _shrink)]
    return common._sha12([IMAGE, release, json.dumps(recipe, sort_keys=True), PACKAGES,
                          common.SHRINK_GLOBS, HAPROXY_UID, KOLLA_GID, HAPROXY_OWNED,
                          *sources])


def _recipe(release):
    try:
        return RELEASES[release]
    except KeyError:
        raise BuildError(f"unknown release {release!r} for the {IMAGE} image: known "
                         f"are {', '.join(RELEASES)}") from None


def tarball_name(release, digest, base=False):
    return f"{IMAGE}-{'base-' if base else ''}{release}-{digest}.tar"


def import_changes(digest, release):
    """The `docker import -c` instructions that make the tarball a Kolla image."""
    changes = [f"USER {USER}", 'CMD ["kolla_start"]',
               f"LABEL {common.HASH_LABEL}={digest}",
               f"LABEL glance_formula_release={release}",
               f"LABEL glance_formula_image={IMAGE}"]
    return changes + [f"ENV {k}={v}" for k, v in common.IMAGE_ENV.items()]


def passwd_ids(passwd_text, name):
    """(uid, gid) of `name` in an /etc/passwd text, or None."""
    for line in passwd_text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name:
            return int(fields[2]), int(fields[3])
    return None


def _install(rootfs, recipe, log):
    env = {"PATH": common.IMAGE_ENV["PATH"], "LANG": "C.UTF-8", "HOME": "/root",
           "DEBIAN_FRONTEND": "noninteractive", "DEBCONF_NONINTERACTIVE_SEEN": "true"}
    (rootfs / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
    (rootfs / "usr/sbin/policy-rc.d").chmod(0o755)
    resolv = rootfs / "etc/resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    shutil.copy("/etc/resolv.conf", resolv)
    (rootfs / "etc/apt/apt.conf.d/99keep-debs").write_text(
        'Binary::apt::APT::Keep-Downloaded-Packages "true";\n')
    chroot = ["chroot", str(rootfs)]
    common._run(chroot + ["apt-get", "update"], log, env=env)
    common._run(chroot + ["apt-get", "install", "-y", "--no-install-recommends",
                          "-o", "Dpkg::Options::=--force-confdef", *PACKAGES], log, env=env)
    (rootfs / "etc/apt/apt.conf.d/99keep-debs").unlink()
    resolv.write_text("")


def _kolla_user(rootfs, log):
    """Kolla's ids for Debian's haproxy user, the kolla group, Kolla's ownership."""
    old = passwd_ids((rootfs / "etc/passwd").read_text(), USER)
    if old is None:
        raise BuildError("the haproxy package created no haproxy user")
    old_uid, old_gid = old
    chroot = ["chroot", str(rootfs)]
    common._run(chroot + ["groupmod", "-g", str(HAPROXY_GID), USER], log)
    common._run(chroot + ["usermod", "-u", str(HAPROXY_UID), "-g", str(HAPROXY_GID),
                          USER], log)
    common._run(chroot + ["groupadd", "-g", str(KOLLA_GID), "kolla"], log)
    common._run(chroot + ["usermod", "-a", "-G", "kolla", USER], log)
    for top, dirs, files in os.walk(rootfs):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if st.st_uid == old_uid or st.st_gid == old_gid:
                os.lchown(path, HAPROXY_UID if st.st_uid == old_uid else st.st_uid,
                          HAPROXY_GID if st.st_gid == old_gid else st.st_gid)
    for rel in ("var/lib/kolla/config_files", "var/lib/kolla/haproxy"):
        (rootfs / rel).mkdir(parents=True, exist_ok=True)
        (rootfs / rel).chmod(0o755)
    for rel in HAPROXY_OWNED:
        for top, dirs, files in os.walk(rootfs / rel):
            os.lchown(top, HAPROXY_UID, HAPROXY_GID)
            for name in dirs + files:
                os.lchown(os.path.join(top, name), HAPROXY_UID, HAPROXY_GID)
    logs = rootfs / "var/log/kolla"   # as Kolla's base image: root:kolla 2775
    logs.mkdir(parents=True, exist_ok=True)
    os.chown(logs, 0, KOLLA_GID)
    logs.chmod(0o2775)


def _shrink(rootfs):
    for pattern in common.SHRINK_GLOBS:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _build_base(release, workdir, cache_dir, timer, log):
    """debootstrap + packages + Kolla's haproxy user; returns the rootfs."""
    recipe = RELEASES[release]
    rootfs = workdir / "rootfs"
    debs = cache_dir / "debs" / recipe["suite"]
    debs.mkdir(parents=True, exist_ok=True)
    with timer.step(f"debootstrap {recipe['suite']}"):
        common._run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
                     recipe["suite"], str(rootfs), common.debian_mirror()], log)
    with timer.step("apt-get install haproxy"):
        with common._chroot_mounts(rootfs, debs):
            _install(rootfs, recipe, log)
    version = subprocess.run(
        ["chroot", str(rootfs), "dpkg-query", "-W", "-f=${Version}", "haproxy"],
        capture_output=True, text=True, check=True).stdout
    if not version.split(":")[-1].startswith(recipe["haproxy"]):
        raise BuildError(f"{recipe['suite']} gave haproxy {version}, "
                         f"expected {recipe['haproxy']}*")
    print(f"[{IMAGE} {release}] haproxy {version}", flush=True)
    with timer.step("haproxy user 42454, shrink"):
        _kolla_user(rootfs, log)
        _shrink(rootfs)
    return rootfs


def _add_image_files(base_tar, dest):
    """Copy the base tarball and append this folder's scripts to the copy."""
    shutil.copyfile(base_tar, dest)
    with tarfile.open(dest, "a", format=tarfile.GNU_FORMAT) as tar:
        for name, (path, mode) in sorted(IMAGE_FILES.items()):
            data = (HERE / name).read_bytes()
            info = tarfile.TarInfo("./" + path)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))


def build_rootfs_tarball(release, cache_dir, timer=None):
    """Return cache_dir/haproxy-<release>-<hash>.tar, building it when missing."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    timer = timer or Timer(f"{IMAGE} {release}")
    final = cache_dir / tarball_name(release, content_hash(release))
    if final.exists():
        print(f"[{IMAGE} {release}] {final.name} is cached", flush=True)
        return final
    if os.geteuid() != 0:
        raise BuildError("building a test image needs root (debootstrap, chroot, mount)")
    key = f"{IMAGE}-{release}"   # lock .lock-haproxy-<release>, dirs .build-haproxy-<release>-*
    with common._release_lock(cache_dir, key):
        if final.exists():
            return final
        workdir = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=cache_dir))
        logs = cache_dir / "logs"
        logs.mkdir(exist_ok=True)
        try:
            with open(logs / f"{key}.log", "w") as log:
                base = cache_dir / tarball_name(release, base_hash(release), base=True)
                if base.exists():
                    print(f"[{IMAGE} {release}] {base.name} is cached", flush=True)
                else:
                    rootfs = _build_base(release, workdir, cache_dir, timer, log)
                    with timer.step("tar base rootfs"):
                        common._tar_dir(rootfs, workdir / "base.tar", log)
                        common._safe_rmtree(rootfs)
                        os.replace(workdir / "base.tar", base)
                    common._remove_stale(cache_dir, f"{IMAGE}-base-{release}", base)
                with timer.step("add Kolla scripts"):
                    _add_image_files(base, workdir / "final.tar")
                    os.replace(workdir / "final.tar", final)
                common._remove_stale(cache_dir, f"{IMAGE}-{release}", final)
        finally:
            common._safe_rmtree(workdir)
    return final


def ensure_pushed(release, cache_dir, docker_host, repo, timer=None):
    """Make repo:<release> in its registry be this build; return what was done."""
    timer = timer or Timer(f"{IMAGE} {release}")
    want = content_hash(release)
    ref = f"{repo}:{release}"
    if common.registry_build_hash(repo, release) == want:
        print(f"[{IMAGE} {release}] {ref} already has {common.HASH_LABEL}={want}: "
              "nothing to do", flush=True)
        return "up-to-date"
    local = common._docker(docker_host, "image", "inspect", "--format",
                           "{{.Id}} {{index .Config.Labels \"%s\"}}" % common.HASH_LABEL,
                           ref)
    old_id, _, have = local.stdout.strip().partition(" ")
    if local.returncode != 0 or have != want:
        tarball = build_rootfs_tarball(release, cache_dir, timer)
        with timer.step(f"docker import {ref}"):
            cmd = ["import"]
            for change in import_changes(want, release):
                cmd += ["-c", change]
            common._docker(docker_host, *cmd, str(tarball), ref, check=True)
        if old_id:
            # the previous build is untagged now; fails harmlessly while in use
            common._docker(docker_host, "image", "rm", old_id)
    with timer.step(f"docker push {ref}"):
        common._docker(docker_host, "push", ref, check=True)
    return "pushed"


if __name__ == "__main__":
    import build  # noqa: E402  the CLI lives there

    sys.exit(build.main(["--image", IMAGE, *sys.argv[1:]]))
