"""The store's schema: tables, indexes, full-text search, views, and how a file is migrated.

Every table is declared once in :data:`TABLES` with explicit column types; :func:`migrate`
brings any file (new or older) up to :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``.
Each migration runs in one transaction, so a file is never left half-migrated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from store import blockdata


@dataclass(frozen=True)
class TableSpec:
    """How one table is created: columns in display order, keys and constraints."""

    columns: dict[str, type]
    pk: str | tuple[str, ...] | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)


# JSON values are stored as TEXT (``str``); blobs as ``bytes``. Schema version 1's tables:
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
        },
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
            "redirect_status": int,
            "encoding": str,
        },
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
TABLES: dict[str, TableSpec] = {**TABLES_1, **TABLES_2}

# (table, columns, unique)
INDEXES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("articles", ("url",), True),
    ("articles", ("current_version_id",), False),
    ("versions", ("article_id", "text_sha256"), True),
    ("versions", ("article_id", "version"), True),
    ("versions", ("fetch_id",), False),
    ("versions", ("crawl_id", "version"), False),
    ("versions", ("published_at",), False),
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
    ("observations", ("article_id", "observed_at"), False),
    ("observations", ("fetch_id",), False),
    ("observations", ("version_id",), False),
    ("article_events", ("article_id", "at"), False),
    ("article_events", ("kind", "at"), False),
    ("version_changes", ("created_at",), False),
    ("version_changes", ("article_id", "version"), False),
    ("version_diffs", ("from_version_id", "to_version_id", "row"), True),
    ("version_diffs", ("article_id", "from_version", "to_version"), False),
)

# table -> columns indexed by FTS5 (kept in sync by triggers); the FTS table is "<table>_fts".
FTS: dict[str, tuple[str, ...]] = {
    "versions": ("title", "lead", "body_text"),
    "captions": ("caption", "credit"),
}

CURRENT_ARTICLES_SQL = """
SELECT
  a.url,
  v.title,
  v.lead,
  v.dateline,
  v.published_at,
  date(v.published_at) AS day,
  v.modified_at,
  a.site,
  a.section,
  v.language,
  v.authors,
  (
    SELECT json_group_array(t.name)
    FROM (SELECT name FROM tags WHERE tags.version_id = v.id ORDER BY idx) AS t
  ) AS tags,
  v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  a.status,
  a.first_seen,
  a.last_seen,
  a.article_id,
  v.id AS version_id
FROM articles AS a
JOIN versions AS v ON v.id = a.current_version_id
""".strip()

ARTICLE_TAGS_SQL = """
SELECT
  a.url,
  v.title,
  t.name AS tag,
  t.url AS tag_url,
  date(v.published_at) AS day,
  a.site,
  a.section
FROM articles AS a
JOIN versions AS v ON v.id = a.current_version_id
JOIN tags AS t ON t.version_id = v.id
""".strip()

CHANGES_SQL = """
SELECT
  a.url,
  v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  v.id = a.current_version_id AS is_current,
  v.created_at,
  v.title,
  lag(v.title) OVER article_versions AS previous_title,
  v.published_at,
  v.modified_at,
  json_array_length(v.body) AS paragraphs,
  lag(json_array_length(v.body)) OVER article_versions AS previous_paragraphs,
  v.text_sha256,
  lag(v.text_sha256) OVER article_versions AS previous_text_sha256,
  v.fetch_id,
  v.crawl_id
FROM versions AS v
JOIN articles AS a ON a.id = v.article_id
WHERE v.article_id IN (SELECT article_id FROM versions GROUP BY article_id HAVING count(*) > 1)
WINDOW article_versions AS (PARTITION BY v.article_id ORDER BY v.version)
""".strip()

# A crawl fetch that showed the same version as the fetch before it, with another claimed
# modification time: the page says it was modified, its text says otherwise.
MODIFIED_ONLY_SQL = """
SELECT
  a.url,
  v.version,
  o.observed_at,
  o.previous_observed_at,
  o.modified_at,
  o.previous_modified_at,
  o.fetch_id,
  o.previous_fetch_id,
  f.crawl_id
