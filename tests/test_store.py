"""Tests of the store: transactions, bodies, versions, export, summary and the CLI.

Records are built by hand (see :func:`make_article`); no network, no Scrapy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.pages import ArticlePage, Block, DateClaim, ListingEntry, ListingPage, Tag
from domain.records import (
    ArticleRecord,
    CaptionRecord,
    CrawlRecord,
    FetchOutcome,
    FetchRecord,
    RelatedLinkRecord,
    SplitArticle,
)
from store import EXPORT_KEYS, PROVENANCE_KEYS, SCHEMA_VERSION, Store, StoreError, format_summary
from store.export import CAPTION_KEYS, DATE_KEYS, RELATED_LINK_KEYS, iter_articles
from store.repository import Repository
from store.schema import FTS, TABLES, VIEWS
from store.summary import this_python

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://wire.test"
T1 = "2024-05-01T10:00:00Z"
T2 = "2024-05-02T10:00:00Z"
T3 = "2024-05-03T10:00:00Z"
CHILD_TABLES = ("blocks", "captions", "related_links", "tags")


def sha256(data: bytes | str) -> str:
    """SHA-256 hex of bytes or of UTF-8 text."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def raw_page(url: str, title: str | None, body: list[str]) -> bytes:
    """A stand-in for the raw HTML of an article page."""
    return json.dumps({"url": url, "title": title, "body": body}).encode("utf-8")


def make_crawl(crawl_id: str = "crawl-1", started_at: str = T1) -> CrawlRecord:
    """A crawl run record."""
    return CrawlRecord(
        id=crawl_id,
        spider="africa",
        arguments={"since": "2024-05-01"},
        started_at=started_at,
        software={"scrapy": "2.19.0"},
        settings={"ROBOTSTXT_OBEY": True},
    )


def make_article(
    url: str = f"{SITE}/20240501/one.html",
    *,
    paragraphs: int = 3,
    captions: int = 2,
    links: int = 2,
    tags: int = 2,
    title: str | None = "A headline",
    body: list[str] | None = None,
    published_at: str | None = "2024-05-01T09:00:00Z",
    **fields: Any,
) -> ArticleRecord:
    """An article with N paragraphs, captions, related links and tags, its hashes consistent."""
    if body is None:
        body = [f"Paragraph {i} of {url}." for i in range(paragraphs)]
    page = ArticlePage(
        url=url,
        canonical_url=url,
        article_id=url.rsplit("/", 1)[-1].split(".")[0],
        site="sputnik",
        section="africa",
        language="en",
        title=title,
        lead="The lead.",
        authors=["Jane Doe", "Ama Mensah"],
        dates=[
            DateClaim("published", published_at, "01.05.2024 12:00", "meta:article:published"),
            DateClaim("modified", "2024-05-01T11:00:00Z", "14:00", "visible"),
        ],
        published_at=published_at,
        modified_at="2024-05-01T11:00:00Z",
        tags=[Tag(f"Tag {i}", f"{SITE}/tag_{i}/") for i in range(tags)],
        blocks=[Block("text", i, text) for i, text in enumerate(body)],
        parser="sputnik",
        parser_version="1",
    )
    split = SplitArticle(
        dateline="NAIROBI",
        body=body,
        # Given in reverse page order: the store must order them.
        captions=[
            CaptionRecord(100 + i, 0, f"{SITE}/img/{i}.jpg", f"Caption {i}", f"Credit {i}")
            for i in reversed(range(captions))
        ],
        related_links=[
            RelatedLinkRecord(200 + i, f"Related {i}", f"{SITE}/r/{i}.html", T1, "1 May")
            for i in range(links)
        ],
        destinations=["body"] * len(body),
        dropped={"banner": 1},
    )
    record = ArticleRecord(
        url=url,
        page=page,
        split=split,
        block_sha256=[sha256(text) for text in body],
        text_sha256=sha256("\n\n".join([title or "", *body])),
        raw_sha256=sha256(raw_page(url, title, body)),
    )
    return revise(record, **fields)


