"""What the reader's pages show, read from the store: one article's version with its parts and
provenance, and the text of two versions to compare. Plain reads on one SQLite connection (the
one Datasette hands to :meth:`datasette.database.Database.execute_fn`); no HTML here.

Every list is read in page order and bounded (:data:`MAX_ROWS` of each), so an article of
20,000 paragraphs shows its first :data:`MAX_ROWS` and says how many there are.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from store.diff import VersionText
from store.history import (
    SELECT_VERSION_CAPTIONS,
    SELECT_VERSION_LINKS,
    SELECT_VERSION_ROW,
    SELECT_VERSION_TAGS,
)
from store.lookup import find_article

# The most of each list (paragraphs, captions, links, fetches...) one page shows.
MAX_ROWS = 5000
# The most related links one page looks up in any other form than the exact URL.
MAX_LOOKUPS = 200

SELECT_ARTICLE = """
SELECT a.id, a.url, a.article_id, a.site, a.section, a.status, a.first_seen, a.last_seen,
  a.current_version_id, cv.version AS current_version,
  (SELECT count(*) FROM versions WHERE article_id = a.id) AS versions
FROM articles AS a LEFT JOIN versions AS cv ON cv.id = a.current_version_id
WHERE a.id = :id
"""
SELECT_VERSION = """
SELECT v.*, vc.cause, vc.fields, vc.silent_edit, vc.previous_version,
  vc.paragraphs_added, vc.paragraphs_removed, vc.paragraphs_rewritten
FROM versions AS v LEFT JOIN version_changes AS vc ON vc.version_id = v.id
WHERE v.article_id = :article AND v.version = :version
"""
SELECT_PARAGRAPHS = """
SELECT paragraph FROM body_paragraphs WHERE version_id = :id ORDER BY position LIMIT :limit
"""
COUNT_PARAGRAPHS = "SELECT count(*) FROM blocks WHERE version_id = :id AND destination = 'body'"
SELECT_CAPTIONS = """
SELECT position, idx, image_url, caption, credit FROM captions
WHERE version_id = :id ORDER BY position, idx LIMIT :limit
"""
# Each related link, with the stored article it names (exactly, as the store keeps URLs).
SELECT_LINKS = """
SELECT r.position, r.title, r.url, r.published_at, r.published_raw, ta.url AS archived_url
FROM related_links AS r LEFT JOIN articles AS ta ON ta.url = r.url
WHERE r.version_id = :id ORDER BY r.position, r.rowid LIMIT :limit
"""
SELECT_TAGS = "SELECT name, url FROM tags WHERE version_id = :id ORDER BY idx LIMIT :limit"
SELECT_TIMELINE = """
SELECT v.version, v.title, v.created_at, v.parser, v.parser_version, v.id = a.current_version_id
  AS is_current, vc.cause, vc.fields, vc.silent_edit
FROM versions AS v JOIN articles AS a ON a.id = v.article_id
LEFT JOIN version_changes AS vc ON vc.version_id = v.id
WHERE v.article_id = :article ORDER BY v.version LIMIT :limit
"""
# Every reading of the article's page: the fetch, what it answered, which version it showed,
# the worker whose crawl made it.
SELECT_FETCHES = """
SELECT f.id, f.crawl_id, f.kind, f.requested_url, f.final_url, f.status, f.outcome,
  f.fetched_at, f.elapsed_ms, f.body_sha256, f.redirect_status, f.encoding, f.source,
  o.text_sha256, o.parser, o.parser_version, o.read_at, o.reparse_id, v.version, c.worker,
  EXISTS (SELECT 1 FROM warc_records AS w WHERE w.fetch_id = f.id) AS has_warc
FROM observations AS o
JOIN fetches AS f ON f.id = o.fetch_id
JOIN versions AS v ON v.id = o.version_id
LEFT JOIN crawls AS c ON c.id = f.crawl_id
WHERE o.article_id = :article
ORDER BY o.observed_at DESC, o.id DESC LIMIT :limit
"""
# How it was found: every sighting by a discovery source, first first.
SELECT_DISCOVERY = """
SELECT source, listing_url, position, title, listed_at, found_at, fetch_id, crawl_id
FROM discovered WHERE url = :url ORDER BY found_at, fetch_id, position LIMIT :limit
"""
SELECT_EVENTS = """
SELECT kind, at, status, evidence, fetch_id FROM article_events
WHERE article_id = :article ORDER BY at, id LIMIT :limit
"""
SELECT_CHANGES_BETWEEN = """
SELECT version, previous_version, cause, fields, silent_edit FROM version_changes
WHERE article_id = :article AND version > :low AND version <= :high ORDER BY version
"""


def rows(conn: sqlite3.Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of a query as dicts."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(conn: sqlite3.Connection, sql: str, **params: Any) -> dict[str, Any] | None:
    """The first row of a query as a dict, or None."""
    found = rows(conn, sql, **params)
    return found[0] if found else None


def json_list(text: str | None) -> list[Any]:
    """A JSON array column's items ([] for NULL or anything else)."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


