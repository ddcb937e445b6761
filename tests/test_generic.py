"""The generic extractor: pages of other sites are read, pages without an article are refused,
its text is the page's text, and the platform's own pages never reach it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

import crawler.sites.generic as generic
from crawler.goldens import article_fixtures, decoded_text
from crawler.items import ArticleItem, FetchItem
from crawler.sites import ARTICLE_PARSERS, UnparseablePage, parse_article
from crawler.sites.generic import GenericV1, reader_text
from crawler.sites.html import html_root
from domain.records import FetchRecord
from domain.text import normalize_text
from pipelines.article import ArticlePipeline
from pipelines.boilerplate import split_article
from tests.conftest import FIXTURES, REFERENCE_PAGE

PAGES = FIXTURES / "generic-pages"
SPECS = {p.name.removesuffix(".expected.json"): p for p in sorted(PAGES.glob("*.expected.json"))}
ARTICLES = sorted(n for n, p in SPECS.items() if "refused" not in json.loads(p.read_text()))
REFUSED = sorted(set(SPECS) - set(ARTICLES))
NO_ARTICLE = "no parser recognizes this page's layout; "


def spec(name: str) -> dict[str, Any]:
    """What a reader finds on page ``name`` (its ``NAME.expected.json``)."""
    return dict(json.loads(SPECS[name].read_text(encoding="utf-8")))


def html(name: str) -> str:
    """The page ``name`` of ``fixtures/generic-pages``."""
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


def read(name: str) -> Any:
    """The article the project reads on page ``name``."""
    return parse_article(spec(name)["url"], html(name))


def test_the_pages_of_other_kinds_are_all_there() -> None:
    assert len(ARTICLES) >= 6 and {"title-only", "login-wall"} <= set(REFUSED)


@pytest.mark.parametrize("name", ARTICLES)
def test_a_page_of_another_site_is_read_by_the_generic_extractor(name: str) -> None:
    page, expected = read(name), spec(name)
    assert (page.parser, page.parser_version) == (GenericV1.name, GenericV1.version)
    assert page.title == expected["title"]
    assert (page.published_at, page.modified_at) == (
        expected["published_at"],
        expected["modified_at"],
    )
    assert [tag.name for tag in page.tags] == expected["tags"]
    assert page.lead == expected.get("lead")


@pytest.mark.parametrize("name", ARTICLES)
def test_the_body_is_the_pages_body_in_order(name: str) -> None:
    """Every paragraph a reader sees is stored, in order, but what trafilatura is known to
    leave out (``missed``) or to add (``extra``); nothing else is added."""
    body, expected = split_article(read(name)).body, spec(name)
    wanted = [p for p in expected["body"] if p not in expected.get("missed", [])]
    assert [p for p in body if p not in expected.get("extra", [])] == wanted


@pytest.mark.parametrize("name", ARTICLES)
def test_every_stored_paragraph_is_text_a_reader_sees(name: str) -> None:
    page = read(name)
    seen = normalize_text(reader_text(html_root(html(name))))
    texts = [t for b in page.blocks for t in (b.items or [b.text]) if t]
    assert texts and all(text in seen for text in texts)


@pytest.mark.parametrize("name", REFUSED)
def test_a_page_without_an_article_is_refused(name: str) -> None:
    with pytest.raises(UnparseablePage) as refused:
        read(name)
    assert str(refused.value) == NO_ARTICLE + spec(name)["refused"]


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("", "the generic extractor found no article text"),
        (
            "<html><head><title>Attention Required</title></head><body><h1>Are you a robot?</h1>"
            "<form action='/captcha'><input name='answer'></form></body></html>",
            "the generic extractor found a title but no article text (0 words)",
        ),
        (
            "<html><head><title>Weather</title></head><body><h1>Weather</h1>"
            "<p>Sunny, 24 degrees, light wind from the west.</p></body></html>",
            "8 words of text on a page that does not say it is an article",
        ),
    ],
    ids=["empty", "captcha", "a-line-of-text"],
)
def test_an_empty_ban_or_stub_page_is_refused(page: str, reason: str) -> None:
    with pytest.raises(UnparseablePage) as refused:
        parse_article("https://elsewhere.example/page", page)
    assert str(refused.value) == NO_ARTICLE + reason


def test_a_short_news_flash_that_says_it_is_an_article_is_read() -> None:
    flash = (
        "<html><head><title>Flash</title><meta property='og:type' content='article'></head>"
        "<body><article><h1>Earthquake off the coast</h1><p>An earthquake of magnitude 6 shook "
        "the coast at dawn; no damage was reported.</p></article></body></html>"
    )
    page = parse_article("https://elsewhere.example/flash", flash)
    assert split_article(page).body == [
        "An earthquake of magnitude 6 shook the coast at dawn; no damage was reported."
    ]


# -- dates -----------------------------------------------------------------------------------


def test_dates_keep_their_raw_string_and_source() -> None:
    claims = [(c.kind, c.value, c.raw, c.source) for c in read("news-article").dates]
    assert claims == [
        ("published", "2024-02-12T03:45:00Z", "2024-02-12T06:45:00+03:00",
         "meta:article:published_time"),
        ("modified", "2024-02-12T06:10:00Z", "2024-02-12T09:10:00+03:00",
         "meta:article:modified_time"),
        ("published", "2024-02-12T03:45:00Z", "2024-02-12T06:45:00+03:00", "time"),
    ]  # fmt: skip


def test_json_ld_dates_in_a_graph_are_read() -> None:
    sources = {c.source for c in read("jsonld-newsarticle").dates}
    assert sources == {"json-ld:datePublished", "json-ld:dateModified"}


def test_a_date_only_in_the_text_is_htmldates_day_with_no_invented_time() -> None:
    (claim,) = read("wire-visible-date").dates
    assert (claim.kind, claim.value, claim.raw, claim.source) == (
        "published",
        None,
        "2023-10-26",
        "htmldate",
    )


def test_a_page_without_a_date_claims_none() -> None:
    page = read("no-date")
    assert (page.dates, page.published_at, page.modified_at) == ([], None, None)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2024-03-05T10:15:00+01:00", "2024-03-05T09:15:00Z"),
        ("2024-03-05T10:15:00.250Z", "2024-03-05T10:15:00Z"),
        ("2024-03-05T10:15:00", None),  # no offset: the zone is not known
        ("2024-03-05", None),  # a day: no time
        ("5 March 2024", None),
    ],
)
def test_a_claim_is_an_instant_only_with_its_offset(raw: str, value: str | None) -> None:
    assert generic.instant(raw) == value


# -- boilerplate --------------------------------------------------------------------------


def test_a_figure_with_a_caption_is_a_photo_not_body() -> None:
    split = split_article(read("wordpress-blog"))
    assert [(c.image_url, c.caption, c.credit) for c in split.captions] == [
        (
            "https://fieldnotes.example.org/wp-content/uploads/2024/03/anchorage.jpg",
            "Bulk carriers at anchor outside the harbour on Sunday.",
            None,
        )
    ]
    assert not any("Bulk carriers" in p for p in split.body)


def test_a_caption_and_credit_marked_apart_are_kept_apart() -> None:
    (caption,) = split_article(read("news-article")).captions
    assert (caption.caption, caption.credit) == (
        "Passengers board the ferry at the Mwanza pier on Monday morning.",
        "Photo: Coastline Daily",
    )


def test_no_related_links_are_invented() -> None:
    assert all(not split_article(read(name)).related_links for name in ARTICLES)


def test_the_category_link_is_the_section_not_a_tag() -> None:
    page = read("wordpress-blog")
    assert (page.section, [t.name for t in page.tags]) == ("Trade", ["grain", "ports"])


# -- text is evidence ------------------------------------------------------------------------


def test_text_trafilatura_altered_is_refused_never_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    real = generic.bare_extraction

    def altering(*args: Any, **kwargs: Any) -> Any:
        document = real(*args, **kwargs)
        (dawn,) = [p for p in document.body.iter("p") if "at dawn" in (p.text or "")]
        dawn.text = dawn.text.replace("at dawn", "at noon")
        return document

    monkeypatch.setattr(generic, "bare_extraction", altering)
    with pytest.raises(UnparseablePage, match="is not on the page as a reader sees it"):
        read("news-article")


def test_inline_markup_reads_as_the_reader_sees_it() -> None:
    root = html_root("<p>re<b>port</b>ed <a>by</a> us<br>today</p><script>x()</script><p>z</p>")
    assert normalize_text(reader_text(root)) == "reported by us today z"


def test_a_marked_lead_with_inline_markup_is_read_as_a_reader_sees_it() -> None:
    marked = html("news-article").replace("a three-week halt", "a three-<b>week</b> halt")
    page = parse_article(spec("news-article")["url"], marked)
    assert page.lead == spec("news-article")["lead"]


def test_an_elements_text_ends_where_it_ends() -> None:
    root = html_root("<p><a rel='tag'>floods</a>, <a rel='tag'>rain</a></p>")
    (first, _) = root.iter("a")
    assert reader_text(first) == "floods"


def test_the_hidden_microdata_copy_of_the_body_is_left_out_where_the_page_shows_it() -> None:
    body = " ".join(
        f"Sentence number {i} of the visible story about the harbour." for i in range(6)
    )
    page = (
        "<html><head><title>Harbour story</title></head><body>"
        "<div itemscope itemtype='https://schema.org/Article'>"
        "<div itemprop='headline'>Harbour story</div>"
        f"<div itemprop='articleBody'>{body}</div></div>"
        f"<article><h1>Harbour story</h1><p>{body}</p></article></body></html>"
    )
    read_page = parse_article("https://elsewhere.example/harbour", page)
    assert split_article(read_page).body == [body]


def test_a_plain_text_article_body_that_is_the_only_copy_is_read() -> None:
    body = " ".join(
        f"Line {i} of the only copy of a plain-text story about rain." for i in range(6)
    )
    page = (
        "<html><head><title>Rain story</title></head><body><h1>Rain story</h1>"
        f"<div itemscope itemtype='https://schema.org/NewsArticle'><div itemprop='articleBody'>"
        f"{body}</div></div></body></html>"
    )
    read_page = parse_article("https://elsewhere.example/rain", page)
    assert " ".join(split_article(read_page).body) == body


# -- the platform's pages never reach it ---------------------------------------------------

# Each design a parser of ARTICLE_PARSERS reads, with every page of it the project has: the
# fixture sets in that design's markup and the real saved pages beside the project.
LEGACY_SETS = {"sputnik-legacy"}
ARABIC_PAGE = "arabic.sputniknews.com-20200317-1044893040.html"
ARABIC_URL = "https://arabic.sputniknews.com/arab_world/202003171044893040-egypt/"
REFERENCE_PAGES = {
    "reference/ria.ru": REFERENCE_PAGE,
    "reference/arabic": REFERENCE_PAGE.parent / ARABIC_PAGE,
}


def fixture_pages(legacy: bool) -> list[tuple[str, str]]:
    """The article pages of the fixture sets in one design's markup, with their URLs."""
    return [
        (f"{folder.name}/{name}", fixture.url)
        for folder in sorted(FIXTURES.iterdir())
        if (folder / "expected").is_dir() and (folder.name in LEGACY_SETS) == legacy
        for name, fixture in article_fixtures(folder)
    ]