PAGE_FIELDS = frozenset(field.name for field in dataclasses.fields(ArticlePage))
SPLIT_FIELDS = frozenset(field.name for field in dataclasses.fields(SplitArticle))


def revise(record: ArticleRecord, **fields: Any) -> ArticleRecord:
    """A copy of ``record`` with fields of its page, its split or itself replaced."""
    page = {k: v for k, v in fields.items() if k in PAGE_FIELDS}
    split = {k: v for k, v in fields.items() if k in SPLIT_FIELDS}
    own = {k: v for k, v in fields.items() if k not in PAGE_FIELDS | SPLIT_FIELDS}
    return dataclasses.replace(
        record,
        page=dataclasses.replace(record.page, **page),
        split=dataclasses.replace(record.split, **split),
        **own,
    )


def article_fetch(
    article: ArticleRecord, crawl_id: str = "crawl-1", fetched_at: str = T1
) -> FetchRecord:
    """The successful fetch an article record came from, with its raw body."""
    return FetchRecord(
        crawl_id=crawl_id,
        kind="article",
        requested_url=article.url,
        final_url=article.url,
        status=200,
        outcome="ok",
        fetched_at=fetched_at,
        elapsed_ms=12.5,
        referer=f"{SITE}/africa/",
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=raw_page(article.url, article.page.title, article.split.body),
    )


def failed_fetch(
    url: str, outcome: FetchOutcome, crawl_id: str = "crawl-1", fetched_at: str = T1
) -> FetchRecord:
    """A fetch that produced no article: a 404, an HTTP error or a failure."""
    status = {"not_found": 404, "http_error": 503, "unparseable": 200}.get(outcome)
    return FetchRecord(
        crawl_id=crawl_id,
        kind="article",
        requested_url=url,
        final_url=None if status is None else url,
        status=status,
        outcome=outcome,
        fetched_at=fetched_at,
        error=None if outcome == "unparseable" else f"{outcome} error",
        body=None if status is None else b"<html>error page</html>",
    )


def make_listing(
    urls: list[str], crawl_id: str = "crawl-1", fetched_at: str = T1
) -> tuple[FetchRecord, ListingPage, str]:
    """A section page fetch and the entries it listed."""
    listing_url = f"{SITE}/africa/"
    fetch = FetchRecord(
        crawl_id=crawl_id,
        kind="section",
        requested_url=listing_url,
        final_url=listing_url,
        status=200,
        outcome="ok",
        fetched_at=fetched_at,
        body=b"<html>section</html>",
    )
    entries = [
        ListingEntry(url, f"Listed {i}", fetched_at, "10:00", i) for i, url in enumerate(urls)
    ]
    listing = ListingPage(listing_url, entries, f"{listing_url}more", "sputnik", "1")
    return fetch, listing, "africa"


def count(store: Store, table: str) -> int:
    """Rows in a table."""
    return store.db.table(table).count


def counts(store: Store, tables: tuple[str, ...] = tuple(TABLES)) -> dict[str, int]:
    """Rows in each table."""
    return {table: count(store, table) for table in tables}


def run_crawl(store: Store, crawl_id: str, fetched_at: str) -> None:
    """One small crawl: a section page, two articles, a 404 and a failure."""
    first, second = make_article(), make_article(f"{SITE}/20240502/two.html")
    store.begin_crawl(make_crawl(crawl_id, fetched_at))
    store.save_listing(*make_listing([first.url, second.url], crawl_id, fetched_at))
    for article in (first, second):
        store.save_article(article_fetch(article, crawl_id, fetched_at), article)
    store.save_fetch(failed_fetch(f"{SITE}/gone.html", "not_found", crawl_id, fetched_at))
    store.save_fetch(failed_fetch(f"{SITE}/down.html", "failed", crawl_id, fetched_at))
    store.finish_crawl(crawl_id, fetched_at, "finished", {"item_scraped_count": 2})


@pytest.fixture
def store() -> Store:
    """An in-memory store with one crawl begun."""
    store = Store.memory()
    store.begin_crawl(make_crawl())
    return store


