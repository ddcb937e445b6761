"""Bad input, by machine: the recorded article pages, mutated, through spider, pipelines and store.

Hypothesis truncates the pages, drops and duplicates elements, shuffles attributes and injects
odd characters, then feeds each page to the spider's article callback, the article pipeline
(the article chain) and the store. Whatever the page: nothing raises, exactly one item comes
out, its fetch is recorded, and an article without a title or body text is never stored.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import lxml.html
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.fetching import META_KIND
from crawler.fixtures import Fixture, index_fixture_set
from crawler.items import ArticleItem, FetchItem
from domain.records import CrawlRecord
from pipelines.article import ArticlePipeline
from store import Store
from tests.conftest import AFRICA
from tests.local_section_spider import LocalSectionSpider

ARTICLES = sorted(
    (f for f in index_fixture_set(AFRICA).values() if f.status == 200 and "/2023" in f.url),
    key=lambda f: f.url,
)
ODD = [
    "\x00", "\x07", "\ufeff", "\u200b", "\u202e", "\ufffd", "\U0001f600", "e\u0301", "<", ">",
    "&", "&amp;", "&#0;", "&#xD800;", "]]>", "<!--", "\r", "\u2028", "'", '"', "\\",
]  # fmt: skip
RUNS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass
class Harness:
    """The spider, the pipelines and an in-memory store, as a crawl would wire them."""

    spider: LocalSectionSpider
    article: ArticlePipeline
    store: Store
    crawl_id: str


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    """One harness for all examples (each example adds one fetch)."""
    crawler = get_crawler(LocalSectionSpider)
    spider = LocalSectionSpider.from_crawler(crawler)
    store = Store.memory()
    from crawler.run import crawl_id

    run = crawl_id(crawler)
    store.begin_crawl(CrawlRecord(run, spider.name, {}, "2024-01-01T00:00:00Z", {}))
    assert crawler.stats is not None
    yield Harness(spider, ArticlePipeline(crawler.stats), store, run)
    store.close()


def mutate(html: bytes, operations: list[tuple[str, int, int]], odd: str) -> bytes:
    """``html`` changed by each ``(operation, a, b)`` in turn; a and b pick where."""
    for operation, a, b in operations:
        if operation == "truncate":
            html = html[: a % (len(html) + 1)]
            continue
        if operation == "inject":
            at = a % (len(html) + 1)
            html = html[:at] + odd.encode("utf-8") + html[at:]
            continue
        try:
            root = lxml.html.fromstring(html)
        except Exception:  # an empty or hopeless page: nothing to change structurally
            continue
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        if len(elements) < 2:
            continue
        element = elements[a % len(elements)]
        parent = element.getparent()
        if operation == "drop" and parent is not None:
            element.drop_tree()
        elif operation == "duplicate" and parent is not None:
            parent.insert(parent.index(element), lxml.html.fromstring(lxml.html.tostring(element)))
        elif operation == "shuffle":
            items = list(element.attrib.items())
            random.Random(b).shuffle(items)
            element.attrib.clear()
            for name, value in items:
                element.set(name, value if b % 3 else value[::-1])
        html = lxml.html.tostring(root, encoding="utf-8", doctype="<!DOCTYPE html>")
    return html


def response_for(fixture: Fixture, body: bytes) -> HtmlResponse:
    """The response a crawl would get for the fixture, with this body."""
    request = Request(fixture.url, meta={META_KIND: "article"})
    return HtmlResponse(
        url=fixture.url, status=200, headers=fixture.headers, body=body, request=request
    )


def process(harness: Harness, response: HtmlResponse) -> tuple[Any, int]:
    """The one item the spider makes of the response, through the pipelines into the store."""
    items = list(harness.spider.parse_article(response))
    assert len(items) == 1, items
    item = harness.article.process_item(items[0])
    if isinstance(item, ArticleItem):
        assert item.record is not None
        fetch_id = harness.store.save_article(item.fetch, item.record).fetch_id
    else:
        assert isinstance(item, FetchItem)
        fetch_id = harness.store.save_fetch(item.fetch)
    return item, fetch_id


operation = st.tuples(
    st.sampled_from(["truncate", "drop", "duplicate", "shuffle", "inject"]),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
)


@RUNS
@given(
    fixture=st.sampled_from(ARTICLES),
    operations=st.lists(operation, min_size=1, max_size=4),
    odd=st.sampled_from(ODD) | st.text(min_size=1, max_size=5),
)
def test_a_mutated_page_is_recorded_and_never_an_empty_article(
    harness: Harness, fixture: Fixture, operations: list[tuple[str, int, int]], odd: str
) -> None:
    body = mutate(fixture.body(), operations, odd)
    item, fetch_id = process(harness, response_for(fixture, body))
    (row,) = harness.store.db.query("select * from fetches where id = :id", {"id": fetch_id})
    event(row["outcome"])
    assert row["outcome"] in ("ok", "unparseable", "data_loss")
    if row["outcome"] != "ok":
        assert isinstance(item, FetchItem) and row["error"]
        assert row["body_sha256"] is not None  # the page is kept to re-parse later
        return
    assert isinstance(item, ArticleItem) and item.record is not None
    (version,) = harness.store.db.query(
        "select v.title, t.body from versions v join articles a on a.id = v.article_id "
        "join version_text t on t.id = v.id where a.url = :url and v.text_sha256 = :text",
        {"url": item.record.url, "text": item.record.text_sha256},
    )
    assert version["title"] and version["title"].strip()
    assert any(paragraph.strip() for paragraph in json.loads(version["body"]))


@RUNS
@given(fixture=st.sampled_from(ARTICLES), cut=st.integers(min_value=0, max_value=100_000))
def test_a_page_cut_before_its_end_is_never_stored_as_an_article(
    harness: Harness, fixture: Fixture, cut: int
) -> None:
    whole = fixture.body()
    body = whole[: cut % (len(whole) + 1)]
    item, fetch_id = process(harness, response_for(fixture, body))
    (row,) = harness.store.db.query("select outcome from fetches where id = :id", {"id": fetch_id})
    if len(body) < whole.rindex(b"</html>") + len(b"</html>"):
        assert row["outcome"] in ("data_loss", "unparseable")
        assert isinstance(item, FetchItem)
    else:
        assert row["outcome"] == "ok"


def test_a_parser_bug_is_recorded_not_lost(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(url: str, html: str, dropped_urls: list[str] | None = None) -> None:
        raise KeyError("a selector the parser did not expect")

    monkeypatch.setattr("pipelines.article.parse_article", broken)
    fixture = ARTICLES[0]
    item, fetch_id = process(harness, response_for(fixture, fixture.body()))
    assert isinstance(item, FetchItem)
    (row,) = harness.store.db.query("select * from fetches where id = :id", {"id": fetch_id})
    assert (row["outcome"], row["error"]) == (
        "unparseable",
        "parser error: KeyError: 'a selector the parser did not expect'",
    )
    assert harness.spider.crawler.stats.get_value("wire/parser/error") == 1
