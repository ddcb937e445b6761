"""The store's tables and indexes, declared once, as each schema version created them.

:data:`TABLES_1` holds the tables schema version 1 created, :data:`TABLES_2` those version 2
added; later versions change them in place (:mod:`store.schema` migrates a file, step by step).
Views live in :mod:`store.views`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TableSpec:
    """How one table is created: columns in display order, keys and constraints."""

    columns: dict[str, type]
    pk: str | tuple[str, ...] | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)


# JSON values are stored as TEXT (``str``); blobs as ``bytes``. Schema version 1's tables (version
# 5 dropped ``versions.body`` and ``versions.body_text`` and added ``blocks.body_offset``):
TABLES_1: dict[str, TableSpec] = {
    "crawls": TableSpec(
        columns={
            "id": str,
            "spider": str,
            "started_at": str,
            "finished_at": str,
            "finish_reason": str,
            "arguments": str,
            "settings": str,
            "software": str,
            "stats": str,
        },  # migration 19 adds worker
        pk="id",
        not_null=frozenset({"spider", "started_at", "arguments", "settings", "software"}),
    ),
    "bodies": TableSpec(
        columns={"sha256": str, "size": int, "compression": str, "data": bytes},
        pk="sha256",
        not_null=frozenset({"size", "compression", "data"}),
    ),
    "fetches": TableSpec(
        columns={
            "id": int,
            "crawl_id": str,
            "kind": str,
            "requested_url": str,
            "final_url": str,
            "status": int,
            "outcome": str,
            "error": str,
            "fetched_at": str,
            "elapsed_ms": float,
            "referer": str,
            "headers": str,
            "body_sha256": str,
        },  # version 2 adds redirect_status, version 3 encoding, 6 encoding_errors, 7 source
        pk="id",
        foreign_keys=(("crawl_id", "crawls", "id"), ("body_sha256", "bodies", "sha256")),
        not_null=frozenset({"crawl_id", "kind", "requested_url", "outcome", "fetched_at"}),
    ),
    "articles": TableSpec(
        columns={
            "id": int,
            "url": str,
            "article_id": str,
            "site": str,
            "section": str,
            "first_seen": str,
            "last_seen": str,
            "current_version_id": int,
            "status": str,
        },
        pk="id",
        # current_version_id -> versions.id is added once versions exists (see _create_tables)
        not_null=frozenset({"url", "site", "first_seen", "last_seen", "status"}),
        defaults={"status": "live"},
    ),
    "versions": TableSpec(
        columns={
            "id": int,
            "article_id": int,
            "version": int,
            "title": str,
            "lead": str,
            "dateline": str,
            "published_at": str,
            "modified_at": str,
            "authors": str,
            "language": str,
            "canonical_url": str,
            "dates": str,
            "body_text": str,
            "body": str,
            "dropped": str,
            "text_sha256": str,
            "raw_sha256": str,
            "parser": str,
            "parser_version": str,
            "created_at": str,
            "fetch_id": int,
            "crawl_id": str,
        },
        pk="id",
        foreign_keys=(
            ("article_id", "articles", "id"),
            ("fetch_id", "fetches", "id"),
            ("crawl_id", "crawls", "id"),
        ),
        not_null=frozenset(
            {
                "article_id",
                "version",
                "authors",
                "dates",
                "body_text",
                "body",
                "dropped",
                "text_sha256",
                "raw_sha256",
                "parser",
                "parser_version",
                "created_at",
                "fetch_id",
                "crawl_id",
            }
        ),
    ),
    "blocks": TableSpec(
        columns={
            "version_id": int,
            "position": int,
            "kind": str,
            "destination": str,
            "text": str,
            "sha256": str,
            "data": str,
        },
        pk=("version_id", "position"),
        foreign_keys=(("version_id", "versions", "id"),),
        not_null=frozenset(
            {"version_id", "position", "kind", "destination", "text", "sha256", "data"}
        ),
    ),
    "captions": TableSpec(
        columns={
            "version_id": int,
            "position": int,
            "idx": int,
            "image_url": str,
            "caption": str,
            "credit": str,
        },
        pk=("version_id", "position", "idx"),
        foreign_keys=(("version_id", "versions", "id"),),
        not_null=frozenset({"version_id", "position", "idx"}),
    ),
    # No primary key beyond the rowid: one "read also" block may carry several links.
    "related_links": TableSpec(
        columns={
            "version_id": int,
            "position": int,
            "title": str,
            "url": str,
            "published_at": str,
            "published_raw": str,
        },
        foreign_keys=(("version_id", "versions", "id"),),
        not_null=frozenset({"version_id", "position"}),
    ),
    "tags": TableSpec(
        columns={"version_id": int, "idx": int, "name": str, "url": str},
        pk=("version_id", "idx"),
        foreign_keys=(("version_id", "versions", "id"),),
        not_null=frozenset({"version_id", "idx", "name"}),
    ),
    "listing_pages": TableSpec(
        columns={
            "fetch_id": int,
            "crawl_id": str,
            "listing_url": str,
            "section": str,
            "entries": int,
            "next_url": str,
            "parser": str,
            "parser_version": str,
        },
        pk="fetch_id",
        foreign_keys=(("fetch_id", "fetches", "id"), ("crawl_id", "crawls", "id")),
        not_null=frozenset(
            {"crawl_id", "listing_url", "section", "entries", "parser", "parser_version"}
        ),
    ),
    "listings": TableSpec(
        columns={
            "id": int,
            "fetch_id": int,
            "crawl_id": str,
            "listing_url": str,
            "section": str,
            "position": int,
            "url": str,
            "title": str,
            "listed_at": str,
            "listed_raw": str,
        },
        pk="id",
        foreign_keys=(("fetch_id", "fetches", "id"), ("crawl_id", "crawls", "id")),
        not_null=frozenset({"fetch_id", "crawl_id", "listing_url", "section", "position", "url"}),
    ),
}

# Schema version 2: the history of each article (what every fetch showed, status events, what
# changed between versions) and the re-parses of stored pages.
TABLES_2: dict[str, TableSpec] = {
    "reparses": TableSpec(
        columns={
            "id": int,
            "started_at": str,
            "finished_at": str,
            "parser": str,
            "parser_version": str,
            "pages": int,
            "unchanged": int,
            "changed": int,
            "failed": int,
        },
        pk="id",
        not_null=frozenset({"started_at"}),
    ),
    # One row per reading of an article page: at crawl time, and again by every re-parse.
    "observations": TableSpec(
        columns={
            "id": int,
            "fetch_id": int,
            "article_id": int,
            "version_id": int,
            "text_sha256": str,
            "modified_at": str,
            "parser": str,
            "parser_version": str,
            "observed_at": str,
            "read_at": str,
            "reparse_id": int,
        },
        pk="id",
        foreign_keys=(
            ("fetch_id", "fetches", "id"),
            ("article_id", "articles", "id"),
            ("version_id", "versions", "id"),
            ("reparse_id", "reparses", "id"),
        ),
        not_null=frozenset(
            {
                "fetch_id",
                "article_id",
                "version_id",
                "text_sha256",
                "parser",
                "parser_version",
                "observed_at",
                "read_at",
            }
        ),
    ),
    "article_events": TableSpec(
        columns={
            "id": int,
            "article_id": int,
            "kind": str,
            "at": str,
            "crawl_id": str,
            "fetch_id": int,
            "status": int,
            "evidence": str,
        },
        pk="id",
        foreign_keys=(
            ("article_id", "articles", "id"),
            ("crawl_id", "crawls", "id"),
            ("fetch_id", "fetches", "id"),
        ),
        not_null=frozenset({"article_id", "kind", "at", "crawl_id", "evidence"}),
    ),
    "version_changes": TableSpec(
        columns={
            "version_id": int,
            "article_id": int,
            "version": int,
            "previous_version_id": int,
            "previous_version": int,
            "cause": str,
            "created_at": str,
            "fields": str,
            "paragraphs_added": int,
            "paragraphs_removed": int,
            "paragraphs_rewritten": int,
            "silent_edit": int,
            "modified_at": str,
            "previous_modified_at": str,
            "summary": str,
        },
        pk="version_id",
        foreign_keys=(
            ("version_id", "versions", "id"),
            ("article_id", "articles", "id"),
            ("previous_version_id", "versions", "id"),
        ),
        not_null=frozenset(
            {
                "article_id",
                "version",
                "previous_version_id",
                "previous_version",
                "cause",
                "created_at",
                "fields",
                "silent_edit",
                "summary",
            }
        ),
    ),
    # Versions of an article compared pairwise, item by item (the side-by-side diff).
    "version_diffs": TableSpec(
        columns={
            "id": int,
            "article_id": int,
            "from_version_id": int,
            "to_version_id": int,
            "from_version": int,
            "to_version": int,
            "row": int,
            "part": str,
            "op": str,
            "similarity": float,
            "left_position": int,
            "left_text": str,
            "right_position": int,
            "right_text": str,
        },
        pk="id",
        foreign_keys=(
            ("article_id", "articles", "id"),
            ("from_version_id", "versions", "id"),
            ("to_version_id", "versions", "id"),
        ),
        not_null=frozenset(
            {
                "article_id",
                "from_version_id",
                "to_version_id",
                "from_version",
                "to_version",
                "row",
                "part",
                "op",
            }
        ),
    ),
}
# Schema version 7: what each discovery source other than the section's listing (whose entries
# are in ``listings``) put forward: the edition's RSS feed, the article sitemaps, day archives.
TABLES_7: dict[str, TableSpec] = {
    "discoveries": TableSpec(
        columns={
            "id": int,
            "fetch_id": int,
            "crawl_id": str,
            "source": str,
            "listing_url": str,
            "position": int,
            "url": str,
            "title": str,
            "listed_at": str,
            "listed_raw": str,
        },
        pk="id",
        foreign_keys=(("fetch_id", "fetches", "id"), ("crawl_id", "crawls", "id")),
        not_null=frozenset({"fetch_id", "crawl_id", "source", "listing_url", "position", "url"}),
    ),
}
# Schema migration 10: where a fetch's exchange is kept as a WARC record — the file an
# import read it from (issue 13), and later the file a crawl's capture wrote it to.
TABLES_10: dict[str, TableSpec] = {
    "warc_records": TableSpec(
        columns={"fetch_id": int, "file": str, "offset": int, "record_id": str},
        pk="fetch_id",
        foreign_keys=(("fetch_id", "fetches", "id"),),
        not_null=frozenset({"file", "record_id"}),
    ),
}
# Schema migration 11: a summary kept by a trigger on observations (store/schema.py), what the
# crawl_health view adds up: per crawl and parser, the crawl's readings of article pages and
# how many had each field. Summing every reading of every crawl took seconds at a million
# versions; these rows are a few per crawl.
TABLES_11: dict[str, TableSpec] = {
    "crawl_readings": TableSpec(
        columns={
            "crawl_id": str,
            "parser": str,
            "readings": int,
            "title": int,
            "published": int,
            "body": int,
            "dateline": int,
            "captions": int,
            "tags": int,
        },
        pk=("crawl_id", "parser"),
        foreign_keys=(("crawl_id", "crawls", "id"),),
        not_null=frozenset(
            {"crawl_id", "parser", "readings", "title", "published", "body", "dateline"}
            | {"captions", "tags"}
        ),
    ),
}
# Migration 13: the messages of a distributed crawl's stream the writer applied, each once
# (store/stream_writer.py): the message id the worker gave it, the stream entry it came in.
TABLES_13: dict[str, TableSpec] = {
    "stream_messages": TableSpec(
        columns={"id": str, "entry": str, "applied_at": str},
        pk="id",
        not_null=frozenset({"entry", "applied_at"}),
    ),
}
# Migration 20: summaries kept by triggers (store/summaries.py) for the pages that would
# otherwise read every observation or sighting of the store.
TABLES_20: dict[str, TableSpec] = {
    "modified_only_readings": TableSpec(
        columns={"observation_id": int, "previous_observation_id": int},
        pk="observation_id",
        foreign_keys=(
            ("observation_id", "observations", "id"),
            ("previous_observation_id", "observations", "id"),
        ),
        not_null=frozenset({"previous_observation_id"}),
    ),
    "article_sources": TableSpec(
        columns={"url": str, "source": str, "sole": int},
        pk=("url", "source"),
        not_null=frozenset({"url", "source", "sole"}),
    ),
    "source_coverage": TableSpec(
        columns={"source": str, "articles": int, "only_here": int},
        pk="source",
        not_null=frozenset({"articles", "only_here"}),
    ),
    "headline_differences": TableSpec(
        columns={"listing_id": int, "version_id": int, "listed_at": str, "url": str},
        pk="listing_id",
        foreign_keys=(("listing_id", "listings", "id"), ("version_id", "versions", "id")),
        not_null=frozenset({"version_id", "url"}),
    ),
}
TABLES: dict[str, TableSpec] = {
    **TABLES_1,
    **TABLES_2,
    **TABLES_7,
    **TABLES_10,
    **TABLES_11,
    **TABLES_13,
    **TABLES_20,
}

# (table, columns, unique)
INDEXES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("articles", ("url",), True),
    ("articles", ("current_version_id",), False),
    ("versions", ("article_id", "text_sha256"), True),
    ("versions", ("article_id", "version"), True),
    ("versions", ("fetch_id",), False),
    ("versions", ("crawl_id", "version"), False),
    ("versions", ("published_at",), False),
    # the front page's articles per day: version-1 rows in a range of days, from the index alone
    ("versions", ("version", "published_at"), False),
    ("fetches", ("crawl_id", "outcome"), False),
    ("fetches", ("outcome",), False),
    ("fetches", ("requested_url",), False),
    ("fetches", ("final_url",), False),
    ("fetches", ("body_sha256",), False),
    ("related_links", ("version_id", "position"), False),
    ("related_links", ("url",), False),
    ("tags", ("name",), False),
    ("listing_pages", ("crawl_id",), False),
    ("listings", ("url",), False),
    ("listings", ("fetch_id",), False),
    ("listings", ("crawl_id",), False),
    ("listings", ("section", "crawl_id"), False),
    ("discoveries", ("url",), False),
    ("discoveries", ("crawl_id", "source"), False),
    ("discoveries", ("fetch_id",), False),
    ("fetches", ("crawl_id", "kind"), False),
    ("observations", ("article_id", "observed_at"), False),
    ("observations", ("fetch_id",), False),
    ("observations", ("version_id",), False),
    ("article_events", ("article_id", "at"), False),
    ("article_events", ("kind", "at"), False),
    ("version_changes", ("created_at",), False),
    # the latest silent edits (front page, silent_edits query) without reading every change
    ("version_changes", ("silent_edit", "created_at"), False),
    ("version_changes", ("article_id", "version"), False),
    ("version_diffs", ("from_version_id", "to_version_id", "row"), True),
    ("version_diffs", ("article_id", "from_version", "to_version"), False),
    ("warc_records", ("record_id",), False),
)
# Migration 11's (made by it alone: they read columns that earlier migrations add): the pages
# of a big store (benchmarks/pages.py). The crawl log reads the crawls newest first and counts
# each one's fetches from the index alone; the table pages sorted by a time (metadata.yml's
# sort and sort_desc) read their first rows from an index instead of sorting the table.
INDEXES_11: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("crawls", ("started_at", "id"), False),
    ("fetches", ("crawl_id", "outcome", "encoding_errors"), False),
    ("articles", ("last_seen",), False),
    ("versions", ("created_at",), False),
    ("article_events", ("at",), False),
)

# Migration 17's: the pages of a big store (benchmarks/pages.py). Each crawl's article pages by
# outcome from the index alone (the crawl_health view, health_by_crawl).
INDEXES_17: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("fetches", ("crawl_id", "kind", "outcome"), False),
)

# Migration 20's: a source's URLs found by it alone, by URL (discovery_coverage); the listing
# entries whose headline differs, in time order (listing_headlines).
INDEXES_20: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("article_sources", ("source", "sole", "url"), False),
    ("headline_differences", ("listed_at", "url"), False),
)

# Indexes on an expression (sqlite-utils' create_index takes columns only): name -> the SQL
# after ``CREATE INDEX IF NOT EXISTS name ON``. Migration 11: the publication day, which the
# current_articles view shows as ``day`` (filtered by, and faceted by date).
EXPRESSION_INDEXES: dict[str, str] = {
    "idx_versions_published_day": "versions (date(published_at))",
}

# table -> columns indexed by FTS5; the FTS table is "<table>_fts". Captions are kept in sync by
# the triggers sqlite-utils makes; since schema version 5 versions (never updated) are indexed as
# each is inserted, the FTS reading its content from the view ``version_text`` (store/views.py).
FTS: dict[str, tuple[str, ...]] = {
    "versions": ("title", "lead", "body_text"),
    "captions": ("caption", "credit"),
}