def test_file_store_creates_folders_schema_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "wire.db"
    with Store(path) as store:
        assert store.db.journal_mode == "wal"
        assert set(TABLES) <= set(store.db.table_names())
        assert set(VIEWS) == set(store.db.view_names())
        assert {f"{table}_fts" for table in FTS} <= set(store.db.table_names())
        schema = store.db.schema
    with Store(path) as store:  # reopening migrates nothing and changes nothing
        assert store.db.schema == schema
        assert next(store.db.query("PRAGMA user_version"))["user_version"] == SCHEMA_VERSION


def test_store_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_save_article_writes_the_fetch_and_everything_that_came_of_it(store: Store) -> None:
    article = make_article(paragraphs=4, captions=3, links=2, tags=5)
    result = store.save_article(article_fetch(article), article)
    assert result.new_version and result.version == 1
    assert counts(store) == {
        "crawls": 1,
        "discoveries": 0,
        "bodies": 1,
        "fetches": 1,
        "articles": 1,
        "versions": 1,
        "blocks": 4,
        "captions": 3,
        "related_links": 2,
        "tags": 5,
        "listing_pages": 0,
        "listings": 0,
        "observations": 1,
        "article_events": 0,
        "version_changes": 0,
        "version_diffs": 0,
        "reparses": 0,
        "warc_records": 0,
        "crawl_readings": 1,  # the crawl's reading, counted for crawl_health
        "stream_messages": 0,  # only a distributed crawl's writer fills it
        # the summaries: no sighting, no second reading
        "modified_only_readings": 0,
        "article_sources": 0,
        "source_coverage": 0,
        "headline_differences": 0,
    }
    row = store.db.table("articles").get(result.article_id)
    assert row["current_version_id"] == result.version_id
    assert (row["first_seen"], row["last_seen"], row["status"]) == (T1, T1, "live")
    version = store.db.table("versions").get(result.version_id)
    assert version["fetch_id"] == result.fetch_id
    assert version["created_at"] == T1
    (text,) = store.db.query("SELECT * FROM version_text WHERE id = ?", [result.version_id])
    assert text["body_text"] == "\n\n".join(article.split.body)
    assert json.loads(text["body"]) == article.split.body
    # the body text is stored once, in the blocks; versions hold no copy of it
    assert not {"body", "body_text"} & set(store.db.table("versions").columns_dict)


def test_a_failure_after_the_fetch_insert_leaves_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Repository, "_insert_parts", explode)
    article = make_article()
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.save_article(article_fetch(article), article)
    assert counts(store) == dict.fromkeys(TABLES, 0) | {"crawls": 1}


def test_a_constraint_failure_midway_leaves_nothing(store: Store) -> None:
    article = make_article(captions=1)
    article.split.captions.append(article.split.captions[0])  # same (position, idx) twice
    with pytest.raises(sqlite3.IntegrityError):
        store.save_article(article_fetch(article), article)
    assert counts(store) == dict.fromkeys(TABLES, 0) | {"crawls": 1}


def test_a_failed_listing_save_leaves_no_fetch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Repository.insert_rows

    def fail_on_listings(self: Repository, table: str, rows: Any) -> None:
        if table == "listings":
            raise RuntimeError("interrupted")
        original(self, table, rows)

    monkeypatch.setattr(Repository, "insert_rows", fail_on_listings)
    with pytest.raises(RuntimeError):
        store.save_listing(*make_listing([f"{SITE}/a.html"]))
    assert counts(store, ("fetches", "bodies", "listing_pages", "listings")) == dict.fromkeys(
        ("fetches", "bodies", "listing_pages", "listings"), 0
    )


def test_one_compressed_body_row_per_hash(store: Store) -> None:
    article = make_article()
    fetch = article_fetch(article)
    assert fetch.body is not None
    store.save_article(fetch, article)
    store.save_article(article_fetch(article, fetched_at=T2), article)
    store.save_fetch(failed_fetch(f"{SITE}/x.html", "not_found"))
    store.save_fetch(failed_fetch(f"{SITE}/y.html", "not_found"))
    rows = list(store.db.query("SELECT * FROM bodies ORDER BY size"))
    assert len(rows) == 2
    stored = next(row for row in rows if row["sha256"] == sha256(fetch.body))
    assert stored["compression"] == "zlib"
    assert stored["size"] == len(fetch.body)
    assert stored["data"] != fetch.body
    assert zlib.decompress(stored["data"]) == fetch.body
    assert store.body(sha256(fetch.body)) == fetch.body
    assert store.body("0" * 64) is None
    hashes = [row["body_sha256"] for row in store.db.query("SELECT body_sha256 FROM fetches")]
    assert hashes.count(sha256(fetch.body)) == 2


