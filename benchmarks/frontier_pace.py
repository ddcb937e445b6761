"""The shared per-host pace of a distributed crawl: one host, 1 worker and then N workers.

Starts a real ``redis-server`` (tests/redis_server.py) and the frontier tests' site
(tests/frontier_worker.py: a tree of pages on 127.0.0.1 whose robots.txt asks for a
Crawl-delay) and crawls it with ``--workers`` worker processes at once, each with a local
``DOWNLOAD_DELAY`` well under the Crawl-delay; prints, for 1 worker and for N, the span from
the first request to the last as the server saw it (each worker's robots.txt included), the
requests per second, and the shortest and mean gap between two requests. With the pace
shared in Redis, N workers ask the host no faster than one::

    .venv/bin/python benchmarks/frontier_pace.py --pages 20 --workers 3 --crawl-delay 0.5
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.frontier_worker import FrontierSite  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def crawl(pages: int, workers: int, crawl_delay: float, local_delay: float) -> list[float]:
    """The arrival times of the requests of one crawl by ``workers`` workers (each worker's
    robots.txt included)."""
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder))
        server.start()
        try:
            robots = f"User-agent: *\nCrawl-delay: {crawl_delay}\n"
            with FrontierSite(pages, robots=robots) as site:
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                command = [sys.executable, "-m", "tests.frontier_worker", server.url, site.base]
                settings = ["-s", "ROBOTSTXT_OBEY=True", "-s", f"DOWNLOAD_DELAY={local_delay}"]
                running = [
                    subprocess.Popen(
                        command + settings, cwd=ROOT, env=env, stderr=subprocess.DEVNULL
                    )
                    for _ in range(workers)
                ]
                for worker in running:
                    worker.wait()
                return sorted(at for at, _, _ in site.log)
        finally:
            server.stop()


def report(workers: int, times: list[float]) -> str:
    gaps = [b - a for a, b in itertools.pairwise(times)]
    span = times[-1] - times[0]
    return (
        f"{workers} worker(s): {len(times)} requests in {span:.2f} s "
        f"({(len(times) - 1) / span:.2f}/s), shortest gap {min(gaps):.3f} s, "
        f"mean gap {sum(gaps) / len(gaps):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--crawl-delay", type=float, default=0.5)
    parser.add_argument("--local-delay", type=float, default=0.1, help="each worker's own")
    args = parser.parse_args()
    started = time.monotonic()
    for workers in (1, args.workers):
        times = crawl(args.pages, workers, args.crawl_delay, args.local_delay)
        print(report(workers, times), flush=True)
    print(f"(robots.txt Crawl-delay {args.crawl_delay} s; {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