FROM (
  SELECT
    obs.*,
    lag(obs.version_id) OVER article_fetches AS previous_version_id,
    lag(obs.modified_at) OVER article_fetches AS previous_modified_at,
    lag(obs.observed_at) OVER article_fetches AS previous_observed_at,
    lag(obs.fetch_id) OVER article_fetches AS previous_fetch_id
  FROM observations AS obs
  WHERE obs.reparse_id IS NULL
  WINDOW article_fetches AS (PARTITION BY obs.article_id ORDER BY obs.observed_at, obs.fetch_id)
) AS o
JOIN articles AS a ON a.id = o.article_id
JOIN versions AS v ON v.id = o.version_id
JOIN fetches AS f ON f.id = o.fetch_id
WHERE o.version_id = o.previous_version_id AND o.modified_at IS NOT o.previous_modified_at
""".strip()

VIEWS: dict[str, str] = {
    "current_articles": CURRENT_ARTICLES_SQL,
    "article_tags": ARTICLE_TAGS_SQL,
    "changes": CHANGES_SQL,
    "modified_only": MODIFIED_ONLY_SQL,
}


def fts_table_names() -> list[str]:
    """The names of the FTS5 tables the schema creates."""
    return [f"{table}_fts" for table in FTS]


def index_name(table: str, columns: tuple[str, ...]) -> str:
    """The name an index on these columns gets."""
    return "idx_{}_{}".format(table, "_".join(columns))


def _create_tables(db: Database, tables: dict[str, TableSpec]) -> None:
    """Create these tables of the schema."""
    for name, spec in tables.items():
        db.create_table(
            name,
            dict(spec.columns),
            pk=spec.pk,
            foreign_keys=list(spec.foreign_keys),
            not_null=set(spec.not_null),
            defaults=dict(spec.defaults),
        )


def _create_indexes(db: Database) -> None:
    """Create every index in :data:`INDEXES`."""
    for table, columns, unique in INDEXES:
        if not db.table(table).exists():
            continue  # a table of a later migration
        db.table(table).create_index(
            columns, index_name=index_name(table, columns), unique=unique, if_not_exists=True
        )


def _create_fts(db: Database) -> None:
    """Create the FTS5 tables and the triggers that keep them in sync."""
    for table, columns in FTS.items():
        db.table(table).enable_fts(columns, create_triggers=True, replace=True)


def _create_views(db: Database) -> None:
    """Create (or replace, when their SQL changed) the views in :data:`VIEWS`."""
    for name, sql in VIEWS.items():
        db.create_view(name, sql, replace=True)


# The fetches that first showed each version: the observations a version-1 file implies.
BACKFILL_OBSERVATIONS = """
INSERT INTO observations (
  fetch_id, article_id, version_id, text_sha256, modified_at, parser, parser_version,
  observed_at, read_at
)
SELECT v.fetch_id, v.article_id, v.id, v.text_sha256, v.modified_at, v.parser, v.parser_version,
  v.created_at, v.created_at
FROM versions AS v
ORDER BY v.id
"""


def _migration_1(db: Database) -> None:
    """Version 1: crawls, fetches, bodies, articles, versions and their parts, listings."""
    _create_tables(db, TABLES_1)
    # articles and versions point at each other: the second key can only exist once both do.
    db.table("articles").add_foreign_key("current_version_id", "versions", "id")
    _create_indexes(db)
    _create_fts(db)


def _migration_2(db: Database) -> None:
    """Version 2: observations, article events, version changes and diffs, re-parses.

    A version-1 file gets the redirect status column and one observation per version (the
    fetch that first showed it); its older versions get no change summary.
    """
    if "redirect_status" not in db.table("fetches").columns_dict:
        db.table("fetches").add_column("redirect_status", int)
    _create_tables(db, TABLES_2)
    _create_indexes(db)
    db.execute(BACKFILL_OBSERVATIONS)


def _migration_3(db: Database) -> None:
    """Version 3: ``fetches.encoding``, the encoding a page was decoded with."""
    if "encoding" not in db.table("fetches").columns_dict:
        db.table("fetches").add_column("encoding", str)


SELECT_BLOCK_DATA = """
SELECT rowid, kind, position, text, data FROM blocks WHERE rowid > ? ORDER BY rowid LIMIT 1000
"""
UPDATE_BLOCK_DATA = "UPDATE blocks SET data = ? WHERE rowid = ?"


def _migration_4(db: Database) -> None:
    """Version 4: ``blocks.data`` without what the row's columns and the defaults hold.

    Rewrites the data of every stored block packed (:mod:`store.blockdata`); it unpacks to
    exactly what was stored before (data already packed stays as it is).
    """
    conn, last = db.conn, 0
    while batch := conn.execute(SELECT_BLOCK_DATA, (last,)).fetchall():
        last = batch[-1][0]
        conn.executemany(
            UPDATE_BLOCK_DATA,
            [
                (
                    json.dumps(
                        blockdata.repack(kind, position, text, data),
                        ensure_ascii=False,
                    ),
                    rowid,
                )
                for rowid, kind, position, text, data in batch
            ],
        )


# MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    """The schema version recorded in the file (0 for a new file)."""
    row = next(db.query("PRAGMA user_version"))
    return int(row["user_version"])


def migrate(db: Database) -> int:
    """Bring the file up to :data:`SCHEMA_VERSION`, one transaction per step; return it."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"the store has schema version {current}, newer than this code ({SCHEMA_VERSION})"
        )
    for target in range(current + 1, SCHEMA_VERSION + 1):
        with db.atomic():
            MIGRATIONS[target - 1](db)
            if target == SCHEMA_VERSION:
                _create_views(db)  # the views read tables of every version: made last
            db.execute(f"PRAGMA user_version = {int(target)}")
    return SCHEMA_VERSION