def test_a_fetch_without_a_body_stores_none(store: Store) -> None:
    fetch_id = store.save_fetch(failed_fetch(f"{SITE}/x.html", "failed"))
    row = store.db.table("fetches").get(fetch_id)
    assert (row["status"], row["final_url"], row["body_sha256"]) == (None, None, None)
    assert row["outcome"] == "failed" and row["error"] == "failed error"
    assert count(store, "bodies") == 0


def test_same_text_again_records_the_fetch_and_nothing_else(store: Store) -> None:
    article = make_article()
    first = store.save_article(article_fetch(article), article)
    before = counts(store, ("articles", "versions", *CHILD_TABLES))
    again = store.save_article(article_fetch(article, fetched_at=T2), article)
    assert counts(store, ("articles", "versions", *CHILD_TABLES)) == before
    assert count(store, "fetches") == 2
    assert again.fetch_id != first.fetch_id
    assert (again.version_id, again.version, again.new_version) == (first.version_id, 1, False)
    row = store.db.table("articles").get(first.article_id)
    assert (row["first_seen"], row["last_seen"]) == (T1, T2)
    # The current version still cites the fetch that first showed its text.
    provenance = next(store.export_articles())["provenance"]
    assert provenance["fetch_id"] == first.fetch_id


def test_new_text_adds_version_two_and_makes_it_current(store: Store) -> None:
    old = make_article(paragraphs=2, captions=1, links=1, tags=1)
    new = make_article(body=["A rewritten paragraph."], captions=0, links=0, tags=3)
    first = store.save_article(article_fetch(old), old)
    second = store.save_article(article_fetch(new, fetched_at=T2), new)
    assert (second.version, second.new_version, second.article_id) == (2, True, first.article_id)
    assert store.db.table("articles").get(first.article_id)["current_version_id"] == (
        second.version_id
    )
    per_version = {
        table: dict(
            (row["version_id"], row["n"])
            for row in store.db.query(
                f"SELECT version_id, count(*) AS n FROM {table} GROUP BY version_id"
            )
        )
        for table in CHILD_TABLES
    }
    assert per_version == {
        "blocks": {first.version_id: 2, second.version_id: 1},
        "captions": {first.version_id: 1},
        "related_links": {first.version_id: 1},
        "tags": {first.version_id: 1, second.version_id: 3},
    }
    exported = next(store.export_articles())
    assert (exported["version"], exported["versions"]) == (2, 2)
    assert exported["body"] == ["A rewritten paragraph."]
    assert exported["captions"] == [] and exported["related_links"] == []
    assert exported["provenance"]["fetch_id"] == second.fetch_id


def test_going_back_to_an_old_text_makes_that_version_current(store: Store) -> None:
    a, b = make_article(), make_article(body=["Changed."])
    first = store.save_article(article_fetch(a), a)
    store.save_article(article_fetch(b, fetched_at=T2), b)
    back = store.save_article(article_fetch(a, fetched_at=T3), a)
    assert (back.version_id, back.version, back.new_version) == (first.version_id, 1, False)
    assert count(store, "versions") == 2
    assert next(store.export_articles())["version"] == 1


