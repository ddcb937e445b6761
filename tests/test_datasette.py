"""Tests of the store as Datasette shows it: canned queries, search, escaping, documentation.

Datasette runs in-process (``datasette.client``) on a store built here from hand-made records;
its metadata is the package's, re-keyed for the file's name by ``store.metadata``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlencode

import pytest
from datasette.app import Datasette
from test_store import (
    SITE,
    T1,
    T2,
    T3,
    article_fetch,
    failed_fetch,
    make_article,
    make_crawl,
    revise,
)

from domain.records import CaptionRecord, FetchOutcome, RelatedLinkRecord
from store import Store, load_metadata
from store.metadata import YAML_DATABASE, read_yaml
from store.schema import fts_table_names
from tests.datasette_client import Client

ROOT = Path(__file__).resolve().parent.parent
DB = "archive"  # not the YAML's own key, so re-keying is exercised
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ONE = f"{SITE}/20240501/one.html"
TWO = f"{SITE}/20240502/two.html"
ELSEWHERE = f"{SITE}/not-crawled.html"


@dataclasses.dataclass
class Archive:
    """The store file built for these tests and what saving it returned."""

    path: Path
    fetch_ids: dict[str, int]


def build_archive(path: Path) -> Archive:
    """Two crawls: article one (two versions, linking to two and elsewhere) and article two."""
    one_v1 = make_article(
        ONE,
        body=["First paragraph about giraffes.", "Second paragraph."],
        related_links=[
            RelatedLinkRecord(10, "Read two", TWO, T1, "1 May"),
            RelatedLinkRecord(11, "Read elsewhere", ELSEWHERE, None, "yesterday"),
        ],
    )
    one_v2 = revise(
        make_article(ONE, body=["A zebra crossed.", "Then another paragraph."], captions=1),
        related_links=one_v1.split.related_links,
    )
    one_v2.split.captions.append(
        CaptionRecord(7, 1, f"{SITE}/img/x.jpg", SCRIPT, "Photo <b>AP</b>")
    )
    two = make_article(
        TWO,
        title="Two <img src=x onerror=alert(2)>",
        published_at="2024-05-02T08:00:00Z",
        links=0,
    )
    fetch_ids: dict[str, int] = {}
    with Store(path) as store:
        store.begin_crawl(make_crawl("run-1", T1))
        fetch_ids["one_v1"] = store.save_article(
            article_fetch(one_v1, "run-1", T1), one_v1
        ).fetch_id
        fetch_ids["two"] = store.save_article(article_fetch(two, "run-1", T1), two).fetch_id
        store.save_fetch(failed_fetch(f"{SITE}/gone.html", "not_found", "run-1", T1))
        store.finish_crawl("run-1", T1, "finished", {})
        store.begin_crawl(make_crawl("run-2", T2))
        store.save_article(article_fetch(two, "run-2", T2), two)
        fetch_ids["one_v2"] = store.save_article(
            article_fetch(one_v2, "run-2", T3), one_v2
        ).fetch_id
        store.save_fetch(failed_fetch(f"{SITE}/down.html", "failed", "run-2", T3))
        store.finish_crawl("run-2", T3, "finished", {})
    return Archive(path, fetch_ids)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    """The test store, built once."""
    return build_archive(tmp_path_factory.mktemp("datasette") / f"{DB}.db")


@pytest.fixture(scope="module")
def client(archive: Archive) -> Iterator[Client]:
    """Datasette serving the test store with the store's metadata."""
    client = Client(Datasette(files=[str(archive.path)], metadata=load_metadata(archive.path)))
    yield client
    client.close()


@pytest.fixture(scope="module")
def database_metadata(archive: Archive) -> dict[str, Any]:
    """The metadata of the test store's database."""
    database: dict[str, Any] = load_metadata(archive.path)["databases"][DB]
    return database


def test_metadata_is_keyed_by_the_store_file_name(archive: Archive) -> None:
    assert list(read_yaml()["databases"]) == [YAML_DATABASE]
    metadata = load_metadata(archive.path)
    assert list(metadata["databases"]) == [DB]
    assert metadata["databases"][DB] == read_yaml()["databases"][YAML_DATABASE]
    assert {"title", "description", "license", "source"} <= set(metadata)


def test_latest_articles(client: Client) -> None:
    rows = client.rows(f"/{DB}/latest_articles")
    assert [(row["url"], row["version"], row["versions"]) for row in rows] == [
        (TWO, 1, 1),
        (ONE, 2, 2),
    ]
    assert json.loads(rows[1]["tags"]) == ["Tag 0", "Tag 1"]


def test_search_finds_a_word_of_a_paragraph_in_any_version(client: Client) -> None:
    (zebra,) = client.rows(f"/{DB}/search", q="zebra")
    assert (zebra["url"], zebra["version"], zebra["is_current"]) == (ONE, 2, 1)
    assert "[zebra]" in zebra["snippet"]
    (giraffe,) = client.rows(f"/{DB}/search", q="giraffes")
    assert (giraffe["url"], giraffe["version"], giraffe["is_current"]) == (ONE, 1, 0)
    assert client.rows(f"/{DB}/search", q='"unbalanced AND (') == []
    assert client.rows(f"/{DB}/search", q="") == []


