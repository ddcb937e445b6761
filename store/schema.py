"""The store's schema and how a file is migrated to it, one step per schema version.

The tables are declared in :mod:`store.tables`, the views in :mod:`store.views`. The steps are a
:class:`sqlite_utils.Migrations` set, which records each step applied in ``_sqlite_migrations``.
Files made before it existed kept their version in ``PRAGMA user_version`` (1 to 4): such a
file's first steps are recorded as applied when it is opened, and ``user_version`` is still
set to :data:`SCHEMA_VERSION` after every migration, so older tools that read it keep working.
All pending steps run in one transaction, so a file is never left half-migrated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlite_utils import Database, Migrations

from store import blockdata, summaries
from store.tables import (
    EXPRESSION_INDEXES,
    FTS,
    INDEXES,
    INDEXES_11,
    INDEXES_17,
    INDEXES_20,
    TABLES,
    TABLES_1,
    TABLES_2,
    TABLES_7,
    TABLES_10,
    TABLES_11,
    TABLES_13,
    TABLES_20,
    TableSpec,
)
from store.views import VIEWS

__all__ = [
    "FTS",
    "INDEXES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "VIEWS",
    "fts_table_names",
    "index_name",
    "migrate",
    "schema_version",
]


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


def _create_indexes(
    db: Database, indexes: tuple[tuple[str, tuple[str, ...], bool], ...] = INDEXES
) -> None:
    """Create every index in :data:`INDEXES` (or in these)."""
    for table, columns, unique in indexes:
        if not db.table(table).exists():
            continue  # a table of a later migration
        db.table(table).create_index(
            columns, index_name=index_name(table, columns), unique=unique, if_not_exists=True
        )


def _create_fts(db: Database) -> None:
    """Create the FTS5 tables and the triggers that keep them in sync."""
    for table, columns in FTS.items():
        db.table(table).enable_fts(columns, create_triggers=True, replace=True)


def _create_views(db: Database, names: tuple[str, ...] | None = None) -> None:
    """Create (or replace, when their SQL changed) the views in :data:`VIEWS` (or these)."""
    for name, sql in VIEWS.items():
        if names is None or name in names:
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


def _migration_6(db: Database) -> None:
    """Version 6: ``fetches.encoding_errors``, how many undecodable bytes were replaced."""
    if "encoding_errors" not in db.table("fetches").columns_dict:
        db.table("fetches").add_column("encoding_errors", int)


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


# Each version's body paragraphs, as schema versions 1 to 4 stored them, and its body blocks.
SELECT_STORED_BODIES = "SELECT id, body FROM versions WHERE id > ? ORDER BY id LIMIT 500"
SELECT_BODY_BLOCKS = """
SELECT position, text FROM blocks
WHERE version_id = ? AND destination = 'body' ORDER BY position
"""
SET_BODY_OFFSET = "UPDATE blocks SET body_offset = ? WHERE version_id = ? AND position = ?"
# Versions are never updated: the store indexes each as it inserts it (store/repository.py).
CREATE_VERSIONS_FTS = """
CREATE VIRTUAL TABLE versions_fts USING FTS5 (
    title, lead, body_text,
    content='version_text', content_rowid='id'
)
"""


def body_offsets(version_id: int, body: list[str], blocks: list[tuple[int, str]]) -> list[int]:
    """Where each stored body paragraph starts in the text of its body block, in UTF-8 bytes.

    A paragraph is its block's text, or the end of it (the dateline cut off the first one);
    anything else cannot be derived from the blocks and stops the migration.
    """
    if len(body) != len(blocks):
        raise RuntimeError(
            f"version {version_id} has {len(body)} body paragraphs but {len(blocks)} body blocks"
        )
    offsets = []
    for paragraph, (position, text) in zip(body, blocks, strict=True):
        if not text.endswith(paragraph):
            raise RuntimeError(
                f"version {version_id}: the body paragraph of block {position} is not its text"
            )
        offsets.append(len(text.encode()) - len(paragraph.encode()))
    return offsets


def _migration_5(db: Database) -> None:
    """Version 5: body text stored once, in ``blocks.text``.

    ``blocks.body_offset`` says where a body paragraph starts in its block's text (in UTF-8
    bytes); the views
    ``body_paragraphs`` and ``version_text`` give back what ``versions.body`` and
    ``versions.body_text`` held (dropped here), and ``versions_fts`` indexes that view.
    """
    conn = db.conn
    for view in db.view_names():  # views read the columns about to go; made again at the end
        db.execute(f"DROP VIEW [{view}]")
    db.table("versions").disable_fts()
    db.table("blocks").add_column("body_offset", int, not_null_default=0)
    last = 0
    while batch := conn.execute(SELECT_STORED_BODIES, (last,)).fetchall():
        last = batch[-1][0]
        for version_id, body in batch:
            blocks = conn.execute(SELECT_BODY_BLOCKS, (version_id,)).fetchall()
            offsets = body_offsets(version_id, json.loads(body), blocks)
            conn.executemany(
                SET_BODY_OFFSET,
                [
                    (offset, version_id, position)
                    for offset, (position, _) in zip(offsets, blocks, strict=True)
                    if offset
                ],
            )
    for column in ("body_text", "body"):
        db.execute(f"ALTER TABLE versions DROP COLUMN {column}")
    _create_views(db, ("body_paragraphs", "version_text"))
    db.execute(CREATE_VERSIONS_FTS)
    db.execute("INSERT INTO versions_fts (versions_fts) VALUES ('rebuild')")


def _migration_7(db: Database) -> None:
    """Version 7: discovery provenance — ``fetches.source`` (how a request was found) and
    ``discoveries`` (what the RSS feed, the article sitemaps and day archives listed)."""
    if "source" not in db.table("fetches").columns_dict:
        db.table("fetches").add_column("source", str)
    _create_tables(db, TABLES_7)


def _migration_10(db: Database) -> None:
    """Migration 10: ``warc_records``, the WARC file, offset and record id of a fetch's exchange
    (an imported capture's source). Numbered 10 though it follows 5 on this branch: steps are
    recorded by name, so the ones numbered between may land before it."""
    _create_tables(db, TABLES_10)
    _create_indexes(db)


# What one crawl reading of an article page adds to its crawl's row of crawl_readings (the
# fields of the version it showed, which is stored with its parts before the reading is).
READING_FIGURES = """
SELECT
  f.crawl_id,
  o.parser,
  count(*) AS readings,
  sum(coalesce(v.title, '') != '') AS title,
  sum(v.published_at IS NOT NULL) AS published,
  sum(EXISTS (SELECT 1 FROM blocks AS b WHERE b.version_id = v.id AND b.destination = 'body'))
    AS body,
  sum(coalesce(v.dateline, '') != '') AS dateline,
  sum(EXISTS (SELECT 1 FROM captions AS cp WHERE cp.version_id = v.id)) AS captions,
  sum(EXISTS (SELECT 1 FROM tags AS t WHERE t.version_id = v.id)) AS tags
FROM {observations} AS o
JOIN fetches AS f ON f.id = o.fetch_id
JOIN versions AS v ON v.id = o.version_id
WHERE o.reparse_id IS NULL
GROUP BY f.crawl_id, o.parser
"""
ADD_READINGS = """
INSERT INTO crawl_readings
  (crawl_id, parser, readings, title, published, body, dateline, captions, tags)
{figures}
ON CONFLICT (crawl_id, parser) DO UPDATE SET
  readings = readings + excluded.readings,
  title = title + excluded.title,
  published = published + excluded.published,
  body = body + excluded.body,
  dateline = dateline + excluded.dateline,
  captions = captions + excluded.captions,
  tags = tags + excluded.tags
"""
# Observations are only ever inserted (never updated or deleted): counting each one as it goes
# in keeps crawl_readings exact.
CRAWL_READINGS_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS crawl_readings_count AFTER INSERT ON observations
WHEN NEW.reparse_id IS NULL
BEGIN
{add};
END
"""


def _create_crawl_readings(db: Database) -> None:
    """The crawl_readings summary: the table, its rows for the readings already stored, and
    the trigger that counts every later one."""
    _create_tables(db, TABLES_11)
    # every reading already stored, then every later one as it is inserted
    db.execute(ADD_READINGS.format(figures=READING_FIGURES.format(observations="observations")))
    one = READING_FIGURES.format(
        observations="(SELECT NEW.fetch_id AS fetch_id, NEW.version_id AS version_id, "
        "NEW.parser AS parser, NEW.reparse_id AS reparse_id)"
    )
    db.execute(CRAWL_READINGS_TRIGGER.format(add=ADD_READINGS.format(figures=one)))


def _migration_11(db: Database) -> None:
    """Migration 11: the indexes the pages of a big store need (store/tables.py INDEXES_11
    and EXPRESSION_INDEXES: the crawls newest first, each crawl's fetches counted from an index,
    versions by publication day) and the crawl_readings summary the crawl_health view reads,
    so that every page and
    canned query answers in about the same time at a million versions as at 20,000
    (benchmarks/pages.py)."""
    _create_indexes(db, INDEXES_11)
    for name, target in EXPRESSION_INDEXES.items():
        db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
    _create_crawl_readings(db)


def _migration_16(db: Database) -> None:
    """Migration 16: the front page's indexes — ``version_changes(silent_edit, created_at)``
    (the newest silent edits without reading every change) and ``versions(version,
    published_at)`` (articles per day of publication from the index alone). Numbered 16
    though it follows 10 on this branch (steps are recorded by name)."""
    _create_indexes(db)


def _migration_13(db: Database) -> None:
    """Migration 13: ``stream_messages``, the messages of a distributed crawl's stream the
    store writer applied (each stored once, however often it is delivered)."""
    _create_tables(db, TABLES_13)


def _migration_17(db: Database) -> None:
    """Migration 17: pages that answer in the same time at a million versions as at 20,000
    (benchmarks/pages.py): the index ``fetches (crawl_id, kind, outcome)`` (each crawl's
    article pages counted from the index alone: crawl_health, health_by_crawl); the views
    ``changes`` and ``article_discovery`` read each article's own rows instead of a window
    over every version or sighting (made again by :func:`migrate`, as every view is)."""
    _create_indexes(db, INDEXES_17)


def _migration_19(db: Database) -> None:
    """Migration 19: ``crawls.worker``, the name of the process that ran the crawl
    (``WORKER_NAME``, else ``HOST:PID``): in a distributed crawl each worker's fetches are
    those of its own crawl record. Follows migration 17 (steps are recorded by name)."""
    if "worker" not in db.table("crawls").columns_dict:
        db.table("crawls").add_column("worker", str)


def _migration_20(db: Database) -> None:
    """Migration 20: summaries kept by triggers (store/summaries.py), filled from the rows
    stored: the readings that showed the same version with another claimed modification time
    (the ``modified_only`` view), each discovery source's coverage (``discovery_coverage`` of
    every crawl) and the listing headlines that differ from the article's
    (``listing_headlines``): each page then reads its own rows, at any size of the store."""
    _create_tables(db, TABLES_20)
    _create_indexes(db, INDEXES_20)
    summaries.refill(db)
    summaries.create_triggers(db)


# MIGRATIONS[n] brings a file from schema version n to n + 1; never rename or reorder one.
MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_10,
    _migration_11,
    _migration_13,
    _migration_16,
    _migration_17,
    _migration_19,
    _migration_20,
)
SCHEMA_VERSION = len(MIGRATIONS)
STEPS = Migrations("wirearchive")
for _step in MIGRATIONS:
    STEPS(name=_step.__name__.removeprefix("_"))(_step)
