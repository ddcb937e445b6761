"""The store writer's own work, old code against new, on exactly the same store calls.

``python benchmarks/writer_ab.py OLD_TREE [--articles N] [--rounds R]`` crawls the synthetic
site of ``benchmarks/run.py`` once with this tree's code, keeping every request the crawl sent
its writer process (the pickled frames of :mod:`store.writer`), then applies those requests to
a fresh store with ``OLD_TREE``'s store code and with this tree's, alternately, ``R`` times
each, and prints the CPU seconds each kind of call took (``time.process_time`` around each
call, in the one process that applies them: no pipe, no crawl, so nothing but the store's code
is timed — the part of a crawl that runs in ``python -m store.writer``).

``OLD_TREE`` is a ``git worktree add`` of an earlier commit whose :mod:`store.protocol`
requests unpickle from this tree's (the same classes and fields); both use this environment's
packages. A crawl's rate depends on this only when the writer falls behind the crawl process:
``benchmarks/ab.py`` times the whole crawl.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def record(frames: Path, scrapy_args: list[str]) -> None:
    """Run ``scrapy SCRAPY_ARGS`` in this process with every writer request also appended to
    ``frames`` (the child mode ``--record``)."""
    from scrapy.cmdline import execute

    import store.writer as writer

    out = frames.open("wb")
    send = writer.WriterClient.send

    def tee(self: writer.WriterClient, request: Any) -> Any:
        out.write(writer.frame(request))
        return send(self, request)

    writer.WriterClient.send = tee  # type: ignore[method-assign]
    sys.argv = ["scrapy", *scrapy_args]
    try:
        execute()
    finally:
        out.close()


def replay(frames: Path, path: Path) -> None:
    """Apply the recorded requests to a new store at ``path`` with the store code on
    ``PYTHONPATH``; print each kind's count and CPU seconds (the child mode ``--replay``)."""
    from store.db import Store
    from store.protocol import OpenStore
    from store.writer import read_frame

    data = io.BytesIO(frames.read_bytes())
    seconds: dict[str, float] = {}
    calls: dict[str, int] = {}
    store: Any = None
    while (request := read_frame(data)) is not None:
        started = time.process_time()
        if isinstance(request, OpenStore):
            store = Store(path)
        else:
            request.apply(store)
        kind = type(request).__name__
        seconds[kind] = seconds.get(kind, 0.0) + time.process_time() - started
        calls[kind] = calls.get(kind, 0) + 1
    started = time.process_time()
    store.close()
    seconds["close"] = time.process_time() - started
    calls["close"] = 1
    for kind, spent in seconds.items():
        print(f"{kind} {calls[kind]} {spent:.6f}")


def child(tree: Path, *args: str) -> str:
    """This script run with ``tree``'s code first on the path; its stdout."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        capture_output=True,
        check=False,
        cwd=ROOT / "benchmarks" / ".work",
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {args[0]} failed:\n{done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def main() -> int:
    """Record once, replay alternately, print the table."""
    if sys.argv[1:2] == ["--record"]:
        record(Path(sys.argv[2]), sys.argv[3:])
        return 0
    if sys.argv[1:2] == ["--replay"]:
        replay(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python benchmarks/writer_ab.py", description=__doc__)
    parser.add_argument("old_tree", type=Path, help="a checkout of the earlier code")
    parser.add_argument("--articles", type=int, default=1000, help="the generated site's size")
    parser.add_argument("--rounds", type=int, default=3, help="replays of each tree (median)")
    args = parser.parse_args()
    # imported here, not at the top: the children run this file with another tree's code
    # first on the path, and that tree's benchmarks/ab.py may not have it
    sys.path.insert(0, str(ROOT))
    from benchmarks.ab import generated_site

    site = generated_site(args.articles)
    trees = {"old": args.old_tree.resolve(), "new": ROOT}
    spent: dict[str, dict[str, list[float]]] = {label: {} for label in trees}
    calls: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        frames = Path(scratch) / "frames.bin"
        crawl = ["crawl", "africa", "-s", f"FIXTURES_REPLAY={site.name}"]
        crawl += ["-s", f"STORE_PATH={Path(scratch) / 'recorded.db'}"]
        crawl += ["-s", "LOG_LEVEL=WARNING", "-s", "STORE_SUMMARY=False"]
        child(ROOT, "--record", str(frames), *crawl)
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for label in order:
                store = Path(scratch) / f"{label}-{number}.db"
                for line in child(trees[label], "--replay", str(frames), str(store)).split("\n"):
                    if line:
                        kind, count, cpu = line.split()
                        calls[kind] = int(count)
                        spent[label].setdefault(kind, []).append(float(cpu))
    print(f"{site.name}: the writer's CPU seconds per kind of call, median of {args.rounds}")
    print(f"(load average {os.getloadavg()})")
    print("| call | calls | old s | new s | old ms/call | new ms/call | new / old |")
    print("|---|---|---|---|---|---|---|")
    for kind, made in calls.items():
        old, new = (statistics.median(spent[label][kind]) for label in trees)
        ratio = f"{new / old:.2f}" if old else ""
        print(
            f"| {kind} | {made} | {old:.2f} | {new:.2f} | {old / made * 1000:.2f} | "
            f"{new / made * 1000:.2f} | {ratio} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
