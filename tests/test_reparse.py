"""Re-parsing a stored crawl (fixtures/sputnik-africa-t1) with the current and a changed parser."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.sites import UnparseablePage, parse_article
from crawler.sites.platform import PlatformV1
from domain.pages import ArticlePage
from pipelines.reparse import ReparseCounts, reparse_store
from store import Store
from tests.crawling import ROOT, replay

ZAMBIA_ID = "1106600101"
KENYA_ID = "1106600106"
PAGES = 8
CURRENT = PlatformV1.version  # the version that read the recording
CORRECTED = "corrected"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one replay of the t1 recording (8 article pages)."""
    store = tmp_path_factory.mktemp("reparse") / "wire.db"
    replay(store, fixture_set="fixtures/sputnik-africa-t1")
    return store


@pytest.fixture
def store(crawled: Path, tmp_path: Path) -> Store:
    """A fresh copy of the crawled store for one test."""
    copy = tmp_path / "wire.db"
    shutil.copy(crawled, copy)
    return Store(copy)


def corrected_parser(url: str, html: str) -> ArticlePage:
    """Another parser version: reads one article's headline with a correction note."""
    page = parse_article(url, html)
    page.parser_version = CORRECTED
    if page.article_id == ZAMBIA_ID:
        page.title = f"{page.title} (Corrected)"
    return page


def failing_parser(url: str, html: str) -> ArticlePage:
    """A parser that refuses one page it used to read."""
    page = parse_article(url, html)
    if page.article_id == KENYA_ID:
        raise UnparseablePage("layout not recognized")
    return page


def test_the_same_parser_changes_nothing_but_records_its_reading(store: Store) -> None:
    versions = store.db.table("versions").count
    counts = reparse_store(store, progress=io.StringIO())
    assert counts == ReparseCounts(pages=PAGES, unchanged=PAGES, changed=0, failed=0)
    assert store.db.table("versions").count == versions
    readings = list(store.db.query("SELECT parser_version FROM observations WHERE reparse_id = 1"))
    assert [row["parser_version"] for row in readings] == [CURRENT] * PAGES
    (run,) = store.db.query("SELECT * FROM reparses")
    assert (run["parser"], run["parser_version"], run["pages"], run["changed"]) == (
        "platform",
        CURRENT,
        PAGES,
        0,
    )
    assert run["finished_at"] is not None


def test_a_changed_parser_adds_a_version_only_where_the_text_differs(store: Store) -> None:
    counts = reparse_store(store, parse=corrected_parser, progress=io.StringIO())
    assert counts == ReparseCounts(pages=PAGES, unchanged=PAGES - 1, changed=1, failed=0)
    rows = list(
        store.db.query(
            """SELECT a.article_id, v.version, v.title, v.parser_version,
            v.id = a.current_version_id AS is_current
            FROM versions v JOIN articles a ON a.id = v.article_id
            WHERE a.article_id = ? ORDER BY v.version""",
            [ZAMBIA_ID],
        )
    )
    assert [(r["version"], r["parser_version"], r["is_current"]) for r in rows] == [
        (1, CURRENT, 0),
        (2, CORRECTED, 1),
    ]
    assert rows[1]["title"].endswith("(Corrected)")
    (change,) = store.db.query("SELECT * FROM version_changes")
    assert (change["cause"], change["silent_edit"], json.loads(change["fields"])) == (
        "reparse",
        0,
        ["title"],
    )
    parsed_by = {
        row["parser_version"]: row["n"]
        for row in store.db.query(
            "SELECT parser_version, count(*) AS n FROM observations GROUP BY parser_version"
        )
    }
    assert parsed_by == {CURRENT: PAGES, CORRECTED: PAGES}
    assert store.db.table("versions").count == PAGES + 1
    # a second run with the same parser finds nothing new
    again = reparse_store(store, parse=corrected_parser, progress=io.StringIO())
    assert (again.unchanged, again.changed) == (PAGES, 0)


def test_a_page_the_parser_now_refuses_is_counted_and_left_alone(store: Store) -> None:
    before = list(store.db.query("SELECT * FROM current_articles ORDER BY url"))
    counts = reparse_store(store, parse=failing_parser, progress=io.StringIO())
    assert (counts.failed, counts.unchanged, counts.changed) == (1, PAGES - 1, 0)
    assert list(store.db.query("SELECT * FROM current_articles ORDER BY url")) == before


def test_progress_every_n_pages(store: Store) -> None:
    progress = io.StringIO()
    reparse_store(store, progress=progress, progress_every=3)
    assert progress.getvalue().splitlines() == [
        "reparse: 3 pages: 3 unchanged, 0 changed, 0 failed",
        "reparse: 6 pages: 6 unchanged, 0 changed, 0 failed",
    ]


def test_the_sources_are_the_stored_raw_article_pages(store: Store) -> None:
    sources = list(store.reparse_sources())
    assert len(sources) == PAGES
    for _, fetch in sources:
        assert fetch.kind == "article" and fetch.body is not None
        assert hashlib.sha256(fetch.body).hexdigest() == fetch.body_sha256


def test_cli_reparse_prints_a_summary(crawled: Path, tmp_path: Path) -> None:
    copy = tmp_path / "cli.db"
    shutil.copy(crawled, copy)
    done = subprocess.run(
        [sys.executable, "-m", "store", "reparse", str(copy), "--progress-every", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Re-parsed {copy}: 8 pages: 8 unchanged, 0 changed, 0 failed\n"
    assert "reparse: 5 pages: 5 unchanged" in done.stderr


def test_cli_reparse_refuses_a_missing_store(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "store", "reparse", str(tmp_path / "none.db")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no store at")