STEP_NAMES = tuple(step.__name__.removeprefix("_") for step in MIGRATIONS)


def schema_version(db: Database) -> int:
    """The schema version recorded in the file (0 for a new file)."""
    row = next(db.query("PRAGMA user_version"))
    return int(row["user_version"])


def _adopt_user_version(db: Database, version: int) -> None:
    """Record the steps a file made before :data:`STEPS` existed went through (its
    ``user_version``) as applied, so they are not run again."""
    if version == 0 or STEPS.applied(db):
        return
    STEPS.ensure_migrations_table(db)
    at = str(dt.datetime.now(dt.UTC))
    db.table(STEPS.migrations_table).insert_all(
        {"migration_set": STEPS.name, "name": name, "applied_at": at}
        for name in STEP_NAMES[:version]
    )


def migrate(db: Database) -> int:
    """Bring the file up to :data:`SCHEMA_VERSION` in one transaction; return it."""
    current = schema_version(db)
    applied = {step.name for step in STEPS.applied(db)}
    if current > SCHEMA_VERSION or not applied <= set(STEP_NAMES):
        raise RuntimeError(
            f"the store has schema version {current}, newer than this code ({SCHEMA_VERSION})"
        )
    if current == SCHEMA_VERSION and len(applied) == SCHEMA_VERSION:
        return SCHEMA_VERSION  # up to date: no write lock taken
    with db.atomic():  # the lock first: two processes opening a new file migrate it once
        _adopt_user_version(db, schema_version(db))
        STEPS.apply(db)
        _create_views(db)  # the views read tables of every version: made last
        db.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
    return SCHEMA_VERSION
