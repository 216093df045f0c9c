"""
Image cache housekeeping timings (not a test; prints numbers).

    bash bench/run.sh cache.py [--entries 1000] [--minions 5000]

- ``summarize`` over a cache of N small entries laid out as glance writes them;
- the full usage walk (``walk`` + ``summarize``, what ``glance_cache.usage`` does
  once it has the volume's path) against a baseline of ``os.walk`` + ``os.stat``
  over the same tree, and the ratio;
- ``schedule()`` for every one of M minions of an M-host list (target < 1 s).

Each figure is the best of several repeats (the least disturbed run).
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "_modules"))

import glance_cache  # noqa: E402  pylint: disable=wrong-import-position

REPEATS = 7


def best(func, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def make_cache(root, entries):
    """``entries`` files: cache.db, 85% complete images, 5% each incomplete/invalid/queue."""
    for sub in glance_cache.SUBDIRS:
        (root / sub).mkdir()
    (root / "cache.db").write_bytes(b"\0" * 12288)
    for i in range(entries - 1):
        bucket = i % 20
        sub = {0: "incomplete/", 1: "invalid/"}.get(bucket, "queue/" if bucket == 2 else "")
        (root / f"{sub}{i:08x}-0000-4000-8000-{i:012x}").write_bytes(
            b"x" * (0 if sub == "queue/" else 512 + i % 4096))


def baseline(root):
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            total += os.stat(os.path.join(directory, name)).st_size
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--minions", type=int, default=5000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="glance-cache-bench-") as tmp:
        root = pathlib.Path(tmp)
        make_cache(root, args.entries)
        entries = glance_cache.walk(str(root))
        assert len(entries) == args.entries
        summary = glance_cache.summarize(entries)
        assert summary["disk_bytes"] == baseline(str(root))
        t_summarize = best(lambda: glance_cache.summarize(entries))
        t_walk = best(lambda: glance_cache.summarize(glance_cache.walk(str(root))))
        t_base = best(lambda: baseline(str(root)))

    hosts = [f"ctl{i:05d}.example.org" for i in range(args.minions)]
    t_schedule = best(lambda: [glance_cache.schedule(h, hosts) for h in hosts], repeats=3)

    print(f"cache of {args.entries} entries ({summary['files']} images, "
          f"{len(summary['incomplete']['ids'])} incomplete, "
          f"{len(summary['invalid']['ids'])} invalid, {len(summary['queued'])} queued)")
    print(f"  summarize (entries in memory)    {t_summarize * 1000:8.2f} ms")
    print(f"  usage walk (walk + summarize)    {t_walk * 1000:8.2f} ms")
    print(f"  baseline os.walk + os.stat       {t_base * 1000:8.2f} ms")
    print(f"  usage walk / baseline            {t_walk / t_base:8.2f}x")
    print(f"schedule() for each of {args.minions} minions "
          f"{t_schedule * 1000:8.1f} ms  (target < 1000 ms: "
          f"{'met' if t_schedule < 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
