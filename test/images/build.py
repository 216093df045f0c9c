#!/usr/bin/env python3
"""Build the Kolla-contract test images (glance-api, haproxy, keystone, ceph, swift) and push them.

Nothing can be pulled from quay.io here, so the tests run images made from
Debian's packages plus this folder's kolla_start / kolla_set_configs /
kolla_extend_start.  The formula runs them exactly like
quay.io/openstack.kolla/<image>:<tag>.

An image is data: one entry of IMAGES (releases -> Debian suite and expected
version, packages, the service user, the files that go in, the Debian-only
configs removed, directories to create).  One builder makes every entry, in
two cached stages under the cache dir (GLANCE_TEST_CACHE or
/var/cache/glance-formula):

* base/<image>-<basehash>.tar: debootstrap + packages + the service user +
  the directories; keyed by base_hash() (the entry minus its files, the
  release's recipe, the source of the functions that build it).  Minutes.
* <image>-<release>-<hash>.tar: the base plus the image's files; keyed by
  content_hash() (the base hash, the bytes of every file, the docker import
  instructions).  Seconds.

ensure_pushed() imports the tarball into a docker daemon and pushes it to a
registry unless the registry's tag already carries the same
glance_formula_build_hash label.

    build.ensure_pushed("2022.2", cache, docker_host, ".../glance-api")
    build.ensure_pushed("2022.2", cache, docker_host, ".../haproxy", image="haproxy")

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
DEFAULT_IMAGE = "glance-api"
HASH_LABEL = "glance_formula_build_hash"
IMAGE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "KOLLA_BASE_DISTRO": "debian",
}
# sid's Release file is past its Valid-Until on the mirror (debootstrap does not care)
SID_APT = ["Acquire::Check-Valid-Until=false"]
KOLLA_GROUP = {"kolla": 42400}   # Kolla's shared group
# every image: Kolla's entry point, its config step, its health check
KOLLA_FILES = {
    "kolla_start": ("usr/local/bin/kolla_start", 0o755),
    "kolla_set_configs": ("usr/local/bin/kolla_set_configs", 0o755),
    "healthcheck_curl": ("usr/local/bin/healthcheck_curl", 0o755),
}
EXTEND_START = "usr/local/bin/kolla_extend_start"
SHRINK_GLOBS = [
    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/lintian/*",
    "usr/share/locale/*", "var/lib/apt/lists/*", "var/cache/apt/*.bin",
    "var/cache/debconf/*-old", "var/log/apt/*", "var/log/*.log",
    "usr/sbin/policy-rc.d", "etc/hostname",
]

# ----------------------------------------------------------------------- the images
# Per image:
#   package   the package whose version each release checks
#   releases  tag -> suite, version (prefix of the Debian version without epoch,
#             or None), extra packages, apt_options (-o for apt-get in the chroot)
#   packages  installed in every release (--no-install-recommends)
#   debconf   debconf-set-selections lines, set before installing
#   user      the service user: Debian's user (created when no package does) gets
#             Kolla's uid/gid; groups {name: gid} are created and joined
#   dirs      in order: path (made when missing), owner "user[:group]" (names of
#             root, the user, its groups), mode or None, recurse (chown the tree)
#   remove    Debian-only configs (globs) that Kolla's images do not have, so a
#             config the formula forgets fails here as with a Kolla image
#   files     files of this folder -> (path in the image, mode), owned by root
IMAGES = {
    "glance-api": {
        "package": "glance-api",
        "releases": {
            "2022.2": {"suite": "bookworm", "version": "25.1.0", "extra": []},
            "2025.1": {"suite": "trixie", "version": "30.0.0",
                       "extra": ["uwsgi-core", "uwsgi-plugin-python3"]},
            "2026.2": {"suite": "sid", "version": "33.0.0",
                       "extra": ["uwsgi-core", "uwsgi-plugin-python3"],
                       "apt_options": SID_APT},
        },
        "packages": ["glance-api", "python3-pymysql", "python3-boto3",
                     "python3-swiftclient", "python3-rbd", "python3-rados", "curl",
                     "sudo", "ca-certificates"],
        "user": {"name": "glance", "uid": 42415, "gid": 42415},
        "dirs": [
            {"path": "var/lib/glance", "owner": "glance:glance", "mode": 0o750},
            {"path": "var/log/kolla", "owner": "root", "mode": 0o755},
            {"path": "var/log/kolla/glance", "owner": "glance:glance", "mode": 0o755},
            {"path": "var/lib/kolla/config_files", "owner": "root", "mode": 0o755},
        ],
        # kept (upstream's etc/ has them): glance-api-paste.ini, metadefs/,
        # schema-image.json, ovf-metadata.json, rootwrap files
        "remove": [
            "etc/glance/glance-api.conf", "etc/glance/glance-manage.conf",
            "etc/glance/glance-cache.conf", "etc/glance/glance-scrubber.conf",
            "etc/glance/glance-image-import.conf", "etc/glance/glance-swift.conf",
            "etc/glance/property-protections-*.conf", "etc/glance/glance-api-uwsgi.ini",
            "etc/glance/policy.d",
        ],
        "files": {**KOLLA_FILES,
                  "extend_start.glance": (EXTEND_START, 0o755),
                  "sudoers": ("etc/sudoers.d/kolla_glance", 0o440)},
    },
    "haproxy": {
        # the tags follow openstack_release, so one openstack_tag serves both images
        "package": "haproxy",
        "releases": {
            "2022.2": {"suite": "bookworm", "version": "2.6.", "extra": []},
            "2025.1": {"suite": "trixie", "version": "3.0.", "extra": []},
            "2026.2": {"suite": "trixie", "version": "3.0.", "extra": []},
        },
        # python3 for kolla_set_configs, sudo for kolla_start, curl for healthcheck_curl
        "packages": ["haproxy", "python3", "sudo", "curl", "ca-certificates"],
        # Kolla's haproxy-user, in group kolla ("stats socket ... group kolla")
        "user": {"name": "haproxy", "uid": 42454, "gid": 42454, "groups": KOLLA_GROUP},
        # Kolla's Dockerfile: mkdir -p /var/lib/kolla/haproxy && chown -R haproxy: /var/lib /run
        "dirs": [
            {"path": "var/lib/kolla/config_files", "owner": "root", "mode": 0o755},
            {"path": "var/lib/kolla/haproxy", "owner": "root", "mode": 0o755},
            {"path": "var/lib", "owner": "haproxy:haproxy", "recurse": True},
            {"path": "run", "owner": "haproxy:haproxy", "recurse": True},
            {"path": "var/log/kolla", "owner": "root:kolla", "mode": 0o2775},
        ],
        "remove": [],   # Debian's haproxy.cfg stays (Kolla installs the same package)
        "files": {**KOLLA_FILES,
                  "extend_start.haproxy": (EXTEND_START, 0o755),
                  "sudoers.haproxy": ("etc/sudoers.d/kolla_haproxy", 0o440)},
    },
    "keystone": {
        "package": "keystone",
        "releases": {
            "2025.1": {"suite": "trixie", "version": "27.0.0", "extra": []},
            "2026.2": {"suite": "sid", "version": "30.0.0", "extra": [],
                       "apt_options": SID_APT},
        },
        # python3-memcache: oslo.cache's oslo_cache.memcache_pool backend imports memcache
        "packages": ["keystone", "python3-pymysql", "python3-memcache", "uwsgi-core",
                     "uwsgi-plugin-python3", "curl", "sudo", "ca-certificates"],
        "debconf": ["keystone keystone/configure_db boolean false"],
        "user": {"name": "keystone", "uid": 42425, "gid": 42425, "groups": KOLLA_GROUP},
        "dirs": [
            {"path": "var/lib/keystone", "owner": "keystone:keystone", "mode": 0o750},
            {"path": "etc/keystone/fernet-keys", "owner": "keystone:keystone",
             "mode": 0o700},
            {"path": "etc/keystone/credential-keys", "owner": "keystone:keystone",
             "mode": 0o700},
            {"path": "var/log/kolla", "owner": "root:kolla", "mode": 0o2775},
            {"path": "var/log/kolla/keystone", "owner": "keystone:keystone",
             "mode": 0o755},
            {"path": "var/lib/kolla/config_files", "owner": "root", "mode": 0o755},
        ],
        "remove": ["etc/keystone/keystone.conf", "etc/keystone/keystone-uwsgi.ini",
                   "etc/keystone/keystone.conf.d", "var/lib/keystone/keystone.sqlite",
                   "var/lib/keystone/*.db"],
        "files": {**KOLLA_FILES,
                  "extend_start.keystone": (EXTEND_START, 0o755),
                  "sudoers.keystone": ("etc/sudoers.d/kolla_keystone", 0o440)},
    },
    # not a Kolla image (kolla dropped its ceph images): one mon + one memstore OSD in a
    # container, the real cluster glance's rbd store talks to (test/harness/ceph.py)
    "ceph": {
        "package": "ceph-mon",
        "releases": {
            "pacific": {"suite": "bookworm", "version": "16.2.", "extra": []},
        },
        "packages": ["ceph-mon", "ceph-osd", "ceph-common", "sudo"],
        # Debian's ceph user (ceph-common creates it with 64045)
        "user": {"name": "ceph", "uid": 64045, "gid": 64045},
        "dirs": [
            {"path": "etc/ceph", "owner": "ceph:ceph", "mode": 0o750},
            {"path": "var/lib/ceph", "owner": "ceph:ceph", "mode": 0o750, "recurse": True},
            {"path": "run/ceph", "owner": "ceph:ceph", "mode": 0o750},
            {"path": "var/log/ceph", "owner": "ceph:ceph", "mode": 0o750},
            {"path": "var/lib/kolla/config_files", "owner": "root", "mode": 0o755},
        ],
        "remove": [],
        "files": {**KOLLA_FILES,
                  "extend_start.ceph": (EXTEND_START, 0o755),
                  "ceph_single_node": ("usr/local/bin/ceph_single_node", 0o755),
                  "sudoers.ceph": ("etc/sudoers.d/kolla_ceph", 0o440)},
    },
    # Swift all-in-one (proxy + account/container/object servers, one replica) with
    # keystoneauth + authtoken in the proxy (test/harness/swift.py)
    "swift": {
        "package": "swift",
        "releases": {
            "2022.2": {"suite": "bookworm", "version": "2.30.", "extra": []},
        },
        "packages": ["swift", "swift-proxy", "swift-account", "swift-container",
                     "swift-object", "python3-keystonemiddleware", "python3-memcache",
                     "curl", "sudo"],
        "user": {"name": "swift", "uid": 42445, "gid": 42445},
        "dirs": [
            {"path": "etc/swift", "owner": "swift:swift", "mode": 0o750, "recurse": True},
            {"path": "srv/node", "owner": "swift:swift", "mode": 0o755},
            {"path": "var/cache/swift", "owner": "swift:swift", "mode": 0o755},
            {"path": "run/swift", "owner": "swift:swift", "mode": 0o755},
            {"path": "var/lib/kolla/config_files", "owner": "root", "mode": 0o755},
        ],
        "remove": [],
        "files": {**KOLLA_FILES,
                  "extend_start.swift": (EXTEND_START, 0o755),
                  "swift_saio": ("usr/local/bin/swift_saio", 0o755),
                  "sudoers.swift": ("etc/sudoers.d/kolla_swift", 0o440)},
    },
}
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
])


class BuildError(Exception):
    """Something the person running the build can act on; main() prints it."""


def default_cache_dir():
    return Path(os.environ.get("GLANCE_TEST_CACHE", "/var/cache/glance-formula"))


# ----------------------------------------------------------------------- the table
def spec(image=DEFAULT_IMAGE):
    """The IMAGES entry of image (a BuildError names the known ones)."""
    try:
        return IMAGES[image]
    except KeyError:
        raise BuildError(f"unknown image {image!r}: known are "
                         f"{', '.join(sorted(IMAGES))}") from None


def recipe(release, image=DEFAULT_IMAGE):
    """The release entry of image (suite, version, extra, apt_options)."""
    try:
        return spec(image)["releases"][release]
    except KeyError:
        raise BuildError(f"unknown release {release!r} for the {image} image: known are "
                         f"{', '.join(releases(image))}") from None


def releases(image=DEFAULT_IMAGE):
    """The release names (= image tags) that image can be built for."""
    return sorted(spec(image)["releases"])


REQUIRED_KEYS = {"package", "releases", "packages", "user", "dirs", "remove", "files"}
OPTIONAL_KEYS = {"debconf"}


def check_spec(image, entry):
    """Raise BuildError unless an IMAGES entry is complete and its files exist."""
    problems = []
    missing = REQUIRED_KEYS - set(entry)
    if missing:
        problems.append(f"missing {sorted(missing)}")
    unknown = set(entry) - REQUIRED_KEYS - OPTIONAL_KEYS
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    for tag, rel in (entry.get("releases") or {}).items():
        if not rel.get("suite") or "extra" not in rel:
            problems.append(f"release {tag} needs suite and extra")
    user = entry.get("user") or {}
    if not {"name", "uid", "gid"} <= set(user):
        problems.append("user needs name, uid, gid")
    names = {"root", user.get("name"), *(user.get("groups") or {})}
    for d in entry.get("dirs", []):
        for part in d.get("owner", "").split(":"):
            if part not in names:
                problems.append(f"dir {d.get('path')}: unknown owner {part!r}")
    paths = [path for path, _ in (entry.get("files") or {}).values()]
    if EXTEND_START not in paths:
        problems.append(f"no file goes to {EXTEND_START}")
    if len(set(paths)) != len(paths):
        problems.append("two files go to the same path")
    for name in entry.get("files") or {}:
        if not (HERE / name).is_file():
            problems.append(f"file {name} is not in {HERE}")
    if problems:
        raise BuildError(f"image {image}: " + "; ".join(problems))


# ----------------------------------------------------------------------- hashes
def _sha12(parts):
    digest = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:12]


def _base_inputs(entry, rel):
    base = {k: v for k, v in entry.items() if k not in ("releases", "files")}
    return json.dumps({"image": base, "release": rel}, sort_keys=True)


def base_hash(release, image=DEFAULT_IMAGE):
    """Hash of the slow stage only (debootstrap + packages + user + dirs): a script
    edit does not re-debootstrap, and releases with the same recipe share a base."""
    entry, rel = spec(image), recipe(release, image)
    sources = [inspect.getsource(f) for f in BASE_STEPS]
    return _sha12([image, _base_inputs(entry, rel), SHRINK_GLOBS, IMAGE_ENV["PATH"],
                   *sources])


def content_hash(release, image=DEFAULT_IMAGE):
    """Hash of everything the final image is made from; a change means rebuild."""
    entry = spec(image)
    parts = [image, release, base_hash(release, image),
             inspect.getsource(_add_image_files), *import_changes(image, "", release)]
    for name, (path, mode) in sorted(entry["files"].items()):
        parts += [name, path, mode, (HERE / name).read_bytes()]
    return _sha12(parts)


def tarball_name(image, release, digest):
    return f"{image}-{release}-{digest}.tar"


def base_tarball_name(image, digest):
    return f"base/{image}-{digest}.tar"


def import_changes(image, digest, release):
    """The `docker import -c` instructions that make the tarball a Kolla image."""
    changes = [f"USER {spec(image)['user']['name']}", 'CMD ["kolla_start"]',
               f"LABEL {HASH_LABEL}={digest}",
               f"LABEL glance_formula_release={release}",
               f"LABEL glance_formula_image={image}"]
    return changes + [f"ENV {k}={v}" for k, v in IMAGE_ENV.items()]


# ----------------------------------------------------------------------- helpers
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
def _lock(path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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


def passwd_ids(passwd_text, name):
    """(uid, gid) of `name` in an /etc/passwd text, or None."""
    for line in passwd_text.splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name:
            return int(fields[2]), int(fields[3])
    return None


def resolve_owner(owner, user):
    """"name[:group]" of a dirs entry -> (uid, gid) with the image's ids (a name
    alone means that name's group too)."""
    uids = {"root": 0, user["name"]: user["uid"]}
    gids = {"root": 0, user["name"]: user["gid"], **(user.get("groups") or {})}
    name, _, group = owner.partition(":")
    group = group or name
    if name not in uids or group not in gids:
        raise BuildError(f"owner {owner!r}: only root, {user['name']} and the groups "
                         f"{sorted(gids)} are known")
    return uids[name], gids[group]


