#!/usr/bin/env python3
"""Build the Kolla-contract test images (glance-api, haproxy) and push them.

Nothing can be pulled from quay.io here, so the tests run images made from
Debian's packages plus this folder's kolla_start / kolla_set_configs /
kolla_extend_start.  The formula runs them exactly like
quay.io/openstack.kolla/<image>:<tag>.

This file is the entry point and the stable API; each image kind is built by
its own module, with its own content hash:

* glance-api: glance_image.py (what build.py was before the haproxy image; its
  bytes are in the glance-api hash, so the glance hashes did not change);
* haproxy: haproxy_image.py.

This file only dispatches and is in neither hash: editing it rebuilds nothing.

    build.ensure_pushed("2022.2", cache, docker_host, ".../glance-api")
    build.ensure_pushed("2022.2", cache, docker_host, ".../haproxy", image="haproxy")

Standard library only; builds need root (debootstrap, chroot, mount).
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import glance_image  # noqa: E402  pylint: disable=wrong-import-position
import haproxy_image  # noqa: E402  pylint: disable=wrong-import-position

DEFAULT_IMAGE = "glance-api"
IMAGES = {"glance-api": glance_image, "haproxy": haproxy_image}

# unchanged names of the former build.py
BuildError = glance_image.BuildError
Timer = glance_image.Timer
default_cache_dir = glance_image.default_cache_dir
registry_build_hash = glance_image.registry_build_hash
debian_mirror = glance_image.debian_mirror
HASH_LABEL = glance_image.HASH_LABEL
RELEASES = glance_image.RELEASES           # glance-api's; see releases(image)
IMAGE_FILES = glance_image.IMAGE_FILES     # glance-api's


def image_module(image=DEFAULT_IMAGE):
    try:
        return IMAGES[image]
    except KeyError:
        raise BuildError(f"unknown image {image!r}: known are "
                         f"{', '.join(sorted(IMAGES))}") from None


def releases(image=DEFAULT_IMAGE):
    """The release names (= image tags) that image kind can be built for."""
    return sorted(image_module(image).RELEASES)


def content_hash(release, image=DEFAULT_IMAGE):
    """Hash of everything the final image is made from; a change means rebuild."""
    return image_module(image).content_hash(release)


def base_hash(release, image=DEFAULT_IMAGE):
    """Hash of the slow base stage (debootstrap + packages + the service user)."""
    return image_module(image).base_hash(release)


def build_rootfs_tarball(release, cache_dir, timer=None, image=DEFAULT_IMAGE):
    """The image's rootfs tarball in cache_dir, built when missing."""
    return image_module(image).build_rootfs_tarball(release, cache_dir, timer)


def ensure_pushed(release, cache_dir, docker_host, repo, timer=None, image=DEFAULT_IMAGE):
    """Make repo:<release> in its registry be this build of `image`.

    Returns "up-to-date" (the registry's tag already carries this build's
    hash label) or "pushed".
    """
    return image_module(image).ensure_pushed(release, cache_dir, docker_host, repo, timer)


def _cli_one(image, release, args):
    label = release if image == DEFAULT_IMAGE else f"{image} {release}"
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
