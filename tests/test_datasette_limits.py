"""Datasette on long articles: a bounded snippet, the article query paged, POST refused.

Datasette runs in-process (``datasette.client``) with the project's plugin (loaded from the
package's entry point) on a store holding one article of thousands of paragraphs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from datasette.app import Datasette
from test_store import SITE, T1, article_fetch, make_article, make_crawl

from store import Store, load_metadata
from store.datasette_plugin import CONTEXT, ELLIPSIS, wire_snippet
from store.metadata import read_yaml
from tests.datasette_client import Client

DB = "long"
LONG = f"{SITE}/20240501/long.html"
PARAGRAPHS = 3_000
PAGE_ROWS = 240


def paragraph(n: int) -> str:
    return f"Paragraph {n} on water in the region, officials said on Monday."


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    path = tmp_path_factory.mktemp("datasette-limits") / f"{DB}.db"
    with Store(path) as store:
        store.begin_crawl(make_crawl())
        body = [paragraph(n) for n in range(PARAGRAPHS)] + ["The last word: zanzibar."]
        article = make_article(LONG, body=body, captions=300, links=2, tags=3)
        store.save_article(article_fetch(article, fetched_at=T1), article)
    settings = {"sql_time_limit_ms": 1000}
    datasette = Datasette(files=[str(path)], metadata=load_metadata(path), settings=settings)
    client = Client(datasette)
    yield client
    client.close()


def test_the_snippet_marks_the_first_match_in_a_bounded_window() -> None:
    text = "x " * 10_000 + "The Officials met. " + "y " * 10_000
    snippet = wire_snippet("officials", "A title", None, text)
    assert snippet is not None and "[Officials]" in snippet
    assert snippet.startswith(ELLIPSIS) and snippet.endswith(ELLIPSIS)
    assert len(snippet) <= 2 * CONTEXT + len("[Officials]") + 2 * len(ELLIPSIS)
    assert wire_snippet("met title", "A title", None, text) == "A [title]"  # first text first
    assert wire_snippet("officials", "A title") == "A title"  # no match: the start
    assert wire_snippet("", None, "") is None
    assert wire_snippet("offic", "the officials") == "the officials"  # words, not prefixes
    assert wire_snippet('"a.b" (', "x a b y") == "x [a] [b] y"  # regex characters are text


def test_no_canned_query_calls_fts5_snippet_or_highlight() -> None:
    """FTS5's auxiliary functions run as one step Datasette's time limit cannot interrupt."""
    queries = read_yaml()["databases"]["wire"]["queries"]
    for name, query in queries.items():
        assert not re.search(r"\b(snippet|highlight)\s*\(", query["sql"]), name


def test_search_in_a_huge_article_answers_with_a_short_snippet(client: Client) -> None:
    (row,) = client.rows(f"/{DB}/search", q="zanzibar")
    assert row["url"] == LONG
    assert "[zanzibar]" in row["snippet"] and len(row["snippet"]) < 3 * CONTEXT
    (many,) = client.rows(f"/{DB}/search", q="officials")
    assert many["snippet"].startswith("Paragraph 0 on water in the region, [officials]")


def parts(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["part"], []).append(row)
    return found


def test_the_article_query_pages_a_long_body_and_keeps_its_provenance(client: Client) -> None:
    pages = -(-(PARAGRAPHS + 1) // PAGE_ROWS)
    seen: list[str] = []
    captions = 0
    for page in range(1, pages + 1):
        rows = client.rows(f"/{DB}/article", url=LONG, page=str(page))
        assert len(rows) < 1000  # never cut at Datasette's max_returned_rows
        found = parts(rows)
        header = {row["label"]: row["text"] for row in found["header"]}
        assert header["page"] == f"{page} of {pages}"
        provenance = {row["label"]: row["text"] for row in found["provenance"]}
        assert provenance["fetched_at"] == T1 and provenance["raw_sha256"]
        assert "encoding_errors" in provenance
        body = found.get("body", [])
        assert [row["position"] for row in body] == list(
            range((page - 1) * PAGE_ROWS + 1, (page - 1) * PAGE_ROWS + 1 + len(body))
        )
        seen += [row["text"] for row in body]
        captions += len(found.get("caption", []))
    assert seen == [paragraph(n) for n in range(PARAGRAPHS)] + ["The last word: zanzibar."]
    assert captions == 300
    first = parts(client.rows(f"/{DB}/article", url=LONG))  # no page: the first
    assert first["header"][-1]["text"] == f"1 of {pages}" and len(first["body"]) == PAGE_ROWS
    beyond = parts(client.rows(f"/{DB}/article", url=LONG, page=str(pages + 1)))
    assert "body" not in beyond and "provenance" in beyond


def test_a_post_to_a_canned_query_answers_405(client: Client) -> None:
    for path in (f"/{DB}/search", f"/{DB}/article", f"/{DB}/versions"):
        response = client.loop.run_until_complete(
            client.datasette.client.post(path, data={"q": "x"})
        )
        assert response.status_code == 405, (path, response.text[:200])
    assert client.get(f"/{DB}/search.json", q="zanzibar").status_code == 200  # GET still works


def test_sql_calling_snippet_or_highlight_is_refused_not_left_running(client: Client) -> None:
    # FTS5's snippet() and highlight() run as one step the time limit cannot stop: a visitor's
    # SQL that calls them is refused at once; the same query without them answers
    for function in (
        "snippet(versions_fts, -1, '[', ']', '…', 10)",
        "HIGHLIGHT(versions_fts, 0, '[', ']')",
    ):
        sql = f"SELECT {function} FROM versions_fts WHERE versions_fts MATCH 'zanzibar'"
        refused = client.get(f"/{DB}.json", sql=sql)
        assert refused.status_code == 400, refused.text
        assert "not authorized" in refused.text
    plain = client.get(
        f"/{DB}.json", sql="SELECT rowid FROM versions_fts WHERE versions_fts MATCH 'zanzibar'"
    )
    assert plain.status_code == 200 and plain.json()["rows"]