def test_an_older_observation_saved_late_does_not_replace_the_current_version(
    store: Store,
) -> None:
    newer, older = make_article(body=["Newer text."]), make_article(body=["Older text."])
    first = store.save_article(article_fetch(newer, fetched_at=T2), newer)
    late = store.save_article(article_fetch(older, fetched_at=T1), older)
    # an older capture (an imported archive) takes its place in time: version 1
    assert late.new_version and late.version == 1
    row = store.db.table("articles").get(first.article_id)
    assert row["current_version_id"] == first.version_id
    assert (row["first_seen"], row["last_seen"]) == (T1, T2)
    assert store.db.table("versions").get(first.version_id)["version"] == 2
    (change,) = store.db.query("SELECT * FROM version_changes")
    assert (change["version_id"], change["previous_version_id"]) == (
        first.version_id,
        late.version_id,
    )
    assert (change["version"], change["previous_version"], change["cause"]) == (2, 1, "crawl")
    assert json.loads(change["summary"])["previous_version"] == 1


def test_an_older_capture_between_two_versions_is_chained_in_time(store: Store) -> None:
    texts = {at: make_article(body=[f"Text at {at}."]) for at in (T1, T2, T3)}
    for at in (T1, T3, T2):  # the middle one arrives last
        store.save_article(article_fetch(texts[at], fetched_at=at), texts[at])
    rows = list(store.db.query("SELECT id, version, created_at FROM versions ORDER BY version"))
    assert [(row["version"], row["created_at"]) for row in rows] == [(1, T1), (2, T2), (3, T3)]
    changes = list(
        store.db.query(
            "SELECT version_id, previous_version_id, version, previous_version "
            "FROM version_changes ORDER BY version"
        )
    )
    ids = [row["id"] for row in rows]
    assert [(c["previous_version_id"], c["version_id"]) for c in changes] == [
        (ids[0], ids[1]),
        (ids[1], ids[2]),
    ]
    assert [(c["previous_version"], c["version"]) for c in changes] == [(1, 2), (2, 3)]
    diffs = {
        (d["from_version_id"], d["to_version_id"]): (d["from_version"], d["to_version"])
        for d in store.db.query("SELECT * FROM version_diffs")
    }
    versions = {row["id"]: row["version"] for row in rows}
    assert diffs and all(
        numbers == (versions[pair[0]], versions[pair[1]]) for pair, numbers in diffs.items()
    )


def test_rerunning_a_crawl_adds_fetches_and_listings_but_no_article_data() -> None:
    store = Store.memory()
    run_crawl(store, "run-1", T1)
    once = counts(store)
    run_crawl(store, "run-2", T2)
    twice = counts(store)
    for table in ("articles", "versions", "bodies", *CHILD_TABLES):
        assert twice[table] == once[table], table
    for table in ("crawls", "fetches", "listing_pages", "listings"):
        assert twice[table] == 2 * once[table], table


def test_a_404_marks_a_known_article_gone_and_a_later_fetch_revives_it(store: Store) -> None:
    article = make_article()
    result = store.save_article(article_fetch(article), article)
    gone = dataclasses.replace(failed_fetch(article.url, "not_found"), fetched_at=T2)
    store.save_fetch(gone)
    assert store.db.table("articles").get(result.article_id)["status"] == "gone"
    store.save_article(article_fetch(article, fetched_at=T3), article)
    assert store.db.table("articles").get(result.article_id)["status"] == "live"


def test_crawls_begin_once_and_finish_with_stats(store: Store) -> None:
    with pytest.raises(StoreError, match="already"):
        store.begin_crawl(make_crawl())
    store.finish_crawl("crawl-1", T2, "finished", {"downloader/request_count": 7})
    row = store.db.table("crawls").get("crawl-1")
    assert (row["finished_at"], row["finish_reason"]) == (T2, "finished")
    assert json.loads(row["stats"]) == {"downloader/request_count": 7}
    assert json.loads(row["arguments"]) == {"since": "2024-05-01"}
    with pytest.raises(StoreError, match="no crawl"):
        store.finish_crawl("nope", T2, "finished", {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crawl_id": "unknown"}, "begin_crawl"),
        ({"outcome": "http_error"}, "outcome 'ok'"),
        ({"kind": "section"}, "cannot be saved"),
        ({"body_sha256": "f" * 64}, "raw_sha256"),
        ({"body": None, "body_sha256": None}, "needs its body"),
    ],
)
def test_save_article_refuses_inconsistent_records(
    store: Store, change: dict[str, Any], message: str
) -> None:
    article = make_article()
    with pytest.raises(StoreError, match=message):
        store.save_article(dataclasses.replace(article_fetch(article), **change), article)
    assert count(store, "fetches") == 0