# ----------------------------------------------------------------------- base stage
def _install(rootfs, entry, rel, log):
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
    if entry.get("debconf"):
        _run(chroot + ["debconf-set-selections"], log, env=env,
             input="\n".join(entry["debconf"]).encode() + b"\n")
    apt = ["apt-get"]
    for option in rel.get("apt_options", []):
        apt += ["-o", option]
    _run(chroot + apt + ["update"], log, env=env)
    _run(chroot + apt + ["install", "-y", "--no-install-recommends",
                         "-o", "Dpkg::Options::=--force-confdef",
                         *entry["packages"], *rel["extra"]], log, env=env)
    (rootfs / "etc/apt/apt.conf.d/99keep-debs").unlink()
    resolv.write_text("")


def _kolla_user(rootfs, user, log):
    """Kolla's ids for the service user (Debian's, or a new one), its extra groups,
    and every file of Debian's ids chowned to them."""
    chroot = ["chroot", str(rootfs)]
    name, uid, gid = user["name"], user["uid"], user["gid"]
    old = passwd_ids((rootfs / "etc/passwd").read_text(), name)
    if old is None:
        _run(chroot + ["groupadd", "-g", str(gid), name], log)
        _run(chroot + ["useradd", "-r", "-M", "-u", str(uid), "-g", str(gid),
                       "-s", "/usr/sbin/nologin", "-d", f"/var/lib/{name}", name], log)
        old = (uid, gid)
    old_uid, old_gid = old
    _run(chroot + ["groupmod", "-g", str(gid), name], log)
    _run(chroot + ["usermod", "-u", str(uid), "-g", str(gid), name], log)
    groups = (rootfs / "etc/group").read_text()
    for group, group_id in sorted((user.get("groups") or {}).items()):
        exists = re.search(rf"^{re.escape(group)}:", groups, re.M)
        _run(chroot + ["groupmod" if exists else "groupadd", "-g", str(group_id), group],
             log)
        _run(chroot + ["usermod", "-a", "-G", group, name], log)
    if (old_uid, old_gid) != (uid, gid):
        for top, dirs, files in os.walk(rootfs):
            for entry in dirs + files:
                path = os.path.join(top, entry)
                st = os.lstat(path)
                if st.st_uid == old_uid or st.st_gid == old_gid:
                    os.lchown(path, uid if st.st_uid == old_uid else st.st_uid,
                              gid if st.st_gid == old_gid else st.st_gid)


