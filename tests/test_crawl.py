"""Replay crawls of fixtures/sputnik-africa through the real Scrapy engine into a real store."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from tests.crawling import CONTACT, ROOT, replay, run_crawl

DOUBLY_LISTED = (
    "https://sputnikglobe.com/20230116/"
    "nigerias-electoral-commission-extends-voter-card-collection-ahead-of-february-elections"
    "-1106399876.html"
)
GONE = (
    "https://sputnikglobe.com/20230113/"
    "malis-transitional-authorities-set-date-for-constitutional-referendum-1106350710.html"
)


def count(db: Database, sql: str, params: tuple[Any, ...] = ()) -> int:
    return int(next(iter(db.execute(sql, params).fetchone() or (0,))))


def outcomes(db: Database) -> dict[str, int]:
    rows = db.execute("select outcome, count(*) from fetches group by outcome").fetchall()
    return dict(rows)


def export(store: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "store", "export", str(store), "--format", "jsonl"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def full_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp("full") / "wire.db"
    return store, replay(store).stdout


def test_exact_counts(full_crawl: tuple[Path, str]) -> None:
    db = Database(full_crawl[0])
    assert count(db, "select count(*) from articles") == 16
    assert count(db, "select count(*) from versions") == 16
    assert count(db, "select count(*) from captions") == 20
    assert count(db, "select count(*) from related_links") == 9
    assert count(db, "select count(*) from tags") == 55
    assert count(db, "select count(*) from listings") == 18
    assert outcomes(db) == {"ok": 20, "not_found": 1}  # robots.txt, 3 listing pages, articles


def test_doubly_listed_article_fetched_once(full_crawl: tuple[Path, str]) -> None:
    db = Database(full_crawl[0])
    assert count(db, "select count(*) from listings where url = ?", (DOUBLY_LISTED,)) == 2
    assert count(db, "select count(*) from fetches where requested_url = ?", (DOUBLY_LISTED,)) == 1


def test_404_recorded(full_crawl: tuple[Path, str]) -> None:
    db = Database(full_crawl[0])
    rows = list(
        db.query("select status, outcome, kind from fetches where requested_url = ?", [GONE])
    )
    assert rows == [{"status": 404, "outcome": "not_found", "kind": "article"}]
    assert count(db, "select count(*) from articles where url = ?", (GONE,)) == 0


def test_raw_bodies_kept_once_per_hash(full_crawl: tuple[Path, str]) -> None:
    db = Database(full_crawl[0])
    assert count(db, "select count(*) from bodies") == 21  # robots.txt's too
    assert count(db, "select count(*) from fetches where body_sha256 is null") == 0


def test_summary_printed(full_crawl: tuple[Path, str]) -> None:
    out = full_crawl[1]
    for line in ("articles", "versions", "captions", "related links", "tags", "datasette"):
        assert line in out.lower()


def test_crawl_row_records_the_run(full_crawl: tuple[Path, str]) -> None:
    db = Database(full_crawl[0])
    (crawl,) = list(db.query("select spider, finish_reason, settings, worker from crawls"))
    assert crawl["spider"] == "africa"
    host, pid = crawl["worker"].rsplit(":", 1)  # no WORKER_NAME: the process's HOST:PID
    assert host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid()
    assert crawl["finish_reason"] == "finished"
    assert json.loads(crawl["settings"])["FIXTURES_REPLAY"] == "fixtures/sputnik-africa"


def test_since_stops_pagination(tmp_path: Path) -> None:
    store = tmp_path / "since.db"
    replay(store, "-a", "since=2023-01-10")
    db = Database(store)
    kinds = dict(db.execute("select kind, count(*) from fetches group by kind").fetchall())
    assert kinds == {"robots": 1, "section": 1, "listing": 1, "article": 10}
    assert count(db, "select count(*) from articles") == 9
    older = "select count(*) from versions where published_at < '2023-01-10'"
    assert count(db, older) == 0


def test_max_pages_bounds_listing_pages(tmp_path: Path) -> None:
    store = tmp_path / "max.db"
    replay(store, "-a", "max_pages=1")
    db = Database(store)
    kinds = dict(db.execute("select kind, count(*) from fetches group by kind").fetchall())
    assert kinds == {"robots": 1, "section": 1, "article": 6}


def test_same_replay_twice_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "twice.db"
    replay(store)
    first = export(store)
    replay(store)
    second = export(store)
    db = Database(store)
    assert count(db, "select count(*) from crawls") == 2
    assert count(db, "select count(*) from fetches") == 42
    for table, expected in (("articles", 16), ("versions", 16), ("captions", 20),
                            ("related_links", 9), ("tags", 55), ("bodies", 21)):  # fmt: skip
        assert count(db, f"select count(*) from {table}") == expected, table

    def without_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in rows:
            row["provenance"] = {
                k: v for k, v in row["provenance"].items() if k not in ("crawl_id", "fetch_id")
            }
        return rows

    assert without_ids(first) == without_ids(second)
    assert len(first) == 16


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("since=last-week", "since must be a date as YYYY-MM-DD"),
        ("max_pages=0", "max_pages must be a whole number of at least 1"),
        ("recheck=sometimes", "recheck must be one of schedule, all, none"),
    ],
)
def test_bad_argument_is_a_one_line_error(argument: str, message: str) -> None:
    run = run_crawl("-a", argument)
    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_bad_schedule_setting_is_a_one_line_error(tmp_path: Path) -> None:
    run = run_crawl("-s", "RECHECK_SCHEDULE=bogus", "-s", f"STORE_PATH={tmp_path}/x.db")
    assert run.returncode != 0
    assert "error: RECHECK_SCHEDULE=bogus: rule 'bogus' is not MAX_AGE:INTERVAL" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "x.db").exists()


def test_another_reactor_is_a_one_line_error(tmp_path: Path) -> None:
    reactor = "twisted.internet.epollreactor.EPollReactor"
    run = run_crawl("-s", f"TWISTED_REACTOR={reactor}", "-s", f"STORE_PATH={tmp_path}/x.db")
    assert run.returncode != 0
    asyncio_reactor = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
    assert f"TWISTED_REACTOR must stay {asyncio_reactor}, not '{reactor}'" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_store_path_that_cannot_hold_a_store_is_a_one_line_error(tmp_path: Path) -> None:
    folder = run_crawl("-s", f"STORE_PATH={tmp_path}", "-s", f"CONTACT={CONTACT}")
    assert folder.returncode != 0
    assert f"error: STORE_PATH={tmp_path}: is a folder; name a file" in folder.stderr
    assert "Traceback" not in folder.stderr
    text = tmp_path / "notes.db"
    text.write_text("not a database, " * 100)
    other = run_crawl("-s", f"STORE_PATH={text}", "-s", f"CONTACT={CONTACT}")
    assert other.returncode != 0
    assert f"STORE_PATH={text}: cannot open a store there: file is not a database" in other.stderr
    assert "Traceback" not in other.stderr
    assert text.read_text() == "not a database, " * 100  # left as it was


def test_unknown_fixture_set_is_a_clear_error(tmp_path: Path) -> None:
    run = run_crawl("-s", "FIXTURES_REPLAY=fixtures/nope", "-s", f"STORE_PATH={tmp_path}/x.db")
    assert run.returncode != 0
    assert "error: FIXTURES_REPLAY=fixtures/nope: no such folder" in run.stderr
    assert "Traceback" not in run.stderr


def test_without_network_a_short_error_and_nonzero_exit(tmp_path: Path) -> None:
    run = run_crawl(
        "-s", "TWISTED_DNS_RESOLVER=tests.offline.NoNetworkResolver", "-s", f"CONTACT={CONTACT}",
        "-s", f"STORE_PATH={tmp_path}/offline.db",
        "-s", "RETRY_TIMES=0",
    )  # fmt: skip
    assert run.returncode == 1
    assert "error: could not fetch the section page" in run.stderr
    assert "FIXTURES_REPLAY=fixtures/sputnikglobe-africa" in run.stderr
    assert "Traceback" not in run.stderr
    db = Database(tmp_path / "offline.db")
    failed = db.execute("select kind, outcome from fetches order by kind").fetchall()
    assert failed == [("feed", "failed"), ("section", "failed")]  # robots.txt: no fetch at all
