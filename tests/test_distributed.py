"""The distributed crawl (issue 15): the store stream's codec, its writer, workers on a frontier.

Workers (``scrapy crawl africa -s FRONTIER_URL=…``) run against a real ``redis-server``
(:mod:`tests.redis_server`); the store writer is ``python -m store.writer … --from URL``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from test_store import article_fetch, failed_fetch, make_article, make_crawl, make_listing

from crawler.config import setting_problems
from crawler.goldens import RUN_IDS, read_export_snapshot
from domain.frontier import SEEDS_KEY, STATS_KEY
from store import Store
from store.metadata import YAML_DATABASE, read_yaml
from store.protocol import (
    REQUESTS,
    BeginCrawl,
    FinishCrawl,
    LimitPages,
    SaveArticle,
    SaveDiscovery,
    SaveFetch,
    SaveListing,
    Summary,
)
from store.stream import FIELD, REJECTED_KEY, STREAM_KEY, CodecError, Message, decode, encode
from store.stream_writer import StreamWriter
from tests.crawling import CONTACT, ROOT
from tests.redis_server import RedisServer, redis_server  # noqa: F401 (a fixture)

FIXTURES = "fixtures/sputnik-africa"
ENV = {
    **os.environ,
    "SCRAPY_SETTINGS_MODULE": "crawler.settings",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def every_request() -> list[Any]:
    """One request of each kind, with the records a crawl makes (bytes, nested dataclasses,
    tuples, dicts)."""
    article = make_article()
    fetch = article_fetch(article)
    listing_fetch, listing, section = make_listing([article.url, article.url + "?x=1"])
    return [
        LimitPages(1000),
        BeginCrawl(make_crawl()),
        SaveArticle(fetch, article),
        SaveListing(listing_fetch, listing, section),
        SaveFetch(failed_fetch(article.url, "not_found")),
        SaveDiscovery(listing_fetch, listing, "rss"),
        FinishCrawl("crawl-1", "2024-05-01T10:00:00Z", "finished", {"a/b": 1, "c": 2.5}),
        Summary("crawl-1"),
    ]


def test_every_request_survives_the_codec() -> None:
    requests = every_request()
    assert {type(request) for request in requests} == set(REQUESTS)
    for request in requests:
        message = Message(request, reply_to="reply-key")
        text = encode(message)
        json.loads(text)  # plain JSON, readable by anything
        assert decode(text) == message
        assert decode(text.encode()) == message


def test_a_queued_request_is_json_and_comes_back_whole() -> None:
    from scrapy import Request
    from scrapy.utils.request import request_from_dict

    from crawler import request_json

    request = Request(
        "https://sputnikglobe.com/africa/?x=1",
        method="POST",
        body=b"\x00\xff body",
        headers={"Referer": "https://sputnikglobe.com/", "X-Two": ["a", "b"]},
        meta={"wire_kind": "listing", "wire_page_number": 2, "redirect_urls": ["https://a/"],
              "pair": ("a", 1), "__bytes__": "a key like a tag"},
        priority=1,
    )  # fmt: skip
    text = request_json.dumps(request.to_dict())
    again = request_from_dict(request_json.loads(text.encode()))
    assert again.to_dict() == request.to_dict()
    assert "pickle" not in text and json.loads(text)["url"] == request.url
    with pytest.raises(TypeError, match="frontier cannot keep"):
        request_json.dumps(Request("https://a/", meta={"x": object()}).to_dict())


def test_the_codec_refuses_what_it_does_not_write() -> None:
    good = json.loads(encode(Message(SaveFetch(failed_fetch("https://a.example/x", "failed")))))
    for bad in (
        b"\x80\x04\x95",  # a pickle
        "[]",
        json.dumps({**good, "v": 99}),
        json.dumps({**good, "request": {"__type__": "Popen", "fields": {}}}),
        json.dumps({**good, "request": {"__type__": "FetchRecord", "fields": {"nope": 1}}}),
        json.dumps({**good, "request": {"__type__": "CrawlRecord", "fields": {}}}),
        json.dumps({**good, "request": "SaveFetch"}),
    ):
        with pytest.raises(CodecError):
            decode(bad)


def stream_messages(store: Path) -> int:
    """The messages the writer applied (0 before it has made the store)."""
    try:
        with sqlite3.connect(store) as db:
            return int(db.execute("SELECT count(*) FROM stream_messages").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def fetch_count(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM fetches").fetchone()[0])


def test_an_entry_delivered_twice_is_stored_once(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    redis = Redis.from_url(redis_server.url)
    begin = Message(BeginCrawl(make_crawl()))
    article = make_article()
    save = Message(SaveArticle(article_fetch(article), article))
    for message in (begin, save, save):  # the same message sent again (a retried XADD)
        redis.xadd(STREAM_KEY, {FIELD: encode(message)})
    redis.xadd(STREAM_KEY, {FIELD: b"not json"})
    store_path = tmp_path / "wire.db"
    with Store(store_path) as store:
        writer = StreamWriter(store, redis)
        writer.create_group()
        # a writer that committed the first entry and died before its XACK
        first = writer.read(pending=False)[0]
        writer.write(*first[:1], decode(first[1][FIELD.encode()]))
        writer.run(drain=True)  # the next run reads it again: pending
        assert writer.counts.applied == 2  # the begin (before the "death"), the article
        assert writer.counts.repeated == 2  # the begin read again, the article sent twice
        assert writer.counts.rejected == 1
    assert fetch_count(store_path) == 1
    assert stream_messages(store_path) == 2
    assert redis.xpending(STREAM_KEY, "writer")["pending"] == 0
    (rejected,) = redis.xrange(REJECTED_KEY)
    assert b"not a store message" in rejected[1][b"why"]


def test_schedule_pushes_the_start_and_the_rechecks_into_the_frontier(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    from domain.frontier import DUPEFILTER_KEY
    from store.__main__ import main as store_main
    from store.seeds import Seed, decode_seed

    store_path = tmp_path / "wire.db"
    articles = [make_article(f"https://sputnikglobe.com/2024050{n}/a-{n}.html") for n in (1, 2)]
    with Store(store_path) as store:
        store.begin_crawl(make_crawl())
        store.save_listing(*make_listing([a.url for a in articles]))
        for article in articles:
            store.save_article(article_fetch(article), article)
    redis = Redis.from_url(redis_server.url)
    redis.sadd(DUPEFILTER_KEY % {"spider": "africa"}, "a fingerprint of the last round")
    args = ["schedule", str(store_path), "--to", redis_server.url]
    assert store_main([*args, "--recheck", "all"]) == 0  # the store lists the section
    assert "Scheduled africa: its start and 2 rechecks (a new round)" in capsys.readouterr().out
    assert not redis.exists(DUPEFILTER_KEY % {"spider": "africa"})
    seeds = [decode_seed(data) for data in redis.lrange(SEEDS_KEY % {"name": "africa"}, 0, -1)]
    assert seeds[0] == Seed("start")
    assert sorted(seed.url or "" for seed in seeds[1:]) == sorted(a.url for a in articles)
    # judged long after they were published, under the default schedule: none is due
    assert store_main([*args, "--now", "2030-01-01T00:00:00Z"]) == 0
    assert "its start and 0 rechecks" in capsys.readouterr().out
    assert store_main([*args, "--now", "yesterday"]) == 2
    assert store_main(["schedule", str(tmp_path / "none.db"), "--to", redis_server.url]) == 2
    assert "name a section (--section africa)" in capsys.readouterr().err


def worker(url: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    """A worker replaying the fixture set into the frontier (as its export snapshot was made:
    every discovery source, those the set has no recording of answering 404)."""
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "africa", "-s", f"FIXTURES_REPLAY={FIXTURES}",
         "-s", f"FRONTIER_URL={url}", "-s", "STORE_SUMMARY=False",
         "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1", *args],
        cwd=ROOT, env=ENV, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def finished(workers: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    for process, log in zip(workers, logs, strict=True):
        assert process.wait(timeout=120) == 0, log.read_text()[-3000:]
        assert "Crawl ended: finished" in log.read_text()


def schedule(store: Path, url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "store", "schedule", str(store), "--to", url, "--section",
         "africa"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Scheduled africa: its start and 0 rechecks" in done.stdout


def writer(store: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "store.writer", str(store), "--from", url, *args],
        cwd=ROOT, env=ENV, stderr=subprocess.PIPE,
    )  # fmt: skip


def export(store: Path) -> list[dict[str, Any]]:
    """The JSONL export of every version, the run's ids aside (as the snapshot is made)."""
    run = subprocess.run(
        [sys.executable, "-m", "store", "export", str(store), "--all-versions"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    for row in rows:
        for key in RUN_IDS:
            row["provenance"].pop(key)
    return rows


@pytest.fixture(scope="module")
def single_export() -> list[dict[str, Any]]:
    """The export of the same replay crawled in one process: the set's reviewed snapshot
    (``crawler.goldens``; ``tests/test_goldens.py`` checks a fresh replay still makes it)."""
    snapshot = read_export_snapshot(ROOT / FIXTURES)
    assert len(snapshot) == 16
    return snapshot


def test_two_workers_and_a_writer_killed_midway_store_what_one_process_does(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    single_export: list[dict[str, Any]],
) -> None:
    url = redis_server.url
    store = tmp_path / "wire.db"
    schedule(store, url)
    assert not store.exists()  # the workers need no store, and schedule made none
    logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
    workers = [worker(url, log) for log in logs]
    finished(workers, logs)
    assert not store.exists()
    sent = Redis.from_url(url).xlen(STREAM_KEY)
    assert sent >= 25  # each worker's begin and end, 21 fetches (robots.txt once a worker)
    totals = Redis.from_url(url).hgetall(STATS_KEY % {"spider": "africa"})
    assert int(totals[b"store/sent"]) == sent - 4  # the round's counters, over both workers

    first = writer(store, url)
    while not store.exists() or stream_messages(store) < 3:  # killed once it is under way
        assert first.poll() is None, first.communicate()[1]
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    again = writer(store, url, "--drain")
    _, errors = again.communicate(timeout=60)
    assert again.returncode == 0, errors
    assert stream_messages(store) == sent
    assert export(store) == single_export
    with sqlite3.connect(store) as db:
        crawls = db.execute("SELECT count(*) FROM crawls WHERE finished_at IS NOT NULL")
        assert crawls.fetchone()[0] == 2  # one crawl record per worker, each ended
        # each names its worker (no WORKER_NAME: HOST:PID), and the crawl log shows it
        names = {f"{socket.gethostname()}:{process.pid}" for process in workers}
        assert {row[0] for row in db.execute("SELECT worker FROM crawls")} == names
        sql = read_yaml()["databases"][YAML_DATABASE]["queries"]["crawl_log"]["sql"]
        shown = {row[2]: row[6] for row in db.execute(sql, {"page": ""})}  # worker -> fetches
        assert set(shown) == names and sum(shown.values()) == fetch_count(store)


def test_a_worker_rides_out_a_redis_restart(
    tmp_path: Path,
    redis_server: RedisServer,  # noqa: F811
    single_export: list[dict[str, Any]],
) -> None:
    url = redis_server.url
    store = tmp_path / "wire.db"
    schedule(store, url)
    redis_server.stop()  # the seeds are in the AOF
    redis_server.start()
    assert Redis.from_url(url).llen(SEEDS_KEY % {"name": "africa"}) == 1
    log = tmp_path / "worker.log"
    # slow enough that the restart falls mid-crawl
    process = worker(url, log, "-s", "DOWNLOAD_DELAY=0.25")
    redis = Redis.from_url(url)
    while redis.xlen(STREAM_KEY) < 3:
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.01)
    redis.close()
    redis_server.stop()
    redis_server.start()
    finished([process], [log])
    done = writer(store, url, "--drain")
    _, errors = done.communicate(timeout=60)
    assert done.returncode == 0, errors
    assert export(store) == single_export


def test_a_worker_needs_a_redis_url() -> None:
    from scrapy.settings import Settings

    from crawler import settings as project

    def problems(url: str) -> list[str]:
        values = {name: getattr(project, name) for name in project.PROJECT_SETTINGS}
        return setting_problems(Settings({**values, "CONTACT": CONTACT, "FRONTIER_URL": url}))

    assert problems("redis://127.0.0.1:6379/0") == []
    (problem,) = problems("http://localhost:6379")
    assert problem.startswith("FRONTIER_URL=http://localhost:6379: not a redis:// URL")
    (problem,) = problems("redis://localhost:6379/zero")
    assert "the database must be a number" in problem


def test_a_worker_name_is_one_printable_word() -> None:
    from scrapy.settings import Settings

    from crawler import settings as project

    def problems(name: str) -> list[str]:
        values = {key: getattr(project, key) for key in project.PROJECT_SETTINGS}
        return setting_problems(Settings({**values, "CONTACT": CONTACT, "WORKER_NAME": name}))

    assert problems("eu-1:worker-3") == [] and problems("") == []
    for bad in ("two words", "tab\there", "x" * 101):
        (problem,) = problems(bad)
        assert problem.endswith("must be printable, without spaces, at most 100 characters")


def test_schedule_and_crawl_share_the_default_recheck_schedule() -> None:
    from crawler import settings as project
    from store.schedule import DEFAULT_RECHECK_SCHEDULE

    assert project.RECHECK_SCHEDULE == DEFAULT_RECHECK_SCHEDULE


def test_the_writer_needs_a_redis_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "store.writer", str(tmp_path / "w.db"), "--from", "localhost"],
        cwd=ROOT, env=ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: --from localhost: not a")


def test_codec_classes_are_dataclasses_of_the_protocol() -> None:
    from store.stream import CLASSES

    assert set(REQUESTS) <= set(CLASSES.values())
    assert all(dataclasses.is_dataclass(cls) for cls in CLASSES.values())