def _make_dirs(rootfs, dirs, user):
    """The `dirs` entries, in order (mkdir, chown, chmod; recurse = chown the tree)."""
    for d in dirs:
        path = rootfs / d["path"]
        path.mkdir(parents=True, exist_ok=True)
        uid, gid = resolve_owner(d["owner"], user)
        if d.get("recurse"):
            for top, subdirs, files in os.walk(path):
                os.lchown(top, uid, gid)
                for name in subdirs + files:
                    os.lchown(os.path.join(top, name), uid, gid)
        else:
            os.chown(path, uid, gid)
        if d.get("mode") is not None:
            path.chmod(d["mode"])


def _shrink(rootfs, remove):
    for pattern in SHRINK_GLOBS + list(remove):
        for path in glob.glob(str(rootfs / pattern)):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)


def _build_base(image, release, workdir, cache_dir, timer, log):
    """debootstrap + packages + Kolla's service user + dirs; returns the rootfs."""
    entry, rel = spec(image), recipe(release, image)
    rootfs = workdir / "rootfs"
    debs = cache_dir / "debs" / rel["suite"]
    debs.mkdir(parents=True, exist_ok=True)
    with timer.step(f"debootstrap {rel['suite']}"):
        _run(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
              rel["suite"], str(rootfs), debian_mirror()], log)
    with timer.step(f"apt-get install {entry['package']}"):
        with _chroot_mounts(rootfs, debs):
            _install(rootfs, entry, rel, log)
    version = subprocess.run(
        ["chroot", str(rootfs), "dpkg-query", "-W", "-f=${Version}", entry["package"]],
        capture_output=True, text=True, check=True).stdout
    if rel.get("version") and not version.split(":")[-1].startswith(rel["version"]):
        raise BuildError(f"{rel['suite']} gave {entry['package']} {version}, "
                         f"expected {rel['version']}*")
    print(f"[{image} {release}] {entry['package']} {version}", flush=True)
    user = entry["user"]
    with timer.step(f"{user['name']} user {user['uid']}, dirs, drop Debian configs, "
                    "shrink"):
        _kolla_user(rootfs, user, log)
        _make_dirs(rootfs, entry["dirs"], user)
        _shrink(rootfs, entry["remove"])
    return rootfs