DESIGN_PAGES: dict[str, list[tuple[str, str]]] = {
    "platform": [
        *fixture_pages(legacy=False),
        ("reference/ria.ru", "https://ria.ru/20220611/ekonomika-1794720292.html"),
    ],
    "platform-legacy": [*fixture_pages(legacy=True), ("reference/arabic", ARABIC_URL)],
}


def design_page(name: str) -> str:
    """The text of a design's page: a recorded fixture or a reference page beside the project."""
    if name in REFERENCE_PAGES:
        if not REFERENCE_PAGES[name].is_file():
            pytest.skip("../shared/reference/pages is not beside the project")
        return REFERENCE_PAGES[name].read_text(encoding="utf-8")
    folder, page = name.split("/")
    fixture = dict(article_fixtures(FIXTURES / folder))[page]
    return decoded_text(fixture)


def test_every_parser_has_its_design_pages() -> None:
    assert {parser.name for parser in ARTICLE_PARSERS} == set(DESIGN_PAGES)


@pytest.mark.parametrize(
    ("design", "name", "url"),
    [(design, name, url) for design, pages in DESIGN_PAGES.items() for name, url in pages],
)
def test_a_page_of_a_known_design_never_falls_through(
    design: str, name: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{name} reached the generic extractor")

    monkeypatch.setattr(GenericV1, "read", never)
    try:
        page = parse_article(url, design_page(name))
    except UnparseablePage:
        return  # refused by its own parser (a fault fixture): never by the fallback
    assert page.parser == design


def test_a_platform_page_its_parser_refuses_is_not_read_by_the_fallback() -> None:
    no_body = (
        "<html><head><title>x</title></head><body><div class='article' data-article-id='1'>"
        "<div class='article__header'><h1 class='article__title'>A Title Alone</h1></div>"
        "<div class='article__body'></div></div><p>" + "Other text on the page. " * 20 + "</p>"
        "</body></html>"
    )
    with pytest.raises(UnparseablePage, match=r"^the article has no body text$"):
        parse_article("https://sputnikglobe.com/20230101/a-1.html", no_body)


# -- counted apart -------------------------------------------------------------------------


def article_item(url: str, text: str) -> ArticleItem:
    """An article page as the spider hands it to the pipelines."""
    fetch = FetchRecord(
        crawl_id="crawl-1",
        kind="article",
        requested_url=url,
        final_url=url,
        status=200,
        outcome="ok",
        fetched_at="2024-03-05T12:00:00Z",
        body=text.encode("utf-8"),
    )
    return ArticleItem(fetch=fetch, text=text)


def test_the_crawl_counts_articles_by_parser() -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    pipeline = ArticlePipeline(crawler.stats)
    fixture = next(f for _, f in article_fixtures(FIXTURES / "sputnik-africa-t1"))
    items = [
        article_item(fixture.url, decoded_text(fixture)),
        article_item(spec("amp-page")["url"], html("amp-page")),
        article_item(spec("no-date")["url"], html("no-date")),
        article_item(spec("title-only")["url"], html("title-only")),
    ]
    results = [pipeline.process_item(item) for item in items]
    assert [type(r) for r in results] == [ArticleItem, ArticleItem, ArticleItem, FetchItem]
    assert crawler.stats.get_value("wire/article/parser/platform") == 1
    assert crawler.stats.get_value("wire/article/parser/generic") == 2
