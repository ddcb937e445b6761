"""A distributed crawl measured: 1, 2 and 4 workers on a site of 8 slow hosts, politeness on.

The site (:class:`Site`) is one threaded HTTP server on 127.0.0.1 that answers for the hosts
``h1.wire.test`` … ``hN.wire.test`` (names the workers' resolver, ``tests.rebinding``, maps
to 127.0.0.1; ``ALLOW_PRIVATE_HOSTS`` lets them through the address guard), each request after
a fixed latency (200 ms by default). ``h1`` serves the section page, listing every article;
the articles, pages of ``benchmarks/generate.py`` without the page chrome (~15 kB), are spread
over the hosts in turn. The server records, per host, every request's arrival and how many it
was answering at once.

For each worker count a fresh ``redis-server`` (``tests/redis_server.py``), the seeds
(``python -m store schedule``), the store writer (``python -m store.writer STORE --from
URL``) and the workers (``scrapy crawl wire-bench -s FRONTIER_URL=…``,
``benchmarks/distributed_spider.py``), all real processes; then one crawl of one process
(the store's writer over a pipe) with the same settings, the baseline of the Redis path.

Articles/s is the articles stored over the span from the site's first request to its last (the
processes' start-up and idle end left out); the writer's lag is the most stream entries it had
not read yet, sampled every 0.25 s, and the time it took to catch up once the last worker
ended. Per host: the most requests that arrived within any one second, and the most it
answered at once, against the limits (``1 / DOWNLOAD_DELAY`` and
``CONCURRENT_REQUESTS_PER_DOMAIN``).

The settings (:class:`Politeness`, printed under the table) make the comparison honest: the
hosts together allow far more than one worker asks (8 hosts × 10 requests/s with
``DOWNLOAD_DELAY=0.1``, 2 in flight each), so what holds one worker back is its own
``CONCURRENT_REQUESTS`` (1 by default: a request at a time, about 4 articles/s at 200 ms), and
N workers can reach N times that only if sharing the frontier, the pace and the caps costs
nothing. AutoThrottle is off so that every worker keeps the same fixed pace::

    .venv/bin/python benchmarks/distributed.py                    # 600 articles, about 8 min
    .venv/bin/python benchmarks/distributed.py --articles 40 --workers 1 2   # a quick look
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path[:0] = [str(ROOT)]

from redis import Redis  # noqa: E402

from benchmarks.distributed_spider import DOMAIN, NAME  # noqa: E402
from benchmarks.generate import (  # noqa: E402
    DEFAULT_SEED,
    ORIGIN,
    _listing_item,
    article_spec,
    header,
    render_article,
    render_listing,
)
from domain.frontier import STREAM_GROUP, STREAM_KEY  # noqa: E402
from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402

CONTACT = "archive-ops@newsroom.org"  # the tests' contact: nothing leaves the machine
ENV = {
    **os.environ,
    "SCRAPY_SETTINGS_MODULE": "crawler.settings",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}
NO_CHROME = {"latest": 0, "modals": 0, "widgets": 0, "sprite": 0}


@dataclasses.dataclass(frozen=True)
class Politeness:
    """The settings every crawl of the benchmark runs with (printed with the table)."""

    delay: float  # DOWNLOAD_DELAY: a host's requests start at least this far apart
    per_host: int  # CONCURRENT_REQUESTS_PER_DOMAIN: a host's requests in flight at most
    per_worker: int  # CONCURRENT_REQUESTS: one worker's requests in flight at most

    def settings(self) -> list[str]:
        return [
            f"DOWNLOAD_DELAY={self.delay}",
            f"CONCURRENT_REQUESTS_PER_DOMAIN={self.per_host}",
            f"CONCURRENT_REQUESTS={self.per_worker}",
            # a fixed pace, so that 1 and 4 workers are held to the same one (AutoThrottle
            # would set each worker's delay from the latency it sees)
            "AUTOTHROTTLE_ENABLED=False",
            "ROBOTSTXT_OBEY=True",
        ]


class Site:
    """The benchmark's site on 127.0.0.1: ``hosts`` hosts, ``articles`` articles."""

    def __init__(self, articles: int, hosts: int, latency: float, seed: int = DEFAULT_SEED):
        self.latency = latency
        self.hosts = [f"h{n}.{DOMAIN}" for n in range(1, hosts + 1)]
        self.lock = threading.Lock()
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight: dict[str, int] = defaultdict(int)
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.pages = self.render(articles, seed)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def origin(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def render(self, articles: int, seed: int) -> dict[tuple[str, str], bytes]:
        """Every page by (host, path): robots.txt of each host, the section page, articles."""
        pages = {(host, "/robots.txt"): b"User-agent: *\nAllow: /\n" for host in self.hosts}
        items = []
        for index in range(articles):
            spec = article_spec(seed, index)
            spec = dataclasses.replace(spec, weight=NO_CHROME)
            origin = self.origin(self.hosts[index % len(self.hosts)])
            path = spec.header.url.removeprefix(ORIGIN)
            html = render_article(spec, seed).replace(ORIGIN, origin)
            pages[(self.hosts[index % len(self.hosts)], path)] = html.encode()
            item = _listing_item(header(seed, index), seed)
            items.append(item.replace(f'href="{path}"', f'href="{origin}{path}"'))
        # the section page of a one-article site (no "load more"), listing every article
        _, section = render_listing(seed, 1, 0)
        section = section.replace(_listing_item(header(seed, 0), seed), "\n".join(items))
        section = section.replace(ORIGIN, self.origin(self.hosts[0]))
        pages[(self.hosts[0], "/africa/")] = section.encode()
        return pages

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        host = (handler.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        with self.lock:
            self.arrivals[host].append(time.monotonic())
            self.in_flight[host] += 1
            self.most_in_flight[host] = max(self.most_in_flight[host], self.in_flight[host])
        try:
            time.sleep(self.latency)
            body = self.pages.get((host, handler.path))
            handler.send_response(200 if body is not None else 404)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
            handler.send_header("Content-Length", str(len(body or b"")))
            handler.end_headers()
            handler.wfile.write(body or b"")
        finally:
            with self.lock:
                self.in_flight[host] -= 1

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.most_in_flight.clear()

    def span(self) -> float:
        """Seconds from the first request of the run to the last."""
        times = [t for arrivals in self.arrivals.values() for t in arrivals]
        return max(times) - min(times) + self.latency

    def most_per_second(self) -> int:
        """The most requests that arrived at one host within any one second."""
        most = 0
        for arrivals in self.arrivals.values():
            times = sorted(arrivals)
            for k, start in enumerate(times):
                most = max(most, bisect.bisect_left(times, start + 1.0) - k)
        return most

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclasses.dataclass
class Run:
    """What one crawl of the site showed."""

    label: str
    workers: int
    articles: int
    span: float
    per_second: int  # the most requests one host saw within a second
    in_flight: int  # the most one host answered at once
    cpu: float = 0.0  # CPU seconds of the crawl's processes (workers, writer, Redis)
    lag: int | None = None  # the most stream entries the writer was behind
    drain: float | None = None  # seconds the writer took to catch up after the workers

    @property
    def rate(self) -> float:
        return self.articles / self.span


def crawl_settings(site: Site, polite: Politeness) -> list[str]:
    """The ``scrapy crawl`` arguments every crawl of the benchmark shares."""
    settings = [
        f"CONTACT={CONTACT}",
        "ALLOW_PRIVATE_HOSTS=" + ",".join(site.hosts),
        "TWISTED_DNS_RESOLVER=tests.rebinding.RebindingResolver",
        "SPIDER_MODULES=crawler.spiders,benchmarks.distributed_spider",
        "STORE_SUMMARY=False",
        "LOG_LEVEL=INFO",
        *polite.settings(),
    ]
    args = ["crawl", NAME, "-a", f"site={site.origin(site.hosts[0])}"]
    for setting in settings:
        args += ["-s", setting]
    return args


def stored_articles(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


def scrapy(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", *args],
        cwd=ROOT, env=ENV, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def ended(process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    if process.wait() != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"error: {what} failed (exit status {process.returncode}):\n{tail}")


def writer_lag(redis: Redis) -> int:
    """Stream entries the store writer has not read or not acknowledged yet."""
    if not redis.exists(STREAM_KEY):
        return 0
    for group in redis.xinfo_groups(STREAM_KEY):
        if group["name"] in (STREAM_GROUP, STREAM_GROUP.encode()):
            return int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return int(redis.xlen(STREAM_KEY))


def children_cpu() -> float:
    """CPU seconds of this process's children that ended, so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def distributed(site: Site, polite: Politeness, workers: int, folder: Path) -> Run:
    """One round with ``workers`` workers and a store writer, on a fresh Redis."""
    site.reset()
    cpu = children_cpu()
    store = folder / f"workers-{workers}.db"
    server = RedisServer(folder / f"redis-{workers}")
    server.start()
    try:
        url = server.url
        log = folder / f"workers-{workers}.log"
        seeds = subprocess.run(
            [sys.executable, "-m", "store", "schedule", str(store), "--to", url,
             "--section", NAME],
            cwd=ROOT, env=ENV, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if seeds.returncode != 0:
            raise SystemExit(f"error: python -m store schedule failed: {seeds.stderr}")
        writer = subprocess.Popen(
            [sys.executable, "-m", "store.writer", str(store), "--from", url],
            cwd=ROOT, env=ENV, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        frontier = ["-s", f"FRONTIER_URL={url}", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=2"]
        args = [*crawl_settings(site, polite), *frontier]
        running = [scrapy(args, folder / f"workers-{workers}-{n}.log") for n in range(workers)]
        redis = Redis.from_url(url)
        most_lag = 0
        while any(process.poll() is None for process in running):
            most_lag = max(most_lag, writer_lag(redis))
            time.sleep(0.25)
        for n, process in enumerate(running):
            ended(process, folder / f"workers-{workers}-{n}.log", f"worker {n + 1}")
        done_at = time.monotonic()
        while writer_lag(redis):
            if writer.poll() is not None:
                raise SystemExit(f"error: the store writer ended: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        drain = time.monotonic() - done_at
        writer.terminate()
        ended(writer, log, "the store writer")
        redis.close()
    finally:
        server.stop()
    return Run(
        f"{workers} worker(s), Redis", workers, stored_articles(store), site.span(),
        site.most_per_second(), max(site.most_in_flight.values()), children_cpu() - cpu,
        most_lag, drain,
    )  # fmt: skip


def local(site: Site, polite: Politeness, folder: Path) -> Run:
    """One crawl of one process: no Redis, the store's writer over a pipe."""
    site.reset()
    cpu = children_cpu()
    store = folder / "local.db"
    log = folder / "local.log"
    ended(scrapy([*crawl_settings(site, polite), "-s", f"STORE_PATH={store}"], log), log, "crawl")
    return Run("1 process, local pipe", 1, stored_articles(store), site.span(),
               site.most_per_second(), max(site.most_in_flight.values()),
               children_cpu() - cpu)  # fmt: skip


def table(runs: list[Run], polite: Politeness, site: Site, articles: int) -> Iterator[str]:
    """The table's lines."""
    one = next((r for r in runs if r.workers == 1 and r.lag is not None), None)
    yield (
        f"| crawl | articles/s | speed-up | max req/s at a host (limit {1 / polite.delay:g}) "
        f"| max in flight at a host (limit {polite.per_host}) | writer lag: most entries, "
        "catch-up | CPU ms / article, start-ups included |"
    )
    yield "|---|---:|---:|---:|---:|---|---:|"
    for run in runs:
        speed = f"{run.rate / one.rate:.2f} ×" if one and run.lag is not None else ""
        lag = (
            f"{run.lag}, {run.drain:.1f} s"
            if run.lag is not None and run.drain is not None
            else "-"
        )
        short = "" if run.articles == articles else f" (only {run.articles} of {articles})"
        yield (
            f"| {run.label}{short} | {run.rate:.1f} | {speed} | {run.per_second} | "
            f"{run.in_flight} | {lag} | {1000 * run.cpu / max(run.articles, 1):.0f} |"
        )
    base = next((r for r in runs if r.lag is None), None)
    if one and base:
        yield (
            f"Redis path vs local pipe, one worker: {one.rate:.1f} / {base.rate:.1f} articles/s "
            f"= {one.rate / base.rate:.2f} ×"
        )
    yield (
        f"({articles} articles on {len(site.hosts)} hosts, {site.latency * 1000:.0f} ms a "
        f"response; every crawl: {', '.join(polite.settings())})"
    )


@contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="distributed-") as folder:
        yield Path(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=600)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per response")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--delay", type=float, default=0.1, help="DOWNLOAD_DELAY")
    parser.add_argument("--per-host", type=int, default=2, help="CONCURRENT_REQUESTS_PER_DOMAIN")
    parser.add_argument("--per-worker", type=int, default=1, help="CONCURRENT_REQUESTS")
    parser.add_argument("--no-local", action="store_true", help="skip the local-pipe baseline")
    parser.add_argument("--keep", type=Path, help="keep the stores and logs in this folder")
    args = parser.parse_args(argv)
    if REDIS_SERVER is None:
        sys.stderr.write("error: redis-server is not installed (apt-get install redis-server)\n")
        return 2
    polite = Politeness(args.delay, args.per_host, args.per_worker)
    started = time.monotonic()
    runs: list[Run] = []
    with Site(args.articles, args.hosts, args.latency) as site, workdir(args.keep) as folder:
        for workers in args.workers:
            runs.append(distributed(site, polite, workers, folder))
            print(f"{runs[-1].label}: {runs[-1].rate:.1f} articles/s", file=sys.stderr, flush=True)
        if not args.no_local:
            runs.append(local(site, polite, folder))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load}")
    for line in table(runs, polite, site, args.articles):
        print(line)
    print(f"(measured in {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
