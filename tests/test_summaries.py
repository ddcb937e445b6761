"""Migration 20's summaries (store/summaries.py) against the SQL they replace.

Random histories are written row by row in random orders (parents before their children, as
the store writes them; readings of one article out of time order, as a distributed crawl may
store them; sightings before or after the article is stored), and the modified_only view, the
discovery_coverage query of every crawl and listing_headlines — which read the summaries —
are compared with the plain SQL over every row that they replaced. A store filled before
migration 20 gets the same summaries from the migration's fill.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from store import Store, summaries
from store.metadata import YAML_DATABASE, read_yaml
from store.schema import SCHEMA_VERSION, STEPS
from tests.plain_sql import PLAIN_COVERAGE, PLAIN_HEADLINES, PLAIN_MODIFIED_ONLY

SOURCES = ("rss", "sitemap")
TITLES = ("Talks open", "Talks open in Accra", "Talks end")
MODIFIED = (None, "2024-05-01T10:00:00Z", "2024-05-01T12:00:00Z")


def history(seed: int) -> list[tuple[str, dict[str, Any]]]:
    """The rows of a random history, in an order the store could have written them."""
    rng = random.Random(seed)
    crawls = [f"c{n}" for n in range(1, 4)]
    rows: list[tuple[str, dict[str, Any]]] = []
    fetch_ids = iter(range(1, 10_000))
    for n, crawl in enumerate(crawls):
        rows.append(
            (
                "crawls",
                dict(
                    id=crawl,
                    spider="africa",
                    started_at=f"2024-05-0{n + 1}T00:00:00Z",
                    arguments="{}",
                    settings="{}",
                    software="{}",
                ),
            )
        )
    page_fetches = {}
    for n, crawl in enumerate(crawls):
        fid = next(fetch_ids)
        page_fetches[crawl] = (fid, f"2024-05-0{n + 1}T01:00:00Z")
        rows.append(("fetches", fetch(fid, crawl, "listing", page_fetches[crawl][1])))
    parents: list[tuple[str, dict[str, Any]]] = list(rows)
    later: list[list[tuple[str, dict[str, Any]]]] = []  # each article's rows, in their order
    sightings: list[tuple[str, dict[str, Any]]] = []
    version_ids = iter(range(1, 10_000))
    observation_ids = iter(range(1, 10_000))
    for a in range(1, 9):
        url = f"https://example.org/{a}.html"
        stored = rng.random() < 0.8
        for crawl in crawls:
            if rng.random() < 0.6:
                fid, at = page_fetches[crawl]
                sightings.append(
                    (
                        "listings",
                        dict(
                            fetch_id=fid,
                            crawl_id=crawl,
                            listing_url="https://example.org/",
                            section="africa",
                            position=a,
                            url=url,
                            title=rng.choice((None, *TITLES)),
                        ),
                    )
                )
            for source in SOURCES:
                if rng.random() < 0.3:
                    fid, _ = page_fetches[crawl]
                    sightings.append(
                        (
                            "discoveries",
                            dict(
                                fetch_id=fid,
                                crawl_id=crawl,
                                source=source,
                                listing_url="https://example.org/feed",
                                position=a,
                                url=url,
                            ),
                        )
                    )
        if not stored:
            continue
        own: list[tuple[str, dict[str, Any]]] = [
            (
                "articles",
                dict(
                    id=a,
                    url=url,
                    site="example.org",
                    first_seen="2024-05-01T00:00:00Z",
                    last_seen="2024-05-03T00:00:00Z",
                ),
            )
        ]
        versions = []
        readings = []
        for n, crawl in enumerate(crawls):
            if rng.random() < 0.3:
                continue
            fid = next(fetch_ids)
            at = f"2024-05-0{n + 1}T0{rng.choice((0, 2))}:30:00Z"  # before or after the listing
            parents.append(("fetches", fetch(fid, crawl, "article", at)))
            if not versions or rng.random() < 0.4:
                vid = next(version_ids)
                versions.append(vid)
                own.append(("versions", version(vid, a, len(versions), fid, crawl, at, rng)))
            readings.append(
                (
                    "observations",
                    dict(
                        id=next(observation_ids),
                        fetch_id=fid,
                        article_id=a,
                        version_id=rng.choice(versions),
                        text_sha256="t",
                        modified_at=rng.choice(MODIFIED),
                        parser="p",
                        parser_version="1",
                        observed_at=at,
                        read_at=at,
                    ),
                )
            )
        rng.shuffle(readings)  # stored out of time order
        later.append(own + readings)
    # parents first; then the articles' rows (each in its order) and the sightings interleaved
    queues = [*later, *[[row] for row in sightings]]
    ordered = list(parents)
    while queues:
        queue = rng.choice(queues)
        ordered.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return ordered


def fetch(fid: int, crawl: str, kind: str, at: str) -> dict[str, Any]:
    """A fetch row."""
    return dict(
        id=fid,
        crawl_id=crawl,
        kind=kind,
        requested_url=f"https://example.org/f{fid}",
        outcome="ok",
        fetched_at=at,
    )


def version(
    vid: int, article: int, number: int, fid: int, crawl: str, at: str, rng: random.Random
) -> dict[str, Any]:
    """A version row with a random title."""
    return dict(
        id=vid,
        article_id=article,
        version=number,
        title=rng.choice(TITLES),
        authors="[]",
        dates="{}",
        dropped="[]",
        text_sha256=f"t{vid}",
        raw_sha256=f"r{vid}",
        parser="p",
        parser_version="1",
        created_at=at,
        fetch_id=fid,
        crawl_id=crawl,
    )


def write(conn: sqlite3.Connection, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Insert the rows one by one, as the store's writes do."""
    for table, row in rows:
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row)
    conn.commit()