def test_a_body_hash_without_the_body_must_name_a_stored_body(store: Store) -> None:
    article = make_article()
    fetch = article_fetch(article)
    without_body = dataclasses.replace(fetch, body=None, body_sha256=article.raw_sha256)
    with pytest.raises(StoreError, match="neither given nor stored"):
        store.save_article(without_body, article)
    store.save_article(fetch, article)
    result = store.save_article(dataclasses.replace(without_body, fetched_at=T2), article)
    assert store.db.table("fetches").get(result.fetch_id)["body_sha256"] == article.raw_sha256
    assert count(store, "bodies") == 1


def test_save_fetch_refuses_an_ok_fetch(store: Store) -> None:
    with pytest.raises(StoreError, match="saved with its article or listing"):
        store.save_fetch(article_fetch(make_article()))


def test_save_listing_records_the_page_and_its_entries(store: Store) -> None:
    fetch_id = store.save_listing(*make_listing([f"{SITE}/a.html", f"{SITE}/b.html"]))
    page = store.db.table("listing_pages").get(fetch_id)
    assert (page["entries"], page["next_url"], page["section"]) == (
        2,
        f"{SITE}/africa/more",
        "africa",
    )
    rows = list(store.db.query("SELECT position, url, title FROM listings ORDER BY position"))
    assert rows == [
        {"position": 0, "url": f"{SITE}/a.html", "title": "Listed 0"},
        {"position": 1, "url": f"{SITE}/b.html", "title": "Listed 1"},
    ]


def test_export_gives_exactly_the_keys_and_the_values_as_given(store: Store) -> None:
    article = make_article()
    result = store.save_article(article_fetch(article), article)
    (exported,) = list(store.export_articles())
    assert tuple(exported) == EXPORT_KEYS
    assert tuple(exported["provenance"]) == PROVENANCE_KEYS
    assert exported["url"] == article.url
    for key in ("article_id", "site", "section", "title", "lead", "published_at"):
        assert exported[key] == getattr(article.page, key), key
    for key in ("modified_at", "language", "authors"):
        assert exported[key] == getattr(article.page, key), key
    assert (exported["dateline"], exported["body"]) == (article.split.dateline, article.split.body)
    assert exported["dates"] == [dataclasses.asdict(date) for date in article.page.dates]
    assert all(tuple(date) == DATE_KEYS for date in exported["dates"])
    assert exported["tags"] == ["Tag 0", "Tag 1"]
    assert exported["captions"] == [
        {
            "position": 100,
            "image_url": f"{SITE}/img/0.jpg",
            "caption": "Caption 0",
            "credit": "Credit 0",
        },
        {
            "position": 101,
            "image_url": f"{SITE}/img/1.jpg",
            "caption": "Caption 1",
            "credit": "Credit 1",
        },
    ]
    assert all(tuple(caption) == CAPTION_KEYS for caption in exported["captions"])
    assert exported["related_links"] == [
        dataclasses.asdict(link) for link in article.split.related_links
    ]
    assert all(tuple(link) == RELATED_LINK_KEYS for link in exported["related_links"])
    assert (exported["version"], exported["versions"]) == (1, 1)
    fetch = article_fetch(article)
    assert exported["provenance"] == {
        "crawl_id": "crawl-1",
        "fetch_id": result.fetch_id,
        "fetched_at": T1,
        "status": 200,
        "requested_url": fetch.requested_url,
        "final_url": fetch.final_url,
        "referer": fetch.referer,
        "raw_sha256": article.raw_sha256,
        "text_sha256": article.text_sha256,
        "parser": "sputnik",
        "parser_version": "1",
    }


