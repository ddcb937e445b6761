"""Kill the processes of a distributed replay crawl at random moments; prove nothing was lost.

    .venv/bin/python scripts/distkill.py [--kills 9] [--seed N] [--workers 2] [--workdir DIR]

1. A clean single-process replay crawl of ``fixtures/sputnik-africa`` into ``reference.db``
   (beside step 2: they share nothing).
2. The same replay distributed, with real processes on this machine: a ``redis-server`` (AOF
   on, ``appendfsync everysec``, as ``scripts/crawl-distributed`` starts it), the seeds
   (``python -m store schedule``), the store writer (``python -m store.writer --from``) and
   ``--workers`` workers (``scrapy crawl africa -s FRONTIER_URL=…``).
3. ``--kills`` times, once the workers have sent a random share of the crawl's store calls:
   SIGKILL to a worker (one holding leases, where one does), the writer or Redis (each
   block of three kills hits each of them once, in a random order), then the same process is
   started again (a worker: a new one, with a new name; Redis: on the same folder and port).
   The leases a killed worker held are read from Redis just after its death.
4. Once the workers have ended by themselves the writer drains the stream. Then the checks:

   * the export (``python -m store export --all-versions``, the run's ids aside) equals the
     clean run's;
   * ``PRAGMA integrity_check`` and the kill test's "nothing half-written" rules
     (``scripts/killtest.py``);
   * fetches per URL against the lease rule: every URL the clean run fetched was fetched
     (none lost), and a URL was fetched more often than in the clean run only as often as a
     killed worker held its lease when it died (``robots.txt``: once per worker process);
   * the frontier is empty (nothing queued or leased) and the writer's group has nothing
     pending.

It prints a line per kill and a tally, and exits 1 if a check failed. ``tests/test_distkill.py``
runs it with three kills and a fixed seed; ``docs/RELIABILITY.md`` has the last long run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from killtest import FIXTURE_SET, half_written, open_db  # noqa: E402
from killtest import crawl as single_crawl  # noqa: E402
from redis import Redis  # noqa: E402

from crawler import request_json  # noqa: E402
from crawler.fixtures import SIDECAR_SUFFIX  # noqa: E402
from crawler.goldens import RUN_IDS  # noqa: E402
from domain.frontier import STREAM_GROUP, STREAM_KEY, lease_keys, queue_key  # noqa: E402
from store.stream import retrying  # noqa: E402
from tests.redis_server import REDIS_SERVER, RedisServer  # noqa: E402

SPIDER = "africa"
TARGETS = ("worker", "writer", "redis")
LEASE_SECONDS = 3  # short: a killed worker's requests come back within the run
DOWNLOAD_DELAY = 0.25  # each worker's: the crawl lasts a few seconds, leases are held at a kill
IDLE_CLOSE = 2  # MAX_IDLE_TIME_BEFORE_CLOSE: a worker ends this long after the frontier empties
ENV = {
    **os.environ,
    "SCRAPY_SETTINGS_MODULE": "crawler.settings",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


@dataclass
class Kill:
    """What one kill did."""

    target: str
    at: float  # seconds since the distributed crawl started
    killed: bool  # False: the process had ended before the signal
    name: str = ""
    leased: list[str] = field(default_factory=list)  # a worker's leases at its death (URLs)
    sent: int = 0  # store calls the workers had sent when the kill came
    stored: int = 0  # messages the writer had applied then


@dataclass
class Crawl:
    """The processes of the distributed crawl (each restarted after its kill)."""

    workdir: Path
    redis: RedisServer
    store: Path
    settings: list[str]  # more NAME=VALUE settings of each worker
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    writer: subprocess.Popen[bytes] | None = None
    started: int = 0  # workers started in all

    def start_worker(self) -> None:
        self.started += 1
        name = f"{socket.gethostname()}:distkill-{self.started}"
        log = (self.workdir / f"worker-{self.started}.log").open("wb")
        command = [sys.executable, "-m", "scrapy", "crawl", SPIDER]
        for setting in (
            f"FIXTURES_REPLAY={FIXTURE_SET}", f"FRONTIER_URL={self.redis.url}",
            f"WORKER_NAME={name}", f"LEASE_SECONDS={LEASE_SECONDS}",
            f"MAX_IDLE_TIME_BEFORE_CLOSE={IDLE_CLOSE}", f"DOWNLOAD_DELAY={DOWNLOAD_DELAY}",
            "STORE_SUMMARY=False", "LOG_LEVEL=INFO", *self.settings,
        ):  # fmt: skip
            command += ["-s", setting]
        self.workers[name] = subprocess.Popen(
            command, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT
        )

    def start_writer(self) -> None:
        log = (self.workdir / "writer.log").open("ab")
        self.writer = subprocess.Popen(
            [sys.executable, "-m", "store.writer", str(self.store), "--from", self.redis.url,
             "--skip-check"],
            cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def entries(self) -> int:
        """The entries of the store's stream (the store calls the workers sent)."""
        redis = Redis.from_url(self.redis.url, **retrying(asynchronous=False))
        try:
            return int(redis.xlen(STREAM_KEY))
        finally:
            redis.close()

    def wait_for_entries(self, count: int) -> None:
        """Wait until the stream holds ``count`` entries, or no worker runs."""
        while self.running_workers() and self.entries() < count:
            time.sleep(0.02)

    def running_workers(self) -> list[str]:
        return [name for name, process in self.workers.items() if process.poll() is None]

    def kill(self, target: str, chance: random.Random, at: float) -> Kill:
        """SIGKILL ``target`` (a worker chosen by ``chance``), then start it again."""
        kill = Kill(target, at, killed=False, sent=self.entries(), stored=applied(self.store))
        if target == "worker":
            running = self.running_workers()
            if not running:
                return kill
            # a worker holding leases, where one does: its requests must come back
            holding = [name for name in running if leased_urls(self.redis.url, name)]
            kill.name = chance.choice(holding or running)
            process = self.workers[kill.name]
            process.send_signal(signal.SIGKILL)
            process.wait()
            kill.killed = True
            kill.leased = leased_urls(self.redis.url, kill.name)
            if self.started < 50:  # a bound: a worker restarted for each kill
                self.start_worker()
        elif target == "writer":
            assert self.writer is not None
            kill.killed = self.writer.poll() is None
            self.writer.send_signal(signal.SIGKILL)
            self.writer.wait()
            self.start_writer()
        else:
            assert self.redis.process is not None
            kill.killed = self.redis.process.poll() is None
            self.redis.stop(kill=True)
            self.redis.start()
        return kill

    def stop_all(self) -> None:
        """Stop whatever still runs (after a failure)."""
        for process in [*self.workers.values(), self.writer]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        self.redis.stop()