def test_current_articles_can_be_searched(client: Client) -> None:
    rows = client.rows(f"/{DB}/current_articles", _search="zebra")
    assert [row["url"] for row in rows] == [ONE]
    assert client.rows(f"/{DB}/current_articles", _search="giraffes") == []


def test_article_gives_the_whole_record_of_the_current_version(
    client: Client, archive: Archive
) -> None:
    rows = client.rows(f"/{DB}/article", url=ONE)
    parts: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        parts.setdefault(row["part"], []).append(row)
    assert list(parts) == ["header", "body", "caption", "related_link", "tag", "provenance"]
    header = {row["label"]: row["text"] for row in parts["header"]}
    assert header["title"] == "A headline" and header["version"] == "2 of 2"
    assert [row["text"] for row in parts["body"]] == ["A zebra crossed.", "Then another paragraph."]
    assert [
        (row["position"], row["label"], row["text"], row["detail"]) for row in parts["caption"]
    ] == [
        (7, 1, SCRIPT, "Photo <b>AP</b>"),
        (100, 0, "Caption 0", "Credit 0"),
    ]
    assert [(row["text"], row["url"], row["detail"]) for row in parts["related_link"]] == [
        ("Read two", TWO, T1),
        ("Read elsewhere", ELSEWHERE, "yesterday"),
    ]
    assert [row["text"] for row in parts["tag"]] == ["Tag 0", "Tag 1"]
    provenance = {row["label"]: row["text"] for row in parts["provenance"]}
    assert provenance["fetch_id"] == archive.fetch_ids["one_v2"]
    assert (provenance["crawl_id"], provenance["fetched_at"], provenance["status"]) == (
        "run-2",
        T3,
        200,
    )
    assert client.rows(f"/{DB}/article", url=ELSEWHERE) == []


def test_caption_search(client: Client) -> None:
    (row,) = client.rows(f"/{DB}/caption_search", q="alert")
    assert (row["url"], row["version"], row["is_current"]) == (ONE, 2, 1)
    assert (row["caption"], row["credit"], row["idx"]) == (SCRIPT, "Photo <b>AP</b>", 1)
    rows = client.rows(f"/{DB}/caption_search", q="Caption 0")
    assert sorted((row["url"], row["version"]) for row in rows) == [(ONE, 1), (ONE, 2), (TWO, 1)]


def test_related_graph(client: Client) -> None:
    rows = client.rows(f"/{DB}/related_graph", url="")
    edges = [
        (row["source_url"], row["target_url"], row["target_title"], row["target_in_store"])
        for row in rows
    ]
    assert edges == [
        (ONE, TWO, "Two <img src=x onerror=alert(2)>", 1),
        (ONE, ELSEWHERE, None, 0),
    ]
    assert [row["link_title"] for row in rows] == ["Read two", "Read elsewhere"]
    assert [row["target_url"] for row in client.rows(f"/{DB}/related_graph", url=TWO)] == [TWO]


def test_crawl_log(client: Client) -> None:
    rows = client.rows(f"/{DB}/crawl_log")
    assert [row["crawl_id"] for row in rows] == ["run-2", "run-1"]
    counts = {
        row["crawl_id"]: {
            key: row[key]
            for key in ("fetches", "ok", "not_found", "failed", "articles_added", "versions_added")
        }
        for row in rows
    }
    assert counts == {
        "run-1": {
            "fetches": 3,
            "ok": 2,
            "not_found": 1,
            "failed": 0,
            "articles_added": 2,
            "versions_added": 2,
        },
        "run-2": {
            "fetches": 3,
            "ok": 2,
            "not_found": 0,
            "failed": 1,
            "articles_added": 0,
            "versions_added": 1,
        },
    }
    assert set(get_args(FetchOutcome)) <= set(rows[0])
    assert rows[0]["finish_reason"] == "finished"


# Every canned query, with parameters that give it rows.
CANNED = {
    "latest_articles": {},
    "search": {"q": "paragraph"},
    "article": {"url": ONE},
    "caption_search": {"q": "caption"},
    "related_graph": {"url": ""},
    "crawl_log": {},
    "changes_in_period": {"from": "", "to": ""},
    "version_history": {"url": ONE},
    "version_diff": {"url": ONE, "a": "2", "b": "1"},
    "silent_edits": {},
}
# Canned queries whose rows need crawls of a section over time: tests/test_history.py.
HISTORY_CANNED = ("gone_and_delisted", "listing_headlines")
# Canned queries whose rows need a crawl through every discovery source: tests/test_discovery.py.
DISCOVERY_CANNED = ("discovery_coverage", "robots_refusals", "health_by_crawl")