def test_export_gives_null_and_empty_lists_for_absent_values(store: Store) -> None:
    article = make_article(
        paragraphs=0,
        captions=0,
        links=0,
        tags=0,
        title=None,
        published_at=None,
        article_id=None,
        section=None,
        lead=None,
        dateline=None,
        modified_at=None,
        language=None,
        canonical_url=None,
        authors=[],
        dates=[],
    )
    fetch = dataclasses.replace(article_fetch(article), referer=None, final_url=None)
    store.save_article(fetch, article)
    (exported,) = list(store.export_articles())
    assert tuple(exported) == EXPORT_KEYS
    nulls = ("article_id", "section", "title", "lead", "dateline", "published_at")
    assert all(exported[key] is None for key in (*nulls, "modified_at", "language"))
    empties = ("dates", "authors", "tags", "body", "captions", "related_links")
    assert all(exported[key] == [] for key in empties)
    assert exported["provenance"]["referer"] is None
    assert exported["provenance"]["final_url"] is None


def test_export_orders_by_published_at_desc_then_url_and_streams(store: Store) -> None:
    dates = {"b": "2024-05-02T00:00:00Z", "a": "2024-05-02T00:00:00Z", "c": None, "d": T1}
    for name, published in dates.items():
        article = make_article(f"{SITE}/{name}.html", published_at=published)
        store.save_article(article_fetch(article), article)
    expected = [f"{SITE}/{name}.html" for name in ("a", "b", "d", "c")]
    exported = store.export_articles()
    assert iter(exported) is exported  # an iterator, not a list
    assert [article["url"] for article in exported] == expected
    assert [article["url"] for article in iter_articles(store.db, batch_size=1)] == expected


def test_summary_counts_the_store_and_one_crawl() -> None:
    store = Store.memory()
    run_crawl(store, "run-1", T1)
    run_crawl(store, "run-2", T2)
    changed = make_article(body=["New text."])
    store.save_article(article_fetch(changed, "run-2", T3), changed)
    whole = store.summary()
    assert whole["crawl_id"] is None
    assert {key: whole[key] for key in ("articles", "versions", "listing_pages", "listings")} == {
        "articles": 2,
        "versions": 3,
        "listing_pages": 2,
        "listings": 4,
    }
    assert whole["captions"] == whole["related_links"] == whole["tags"] == 6  # 2 per version
    assert whole["blocks"] == 7
    assert whole["fetches"] == dict.fromkeys(get_args(FetchOutcome), 0) | {
        "ok": 7,
        "not_found": 2,
        "failed": 2,
    }
    assert list(whole["fetches"]) == list(get_args(FetchOutcome))
    assert whole["fetches_total"] == 11
    assert whole["articles_added"] is None
    first, second = store.summary("run-1"), store.summary("run-2")
    assert first["fetches"]["ok"] == 3 and second["fetches"]["ok"] == 4
    assert (first["articles_added"], first["versions_added"]) == (2, 2)
    assert (second["articles_added"], second["versions_added"]) == (0, 1)
    assert second["articles"] == 2  # totals stay whole-store
    with pytest.raises(StoreError, match="no crawl"):
        store.summary("run-3")


def test_format_summary_reports_the_numbers_and_the_browse_command() -> None:
    store = Store.memory()
    run_crawl(store, "run-1", T1)
    text = format_summary(store.summary("run-1"), "data/my wire.db")
    assert "Crawl: run-1" in text
    assert "Articles:" in text and "(2 added by this crawl)" in text
    assert "Related links:" in text and "Captions:" in text and "Tags:" in text
    assert "not_found:" in text and "failed:" in text
    assert "Events:" in text and "gone 0, live 0, delisted 0, relisted 0  (this crawl)" in text
    assert text.splitlines()[-1].strip() == f"{this_python()} -m store serve 'data/my wire.db'"


def test_the_summary_counts_articles_by_parser() -> None:
    store = Store.memory()
    run_crawl(store, "run-1", T1)  # two articles, read by the "sputnik" parser
    other = make_article(f"{SITE}/elsewhere.html")
    other.page.parser, other.page.parser_version = "generic", "1.0"
    store.begin_crawl(make_crawl("run-2", T2))
    store.save_article(article_fetch(other, "run-2", T2), other)
    store.save_article(article_fetch(make_article(), "run-2", T2), make_article())
    store.finish_crawl("run-2", T2, "finished", {})
    assert store.summary("run-1")["articles_by_parser"] == {"sputnik": 2}
    assert store.summary("run-2")["articles_by_parser"] == {"generic": 1, "sputnik": 1}
    assert store.summary()["articles_by_parser"] == {"generic": 1, "sputnik": 2}
    text = format_summary(store.summary("run-2"), "wire.db")
    assert "Articles by parser:  generic 1, sputnik 1  (this crawl)" in text