BASE_STEPS = (_build_base, _install, _kolla_user, _make_dirs, _shrink, resolve_owner)


# ----------------------------------------------------------------------- final stage
def _tar_dir(rootfs, dest, log):
    _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(dest), "."], log)


def _add_image_files(base_tar, dest, files):
    """Copy the base tarball and append the image's files (root-owned) to the copy."""
    shutil.copyfile(base_tar, dest)
    with tarfile.open(dest, "a", format=tarfile.GNU_FORMAT) as tar:
        for name, (path, mode) in sorted(files.items()):
            data = (HERE / name).read_bytes()
            info = tarfile.TarInfo("./" + path)
            info.size, info.mode, info.mtime = len(data), mode, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))


def _remove_stale(directory, pattern, keep):
    for old in directory.glob(pattern):
        if old not in keep:
            print(f"removing stale {old.name}", flush=True)
            old.unlink()


def _ensure_base(image, release, cache_dir, workdir, timer, log):
    """base/<image>-<basehash>.tar, built when missing (one base build per suite at a
    time: the .deb cache of a suite is shared by all images)."""
    base = cache_dir / base_tarball_name(image, base_hash(release, image))
    base.parent.mkdir(exist_ok=True)
    label = f"{image} {release}"
    if base.exists():
        print(f"[{label}] {base.name} is cached", flush=True)
        return base
    suite = recipe(release, image)["suite"]
    with _lock(cache_dir / f".lock-debs-{suite}"):
        if base.exists():
            print(f"[{label}] {base.name} is cached (built meanwhile)", flush=True)
            return base
        rootfs = _build_base(image, release, workdir, cache_dir, timer, log)
        with timer.step("tar base rootfs"):
            _tar_dir(rootfs, workdir / "base.tar", log)
            _safe_rmtree(rootfs)
            os.replace(workdir / "base.tar", base)
    keep = {cache_dir / base_tarball_name(image, base_hash(r, image))
            for r in releases(image)}
    _remove_stale(base.parent, f"{image}-*.tar", keep)
    return base