def queries() -> dict[str, Any]:
    """The canned queries of the metadata."""
    return read_yaml()["databases"][YAML_DATABASE]["queries"]


def compare(conn: sqlite3.Connection) -> None:
    """The summaries' answers against the plain SQL's."""
    view = sorted(conn.execute("SELECT * FROM modified_only").fetchall(), key=repr)
    assert view == sorted(conn.execute(PLAIN_MODIFIED_ONLY).fetchall(), key=repr)
    coverage = conn.execute(queries()["discovery_coverage"]["sql"], {"crawl": ""}).fetchall()
    assert coverage == conn.execute(PLAIN_COVERAGE, {"crawl": ""}).fetchall()
    headlines = conn.execute(queries()["listing_headlines"]["sql"], {"page": ""}).fetchall()
    assert headlines == conn.execute(PLAIN_HEADLINES).fetchall()[:100]


def fresh(path: Path) -> sqlite3.Connection:
    """A new store's file, opened as a plain connection (the triggers are the file's)."""
    Store(path).close()
    return sqlite3.connect(path)


@pytest.mark.parametrize("seed", range(12))
def test_the_summaries_give_what_the_plain_sql_gives(tmp_path: Path, seed: int) -> None:
    conn = fresh(tmp_path / "wire.db")
    write(conn, history(seed))
    compare(conn)


def test_the_histories_hold_what_the_summaries_are_for(tmp_path: Path) -> None:
    # the comparisons above are not of empty answers
    found = {"modified_only": 0, "headlines": 0, "sole": 0}
    for seed in range(12):
        conn = fresh(tmp_path / f"wire{seed}.db")
        write(conn, history(seed))
        found["modified_only"] += conn.execute("SELECT count(*) FROM modified_only").fetchone()[0]
        found["headlines"] += conn.execute("SELECT count(*) FROM headline_differences").fetchone()[
            0
        ]
        found["sole"] += conn.execute("SELECT sum(only_here) FROM source_coverage").fetchone()[0]
        conn.close()
    assert all(found.values()), found


def test_migration_20_fills_the_summaries_of_a_store_written_before_it(tmp_path: Path) -> None:
    conn = fresh(tmp_path / "wire.db")
    # a store of schema 19: no summaries, no triggers
    summaries.drop_triggers(conn)
    for table in summaries.TABLES:
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP VIEW modified_only")
    conn.execute(f"DELETE FROM {STEPS.migrations_table} WHERE name = 'migration_20'")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.commit()
    write(conn, history(3))
    conn.close()
    Store(tmp_path / "wire.db").close()  # migrated
    conn = sqlite3.connect(tmp_path / "wire.db")
    compare(conn)
    # and kept from then on
    write(conn, [row for row in history(4) if row[0] in ("listings", "discoveries")][:5])
    compare(conn)