def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m store`` from the project root, as a user would."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="ascii")
    return subprocess.run(
        [sys.executable, "-m", "store", *args], cwd=ROOT, env=env, capture_output=True, check=False
    )


def test_cli_export_writes_one_utf8_json_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    with Store(path) as store:
        store.begin_crawl(make_crawl())
        for name, title in (("one", "Café — “quoted”"), ("two", "Кенія: вибори")):
            article = make_article(f"{SITE}/{name}.html", title=title)
            store.save_article(article_fetch(article), article)
    result = run_cli("export", str(path), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()
    articles = [json.loads(line) for line in lines]
    assert [tuple(article) for article in articles] == [EXPORT_KEYS, EXPORT_KEYS]
    assert {article["title"] for article in articles} == {"Café — “quoted”", "Кенія: вибори"}
    assert "Кенія".encode() in result.stdout  # written as UTF-8, not \u escapes


def test_cli_summary_prints_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    with Store(path) as store:
        run_crawl(store, "run-1", T1)
        expected = format_summary(store.summary(), str(path))
    result = run_cli("summary", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8").rstrip("\n") == expected
    crawl = run_cli("summary", str(path), "--crawl", "nope")
    assert crawl.returncode == 2
    assert crawl.stderr.decode() == "error: no crawl nope in the store\n"


@pytest.mark.parametrize("command", ["export", "summary", "serve", "reparse"])
def test_cli_reports_a_missing_store_clearly(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "missing.db"
    result = run_cli(command, str(missing))
    assert result.returncode == 2
    assert result.stderr.decode() == f"error: no store at {missing}\n"
    assert not missing.exists()


def test_cli_refuses_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(b"not sqlite at all, just some text" * 10)
    result = run_cli("export", str(other))
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"error: {other} is not a store")


def test_cli_rejects_other_export_formats(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    Store(path).close()
    result = run_cli("export", str(path), "--format", "csv")
    assert result.returncode == 2
    assert b"invalid choice: 'csv'" in result.stderr


def test_cli_metadata_is_keyed_by_the_file_stem(tmp_path: Path) -> None:
    result = run_cli("metadata", str(tmp_path / "archive-2024.db"))
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    assert list(metadata["databases"]) == ["archive-2024"]
    assert "current_articles" in metadata["databases"]["archive-2024"]["tables"]


@pytest.mark.parametrize("command", ["export", "summary", "serve", "metadata", "reparse"])
def test_cli_help_gives_an_example(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert f"example:\n  python -m store {command} " in result.stdout.decode()


TEXT = st.text(max_size=40)
HOSTILE = st.sampled_from(["'); DROP TABLE articles;--", '"quoted" \\ back', "<b>bold</b>", ""])
STRINGS = st.one_of(TEXT, HOSTILE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=STRINGS,
    paragraphs=st.lists(STRINGS, max_size=5),
    caption=STRINGS,
    tag=STRINGS,
    author=STRINGS,
)
def test_text_survives_save_and_export_verbatim(
    title: str, paragraphs: list[str], caption: str, tag: str, author: str
) -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    article = make_article(
        title=title,
        body=paragraphs,
        captions=0,
        tags=0,
        authors=[author],
        lead=title,
    )
    article.split.captions.append(CaptionRecord(0, 0, None, caption, caption))
    article.page.tags.append(Tag(tag, None))
    store.save_article(article_fetch(article), article)
    (exported,) = list(store.export_articles())
    assert exported["title"] == title and exported["lead"] == title
    assert exported["body"] == paragraphs
    assert exported["authors"] == [author]
    assert exported["captions"] == [
        {"position": 0, "image_url": None, "caption": caption, "credit": caption}
    ]
    assert exported["tags"] == [tag]
    assert count(store, "articles") == 1
