"""The boilerplate split on every fixture page: every block in exactly one place, no leaks."""

from __future__ import annotations

import re

import pytest

from crawler.goldens import article_fixtures
from crawler.sites import UnparseablePage, parse_article
from domain.pages import ArticlePage
from domain.records import SplitArticle
from pipelines.boilerplate import clean_dateline, split_article
from tests.conftest import AFRICA

PAGES = dict(article_fixtures(AFRICA))
TIMESTAMP = re.compile(r"\d{1,2}:\d{2} GMT|\d{1,2} (January|December), \d{1,2}:\d{2}")


def parsed(name: str) -> tuple[ArticlePage, SplitArticle]:
    fixture = PAGES[name]
    page = parse_article(fixture.url, fixture.body().decode("utf-8"))
    return page, split_article(page)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_block_accounted_for_exactly_once(name: str) -> None:
    page, split = parsed(name)
    positions = [block.position for block in page.blocks]
    assert positions == list(range(len(page.blocks)))
    assert len(split.destinations) == len(positions)
    places = split.destinations
    assert places.count("captions") == len({c.position for c in split.captions})
    assert places.count("related_links") == len(split.related_links)
    assert places.count("dropped") == sum(split.dropped.values())
    assert places.count("body") + places.count("dateline") <= len(split.body) + 1
    body_blocks = [b for b, place in zip(page.blocks, places, strict=True) if place == "body"]
    assert len(body_blocks) == len(split.body)
    for block, paragraph in zip(body_blocks, split.body, strict=True):
        assert paragraph in block.text


@pytest.mark.parametrize("name", sorted(PAGES))
def test_no_boilerplate_in_the_body(name: str) -> None:
    page, split = parsed(name)
    for paragraph in split.body:
        for caption in split.captions:
            assert not caption.caption or caption.caption not in paragraph
            assert not caption.credit or caption.credit not in paragraph
        for link in split.related_links:
            assert link.title and link.title not in paragraph
            assert link.published_raw and link.published_raw not in paragraph
        assert paragraph not in {tag.name for tag in page.tags}
        if len(page.tags) > 1:  # the tag list run together, as a flat dump would show it
            assert " ".join(tag.name for tag in page.tags) not in paragraph
        assert not TIMESTAMP.search(paragraph), paragraph
        assert "@context" not in paragraph and "ImageObject" not in paragraph
        assert "banner" not in paragraph.lower()
        assert not split.dateline or not paragraph.startswith(split.dateline)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_article_has_a_dateline_and_a_body(name: str) -> None:
    _, split = parsed(name)
    assert split.dateline and split.dateline.endswith("(Sputnik)")
    assert split.body


def test_banners_embeds_are_counted_drops() -> None:
    totals: dict[str, int] = {}
    for name in PAGES:
        for kind, count in parsed(name)[1].dropped.items():
            totals[kind] = totals.get(kind, 0) + count
    assert totals == {"banner": 18, "embed": 2}


def test_dateline_separator_removed() -> None:
    assert clean_dateline("MOSCOW (Sputnik) - ") == "MOSCOW (Sputnik)"
    assert clean_dateline("МОСКВА, 11 июн - РИА Новости.") == "МОСКВА, 11 июн - РИА Новости"


def test_infinite_scroll_article_is_ignored() -> None:
    page, split = parsed("article-1106222671")
    assert page.article_id == "1106222671"
    other = (AFRICA / "article-1106222671.html").read_text(encoding="utf-8")
    assert 'data-article-id="1106219840"' in other
    assert all("1106219840" not in (link.url or "") for link in split.related_links)
    assert len(split.body) == 4


def test_the_article_is_the_one_the_url_names() -> None:
    html = (AFRICA / "article-1106222671.html").read_text(encoding="utf-8")
    no_id = parse_article("https://sputnikglobe.com/africa/an-article.html", html)
    assert no_id.article_id == "1106222671"  # the first div.article on the page
    with pytest.raises(UnparseablePage, match="data-article-id=1106000001 \\(the URL's id\\)"):
        parse_article("https://sputnikglobe.com/20230101/other-1106000001.html", html)
