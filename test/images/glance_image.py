#!/usr/bin/env python3
"""Build glance-api test images that honour the Kolla image contract.

Nothing can be pulled from quay.io here, so the tests run images made from
Debian's glance packages plus this folder's kolla_start / kolla_set_configs /
kolla_extend_start.  The formula runs them exactly like
quay.io/openstack.kolla/glance-api:<tag>.

Two cached stages, both under the cache dir (GLANCE_TEST_CACHE or
/var/cache/glance-formula):

* glance-base-<release>-<basehash>.tar: debootstrap + Debian packages + the
  glance user (uid 42415); keyed by the recipe (suite, packages, the
  functions that build it).  Minutes; rarely rebuilt.
* glance-api-<release>-<hash>.tar: the base plus the Kolla scripts; keyed by
  content_hash() (this file, every file that goes into the image, the
  release).  Seconds.

ensure_pushed() imports the tarball into a docker daemon and pushes it to a
registry unless the registry's tag already carries the same
glance_formula_build_hash label.

Standard library only; builds need root (debootstrap, chroot, mount).
"""

import argparse
import contextlib
import fcntl
import glob
import hashlib
import inspect
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent

RELEASES = {
    # release: Debian suite, the glance version it must give, extra packages
    "2022.2": {"suite": "bookworm", "glance": "25.1.0", "extra": []},
    "2025.1": {"suite": "trixie", "glance": "30.0.0",
               "extra": ["uwsgi-core", "uwsgi-plugin-python3"]},
}
PACKAGES = [
    "glance-api", "python3-pymysql", "python3-boto3", "python3-swiftclient",
    "python3-rbd", "python3-rados", "curl", "sudo", "ca-certificates",
]
# files of this folder -> (path in the image, mode); all owned by root
IMAGE_FILES = {
    "kolla_start": ("usr/local/bin/kolla_start", 0o755),
    "kolla_set_configs": ("usr/local/bin/kolla_set_configs", 0o755),
    "extend_start.glance": ("usr/local/bin/kolla_extend_start", 0o755),
    "healthcheck_curl": ("usr/local/bin/healthcheck_curl", 0o755),
    "sudoers": ("etc/sudoers.d/kolla_glance", 0o440),
}
KOLLA_UID = KOLLA_GID = 42415
HASH_LABEL = "glance_formula_build_hash"
IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "KOLLA_BASE_DISTRO": "debian",
}
SHRINK_GLOBS = [
    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/lintian/*",
    "usr/share/locale/*", "var/lib/apt/lists/*", "var/cache/apt/*.bin",
    "var/cache/debconf/*-old", "var/log/apt/*", "var/log/*.log",
    "usr/sbin/policy-rc.d", "etc/hostname",
]
# Debian's packages write service configs that Kolla's images (installed from
# upstream source) do not have; dropping them means a config the formula forgot
# fails here as it would with a Kolla image.  Kept: the paste pipeline,
# metadefs, schema-image.json, rootwrap files (what upstream's etc/ ships).
DEBIAN_ONLY_CONFIG = [
    "etc/glance/glance-api.conf", "etc/glance/glance-manage.conf",
    "etc/glance/glance-cache.conf", "etc/glance/glance-scrubber.conf",
    "etc/glance/glance-image-import.conf", "etc/glance/glance-swift.conf",
    "etc/glance/property-protections-*.conf", "etc/glance/glance-api-uwsgi.ini",
    "etc/glance/policy.d",
]
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


class BuildError(Exception):
    """Something the person running the build can act on; main() prints it."""


def default_cache_dir():
    return Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))


def _sha12(parts):
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:12]


def content_hash(release):
    """Hash of everything the final image is made from; a change means rebuild."""
    _recipe(release)
    parts = [release, Path(__file__).resolve().read_bytes()]
    for name in sorted(IMAGE_FILES):
        parts += [name, (HERE / name).read_bytes()]
    return _sha12(parts)


def base_hash(release):
    """Hash of the base recipe only, so editing a script does not re-debootstrap."""
    recipe = _recipe(release)
    sources = [inspect.getsource(f) for f in (_build_base, _install, _kolla_user,
                                              _shrink)]
    return _sha12([release, json.dumps(recipe, sort_keys=True), PACKAGES,
                   SHRINK_GLOBS, DEBIAN_ONLY_CONFIG, KOLLA_UID, *sources])


def _recipe(release):
    try:
        return RELEASES[release]
    except KeyError:
        raise BuildError(f"unknown release {release!r}: known are "
                         f"{', '.join(RELEASES)}") from None


def debian_mirror():
    """The host's Debian mirror URI, read at run time (never written down)."""
    candidates = sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in candidates:
        for line in Path(path).read_text().splitlines():
            m = re.match(r"\s*URIs:\s*(\S+)", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    lists = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    for path in lists:
        if not os.path.exists(path):
            continue
        for line in Path(path).read_text().splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)", line)
            if m and "security" not in m.group(1) and "debian" in m.group(1):
                return m.group(1)
    raise BuildError("no Debian mirror found in /etc/apt/sources.list{,.d/*}")


class Timer:
    """Collects (step, seconds) and prints each step as it ends."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.steps = []

    @contextlib.contextmanager
    def step(self, name):
        print(f"[{self.prefix}] {name} ...", flush=True)
        start = time.monotonic()
        yield
        took = time.monotonic() - start
        self.steps.append((name, took))
        print(f"[{self.prefix}] {name}: {took:.1f}s", flush=True)


def _run(cmd, log, **kw):
    """Run cmd with its output appended to log; on failure show the log's tail."""
    log.write(f"\n$ {' '.join(map(str, cmd))}\n")
    log.flush()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, **kw)
    if proc.returncode != 0:
        log.flush()
        with open(log.name, errors="replace") as f:
            tail = f.read()[-4000:]
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                         f"--- last lines of {log.name} ---\n{tail}")


def _mounts_under(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return [p for p in points if p == path or p.startswith(path + "/")]


def _safe_rmtree(path):
    """Delete a build dir, but never while something is mounted inside it."""
    mounted = _mounts_under(path)
    if mounted:
        raise BuildError(f"refusing to delete {path}: still mounted: {mounted}")
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _chroot_mounts(rootfs, apt_archives):
    """proc + the shared .deb cache inside the chroot; always unmounted."""
    mounted = []
    try:
        subprocess.run(["mount", "-t", "proc", "proc", str(rootfs / "proc")], check=True)
        mounted.append(rootfs / "proc")
        archives = rootfs / "var/cache/apt/archives"
        (apt_archives / "partial").mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(apt_archives), str(archives)], check=True)
        mounted.append(archives)
        yield
    finally:
        for point in reversed(mounted):
            if subprocess.run(["umount", str(point)]).returncode != 0:
                subprocess.run(["umount", "-l", str(point)])


def _install(rootfs, recipe, log):
    env = {"PATH": IMAGE_ENV["PATH"], "LANG": "C.UTF-8", "HOME": "/root",
           "DEBIAN_FRONTEND": "noninteractive", "DEBCONF_NONINTERACTIVE_SEEN": "true"}
    (rootfs / "usr/sbin/policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
    (rootfs / "usr/sbin/policy-rc.d").chmod(0o755)
    resolv = rootfs / "etc/resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    shutil.copy("/etc/resolv.conf", resolv)
    # debs are shared with the next build of the same suite
    (rootfs / "etc/apt/apt.conf.d/99keep-debs").write_text(
        'Binary::apt::APT::Keep-Downloaded-Packages "true";\n')
    chroot = ["chroot", str(rootfs)]
    _run(chroot + ["apt-get", "update"], log, env=env)
    _run(chroot + ["apt-get", "install", "-y", "--no-install-recommends",
                   "-o", "Dpkg::Options::=--force-confdef",
                   *PACKAGES, *recipe["extra"]], log, env=env)
    (rootfs / "etc/apt/apt.conf.d/99keep-debs").unlink()
    resolv.write_text("")


def _kolla_user(rootfs, log):
    """Give Debian's glance user and group Kolla's ids and chown its files."""
    old_uid = old_gid = None
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "glance":
            old_uid, old_gid = int(fields[2]), int(fields[3])
    if old_uid is None:
        raise BuildError("the glance packages created no glance user")
    chroot = ["chroot", str(rootfs)]
    _run(chroot + ["groupmod", "-g", str(KOLLA_GID), "glance"], log)
    _run(chroot + ["usermod", "-u", str(KOLLA_UID), "-g", str(KOLLA_GID), "glance"], log)
    for top, dirs, files in os.walk(rootfs):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            if st.st_uid == old_uid or st.st_gid == old_gid:
                os.lchown(path, KOLLA_UID if st.st_uid == old_uid else st.st_uid,
                          KOLLA_GID if st.st_gid == old_gid else st.st_gid)
    for rel, owner, mode in (("var/lib/glance", KOLLA_UID, 0o750),
                             ("var/log/kolla", 0, 0o755),
                             ("var/log/kolla/glance", KOLLA_UID, 0o755),
                             ("var/lib/kolla/config_files", 0, 0o755)):
        path = rootfs / rel
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, owner, owner)
        path.chmod(mode)


def _shrink(rootfs):
    for pattern in SHRINK_GLOBS + DEBIAN_ONLY_CONFIG:
        for path in glob.glob(str(rootfs / pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


def _build_base(release, workdir, cache_dir, timer, log):
    """debootstrap + packages + Kolla's glance user; returns the rootfs."""
    recipe = RELEASES[release]
    rootfs = workdir / "rootfs"
    debs = cache_dir / "debs" / recipe["suite"]
    debs.mkdir(parents=True, exist_ok=True)
    with timer.step(f"debootstrap {recipe['suite']}"):
        _run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
              recipe["suite"], str(rootfs), debian_mirror()], log)
    with timer.step("apt-get install glance-api"):
        with _chroot_mounts(rootfs, debs):
            _install(rootfs, recipe, log)
    version = subprocess.run(
        ["chroot", str(rootfs), "dpkg-query", "-W", "-f=${Version}", "glance-api"],
        capture_output=True, text=True, check=True).stdout
    if not version.split(":")[-1].startswith(recipe["glance"]):
        raise BuildError(f"{recipe['suite']} gave glance-api {version}, "
                         f"expected {recipe['glance']}")
    print(f"[{release}] glance-api {version}", flush=True)
    with timer.step("glance user 42415, drop Debian configs, shrink"):
        _kolla_user(rootfs, log)
        _shrink(rootfs)
    return rootfs


def _tar_dir(rootfs, dest, log):
    _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(dest), "."], log)


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


@contextlib.contextmanager
def _release_lock(cache_dir, release):
    """One builder per release and cache dir; leftovers of dead builds go."""
    with open(cache_dir / f".lock-{release}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in cache_dir.glob(f".build-{release}-*"):
            _safe_rmtree(stale)
        yield


def _remove_stale(cache_dir, prefix, keep):
    for old in cache_dir.glob(f"{prefix}-*.tar"):
        if old != keep:
            print(f"removing stale {old.name}", flush=True)
            old.unlink()


def build_rootfs_tarball(release, cache_dir, timer=None):
    """Return cache_dir/glance-api-<release>-<hash>.tar, building it when missing."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    timer = timer or Timer(release)
    final = cache_dir / f"glance-api-{release}-{content_hash(release)}.tar"
    if final.exists():
        print(f"[{release}] {final.name} is cached", flush=True)
        return final
    if os.geteuid() != 0:
        raise BuildError("building a test image needs root (debootstrap, chroot, mount)")
    with _release_lock(cache_dir, release):
        if final.exists():
            return final
        workdir = Path(tempfile.mkdtemp(prefix=f".build-{release}-", dir=cache_dir))
        logs = cache_dir / "logs"
        logs.mkdir(exist_ok=True)
        try:
            with open(logs / f"{release}.log", "w") as log:
                base = cache_dir / f"glance-base-{release}-{base_hash(release)}.tar"
                if base.exists():
                    print(f"[{release}] {base.name} is cached", flush=True)
                else:
                    rootfs = _build_base(release, workdir, cache_dir, timer, log)
                    with timer.step("tar base rootfs"):
                        _tar_dir(rootfs, workdir / "base.tar", log)
                        _safe_rmtree(rootfs)
                        os.replace(workdir / "base.tar", base)
                    _remove_stale(cache_dir, f"glance-base-{release}", base)
                with timer.step("add Kolla scripts"):
                    _add_image_files(base, workdir / "final.tar")
                    os.replace(workdir / "final.tar", final)
                _remove_stale(cache_dir, f"glance-api-{release}", final)
        finally:
            _safe_rmtree(workdir)
    return final


def _split_repo(repo):
    host, _, name = repo.partition("/")
    if not name or not re.search(r"[.:]|^localhost$", host):
        raise BuildError(f"repo {repo!r} must start with a registry host, e.g. "
                         "127.0.0.1:5000/openstack.kolla/glance-api")
    return host, name


def _registry_get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def registry_build_hash(repo, tag):
    """The build-hash label of repo:tag in its registry, or None when absent."""
    host, name = _split_repo(repo)
    base = f"http://{host}/v2/{name}"
    try:
        manifest = _registry_get(f"{base}/manifests/{tag}", MANIFEST_TYPES)
        config = _registry_get(f"{base}/blobs/{manifest['config']['digest']}")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise BuildError(f"registry {host}: {exc}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise BuildError(f"registry {host} is not reachable: {exc}") from exc
    except KeyError:
        return None  # schema 1 manifest: not one of ours
    return ((config.get("config") or {}).get("Labels") or {}).get(HASH_LABEL)


def _docker(docker_host, *args, check=False):
    proc = subprocess.run(["docker", "-H", docker_host, *args],
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise BuildError(f"docker -H {docker_host} {args[0]} failed "
                         f"({proc.returncode}): {proc.stderr.strip()}")
    return proc


def ensure_pushed(release, cache_dir, docker_host, repo, timer=None):
    """Make repo:<release> in its registry be this build; return what was done."""
    timer = timer or Timer(release)
    want = content_hash(release)
    ref = f"{repo}:{release}"
    if registry_build_hash(repo, release) == want:
        print(f"[{release}] {ref} already has {HASH_LABEL}={want}: nothing to do",
              flush=True)
        return "up-to-date"
    local = _docker(docker_host, "image", "inspect", "--format",
                    "{{.Id}} {{index .Config.Labels \"%s\"}}" % HASH_LABEL, ref)
    old_id, _, have = local.stdout.strip().partition(" ")
    if local.returncode != 0 or have != want:
        tarball = build_rootfs_tarball(release, cache_dir, timer)
        changes = ["USER glance", 'CMD ["kolla_start"]',
                   f"LABEL {HASH_LABEL}={want}",
                   f"LABEL glance_formula_release={release}"]
        changes += [f"ENV {k}={v}" for k, v in IMAGE_ENV.items()]
        with timer.step(f"docker import {ref}"):
            cmd = ["import"]
            for change in changes:
                cmd += ["-c", change]
            _docker(docker_host, *cmd, str(tarball), ref, check=True)
        if old_id:
            # the previous build is untagged now; fails harmlessly while in use
            _docker(docker_host, "image", "rm", old_id)
    with timer.step(f"docker push {ref}"):
        _docker(docker_host, "push", ref, check=True)
    return "pushed"


def _cli_one(release, args):
    timer = Timer(release)
    print(f"[{release}] content hash {content_hash(release)}", flush=True)
    if args.repo:
        result = ensure_pushed(release, args.cache_dir, args.docker_host,
                               args.repo, timer)
    else:
        result = str(build_rootfs_tarball(release, args.cache_dir, timer))
    total = sum(t for _, t in timer.steps)
    print(f"[{release}] {result} ({total:.1f}s in steps: "
          + ", ".join(f"{n} {t:.1f}s" for n, t in timer.steps) + ")", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", action="append", required=True,
                        choices=sorted(RELEASES), help="repeat for several")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--docker-host", help="e.g. unix:///run/gf/node0/docker.sock")
    parser.add_argument("--repo", help="e.g. 127.0.0.1:5000/openstack.kolla/glance-api")
    args = parser.parse_args(argv)
    if bool(args.docker_host) != bool(args.repo):
        parser.error("--docker-host and --repo go together")
    try:
        for release in args.release:
            _cli_one(release, args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
