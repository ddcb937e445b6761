"""Migration 17 and the pages of a big store: the same rows, read another way.

The timings are benchmarks/pages.py's business (it prints them). Here: the rewritten views
(``changes``, ``article_discovery``) and canned queries (``related_graph``, ``search``,
``discovery_coverage``) give exactly what their old SQL gave, on a store shaped like a crawled
one (benchmarks/store_size.py: revised articles, gone ones, listings, feeds and sitemaps); the
migration adds its index to an existing store; a table page's row count is bounded by
COUNT_TIME_LIMIT_MS while SQL a visitor writes is not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette
from datasette.database import Database
from datasette.utils import escape_fts

from benchmarks import store_size
from store import Store, datasette_plugin
from store.metadata import SERVE_SETTINGS, YAML_DATABASE, read_yaml
from store.schema import SCHEMA_VERSION, STEPS
from store.views import VIEWS
from store.web.reader import wire_article_id
from tests.datasette_client import Client
from tests.plain_sql import OLD_ARTICLE_DISCOVERY, OLD_CHANGES, OLD_QUERIES


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of about 200 versions: a base set of 20 articles written by the store's own
    code (revisions, 404s, listings, feed, sitemap), copied by SQL."""
    return store_size.build(200, base=20, workdir=tmp_path_factory.mktemp("stores"))


def connect(path: Path) -> sqlite3.Connection:
    """The store read-only, with the functions Datasette's connections have."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.create_function("wire_snippet", -1, datasette_plugin.wire_snippet, deterministic=True)
    conn.create_function("escape_fts", 1, escape_fts)
    conn.create_function("wire_article_id", 1, wire_article_id(conn))
    return conn


def rows(conn: sqlite3.Connection, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Every row of a query, as tuples."""
    return [tuple(row) for row in conn.execute(sql, params or {}).fetchall()]


@pytest.mark.parametrize(
    ("view", "old"), [("changes", OLD_CHANGES), ("article_discovery", OLD_ARTICLE_DISCOVERY)]
)
def test_a_rewritten_view_gives_the_rows_of_its_window(
    bench_store: Path, view: str, old: str
) -> None:
    conn = connect(bench_store)
    new = rows(conn, f"SELECT * FROM {view}")
    assert new and sorted(new, key=repr) == sorted(rows(conn, old), key=repr)
    assert rows(conn, f"SELECT * FROM ({VIEWS[view]})") == new  # the file has this view
    if view == "changes":  # the first version of an article has nothing before it
        firsts = [row for row in new if row[1] == 1]
        assert firsts and all(row[6] is None and row[10] is None for row in firsts)


def test_a_rewritten_query_gives_the_rows_of_the_old_one(bench_store: Path) -> None:
    conn = connect(bench_store)
    queries = read_yaml()["databases"][YAML_DATABASE]["queries"]
    linked = conn.execute(
        "SELECT a.url, r.url FROM related_links AS r "
        "JOIN articles AS a ON a.current_version_id = r.version_id "
        "JOIN articles AS t ON t.url = r.url ORDER BY r.rowid DESC LIMIT 1"
    ).fetchone()
    crawl = conn.execute("SELECT crawl_id FROM discoveries ORDER BY rowid DESC LIMIT 1").fetchone()
    cases: list[tuple[str, dict[str, str]]] = [
        ("related_graph", {"url": linked[0]}),  # the links from it
        ("related_graph", {"url": linked[1]}),  # and to it
        ("related_graph", {"url": ""}),
        ("search", {"q": store_size_word()}),
        ("search", {"q": '"'}),
        ("search", {"q": ""}),
        ("discovery_coverage", {"crawl": crawl[0]}),
        ("discovery_coverage", {"crawl": ""}),
    ]
    cases += [("search", {"q": store_size_word(), "order": "relevance"})]
    relevance = rows(conn, OLD_QUERIES["search"], {"q": store_size_word(), "order": "relevance"})
    typed = {"q": store_size_word(), "order": " Relevance "}  # as a reader may type it
    assert every_page(conn, queries["search"], typed) == relevance
    for name, params in cases:
        old = rows(conn, OLD_QUERIES[name], {"order": "", **params})
        assert every_page(conn, queries[name], params) == old, (name, params)
    assert rows(conn, queries["related_graph"]["sql"], {"url": linked[1], "page": ""})
    assert rows(conn, queries["search"]["sql"], {"q": store_size_word(), "order": "", "page": ""})
    # the whole graph runs to more than one page here: the pages were put together above
    assert len(rows(conn, OLD_QUERIES["related_graph"], {"url": ""})) > 100