def build_rootfs_tarball(release, cache_dir, timer=None, image=DEFAULT_IMAGE):
    """Return cache_dir/<image>-<release>-<hash>.tar, building it when missing."""
    entry = spec(image)
    check_spec(image, entry)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    label = f"{image} {release}"
    timer = timer or Timer(label)
    final = cache_dir / tarball_name(image, release, content_hash(release, image))
    if final.exists():
        print(f"[{label}] {final.name} is cached", flush=True)
        return final
    if os.geteuid() != 0:
        raise BuildError("building a test image needs root (debootstrap, chroot, mount)")
    key = f"{image}-{release}"   # lock .lock-<key>, temp dirs .build-<key>-*
    with _lock(cache_dir / f".lock-{key}"):
        for stale in cache_dir.glob(f".build-{key}-*"):
            _safe_rmtree(stale)   # left by a dead build of this image and release
        if final.exists():
            return final
        workdir = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=cache_dir))
        logs = cache_dir / "logs"
        logs.mkdir(exist_ok=True)
        try:
            with open(logs / f"{key}.log", "w") as log:
                base = _ensure_base(image, release, cache_dir, workdir, timer, log)
                with timer.step("add Kolla scripts"):
                    _add_image_files(base, workdir / "final.tar", entry["files"])
                    os.replace(workdir / "final.tar", final)
                _remove_stale(cache_dir, f"{image}-{release}-*.tar", {final})
        finally:
            _safe_rmtree(workdir)
    return final


