"""The store's writer process (``store.writer``): the protocol, a real child process, and how
errors and a lost child come back to the crawl."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from store import SaveResult, Store, StoreError
from store.protocol import BeginCrawl, OpenStore, SaveArticle, Summary
from store.writer import (
    HEADER,
    WriterClient,
    WriterError,
    frame,
    read_frame,
    reraise,
    serve,
    widen_pipe,
)
from tests.test_store import article_fetch, make_article, make_crawl

ROOT = Path(__file__).resolve().parent.parent


def exchange(requests: list[Any]) -> list[tuple[Any, ...]]:
    """Run ``serve`` on the requests; the replies, in order."""
    out = io.BytesIO()
    serve(io.BytesIO(b"".join(frame(r) for r in requests)), out)
    replies = io.BytesIO(out.getvalue())
    found = []
    while (reply := read_frame(replies)) is not None:
        found.append(reply)
    return found


def test_serve_answers_every_request_in_order(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    article = make_article()
    replies = exchange(
        [
            OpenStore(str(path)),
            BeginCrawl(make_crawl()),
            SaveArticle(article_fetch(article), article),
            SaveArticle(article_fetch(article, fetched_at="2024-05-02T10:00:00Z"), article),
            Summary("crawl-1"),
        ]
    )
    assert [r[0] for r in replies] == ["ok"] * 5
    first, again = replies[2][1], replies[3][1]
    assert isinstance(first, SaveResult) and first.new_version and first.version == 1
    assert isinstance(again, SaveResult) and not again.new_version
    assert replies[4][1]["articles"] == 1
    with Store(path) as store:  # serve closed it at the end of its input: all was committed
        assert store.db.table("fetches").count == 2


def test_serve_sends_errors_back_and_goes_on(tmp_path: Path) -> None:
    replies = exchange(
        [
            BeginCrawl(make_crawl()),  # before "open"
            OpenStore(str(tmp_path / "wire.db")),
            BeginCrawl(make_crawl()),
            BeginCrawl(make_crawl()),  # the same crawl id again: the store refuses
            ("close", ()),  # not a store request: a method name is no request
            "db",
            OpenStore(str(tmp_path / "other.db")),
            Summary("crawl-1"),
        ]
    )
    kinds = [r[0] if r[0] == "ok" else r[1] for r in replies]
    assert kinds == [
        "WriterError",
        "ok",
        "ok",
        "StoreError",
        "WriterError",
        "WriterError",
        "WriterError",
        "ok",
    ]
    assert "already" in replies[3][2]


def test_a_cut_off_request_is_never_run(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    article = make_article()
    whole = frame(OpenStore(str(path))) + frame(BeginCrawl(make_crawl()))
    cut = frame(SaveArticle(article_fetch(article), article))
    out = io.BytesIO()
    serve(io.BytesIO(whole + cut[: len(cut) // 2]), out)
    with Store(path) as store:
        assert store.db.table("crawls").count == 1
        assert store.db.table("fetches").count == 0
    assert read_frame(io.BytesIO(b"\x00\x00")) is None
    assert read_frame(io.BytesIO(HEADER.pack(10) + b"short")) is None


def test_errors_come_back_as_the_same_classes() -> None:
    assert isinstance(reraise("StoreError", "no"), StoreError)
    full = reraise("sqlite3.OperationalError", "database or disk is full")
    assert type(full) is sqlite3.OperationalError and str(full) == "database or disk is full"
    assert type(reraise("sqlite3.IntegrityError", "x")) is sqlite3.IntegrityError
    assert type(reraise("sqlite3.NoSuchThing", "x")) is sqlite3.Error
    assert type(reraise("sqlite3.connect", "x")) is sqlite3.Error  # a name, but no error class
    other = reraise("KeyError", "'x'")
    assert isinstance(other, WriterError) and "KeyError" in str(other)


def test_widen_pipe_gives_a_pipe_room_for_whole_pages() -> None:
    read, write = os.pipe()
    try:
        size = widen_pipe(write)
        if not sys.platform.startswith("linux"):
            pytest.skip("pipe sizes are a Linux setting")
        max_size = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        assert size == min(max_size, 1 << 20)
    finally:
        os.close(read)
        os.close(write)


async def _crawl_through_child(path: Path) -> tuple[list[Any], int]:
    client = await WriterClient.start(path)
    article = make_article()
    results = await asyncio.gather(
        client.begin_crawl(make_crawl()),
        client.save_article(article_fetch(article), article),
        client.summary("crawl-1"),
        return_exceptions=True,
    )
    with pytest.raises(StoreError):
        await client.begin_crawl(make_crawl())
    status = await client.close()
    return list(results), status


def test_client_runs_the_store_in_a_child_process(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    results, status = asyncio.run(_crawl_through_child(path))
    assert results[0] is None
    assert isinstance(results[1], SaveResult) and results[1].new_version
    assert results[2]["articles"] == 1
    assert status == 0
    with Store(path) as store:
        assert store.db.table("versions").count == 1


async def _lose_the_child(path: Path) -> tuple[BaseException | None, BaseException | None]:
    client = await WriterClient.start(path)
    await client.begin_crawl(make_crawl())
    client.process.kill()
    client.process.wait()
    pending = client.summary("crawl-1")  # sent, or refused, as the pipe closes
    lost: BaseException | None = None
    try:
        await asyncio.wait_for(pending, timeout=10)
    except Exception as error:
        lost = error
    later: BaseException | None = None
    try:
        await client.summary("crawl-1")
    except Exception as error:
        later = error
    await client.close()
    return lost, later


def test_a_lost_child_fails_the_waiting_and_later_calls(tmp_path: Path) -> None:
    lost, later = asyncio.run(_lose_the_child(tmp_path / "wire.db"))
    assert isinstance(lost, WriterError) and "gone" in str(lost)
    assert isinstance(later, WriterError) and "gone" in str(later)


def _writer_pids(store: Path) -> list[int]:
    """The pids of running ``store.writer`` processes serving ``store``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"store.writer" in argv and str(store).encode() in argv:
            found.append(int(proc.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the writer")
def test_the_writer_ends_when_the_crawl_is_killed(tmp_path: Path) -> None:
    store = tmp_path / "wire.db"
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": "crawler.settings",
        "PYTHONPATH": str(ROOT),
    }
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "africa", "-s", f"STORE_PATH={store}",
         "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", "DOWNLOAD_DELAY=0.5"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _writer_pids(store):
            assert crawl.poll() is None, "the crawl ended before its writer was seen"
            assert time.monotonic() < deadline, "no writer process appeared"
            time.sleep(0.05)
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()
        deadline = time.monotonic() + 30
        while _writer_pids(store):
            assert time.monotonic() < deadline, "the writer outlived its crawl"
            time.sleep(0.05)
    finally:
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_the_client_needs_a_running_loop(tmp_path: Path) -> None:
    starting = WriterClient.start(tmp_path / "wire.db")
    with pytest.raises(WriterError, match="TWISTED_REACTOR"):
        starting.send(None)
    assert not (tmp_path / "wire.db").exists()
