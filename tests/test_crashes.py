"""Crashes and concurrency: SIGKILL, SIGINT and JOBDIR, a locked store, a reader during a
crawl, and a full disk. Every crawl runs in a subprocess through the real Scrapy engine.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from datasette.app import Datasette
from sqlite_utils import Database

from store import Store
from store.metadata import load_metadata
from tests.conftest import AFRICA
from tests.crawling import ROOT, replay, run_crawl
from tests.datasette_client import Client
from tests.mockserver import read_log, serve_fixture_set

LOCAL_SPIDER = str(ROOT / "tests" / "local_section_spider.py")
KILLTEST = ROOT / "scripts" / "killtest.py"


def load_killtest() -> ModuleType:
    """``scripts/killtest.py`` as a module, for its store checks."""
    spec = importlib.util.spec_from_file_location("killtest", KILLTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("killtest", module)
    spec.loader.exec_module(module)
    return module


def problems(store: Path) -> list[str]:
    """What the kill script finds wrong with a store (integrity, half-written items)."""
    db = sqlite3.connect(store)
    try:
        found: list[str] = load_killtest().half_written(db)
    finally:
        db.close()
    return found


def crawls(store: Path) -> list[dict[str, Any]]:
    """The crawl rows, oldest first."""
    return list(Database(store).query("select * from crawls order by started_at"))


def start_local_crawl(folder: Path, port: int, *settings: str) -> subprocess.Popen[str]:
    """Start the section spider against the local server, into ``folder/w.db``."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "scrapy", "runspider", LOCAL_SPIDER,
        "-a", f"section_url=http://127.0.0.1:{port}/africa/",
        "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", "STORE_PATH=w.db",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
    ]  # fmt: skip
    for setting in settings:
        command += ["-s", setting]
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def slow_articles(seconds: float) -> dict[str, list[dict[str, Any]]]:
    """Fault rules that delay every recorded article page by ``seconds``."""
    from crawler.fixtures import index_fixture_set
    from tests.mockserver import path_key

    return {
        path_key(f.url): [{"delay": seconds}]
        for f in index_fixture_set(AFRICA).values()
        if "/2023" in f.url
    }


