"""Migration 11: the indexes and the crawl_readings summary the pages of a big store need.

The timings are benchmarks/pages.py's business (it prints them); here: the migration applies to
an existing store, the summary kept by its trigger equals the readings added up afresh (and the
crawl_health view the aggregate it replaced), and the key queries read the new indexes instead
of scanning a big table. Without ``ANALYZE`` SQLite plans a small store as a big one, so the
plans checked here are the plans of a store of a million versions.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_store import T1, T2, T3, article_fetch, make_article, make_crawl

from store import Store
from store.metadata import YAML_DATABASE, read_yaml
from store.schema import READING_FIGURES, SCHEMA_VERSION, STEPS, schema_version
from store.tables import EXPRESSION_INDEXES, INDEXES_11
from store.views import CURRENT_ARTICLES_SQL

SITE = "https://wire.test"
# The crawl_health view before migration 11: every reading of every crawl added up at once.
AGGREGATE_CRAWL_HEALTH = """
SELECT
  c.id AS crawl_id, c.spider, c.started_at, c.finish_reason,
  coalesce(p.pages, 0) AS article_pages,
  coalesce(o.read, 0) AS articles_read,
  coalesce(o.platform, 0) AS platform_articles,
  o.parsers,
  round(1.0 * coalesce(o.platform, 0) / p.pages, 3) AS recognized_share,
  round(1.0 * o.title / o.read, 3) AS title_share,
  round(1.0 * o.published / o.read, 3) AS date_share,
  round(1.0 * o.body / o.read, 3) AS body_share,
  round(1.0 * o.dateline / o.read, 3) AS dateline_share,
  round(1.0 * o.captions / o.read, 3) AS captions_share,
  round(1.0 * o.tags / o.read, 3) AS tags_share
FROM crawls AS c
LEFT JOIN (
  SELECT crawl_id, count(*) AS pages FROM fetches
  WHERE kind = 'article' AND outcome IN ('ok', 'unparseable') GROUP BY crawl_id
) AS p ON p.crawl_id = c.id
LEFT JOIN (
  SELECT
    r.crawl_id,
    count(*) AS read,
    sum(r.parser NOT LIKE 'generic%') AS platform,
    (
      SELECT json_group_object(q.parser, q.n) FROM (
        SELECT ob.parser, count(*) AS n FROM observations AS ob
        JOIN fetches AS fx ON fx.id = ob.fetch_id
        WHERE fx.crawl_id = r.crawl_id AND ob.reparse_id IS NULL
        GROUP BY ob.parser ORDER BY ob.parser
      ) AS q
    ) AS parsers,
    sum(coalesce(v.title, '') != '') AS title,
    sum(v.published_at IS NOT NULL) AS published,
    sum(EXISTS (SELECT 1 FROM blocks AS b WHERE b.version_id = v.id AND b.destination = 'body'))
      AS body,
    sum(coalesce(v.dateline, '') != '') AS dateline,
    sum(EXISTS (SELECT 1 FROM captions AS cp WHERE cp.version_id = v.id)) AS captions,
    sum(EXISTS (SELECT 1 FROM tags AS t WHERE t.version_id = v.id)) AS tags
  FROM (
    SELECT f.crawl_id, obs.parser, obs.version_id
    FROM observations AS obs JOIN fetches AS f ON f.id = obs.fetch_id
    WHERE obs.reparse_id IS NULL
  ) AS r
  JOIN versions AS v ON v.id = r.version_id
  GROUP BY r.crawl_id
) AS o ON o.crawl_id = c.id
ORDER BY c.started_at, c.id
"""
MIGRATION_11_INDEXES = [
    *(f"idx_{table}_{'_'.join(columns)}" for table, columns, _ in INDEXES_11),
    *EXPRESSION_INDEXES,
]


def fill(store: Store, crawl: str, at: str, number: int) -> None:
    """A crawl of three articles: one with no title and one generic parser's reading, a
    revised one, and an empty crawl after it; then a re-parse reading (not counted)."""
    store.begin_crawl(make_crawl(crawl, at))
    one = make_article(f"{SITE}/{crawl}/one.html", captions=1)
    two = make_article(f"{SITE}/{crawl}/two.html", title="", parser="generic", captions=0)
    three = make_article(f"{SITE}/{crawl}/three.html", body=[f"Revision {number} of it."])
    for record in (one, two, three):
        store.save_article(article_fetch(record, crawl, at), record)
    store.finish_crawl(crawl, at, "finished", {})
    store.begin_crawl(make_crawl(f"{crawl}-empty", at))


def undo_migration_11(path: Path) -> None:
    """Make the file what schema version 10 left: no summary, no trigger, no new indexes."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP TRIGGER crawl_readings_count")
        conn.execute("DROP VIEW crawl_health")  # it reads crawl_readings; made again on opening
        conn.execute("DROP TABLE crawl_readings")
        for name in MIGRATION_11_INDEXES:
            conn.execute(f"DROP INDEX {name}")
        conn.execute(f"DELETE FROM {STEPS.migrations_table} WHERE name = 'migration_11'")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.close()


