"""The shared frontier (crawler/frontier/) against a real Redis and real worker processes:
leases that outlive a killed worker, one polite pace and one cap of requests in flight per
host for all workers, and ``python -m store frontier``."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.settings import Settings

from crawler.fixtures import FixturesAddon
from crawler.frontier import HANDLER, QUEUE_CLASS, FrontierAddon
from crawler.frontier.lease import LeaseMiddleware
from crawler.frontier.scripts import LEASE_KEY_ROLES, POP, PUSH, RAISE, TAKE_SLOT
from crawler.frontier.worker import FrontierWorker
from domain.frontier import (
    STREAM_GROUP,
    STREAM_KEY,
    heartbeat,
    host_key,
    inflight_key,
    lease_keys,
    queue_key,
    worker_key,
)
from store.__main__ import main as store_main
from tests import redis_server as redis_fixtures
from tests.frontier_worker import DONE_KEY, SPIDER, FrontierSite
from tests.redis_server import RedisServer
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
KEYS = lease_keys(queue_key(SPIDER))
redis_server = redis_fixtures.redis_server  # the fixture: a real Redis for each test


def start_worker(server: RedisServer, site: FrontierSite, *settings: str) -> subprocess.Popen[str]:
    """``python -m tests.frontier_worker`` in its own process (its log in a pipe)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [a for pair in settings for a in ("-s", pair)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.frontier_worker", server.url, site.base, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str], timeout: float = 90) -> str:
    """Wait for ``worker`` to end by itself; its log."""
    try:
        _, log = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        _, log = worker.communicate()
        pytest.fail(f"the worker did not finish:\n{log[-3000:]}")
    assert worker.returncode == 0, log[-3000:]
    return log


def done_items(db: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(entry) for entry in db.lrange(DONE_KEY, 0, -1)]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def assert_frontier_empty(db: redis.Redis) -> None:
    """No request queued or leased, no count left behind."""
    for role in ("queue", "leases", "data", "info", "hosts", "host_of"):
        assert not db.exists(KEYS[role]), role


def test_every_end_of_a_request_ends_its_lease(redis_server: RedisServer) -> None:
    """A page, a retry (503), a redirect to a page already seen, a 404 and a dropped
    connection (to the errback), each held its lease until its item was through the
    pipeline, and no lease is left when the worker ends."""
    faults = {
        "/page/3": [503, "ok"],
        "/page/5": ["redirect:/page/6"],
        "/page/4": [404],
        "/page/8": ["drop"],
    }
    db = redis.Redis.from_url(redis_server.url)
    with FrontierSite(15, faults=faults) as site:
        finish(start_worker(redis_server, site))
    items = done_items(db)
    # /page/5 redirects to /page/6 (seen): 11 and 12 are never linked; /page/4 fails: 9, 10
    expected = {f"/page/{n}" for n in (0, 1, 2, 3, 4, 6, 7, 8, 13, 14)}
    assert Counter(path_of(item["url"]) for item in items) == Counter(expected)
    assert {path_of(item["url"]) for item in items if item["status"] == "failed"} == {
        "/page/4",
        "/page/8",
    }
    assert all(item["held"] for item in items), [i for i in items if not i["held"]]
    assert_frontier_empty(db)


def leased_paths(db: redis.Redis, worker: str) -> set[str]:
    """The pages leased to ``worker`` now."""
    paths = set()
    for lease, about in db.hgetall(KEYS["info"]).items():
        if json.loads(about)["worker"] == worker:
            request = pickle.loads(db.hget(KEYS["data"], lease))
            paths.add(path_of(request["url"]))
    return paths


def test_a_killed_workers_leases_go_to_another(
    redis_server: RedisServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Worker A is killed (SIGKILL) mid-crawl; worker B finishes: every page fetched and
    handed on, and only the pages A held leases on fetched twice."""
    db = redis.Redis.from_url(redis_server.url)
    with FrontierSite(40, delay=0.3) as site:
        first = start_worker(redis_server, site, "LEASE_SECONDS=2", "CONCURRENT_REQUESTS=6")
        deadline = time.monotonic() + 60
        while db.llen(DONE_KEY) < 8:
            assert first.poll() is None and time.monotonic() < deadline, "A ended too soon"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        workers = [json.loads(about)["worker"] for about in db.hvals(KEYS["info"])]
        assert workers, "A held no lease when it was killed"
        (killed,) = set(workers)
        lost_with_a = leased_paths(db, killed)
        assert db.exists(worker_key(killed))  # its heartbeat outlives it until it expires
        status, shown, _ = frontier_command(redis_server.url, capfd)
        assert status == 0
        assert f"{len(lost_with_a):>10}  leased to {killed}" in shown.splitlines()
        second = start_worker(redis_server, site, "LEASE_SECONDS=2")
        finish(second)
        fetched = Counter(path for _, path, _ in site.log)
    handed_on = Counter(path_of(item["url"]) for item in done_items(db))
    assert set(handed_on) == site.page_paths()  # none lost
    assert set(fetched) == site.page_paths()
    twice = {path for path, count in fetched.items() if count > 1}
    assert twice <= lost_with_a, (twice, lost_with_a)
    assert all(item["held"] for item in done_items(db))
    assert_frontier_empty(db)


def test_workers_keep_one_pace_per_host(redis_server: RedisServer) -> None:
    """Three workers against one host whose robots.txt asks for a Crawl-delay of 0.6 s,
    each with a DOWNLOAD_DELAY of 0.2 s: no two page requests closer than the Crawl-delay;
    a 429 with Retry-After: 2 seen by one holds all three for 2 s."""
    crawl_delay, pause, tolerance = 0.6, 2.0, 0.1
    robots = f"User-agent: *\nCrawl-delay: {crawl_delay}\nAllow: /\n"
    faults = {"/page/4": [429, "ok"]}
    db = redis.Redis.from_url(redis_server.url)
    with FrontierSite(12, faults=faults, robots=robots, retry_after=int(pause)) as site:
        settings = ("ROBOTSTXT_OBEY=True", "DOWNLOAD_DELAY=0.2")
        workers = [start_worker(redis_server, site, *settings) for _ in range(3)]
        for worker in workers:
            finish(worker)
        log = sorted(site.log)
    pages = [(at, path, rule) for at, path, rule in log if path != "/robots.txt"]
    assert {path for _, path, _ in pages} == site.page_paths()
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(pages)]
    assert min(gaps) >= crawl_delay - tolerance, gaps
    (paused_at,) = [at for at, _, rule in pages if rule == 429]
    after = [at for at, _, _ in pages if at > paused_at]
    assert after and after[0] >= paused_at + pause - tolerance
    assert len(done_items(db)) == 12


def stat(log: str, name: str) -> int:
    """A counter of the stats a worker logged at its end (0 when it has none)."""
    found = re.search(rf"'{re.escape(name)}': (\d+)", log)
    return int(found.group(1)) if found else 0


def test_workers_share_one_cap_of_requests_in_flight_per_host(
    redis_server: RedisServer,
) -> None:
    """Three workers, each allowed 2 requests in flight to a host, against one slow host: the
    host never has more than 2 at once from all of them, it had 2 (the cap is what held
    them), more than one worker fetched, and they waited for slots. (An idle worker looks at
    the queue every 5 s, Scrapy's heartbeat: the crawl lasts long enough for all to join.)"""
    db = redis.Redis.from_url(redis_server.url)
    with FrontierSite(48, delay=0.4) as site:
        settings = ("CONCURRENT_REQUESTS_PER_DOMAIN=2", "CONCURRENT_REQUESTS=2")
        workers = [start_worker(redis_server, site, *settings) for _ in range(3)]
        logs = [finish(worker) for worker in workers]
    assert {path for _, path, _ in site.log} == site.page_paths()
    assert site.most_in_flight == 2
    fetched = [stat(log, "downloader/response_count") for log in logs]
    assert sum(fetched) == 48 and sum(1 for n in fetched if n) >= 2, fetched
    assert sum(stat(log, "frontier/host_slot_waits") for log in logs) > 0
    assert not db.exists(inflight_key("127.0.0.1"))  # every slot given back
    assert len(done_items(db)) == 48


def test_a_killed_workers_slots_come_back(redis_server: RedisServer) -> None:
    """A worker killed with both of the host's slots taken gives nothing back: the next worker
    sends nothing to the host before they end (the download timeout plus a margin), then
    crawls every page."""
    db = redis.Redis.from_url(redis_server.url)
    slots = inflight_key("127.0.0.1")
    settings = ("CONCURRENT_REQUESTS_PER_DOMAIN=2", "DOWNLOAD_TIMEOUT=2", "LEASE_SECONDS=2")
    with FrontierSite(5, delay=1.0) as site:
        first = start_worker(redis_server, site, *settings)
        deadline = time.monotonic() + 60
        while site.in_flight < 2:  # /page/1 and /page/2, both A's
            assert first.poll() is None and time.monotonic() < deadline, "A ended too soon"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        killed_at = time.time()
        left = db.zrange(slots, 0, -1, withscores=True)  # token -> deadline, Redis's clock (ms)
        assert len(left) == 2
        slots_end = max(score for _, score in left) / 1000  # the same clock as time.time()
        finish(start_worker(redis_server, site, *settings))
    assert {path for _, path, _ in site.log} == site.page_paths()
    after_kill = [at for at, _, _ in site.log if at > killed_at]
    assert after_kill and min(after_kill) >= slots_end - 0.05, (min(after_kill), slots_end)
    assert site.most_in_flight == 2
    assert not db.exists(slots)


def test_hosts_take_turns_among_requests_of_one_priority(redis_server: RedisServer) -> None:
    """Four requests of a.example queued before two of b.example, all of one priority, and a
    request of a higher priority: the higher one first, then the hosts in turn (not every
    a.example request first, as their URLs would sort), each host's own in order."""
    db = redis.Redis.from_url(redis_server.url)
    keys = [KEYS[role] for role in LEASE_KEY_ROLES]
    push, pop = db.register_script(PUSH), db.register_script(POP)
    queued = [("a1", "a.example"), ("a2", "a.example"), ("a3", "a.example"),
              ("a4", "a.example"), ("b1", "b.example"), ("b2", "b.example")]  # fmt: skip
    for request, host in queued:
        push(keys=keys, args=[request, 0, host, ""])
    push(keys=keys, args=["urgent", -1, "a.example", ""])
    order = [pop(keys=keys, args=["w1", 60_000])[1].decode() for _ in range(7)]
    assert order == ["urgent", "a1", "b1", "a2", "b2", "a3", "a4"]


def frontier_command(url: str, capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``python -m store frontier URL``, in this process: status, stdout, stderr."""
    status = store_main(["frontier", url])
    out, err = capfd.readouterr()
    return status, out, err


def test_frontier_command_shows_queues_leases_stream_workers(
    redis_server: RedisServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """Requests queued and leased by the queue's own scripts, a worker's heartbeat, the
    store's stream with a group behind, a paused host: the command shows each."""
    db = redis.Redis.from_url(redis_server.url)
    keys = [KEYS[role] for role in LEASE_KEY_ROLES]
    push, pop, share = (db.register_script(code) for code in (PUSH, POP, RAISE))
    for n, host in enumerate(["a.example"] * 3 + ["b.example"] * 2):
        push(keys=keys, args=[f"request {n}", -n, host, ""])
    pop(keys=keys, args=["w1", 60_000])  # request 4 (b.example): the lowest score
    pop(keys=keys, args=["w1", 60_000])
    pop(keys=keys, args=["w2", 0])  # already expired
    db.set(worker_key("w1"), heartbeat("w1", SPIDER, time.time()), ex=60)
    db.xgroup_create(STREAM_KEY, STREAM_GROUP, id="0", mkstream=True)
    for n in range(4):
        db.xadd(STREAM_KEY, {"n": n})
    share(keys=[host_key("a.example")], args=["pause", 30_000, 60_000])
    take_slot = db.register_script(TAKE_SLOT)
    assert take_slot(keys=[inflight_key("b.example")], args=[2, "w1:1", 60_000]) == 1
    assert take_slot(keys=[inflight_key("b.example")], args=[2, "w2:1", 60_000]) == 1
    assert take_slot(keys=[inflight_key("b.example")], args=[2, "w2:2", 60_000]) == 0  # full
    status, out, err = frontier_command(redis_server.url, capfd)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert f"queue {KEYS['queue']}: 2 queued, 3 leased" in lines
    assert "         2  a.example" in lines  # requests 0 and 1 left
    assert "         2  leased to w1" in lines and "         1  leased to w2" in lines
    assert any("1 expired" in line for line in lines)
    assert f"stream {STREAM_KEY}: 4 entries" in lines
    assert any(line.startswith(f"  group {STREAM_GROUP}: lag 4") for line in lines)
    assert "workers seen in the last 60 s: 1" in lines
    assert any(
        line.startswith(f"  w1  spider {SPIDER}, 2 leases now, last heard") for line in lines
    )
    (paused,) = [line for line in lines if line.startswith("host a.example: paused ")]
    assert 0 < float(paused.split()[3]) <= 30  # seconds of the 30 s pause still to go
    assert "host b.example: 2 request(s) in flight" in lines


def test_frontier_command_unreachable_redis(capfd: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    status, out, err = frontier_command(url, capfd)
    assert status == 2 and out == ""
    assert err.startswith(f"error: cannot reach {url}: ") and err.count("\n") == 1
    status, _, err = frontier_command("http://127.0.0.1/", capfd)
    assert (
        status == 2
        and err == "error: http://127.0.0.1/ is not a Redis URL (redis://HOST:PORT/DB)\n"
    )


def test_the_addon_installs_the_frontier_over_the_projects_settings() -> None:
    """With the project's settings, the addon's queue, middlewares, extension and download
    handler are the ones Scrapy will build (the project's own handler is replaced)."""
    project = Settings()
    project.setmodule("crawler.settings", priority="project")
    assert project.getdict("DOWNLOAD_HANDLERS")["http"] != HANDLER
    FrontierAddon().update_settings(project)
    assert project["SCHEDULER_QUEUE_CLASS"] == QUEUE_CLASS
    handlers = project.getdict("DOWNLOAD_HANDLERS")
    assert (handlers["http"], handlers["https"]) == (HANDLER, HANDLER)
    for name in ("SPIDER_MIDDLEWARES", "DOWNLOADER_MIDDLEWARES"):
        components = project.get_component_priority_dict_with_base(name)
        assert components[LeaseMiddleware] == min(v for v in components.values() if v is not None)
    assert FrontierWorker in project.get_component_priority_dict_with_base("EXTENSIONS")
    kept = project.getdict("DOWNLOADER_MIDDLEWARES")  # the project's own are kept
    assert "crawler.middlewares.AddressGuardMiddleware" in kept


def test_the_addon_keeps_a_replays_handler() -> None:
    """In a replay the fixtures' handler stays: the addon never sends a replay to the network."""
    project = Settings()
    project.setmodule("crawler.settings", priority="project")
    project.set("FIXTURES_REPLAY", "fixtures/sputnik-africa", priority="cmdline")
    FixturesAddon().update_settings(project)
    replaying = project.getdict("DOWNLOAD_HANDLERS")["http"]
    FrontierAddon().update_settings(project)
    assert project.getdict("DOWNLOAD_HANDLERS")["http"] == replaying != HANDLER
    assert project["SCHEDULER_QUEUE_CLASS"] == QUEUE_CLASS


def test_a_fingerprint_is_recorded_only_with_its_request_queued(
    redis_server: RedisServer,
) -> None:
    """The shared duplicate filter only reads; the queue's push records the fingerprint and
    queues the request in one script. A worker that dies between the filter's answer and the
    push leaves the request unseen (its source's lease brings it back), and a push made twice
    (a retry after a lost reply, two workers racing) queues it once."""
    from scrapy import Request, Spider
    from scrapy.utils.test import get_crawler
    from scrapy_redis.scheduler import Scheduler

    from crawler.distributed import DUPEFILTER

    settings = {
        "REDIS_URL": redis_server.url,
        "SCHEDULER_QUEUE_CLASS": QUEUE_CLASS,
        "DUPEFILTER_CLASS": DUPEFILTER,
        "SCHEDULER_QUEUE_KEY": "test:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": "test:%(spider)s:dupefilter",
        "SCHEDULER_SERIALIZER": "crawler.request_json",
    }
    crawler = get_crawler(Spider, settings)
    spider = Spider.from_crawler(crawler, name="fingerprints")
    scheduler = Scheduler.from_crawler(crawler)
    scheduler.open(spider)
    db = redis.Redis.from_url(redis_server.url)
    queued = "test:fingerprints:requests"
    url = "https://a.example/page"
    assert not scheduler.df.request_seen(Request(url))  # the worker dies here: no push
    assert not db.exists("test:fingerprints:dupefilter")
    assert scheduler.enqueue_request(Request(url))
    assert (db.zcard(queued), db.scard("test:fingerprints:dupefilter")) == (1, 1)
    assert not scheduler.enqueue_request(Request(url))  # seen now, by every worker
    # two workers both told "not seen" (or one push sent twice): queued once
    one, other = Request(url + "?2"), Request(url + "?2")
    assert not scheduler.df.request_seen(one) and not scheduler.df.request_seen(other)
    scheduler.queue.push(one)
    scheduler.queue.push(other)
    assert db.zcard(queued) == 2
    scheduler.close("finished")