@dataclass
class ArticleView:
    """One version of one article with everything its page shows."""

    article: dict[str, Any]
    version: dict[str, Any]
    paragraphs: list[str]
    paragraph_count: int
    captions: list[dict[str, Any]]
    links: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    fetches: list[dict[str, Any]]
    discovery: list[dict[str, Any]]
    events: list[dict[str, Any]]
    authors: list[str] = field(default_factory=list)
    dates: list[dict[str, Any]] = field(default_factory=list)


def archived_links(conn: sqlite3.Connection, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Related links with the archived article each names: the exact URL (joined in SQL),
    else any other form of it (:func:`find_article`, for the first :data:`MAX_LOOKUPS`)."""
    looked_up = 0
    for link in links:
        if link["archived_url"] is not None or not link["url"] or looked_up >= MAX_LOOKUPS:
            continue
        looked_up += 1
        found = find_article(conn, link["url"])
        if found is not None:
            row = conn.execute("SELECT url FROM articles WHERE id = ?", (found,)).fetchone()
            link["archived_url"] = row[0]
    return links


def article(conn: sqlite3.Connection, text: str) -> dict[str, Any] | None:
    """The article a pasted text names (:func:`store.lookup.find_article`), or None."""
    article_id = find_article(conn, text)
    return None if article_id is None else one(conn, SELECT_ARTICLE, id=article_id)


def article_view(
    conn: sqlite3.Connection, found: dict[str, Any], number: int | None
) -> ArticleView | None:
    """Version ``number`` of an article (its current version when None); None when it has no
    such version."""
    number = found["current_version"] if number is None else number
    version = one(conn, SELECT_VERSION, article=found["id"], version=number)
    if version is None:
        return None
    ids = {"id": version["id"], "limit": MAX_ROWS}
    article_ids = {"article": found["id"], "limit": MAX_ROWS}
    return ArticleView(
        article=found,
        version=version,
        paragraphs=[row["paragraph"] for row in rows(conn, SELECT_PARAGRAPHS, **ids)],
        paragraph_count=conn.execute(COUNT_PARAGRAPHS, {"id": version["id"]}).fetchone()[0],
        captions=rows(conn, SELECT_CAPTIONS, **ids),
        links=archived_links(conn, rows(conn, SELECT_LINKS, **ids)),
        tags=rows(conn, SELECT_TAGS, **ids),
        timeline=[
            {**row, "fields": json_list(row["fields"])}
            for row in rows(conn, SELECT_TIMELINE, **article_ids)
        ],
        fetches=rows(conn, SELECT_FETCHES, **article_ids),
        discovery=rows(conn, SELECT_DISCOVERY, url=found["url"], limit=MAX_ROWS),
        events=rows(conn, SELECT_EVENTS, **article_ids),
        authors=[str(name) for name in json_list(version["authors"])],
        dates=[claim for claim in json_list(version["dates"]) if isinstance(claim, dict)],
    )


def version_text(conn: sqlite3.Connection, article_id: int, number: int) -> VersionText | None:
    """One version's comparable text, as the history compares versions (None: no such
    version)."""
    found = one(conn, SELECT_VERSION, article=article_id, version=number)
    if found is None:
        return None
    ids = {"id": found["id"]}
    row = one(conn, SELECT_VERSION_ROW, **ids)
    assert row is not None
    return VersionText(
        title=row["title"],
        lead=row["lead"],
        dateline=row["dateline"],
        body=json_list(row["body"]),
        captions=[
            f"{c['caption'] or ''} | {c['credit'] or ''}"
            for c in rows(conn, SELECT_VERSION_CAPTIONS, **ids)
        ],
        related_links=[
            f"{r['title'] or ''} | {r['url'] or ''}"
            for r in rows(conn, SELECT_VERSION_LINKS, **ids)
        ],
        tags=[t["name"] for t in rows(conn, SELECT_VERSION_TAGS, **ids)],
        published_at=row["published_at"],
        modified_at=row["modified_at"],
    )


def changes_between(
    conn: sqlite3.Connection, article_id: int, low: int, high: int
) -> list[dict[str, Any]]:
    """The recorded changes of the versions after ``low`` up to ``high``."""
    return [
        {**row, "fields": json_list(row["fields"])}
        for row in rows(conn, SELECT_CHANGES_BETWEEN, article=article_id, low=low, high=high)
    ]