def rows(store: Store, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    return [tuple(row) for row in store.db.execute(sql, params or {}).fetchall()]


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """A store with readings written before migration 11, then opened (and migrated) again."""
    path = tmp_path / "wire.db"
    with Store(path) as store:
        fill(store, "crawl-1", T1, 1)
    undo_migration_11(path)
    with Store(path) as store:
        fill(store, "crawl-2", T2, 2)  # counted by the trigger
        reparse = store.begin_reparse(T3)
        fetch_id = store.db.execute("SELECT min(id) FROM fetches").fetchone()[0]
        fetch = store.repo.fetch(fetch_id)
        record = make_article(fetch.requested_url, body=["Read again differently."])
        record = dataclasses.replace(record, raw_sha256=fetch.body_sha256)
        store.save_reparse(reparse, fetch_id, fetch, record, T3)
    return path


def test_migration_11_applies_to_an_existing_store(migrated: Path) -> None:
    with Store(migrated) as store:
        assert schema_version(store.db) == SCHEMA_VERSION
        assert "migration_11" in {step.name for step in STEPS.applied(store.db)}
        indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master")}
        assert set(MIGRATION_11_INDEXES) <= indexes


def test_crawl_readings_add_up_every_crawl_reading_and_no_reparse(migrated: Path) -> None:
    with Store(migrated) as store:
        kept = rows(store, "SELECT * FROM crawl_readings ORDER BY crawl_id, parser")
        afresh = rows(
            store, f"SELECT * FROM ({READING_FIGURES.format(observations='observations')})"
            " ORDER BY crawl_id, parser"
        )  # fmt: skip
        assert kept == afresh
        assert {row[0] for row in kept} == {"crawl-1", "crawl-2"}
        readings = store.db.execute("SELECT sum(readings) FROM crawl_readings").fetchone()[0]
        assert readings == 6  # the re-parse's reading is not one of a crawl
        assert store.db.execute(
            "SELECT count(*) FROM observations WHERE reparse_id IS NOT NULL"
        ).fetchone()[0] == 1  # fmt: skip


def test_crawl_health_is_the_aggregate_it_replaced(migrated: Path) -> None:
    with Store(migrated) as store:
        health = rows(store, "SELECT * FROM crawl_health ORDER BY started_at, crawl_id")
        assert health == rows(store, AGGREGATE_CRAWL_HEALTH)
        by_crawl = {row[0]: row[4:] for row in health}
        assert by_crawl["crawl-1-empty"] == (0, 0, 0, *[None] * 8)
        assert by_crawl["crawl-2"][1:3] == (3, 2)  # three read, one by the generic parser


def plan(store: Store, sql: str, params: dict[str, Any] | None = None) -> list[str]:
    """SQLite's plan of a query, one line per step."""
    values = {"page": "", **(params or {})}  # a paged query's first page
    return [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", values)]


def query(name: str) -> str:
    """A canned query's SQL, from store/metadata.yml."""
    sql: str = read_yaml()["databases"][YAML_DATABASE]["queries"][name]["sql"]
    return sql


def scans(steps: list[str], *tables: str) -> list[str]:
    """The steps that scan one of these tables (by alias or name) whole."""
    return [s for s in steps if any(s.startswith(f"SCAN {t}") for t in tables)]


@pytest.fixture
def store(migrated: Path) -> Any:
    """The migrated store, open."""
    with Store(migrated) as opened:
        yield opened


def test_the_crawl_log_reads_crawls_newest_first_and_counts_from_indexes(store: Store) -> None:
    steps = plan(store, query("crawl_log"))
    assert any("idx_crawls_started_at_id" in s for s in steps), steps
    assert any("idx_fetches_crawl_id_outcome_encoding_errors" in s for s in steps), steps
    assert not scans(steps, "f", "fetches", "v", "versions"), steps


def test_crawl_health_reads_the_summary_by_crawl(store: Store) -> None:
    steps = plan(store, query("health_by_crawl"))
    assert any("idx_crawls_started_at_id" in s for s in steps), steps
    assert any("crawl_readings" in s and s.startswith("SEARCH") for s in steps), steps
    assert not scans(steps, "r", "crawl_readings", "f", "fetches", "obs", "observations"), steps


def test_latest_articles_reads_versions_by_publication_time(store: Store) -> None:
    steps = plan(store, query("latest_articles"))
    assert any("idx_versions_published_at" in s for s in steps), steps
    assert not scans(steps, "a", "articles"), steps


def test_current_articles_of_a_day_are_found_by_the_day_index(store: Store) -> None:
    steps = plan(store, f"SELECT * FROM ({CURRENT_ARTICLES_SQL}) WHERE day = :day", {"day": "x"})
    assert any("idx_versions_published_day" in s for s in steps), steps
    assert not scans(steps, "a", "articles", "v", "versions"), steps


@pytest.mark.parametrize(
    ("table", "order"),
    [("articles", "last_seen DESC"), ("versions", "created_at DESC"), ("article_events", "at")],
)
def test_table_pages_sorted_by_a_time_read_it_from_an_index(
    store: Store, table: str, order: str
) -> None:
    steps = plan(store, f"SELECT * FROM {table} ORDER BY {order} LIMIT 101")  # as Datasette
    column = order.split()[0]
    assert any(f"idx_{table}_{column}" in s for s in steps), steps
    assert not any("TEMP B-TREE FOR ORDER BY" in s for s in steps), steps


def test_changes_in_a_period_are_sought_in_the_index_on_created_at(store: Store) -> None:
    steps = plan(store, query("changes_in_period"), {"from": "2024-01-01", "to": "2024-02-01"})
    assert any("idx_version_changes_created_at (created_at>? AND created_at<?)" in s for s in steps)
    assert not scans(steps, "vc", "version_changes"), steps