def applied(store: Path) -> int:
    """The stream messages the writer applied so far."""
    if not store.exists():
        return 0
    with open_db(store) as db:
        try:
            return int(db.execute("SELECT count(*) FROM stream_messages").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def leased_urls(url: str, worker: str) -> list[str]:
    """The URLs of the requests leased to ``worker`` now."""
    keys = lease_keys(queue_key(SPIDER))
    redis = Redis.from_url(url)
    try:
        urls = []
        for lease, about in redis.hgetall(keys["info"]).items():
            if json.loads(about)["worker"] == worker:
                data = redis.hget(keys["data"], lease)
                if data is not None:
                    urls.append(str(request_json.loads(data)["url"]))
        return sorted(urls)
    finally:
        redis.close()


def run(command: list[str]) -> str:
    """Run a ``python -m`` command of the project; its output (a failure is fatal)."""
    done = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=ENV, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {done.stderr[-2000:]}")
    return done.stdout


def export(store: Path) -> list[dict[str, Any]]:
    """The export of every version, the run's ids aside."""
    rows = [
        json.loads(line)
        for line in run(["-m", "store", "export", str(store), "--all-versions"]).splitlines()
    ]
    for row in rows:
        for key in RUN_IDS:
            row["provenance"].pop(key, None)
    return rows


def fetches_per_url(store: Path) -> Counter[str]:
    with open_db(store) as db:
        return Counter(url for (url,) in db.execute("SELECT requested_url FROM fetches"))


def lease_rule(
    reference: Counter[str], got: Counter[str], kills: list[Kill], workers: int
) -> list[str]:
    """What breaks the lease rule: a URL fetched less than in the clean run (lost), or more
    often than the leases killed workers held on it (robots.txt: once per worker process)."""
    allowed: Counter[str] = Counter()
    for kill in kills:
        allowed.update(kill.leased)
    problems = []
    for url in sorted(set(reference) | set(got)):
        if got[url] < reference[url]:
            problems.append(f"lost: {url} fetched {got[url]} times, {reference[url]} cleanly")
        limit = reference[url] + (workers - 1 if url.endswith("/robots.txt") else allowed[url])
        if got[url] > limit:
            problems.append(f"fetched {got[url]} times (at most {limit} allowed): {url}")
    return problems


def frontier_left(url: str) -> list[str]:
    """Requests still queued or leased, stream entries not acknowledged."""
    keys = lease_keys(queue_key(SPIDER))
    redis = Redis.from_url(url)
    try:
        problems = []
        if redis.zcard(keys["queue"]) or redis.zcard(keys["leases"]):
            problems.append(
                f"frontier not empty: {redis.zcard(keys['queue'])} queued, "
                f"{redis.zcard(keys['leases'])} leased"
            )
        pending = redis.xpending(STREAM_KEY, STREAM_GROUP)["pending"]
        if pending:
            problems.append(f"{pending} stream entries not acknowledged")
        return problems
    finally:
        redis.close()


def targets(kills: int, chance: random.Random) -> list[str]:
    """The process each kill hits: every block of three hits each once, in a random order."""
    order: list[str] = []
    while len(order) < kills:
        block = list(TARGETS)
        chance.shuffle(block)
        order += block
    return order[:kills]


def short(url: str) -> str:
    """The last segment of a URL's path, cut to 40 characters."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1][:40] or "/"


def describe(kill: Kill) -> str:
    if not kill.killed:
        return f"{kill.target}: it had ended"
    if kill.target == "worker":
        leases = ", ".join(short(url) for url in kill.leased) or "none"
        return f"worker {kill.name}, holding {len(kill.leased)} lease(s): {leases}"
    return f"{kill.target} (the writer had applied {kill.stored} messages)"


def main() -> int:
    """Run the clean crawl and the killed distributed one, print the kills and the checks; 0
    if every check passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=9, help="how many SIGKILLs (default 9)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random moments")
    parser.add_argument("--workers", type=int, default=2, help="workers at once (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep stores and logs here")
    parser.add_argument(
        "-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
        help="a setting of both crawls (e.g. DISCOVERY_BATCH=2), repeatable",
    )  # fmt: skip
    args = parser.parse_args()
    if REDIS_SERVER is None:
        print("error: redis-server is not installed (apt-get install redis-server)")
        return 2
    if args.kills < 0 or args.workers < 1:
        parser.error("--kills takes 0 or more, --workers 1 or more")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    chance = random.Random(seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="distkill-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for path in [*workdir.glob("*.db*"), *workdir.glob("*.log")]:
        path.unlink()
    shutil.rmtree(workdir / "redis", ignore_errors=True)  # a last run's AOF
    reference, store = workdir / "reference.db", workdir / "distributed.db"

    print(f"Distributed kill test: {args.kills} SIGKILLs to the workers, the writer and Redis")
    print(f"  seed {seed}, {args.workers} workers, stores and logs in {workdir}")
    # the clean crawl runs beside the distributed one: they share nothing
    clean = single_crawl(reference, *args.settings)
    crawl = Crawl(workdir, RedisServer(workdir / "redis"), store, args.settings)
    kills: list[Kill] = []
    try:
        crawl.redis.start()
        run(["-m", "store", "schedule", str(store), "--to", crawl.redis.url, "--section", SPIDER])
        crawl.start_writer()
        for _ in range(args.workers):
            crawl.start_worker()
        started = time.monotonic()
        # each kill comes once the workers have sent a random share of the crawl's store
        # calls (about one per recorded response, and each worker's begin and end), whatever
        # the machine's speed
        expected = len(list((ROOT / FIXTURE_SET).glob(f"*{SIDECAR_SUFFIX}"))) + 2 * args.workers
        moments = sorted(chance.randint(1, expected) for _ in range(args.kills))
        for number, (target, moment) in enumerate(
            zip(targets(args.kills, chance), moments, strict=True), 1
        ):
            crawl.wait_for_entries(moment)
            time.sleep(chance.uniform(0, 0.3))
            kill = crawl.kill(target, chance, time.monotonic() - started)
            kills.append(kill)
            print(
                f"  kill {number:>2} at {kill.at:5.2f} s, {kill.sent:>2} store calls sent: "
                f"{describe(kill)}",
                flush=True,
            )
        deadline = time.monotonic() + 180
        while crawl.running_workers():
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not end within 3 minutes")
            time.sleep(0.2)
        print(f"  the workers ended at {time.monotonic() - started:.2f} s")
        writer = crawl.writer
        assert writer is not None
        writer.send_signal(signal.SIGTERM)
        writer.wait(timeout=60)
        run(["-m", "store.writer", str(store), "--from", crawl.redis.url, "--drain",
             "--skip-check"])  # fmt: skip
        left = frontier_left(crawl.redis.url)
    finally:
        crawl.stop_all()
        _, errors = clean.communicate(timeout=300)
    if clean.returncode != 0:
        raise SystemExit(f"the clean crawl failed:\n{errors.decode(errors='replace')[-2000:]}")
    failed_workers = [
        name for name, process in crawl.workers.items() if process.returncode not in (0, -9)
    ]

    same = export(reference) == export(store)
    with open_db(store) as db:
        problems = half_written(db)
        named = {row[0] for row in db.execute("SELECT worker FROM crawls")}
    if not named <= set(crawl.workers):  # each worker's crawl record names it (WORKER_NAME)
        problems.append(f"crawl records of unknown workers: {sorted(named - set(crawl.workers))}")
    rule = lease_rule(fetches_per_url(reference), fetches_per_url(store), kills, crawl.started)
    print("Tally")
    for target in TARGETS:
        hit = [kill for kill in kills if kill.target == target]
        print(f"  {target + ' kills:':<40} {len(hit)} ({sum(k.killed for k in hit)} while running)")
    refetches = sum(len(kill.leased) for kill in kills)
    print(f"  {'leases held by killed workers:':<40} {refetches}")
    print(f"  {'worker processes in all:':<40} {crawl.started}")
    print(f"  {'workers that failed (not killed):':<40} {', '.join(failed_workers) or 'none'}")
    print(f"  {'export equals the clean run:':<40} {'yes' if same else 'NO'}")
    print(f"  {'integrity, nothing half-written:':<40} {'; '.join(problems) or 'ok'}")
    print(f"  {'fetches per URL (the lease rule):':<40} {'; '.join(rule) or 'ok'}")
    print(f"  {'frontier and stream at the end:':<40} {'; '.join(left) or 'empty'}")
    passed = same and not problems and not rule and not left and not failed_workers
    print(f"Result: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