# ----------------------------------------------------------------------- registry
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


def ensure_pushed(release, cache_dir, docker_host, repo, timer=None, image=DEFAULT_IMAGE):
    """Make repo:<release> in its registry be this build of `image`.

    Returns "up-to-date" (the registry's tag already carries this build's
    hash label) or "pushed".
    """
    label = f"{image} {release}"
    timer = timer or Timer(label)
    want = content_hash(release, image)
    ref = f"{repo}:{release}"
    if registry_build_hash(repo, release) == want:
        print(f"[{label}] {ref} already has {HASH_LABEL}={want}: nothing to do",
              flush=True)
        return "up-to-date"
    local = _docker(docker_host, "image", "inspect", "--format",
                    "{{.Id}} {{index .Config.Labels \"%s\"}}" % HASH_LABEL, ref)
    old_id, _, have = local.stdout.strip().partition(" ")
    if local.returncode != 0 or have != want:
        tarball = build_rootfs_tarball(release, cache_dir, timer, image=image)
        with timer.step(f"docker import {ref}"):
            cmd = ["import"]
            for change in import_changes(image, want, release):
                cmd += ["-c", change]
            _docker(docker_host, *cmd, str(tarball), ref, check=True)
        if old_id:
            # the previous build is untagged now; fails harmlessly while in use
            _docker(docker_host, "image", "rm", old_id)
    with timer.step(f"docker push {ref}"):
        _docker(docker_host, "push", ref, check=True)
    return "pushed"