def every_page(
    conn: sqlite3.Connection, query: dict[str, Any], params: dict[str, str]
) -> list[Any]:
    """Every row of a canned query, page after page when it has pages (to one not full)."""
    values = {name: params.get(name, "") for name in query.get("params", [])}
    if "page" not in values:
        return rows(conn, query["sql"], values)
    found: list[Any] = []
    for page in range(1, 10_000):
        got = rows(conn, query["sql"], {**values, "page": str(page)})
        found += got
        if len(got) < query["page_rows"]:
            return found
    raise AssertionError("no last page")


def store_size_word() -> str:
    """A word in some of the generated stories (the page benchmark's search word)."""
    from benchmarks.pages import SEARCH_WORD

    return SEARCH_WORD


def test_migration_17_adds_its_index_to_an_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "wire.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DROP INDEX idx_fetches_crawl_id_kind_outcome")
        conn.execute(f"DELETE FROM {STEPS.migrations_table} WHERE name = 'migration_17'")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.close()
    with Store(path) as store:
        names = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master")}
        plan = store.db.execute(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM fetches "
            "WHERE crawl_id = 'c' AND kind = 'article' AND outcome IN ('ok', 'unparseable')"
        ).fetchall()
    assert "idx_fetches_crawl_id_kind_outcome" in names
    assert any("COVERING INDEX idx_fetches_crawl_id_kind_outcome" in row[-1] for row in plan)


@pytest.fixture
def client(bench_store: Path) -> Iterator[Client]:
    """Datasette on the store as ``python -m store serve`` runs it."""
    ds = Datasette(metadata=read_yaml(), settings=dict(SERVE_SETTINGS))
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(bench_store), is_mutable=True), name=YAML_DATABASE)
    client = Client(ds)
    yield client
    client.close()


def test_a_table_page_counts_its_rows_within_the_limit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on a small store the count is in time: shown
    counted = client.get("/wire/versions.json").json()["filtered_table_rows_count"]
    assert counted is not None and counted > 0
    # a limit no count can meet: the page answers without the count, as Datasette does with
    # a count it cut
    monkeypatch.setattr(datasette_plugin, "COUNT_TIME_LIMIT_MS", 1e-9)
    for path in ("/wire/versions", "/wire/changes", "/wire/current_articles"):
        page = client.get(f"{path}.json")
        assert page.status_code == 200 and page.json()["filtered_table_rows_count"] is None
        assert page.json()["rows"]
        assert client.get(path).status_code == 200
    # SQL a visitor writes, with the same text, is not bounded
    written = client.get("/wire.json", sql="select count(*) from versions", _shape="array")
    assert written.status_code == 200 and written.json() == [{"count(*)": counted}]


@pytest.mark.parametrize(
    ("path", "table_page"),
    [
        ("/wire/versions", True),
        ("/wire/versions.json", True),
        ("/wire/search", True),
        ("/wire", False),
        ("/", False),
        ("/wire/versions/1", False),
        ("/-/versions", False),
    ],
)
def test_which_requests_are_table_pages(path: str, table_page: bool) -> None:
    assert datasette_plugin.is_table_page(path) is table_page


def test_a_big_table_is_not_counted_whole_under_a_time_limit(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite counts a whole table in one step no time limit interrupts: a table past
    # COUNT_MAX_ROWID rows is not counted on the database page or its own page
    monkeypatch.setattr(datasette_plugin, "COUNT_MAX_ROWID", 5)
    counts = {t["name"]: t["count"] for t in client.get("/wire.json").json()["tables"]}
    assert counts["versions"] is None and counts["blocks"] is None
    assert counts["source_coverage"] == 3  # a small table still is
    assert "Many rows" in client.get("/wire").text
    assert client.get("/wire/versions.json").json()["filtered_table_rows_count"] is None
    # a filtered page's count is a loop the limit stops: counted; SQL a visitor writes too
    filtered = client.get("/wire/versions.json", version="1").json()["filtered_table_rows_count"]
    written = client.get("/wire.json", sql="select count(*) from versions", _shape="array")
    assert filtered and written.json()[0]["count(*)"] > filtered


def test_a_paged_query_links_the_pages_before_and_after(client: Client) -> None:
    first = client.get("/wire/related_graph", url="")
    assert first.status_code == 200
    assert 'rel="next" href="?url=&amp;page=2"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/wire/related_graph", url="", page="2")
    assert 'rel="prev" href="?url=&amp;page=1"' in second.text
    assert second.text.count("<tr>") < first.text.count("<tr>")  # the last, not full
    assert 'rel="next"' not in second.text
    # a page number that is not one is the first page
    assert 'rel="next" href="?url=&amp;page=2"' in client.get("/wire/related_graph?page=x").text


def test_the_page_links_carry_a_hostile_search_as_text(client: Client) -> None:
    hostile = '"><script>alert(1)</script>'
    page = client.get("/wire/search", q=hostile, page="2")
    assert page.status_code == 200
    assert 'rel="prev" href="?q=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;' in page.text
    assert "<script>alert(1)" not in page.text