def wait_for(condition: Any, timeout: float = 30) -> None:
    """Poll until ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_the_kill_script_finds_nothing_lost_after_a_few_kills(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(KILLTEST), "--kills", "3", "--workdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert re.search(r"stores failing a check after a kill: +0\n", done.stdout)
    assert re.search(r"re-run equals the uninterrupted crawl: +yes ", done.stdout)
    assert done.stdout.count(" kill ") == 3


def test_half_written_finds_a_version_without_blocks(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    replay(store, "-s", "STORE_SUMMARY=False")
    assert problems(store) == []
    db = sqlite3.connect(store)
    with db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("DELETE FROM blocks WHERE version_id = (SELECT min(id) FROM versions)")
    db.close()
    assert problems(store) == ["version without its blocks: 1"]


def test_sigint_stops_gracefully_and_records_why(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with serve_fixture_set(AFRICA, slow_articles(1.0), log) as port:
        crawl = start_local_crawl(tmp_path, port, "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        wait_for(lambda: any("/2023" in e["path"] for e in read_log(log)))
        crawl.send_signal(signal.SIGINT)
        stdout, stderr = crawl.communicate(timeout=60)
    # ``scrapy runspider`` is Scrapy's own command (exit 0); ``scrapy crawl`` exits 3 for a
    # shutdown (crawler.commands.crawl.EXIT_CODES, tests/test_exit_codes.py)
    assert crawl.returncode == 0, stderr[-2000:]
    (row,) = crawls(tmp_path / "w.db")
    assert row["finish_reason"] == "shutdown"
    assert row["finished_at"] is not None
    assert problems(tmp_path / "w.db") == []
    db = Database(tmp_path / "w.db")
    articles = next(db.query("select count(*) as n from articles"))["n"]
    assert 0 < articles < 16  # the requests in flight finished; the rest were not started
    assert "Crawl: " in stdout  # the summary is printed


def test_a_crawl_stopped_with_sigint_resumes_from_jobdir(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with serve_fixture_set(AFRICA, slow_articles(0.5), log) as port:
        first = start_local_crawl(tmp_path, port, "JOBDIR=job", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
        wait_for(lambda: sum("/2023" in e["path"] for e in read_log(log)) >= 2)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
        second = start_local_crawl(tmp_path, port, "JOBDIR=job", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
        _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr[-2000:]
    assert [row["finish_reason"] for row in crawls(tmp_path / "w.db")] == ["shutdown", "finished"]
    db = Database(tmp_path / "w.db")
    assert next(db.query("select count(*) as n from articles"))["n"] == 16
    article_requests = [e["path"] for e in read_log(log) if "/2023" in e["path"]]
    assert len(article_requests) == len(set(article_requests)) == 17  # none twice, with the 404


def test_a_locked_store_makes_the_crawl_wait_not_fail(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    Store(store).close()
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(ROOT)}
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "africa",
         "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={store}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(6)  # longer than sqlite3's default 5 s timeout
    assert crawl.poll() is None  # still waiting for the lock
    writer.execute("COMMIT")
    writer.close()
    _, stderr = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, stderr[-2000:]
    (row,) = crawls(store)
    assert row["finish_reason"] == "finished"
    assert next(Database(store).query("select count(*) as n from articles"))["n"] == 16


def test_datasette_reads_committed_data_while_a_crawl_writes(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    Store(store).close()
    client = Client(Datasette(files=[str(store)], metadata=load_metadata(store)))
    seen: list[tuple[bool, int]] = []  # (crawl still running, fetches seen)
    try:
        with serve_fixture_set(AFRICA, slow_articles(0.3)) as port:
            crawl = start_local_crawl(tmp_path, port, "CONCURRENT_REQUESTS_PER_DOMAIN=2")
            while crawl.poll() is None:
                response = client.get("/w/crawl_log.json", _shape="array")
                assert response.status_code == 200, response.text
                rows = response.json()
                seen.append((crawl.poll() is None, sum(r["fetches"] for r in rows)))
                time.sleep(0.1)
            _, stderr = crawl.communicate(timeout=60)
    finally:
        client.close()
    assert crawl.returncode == 0, stderr[-2000:]
    (row,) = crawls(store)
    assert row["finish_reason"] == "finished"
    counts = [n for _, n in seen]
    assert counts == sorted(counts)  # committed rows only, never a rolled-back one
    assert any(running for running, _ in seen)  # read while the crawl was writing
    assert json.loads(row["stats"]).get("store/error/store_error") is None


def test_a_full_store_stops_the_crawl_with_earlier_items_intact(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    # room for a few articles past what an empty store takes (which grows with each migration)
    Store(store).close()
    limit = store.stat().st_size // 4096 + 6
    run = run_crawl(
        "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={store}",
        "-s", f"STORE_MAX_PAGES={limit}",
    )  # fmt: skip
    assert run.returncode == 4, run.stderr[-2000:]  # README *Exit codes*: store_full
    assert "stopping the crawl (store_full)" in run.stderr
    # each dropped item is named in one short line, not printed whole (body and blocks)
    assert "Dropped: store write failed" in run.stderr
    assert "ArticleItem ok https://sputnikglobe.com/" in run.stderr
    assert "body=b'" not in run.stderr
    (row,) = crawls(store)
    assert row["finish_reason"] == "store_full"
    assert problems(store) == []
    db = Database(store)
    stored = next(db.query("select count(*) as n from articles"))["n"]
    assert 0 < stored < 16
    fetches = next(db.query("select count(*) as n from fetches"))["n"]
    assert fetches < 20


def writer_pid(crawl: subprocess.Popen[str]) -> int | None:
    """The pid of the crawl's store writer process (``python -m store.writer``), once started."""
    for child in Path(f"/proc/{crawl.pid}/task/{crawl.pid}/children").read_text().split():
        if "store.writer" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
            return int(child)
    return None


def stored_fetches(store: Path) -> int:
    """How many fetches the store holds (0 while it has no file or table yet), read without
    creating the file or keeping it open (an open read would block the crawl's switch to WAL)."""
    if not store.exists():
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return int(db.execute("select count(*) from fetches").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_a_writer_that_stops_answering_mid_crawl_stops_the_crawl(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    with serve_fixture_set(AFRICA, slow_articles(0.5)) as port:
        crawl = start_local_crawl(tmp_path, port, "STORE_WRITER_TIMEOUT=2")
        try:
            wait_for(lambda: crawl.poll() is not None or stored_fetches(store) >= 3, timeout=120)
            assert crawl.poll() is None, crawl.communicate()[1][-3000:]
            pid = writer_pid(crawl)
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)  # the writer hangs: alive, never answering
            _, stderr = crawl.communicate(timeout=120)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert "the store writer did not answer within 2 s" in stderr
    assert "stopping the crawl (store_timeout)" in stderr
    assert "Spider closed (store_timeout)" in stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert problems(store) == []  # the write it held was rolled back whole
    (row,) = crawls(store)
    assert row["finish_reason"] is None  # its end could not be recorded, and says so
    assert "is not recorded in" in stderr


def test_a_store_locked_longer_than_the_timeout_ends_the_crawl_before_any_fetch(
    tmp_path: Path,
) -> None:
    store = tmp_path / "w.db"
    Store(store).close()
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # held past STORE_WRITER_TIMEOUT
    try:
        run = run_crawl("-s", "FIXTURES_REPLAY=fixtures/sputnik-africa",
                        "-s", f"STORE_PATH={store}", "-s", "STORE_WRITER_TIMEOUT=2")  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert run.returncode == 8, run.stderr[-2000:]  # README *Exit codes*: store_timeout
    assert "Crawl ended: store_timeout" in run.stdout
    assert "stopping the crawl (store_timeout)" in run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "downloader/request_count" not in run.stderr  # nothing was fetched
    assert crawls(store) == [] and problems(store) == []