# ----------------------------------------------------------------------- CLI
def _cli_one(image, release, args):
    label = f"{image} {release}"
    timer = Timer(label)
    print(f"[{label}] content hash {content_hash(release, image)}", flush=True)
    if args.repo:
        result = ensure_pushed(release, args.cache_dir, args.docker_host, args.repo,
                               timer, image=image)
    else:
        result = str(build_rootfs_tarball(release, args.cache_dir, timer, image=image))
    total = sum(t for _, t in timer.steps)
    print(f"[{label}] {result} ({total:.1f}s in steps: "
          + ", ".join(f"{n} {t:.1f}s" for n, t in timer.steps) + ")", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", choices=sorted(IMAGES), default=DEFAULT_IMAGE,
                        help=f"which image (default {DEFAULT_IMAGE})")
    parser.add_argument("--release", action="append", required=True,
                        help="release = image tag, e.g. 2022.2; repeat for several")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--docker-host", help="e.g. unix:///run/gf/node0/docker.sock")
    parser.add_argument("--repo", help="e.g. 127.0.0.1:5000/openstack.kolla/glance-api")
    args = parser.parse_args(argv)
    if bool(args.docker_host) != bool(args.repo):
        parser.error("--docker-host and --repo go together")
    unknown = [r for r in args.release if r not in releases(args.image)]
    if unknown:
        parser.error(f"--image {args.image} has no release {', '.join(unknown)} "
                     f"(known: {', '.join(releases(args.image))})")
    try:
        for release in args.release:
            _cli_one(args.image, release, args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