def test_every_canned_query_is_tested_documented_and_read_only(
    database_metadata: dict[str, Any],
) -> None:
    queries = database_metadata["queries"]
    assert set(queries) == {*CANNED, *HISTORY_CANNED, *DISCOVERY_CANNED}
    for name, query in queries.items():
        assert query.get("title") and query.get("description"), name
        assert not query.get("write"), name


@pytest.mark.parametrize("name", CANNED)
def test_every_canned_query_answers_json_and_html(client: Client, name: str) -> None:
    assert client.rows(f"/{DB}/{name}", **CANNED[name])
    page = client.get(f"/{DB}/{name}?{urlencode(CANNED[name])}")
    assert page.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"/{DB}/captions",
        f"/{DB}/caption_search?q=alert",
        f"/{DB}/article?{urlencode({'url': ONE})}",
        f"/{DB}/version_diff?{urlencode({'url': ONE, 'a': 1, 'b': 2})}",
    ],
)
def test_crawled_html_in_a_caption_is_shown_as_text(client: Client, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert ESCAPED_SCRIPT in page.text
    assert "<script>alert(1)" not in page.text
    assert "<b>AP</b>" not in page.text


def test_crawled_html_in_a_title_is_shown_as_text(client: Client) -> None:
    page = client.get(f"/{DB}/current_articles")
    assert "Two &lt;img src=x onerror=alert(2)&gt;" in page.text
    assert "<img src=x" not in page.text


def test_current_articles_facets(client: Client) -> None:
    data = client.get(f"/{DB}/current_articles.json").json()
    facets = {(facet["name"], facet["type"]) for facet in data["facet_results"].values()}
    assert facets == {
        ("site", "column"),
        ("section", "column"),
        ("tags", "array"),
        ("published_at", "date"),
    }
    tags = data["facet_results"]["tags"]["results"]
    assert {(tag["value"], tag["count"]) for tag in tags} == {("Tag 0", 2), ("Tag 1", 2)}


def test_fts_tables_raw_bodies_and_internal_tables_are_hidden(client: Client) -> None:
    tables = {table["name"]: table for table in client.get(f"/{DB}.json").json()["tables"]}
    hidden = {name for name, table in tables.items() if table["hidden"]}
    internal = (
        "bodies",
        "blocks",
        "tags",
        "version_diffs",
        "_sqlite_migrations",
        "stream_messages",
    )
    assert {*internal, *fts_table_names()} <= hidden
    assert all(name.startswith((*internal, *fts_table_names())) for name in hidden)
    assert tables["captions"]["fts_table"] == "captions_fts"
    # versions_fts reads its content from the view version_text: the metadata names it
    zebra = client.rows(f"/{DB}/versions", _search="zebra")
    assert [(row["title"], row["version"]) for row in zebra] == [(zebra[0]["title"], 2)]
    assert client.rows(f"/{DB}/versions", _search="okapis") == []


def test_every_column_of_every_table_and_view_is_documented(
    client: Client, database_metadata: dict[str, Any]
) -> None:
    data = client.get(f"/{DB}.json").json()
    fts = tuple(fts_table_names())
    shown = {
        table["name"]: table["columns"]
        for table in data["tables"]
        if not table["name"].startswith(fts)
    }
    for view in data["views"]:
        name = view["name"] if isinstance(view, dict) else view
        shown[name] = list(client.get(f"/{DB}/{name}.json", _size="0").json()["columns"])
    described = database_metadata["tables"]
    for name, columns in shown.items():
        meta = described.get(name)
        assert meta, f"{name} is not described in metadata.yml"
        assert meta.get("title") and meta.get("description"), name
        assert set(meta.get("columns", {})) == set(columns), name
        assert all(meta["columns"].values()), name
    assert set(described) == set(shown) | set(fts)  # nothing described that does not exist
    assert all(described[name] == {"hidden": True} for name in fts)


def test_serve_runs_datasette_with_the_metadata(archive: Archive) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "store",
            "serve",
            str(archive.path),
            "--",
            "--get",
            f"/{DB}/crawl_log.json?_shape=array",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [row["crawl_id"] for row in json.loads(result.stdout)] == ["run-2", "run-1"]


def test_every_paged_query_shows_the_rows_its_page_links_count_on(
    database_metadata: dict[str, Any],
) -> None:
    # the page links (templates/query.html) offer a next page while a page has page_rows rows:
    # the query's LIMIT and OFFSET must be that many
    paged = {
        name: query for name, query in database_metadata["queries"].items() if "page_rows" in query
    }
    assert len(paged) == 9
    for name, query in paged.items():
        rows = query["page_rows"]
        assert "page" in query["params"], name
        first = "(max(1, CAST(coalesce(nullif(:page, ''), '1') AS INTEGER)) - 1)"
        limit = f"LIMIT {rows} OFFSET {first} * {rows}"
        assert limit in query["sql"], name
