"""Fixture sets: safe names, clear errors, replay of missing URLs, and record -> replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from crawler.fixtures import (
    FixtureError,
    check_name,
    fixture_set_kind,
    index_fixture_set,
    load_fixture,
)
from tests.conftest import AFRICA
from tests.crawling import ROOT, run_scrapy
from tests.mockserver import serve_fixture_set

LOCAL_SPIDER = str(ROOT / "tests" / "local_section_spider.py")
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")


@pytest.mark.parametrize("name", ["", "/etc", "../fixtures", "a/../../b", "~/x", "a\\b"])
def test_unsafe_names_refused(name: str) -> None:
    with pytest.raises(FixtureError):
        check_name(name)


def test_relative_names_accepted() -> None:
    assert check_name("fixtures/sputnik-africa") == "fixtures/sputnik-africa"


def test_body_outside_the_set_refused(tmp_path: Path) -> None:
    sidecar = tmp_path / "x.http.json"
    sidecar.write_text(json.dumps({"url": "https://a.test/", "body": "../secret"}))
    with pytest.raises(FixtureError, match="not a safe fixture name"):
        load_fixture(sidecar)


def test_malformed_sidecar_is_a_clear_error(tmp_path: Path) -> None:
    sidecar = tmp_path / "x.http.json"
    sidecar.write_text("{not json")
    with pytest.raises(FixtureError, match="malformed sidecar"):
        load_fixture(sidecar)


def test_missing_body_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.http.json").write_text(json.dumps({"url": "https://a.test/", "body": "x.html"}))
    with pytest.raises(FixtureError, match=r"body file x\.html is missing"):
        index_fixture_set(tmp_path)


def test_africa_set_indexes_every_response() -> None:
    index = index_fixture_set(AFRICA)
    assert len(index) == 21  # robots.txt, section, 2 chunks, 16 articles, one 404


def crawl_stats(store: Path) -> dict[str, Any]:
    (row,) = list(Database(store).query("select stats from crawls"))
    stats: dict[str, Any] = json.loads(row["stats"])
    return stats


def test_url_without_fixture_answers_404_and_is_counted(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(AFRICA, site)
    (site / "article-1106052640.http.json").unlink()
    run = run_scrapy("crawl", "africa", "-s", "FIXTURES_REPLAY=site", "-s", "STORE_PATH=w.db",
                     "-s", "DISCOVERY_SOURCES=", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    db = Database(tmp_path / "w.db")
    assert dict(db.execute("select outcome, count(*) from fetches group by 1").fetchall()) == {
        "ok": 19,  # robots.txt, 3 listing pages, 15 articles
        "not_found": 2,
    }
    assert crawl_stats(tmp_path / "w.db")["fixtures/replay/missing"] == 1


def export_without_fetch_details(store: Path) -> list[dict[str, Any]]:
    from store import Store

    with Store(store) as opened:
        rows = list(opened.export_articles())
    for row in rows:
        row.pop("provenance")
        row.pop("url")  # the host differs: 127.0.0.1:PORT
    return rows


def test_record_a_live_crawl_then_replay_it(tmp_path: Path) -> None:
    with serve_fixture_set(AFRICA) as port:
        live = run_scrapy(
            "runspider", LOCAL_SPIDER, "-a", f"section_url=http://127.0.0.1:{port}/africa/",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", f"FIXTURES_RECORD={tmp_path}/recorded",
            "-s", "STORE_PATH=live.db", *FAST, cwd=tmp_path,
        )  # fmt: skip
    assert live.returncode == 0, live.stderr[-2000:]
    recorded = index_fixture_set(tmp_path / "recorded")
    assert len(recorded) == 21  # robots.txt, 3 listing pages, 16 articles, the 404
    assert {f.status for f in recorded.values()} == {200, 404}
    assert fixture_set_kind(tmp_path / "recorded") == "recorded"  # its README says so

    replayed = run_scrapy(
        "runspider", LOCAL_SPIDER, "-a", "section_url=" + next(
            f.url for f in recorded.values() if f.url.endswith("/africa/")
        ),
        "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", "FIXTURES_REPLAY=recorded",
        "-s", "STORE_PATH=replayed.db", cwd=tmp_path,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    live_rows = export_without_fetch_details(tmp_path / "live.db")
    assert len(live_rows) == 16
    assert export_without_fetch_details(tmp_path / "replayed.db") == live_rows


def test_private_address_refused_without_allowlist(tmp_path: Path) -> None:
    with serve_fixture_set(AFRICA) as port:
        run = run_scrapy(
            "runspider", LOCAL_SPIDER, "-a", f"section_url=http://127.0.0.1:{port}/africa/",
            "-s", "STORE_PATH=w.db", *FAST, cwd=tmp_path,
        )  # fmt: skip
    assert run.returncode == 0
    db = Database(tmp_path / "w.db")
    rows = list(db.query("select outcome, error from fetches"))
    assert rows == [{"outcome": "refused", "error": "IgnoreRequest: refused: private address"}]
