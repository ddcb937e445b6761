"""The store's schema: tables, indexes, full-text search, views, and how a file is migrated.

Every table is declared once in :data:`TABLES` with explicit column types; :func:`migrate`
brings any file (new or older) up to :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``.
Each migration runs in one transaction, so a file is never left half-migrated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True)
class TableSpec:
    """How one table is created: columns in display order, keys and constraints."""

    columns: dict[str, type]
    pk: str | tuple[str, ...] | None = None
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)


# JSON values are stored as TEXT (``str``); blobs as ``bytes``.
TABLES: dict[str, TableSpec] = {
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

VIEWS: dict[str, str] = {
    "current_articles": CURRENT_ARTICLES_SQL,
    "article_tags": ARTICLE_TAGS_SQL,
    "changes": CHANGES_SQL,
}


def fts_table_names() -> list[str]:
    """The names of the FTS5 tables the schema creates."""
    return [f"{table}_fts" for table in FTS]


def index_name(table: str, columns: tuple[str, ...]) -> str:
    """The name an index on these columns gets."""
    return "idx_{}_{}".format(table, "_".join(columns))


def _create_tables(db: Database) -> None:
    """Create every table in :data:`TABLES`, then the articles -> versions foreign key."""
    for name, spec in TABLES.items():
        db.create_table(
            name,
            dict(spec.columns),
            pk=spec.pk,
            foreign_keys=list(spec.foreign_keys),
            not_null=set(spec.not_null),
            defaults=dict(spec.defaults),
        )
    # articles and versions point at each other: the second key can only exist once both do.
    db.table("articles").add_foreign_key("current_version_id", "versions", "id")


def _create_indexes(db: Database) -> None:
    """Create every index in :data:`INDEXES`."""
    for table, columns, unique in INDEXES:
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


def _migration_1(db: Database) -> None:
    """Version 1: the whole schema."""
    _create_tables(db)
    _create_indexes(db)
    _create_fts(db)
    _create_views(db)


def _migration_2(db: Database) -> None:
    """Version 2: ``fetches.encoding``, the encoding a page was decoded with."""
    if "encoding" not in db.table("fetches").columns_dict:
        db.table("fetches").add_column("encoding", str)


# MIGRATIONS[n] brings a file from user_version n to n + 1.
MIGRATIONS: tuple[Callable[[Database], None], ...] = (_migration_1, _migration_2)
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
            db.execute(f"PRAGMA user_version = {int(target)}")
    return SCHEMA_VERSION
