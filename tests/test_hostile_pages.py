"""Hostile pages never become false evidence, and one bad link never stops a crawl.

Parser and fetch checks on pages built here from the recorded ones (deep nesting, a page cut
after a script that holds ``</html>``, a stray undecodable byte, a link that is no URL), then
two crawls through the real Scrapy engine against the fault server (``tests/mockserver.py``):
one with these pages and a listing full of bad links, one with an endless "load more" chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.fetching import (
    META_KIND,
    UndecodablePage,
    decode_page,
    document_unclosed,
    link_refusal,
    read_page,
    read_text,
)
from crawler.fixtures import index_fixture_set
from crawler.items import FetchItem, ListingItem
from crawler.sites import UnparseablePage, parse_article, parse_listing
from crawler.sites.__main__ import main as page_cli
from crawler.sites.html import MAX_PAGE_TAGS, html_root
from crawler.spiders.section import META_PAGE_NUMBER
from tests.conftest import AFRICA
from tests.local_section_spider import LocalSectionSpider
from tests.test_faults import FaultCrawl, article_path, fault_crawl

# the recorded pages by file name: "section", "more-1", "1106523345" (an article's id)
FIXTURES = {
    f.body_path.stem.removeprefix("article-"): f for f in index_fixture_set(AFRICA).values()
}
DEEP = "1106523345"  # six text blocks, two related links
URL = FIXTURES[DEEP].url
PAGE = FIXTURES[DEEP].body().decode("utf-8")
BODY_OPEN = '<div class="article__body">'
NEST = 3000  # libxml2 reads 2,048 levels at most, even with huge_tree


def nested(depth: int) -> str:
    """``depth`` nested empty divs."""
    return "<div>" * depth + "</div>" * depth


def body_texts(html: str) -> list[str]:
    """The text blocks the parser reads from a page of :data:`URL`."""
    return [b.text for b in parse_article(URL, html).blocks if b.kind == "text"]


def response(html: bytes | str, url: str = URL, **headers: str) -> HtmlResponse:
    """A 200 answer of an article request with this body."""
    body = html.encode("utf-8") if isinstance(html, str) else html
    request = Request(url, meta={META_KIND: "article"})
    return HtmlResponse(
        url=url, status=200, body=body, request=request,
        headers={"Content-Type": "text/html; charset=utf-8", **headers},
    )  # fmt: skip


# -- deep nesting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        PAGE.replace("<body>", "<body>" + nested(NEST), 1),  # before the article
        PAGE.replace(BODY_OPEN, BODY_OPEN + nested(NEST), 1),  # inside its body
    ],
    ids=["before-the-article", "inside-the-body"],
)
def test_nesting_deeper_than_the_parser_reads_is_refused_never_read_short(page: str) -> None:
    with pytest.raises(UnparseablePage, match=r"stopped .* before the end of the page"):
        parse_article(URL, page)


def test_nesting_within_the_parsers_reach_is_read_whole() -> None:
    deep = PAGE.replace(BODY_OPEN, BODY_OPEN + nested(1500), 1)
    assert body_texts(deep) == body_texts(PAGE)
    assert len(body_texts(PAGE)) == 6


# -- completeness by structure -------------------------------------------------------------

SCRIPT = "<script>var shell = '<html><body></body></html>';</script>"
WITH_SCRIPT = PAGE.replace("</head>", SCRIPT + "</head>", 1)
MIDDLE = WITH_SCRIPT.index("article__block", WITH_SCRIPT.index(BODY_OPEN) + 400)


@pytest.mark.parametrize(
    ("html", "unclosed"),
    [
        (WITH_SCRIPT, False),
        (WITH_SCRIPT[:MIDDLE], True),  # cut in the body: the script's </html> is no tag
        (PAGE.replace("<body>", "<body><textarea></body></html></textarea>", 1)[:MIDDLE], True),
        (PAGE.replace("</head>", "<!-- </html> --></head>", 1)[:MIDDLE], True),
        (PAGE.replace("</body>", "").replace("</html>", ""), True),  # HTML lets it: refused
        (PAGE + "\n<!-- served in 0.2 s -->\n", False),
        (PAGE.replace("</html>", "</html>\n<p>more after the end</p>"), True),
        (PAGE[: PAGE.rindex("</body>")] + "</body>", False),  # </html> left out, body closed
        (FIXTURES["more-1"].body().decode("utf-8"), None),  # a chunk is no document
    ],
    ids=[
        "whole",
        "cut",
        "textarea",
        "comment",
        "no-end-tags",
        "trailing-comment",
        "content-after-end",
        "body-closed",
        "chunk",
    ],
)
def test_a_document_is_complete_by_its_tokenized_structure(html: str, unclosed: bool) -> None:
    assert document_unclosed(html) is unclosed


def test_a_page_cut_after_a_script_holding_html_is_data_loss() -> None:
    fetch, page = read_page(response(WITH_SCRIPT[:MIDDLE]), "crawl")
    assert (fetch.outcome, fetch.error, page) == (
        "data_loss",
        "the page stops before its </html>",
        None,
    )
    whole, page = read_page(response(WITH_SCRIPT), "crawl")
    assert whole.outcome == "ok" and page is not None


# -- undecodable bytes ---------------------------------------------------------------------

ONE_BAD = PAGE.encode("utf-8").replace(b"the Central African", b"the Central\xffAfrican", 1)


def test_a_stray_undecodable_byte_is_replaced_and_counted() -> None:
    assert PAGE.encode("utf-8") != ONE_BAD
    page = read_text(response(ONE_BAD))
    assert (page.codec, page.replaced, page.encoding) == ("utf-8", 1, "utf-8+replace")
    assert page.text == PAGE.replace("the Central African", "the Central\ufffdAfrican", 1)
    fetch, _ = read_page(response(ONE_BAD), "crawl")
    assert (fetch.outcome, fetch.encoding) == ("ok", "utf-8+replace")
    # re-parsing decodes alike (pipelines.reparse reads through decode_page)
    assert decode_page(response(ONE_BAD)) == (page.text, "utf-8+replace")


def test_more_than_one_undecodable_byte_in_a_thousand_characters_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # where the detector guesses no encoding that reads the bytes
    monkeypatch.setattr("crawler.fetching.detected_encoding", lambda body: None)
    just_under = PAGE.encode("utf-8").replace(b" ", b"\xff", len(PAGE) // 1000 - 1)
    assert read_text(response(just_under)).encoding == "utf-8+replace"
    bad = PAGE.encode("utf-8").replace(b" ", b"\xff", len(PAGE) // 999 + 1)
    with pytest.raises(UndecodablePage, match=r"bytes no encoding reads \(utf-8: more than 1 in"):
        read_text(response(bad))
    fetch, page = read_page(response(bad), "crawl")
    assert (fetch.outcome, page) == ("unparseable", None)


def test_a_literal_replacement_character_is_not_counted_as_an_error() -> None:
    page = read_text(response(PAGE.replace("Minister", "Minister\ufffd", 1)))
    assert (page.replaced, page.encoding) == (0, "utf-8")


# -- links that are no URL -----------------------------------------------------------------

RELATED_HREF = 'href="https://sputnikglobe.com/'
MALFORMED_LINK = PAGE.replace(RELATED_HREF, 'href="http://[oops/', 1)


def test_a_link_that_is_no_url_is_dropped_and_counted_never_the_page() -> None:
    assert MALFORMED_LINK != PAGE
    dropped: list[str] = []
    page = parse_article(URL, MALFORMED_LINK, dropped)
    assert dropped and all(url.startswith("http://[oops/") for url in dropped)
    assert [b.text for b in page.blocks] == [b.text for b in parse_article(URL, PAGE).blocks]


def test_the_page_cli_reads_a_page_with_a_link_that_is_no_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "page.html"
    saved.write_text(MALFORMED_LINK, encoding="utf-8")
    assert page_cli([str(saved), "--url", URL]) == 0
    out, err = capsys.readouterr()
    assert '"title": "Russian Defense Ministry' in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://sputnikglobe.com/20230120/a-1.html", None),
        ("https://www.sputnikglobe.com/a-1.html", None),
        ("mailto:desk@sputnik.invalid", "scheme mailto"),
        ("javascript:void(0)", "scheme javascript"),
        ("file:///etc/passwd", "scheme file"),
        ("ftp://sputnikglobe.com/a", "scheme ftp"),
        ("http://[oops/", "malformed URL (Invalid IPv6 URL)"),
        ("http://sputnikglobe.com:99999/a", "malformed URL (Port out of range 0-65535)"),
        ("https://evil.example/a-1.html", "off-site"),
        ("https://notsputnikglobe.com/a", "off-site"),
        ("/20230120/a-1.html", "not an absolute URL"),
        ("http:///a", "no host"),
    ],
)
def test_a_listed_link_is_checked_before_it_is_requested(url: str, reason: str | None) -> None:
    assert link_refusal(url, ["sputnikglobe.com"]) == reason


def test_any_host_is_on_site_for_a_spider_without_allowed_domains() -> None:
    assert link_refusal("https://evil.example/a.html", []) is None


def test_a_listing_with_an_off_site_next_chunk_records_it_refused() -> None:
    chunk = FIXTURES["more-1"]
    url = "http://127.0.0.1:8000/services/africa/more.html?id=1106399876"  # allowed_domains
    body = chunk.body().replace(b"/services/africa/more.html", b"https://evil.example/more.html")
    spider = LocalSectionSpider.from_crawler(get_crawler(LocalSectionSpider))
    request = Request(url, meta={META_KIND: "listing", META_PAGE_NUMBER: 2})
    answer = HtmlResponse(url=url, status=200, headers=chunk.headers, body=body, request=request)
    items = list(spider.parse_listing(answer))
    assert not [i for i in items if isinstance(i, Request) and "more" in i.url]
    (refused,) = [i.fetch for i in items if isinstance(i, FetchItem)]
    assert (refused.kind, refused.outcome, refused.referer) == ("listing", "refused", url)
    assert refused.requested_url.startswith("https://evil.example/more.html")
    assert refused.error == "link not requested: off-site"
    (listing,) = [i for i in items if isinstance(i, ListingItem)]
    assert len(listing.listing.entries) == 6


# -- the pagination bound ------------------------------------------------------------------


def test_max_listing_pages_defaults_to_200_and_max_pages_applies_when_smaller() -> None:
    default = get_project_settings().getint("MAX_LISTING_PAGES")

    def limit(settings: dict[str, Any], **arguments: str) -> int | None:
        crawler = get_crawler(LocalSectionSpider, {"MAX_LISTING_PAGES": default, **settings})
        return LocalSectionSpider.from_crawler(crawler, **arguments).page_limit

    assert default == 200
    assert limit({}) == 200
    assert limit({}, max_pages="7") == 7
    assert limit({"MAX_LISTING_PAGES": 5}, max_pages="7") == 5
    assert limit({"MAX_LISTING_PAGES": 0}, max_pages="7") == 7
    assert limit({"MAX_LISTING_PAGES": 0}) is None


# -- through the engine and the fault server -----------------------------------------------

HOSTILE_ENTRIES = {
    "mailto:desk@sputnik.invalid": "scheme mailto",
    "javascript:void(0)": "scheme javascript",
    "http://[oops/": "malformed URL (Invalid IPv6 URL)",
    "http://evil.example/20230120/stolen-1106000001.html": "off-site",
}
LAST_CHUNK = "/services/africa/more.html?id=1106222671&date=20230109T100500&tags=1"
RELATED = "1106081942"  # an article with a related link
STRAY_BYTE = "1106052640"
CUT = "1106509473"
HUGE = "1106132207"  # grown past MAX_PAGE_TAGS
ANCHOR = 'itemtype="http://schema.org/ItemList">'


def listed_item(href: str) -> str:
    """A listing entry linking to ``href``."""
    return f'<div class="list__item"><a href="{href}" class="list__title">Bad link</a></div>'


HOSTILE_FAULTS: dict[str, list[dict[str, Any]]] = {
    # bad links first on the section page: every later entry and "load more" must follow
    "/africa/": [{"replace": [[ANCHOR, ANCHOR + "".join(map(listed_item, HOSTILE_ENTRIES))]]}],
    # the last chunk's "load more" leads to a file
    LAST_CHUNK: [{"replace": [['class="list-items-loaded">',
                               'class="list-items-loaded" data-next-url="file:///etc/passwd">']]}],
    article_path(DEEP): [{"replace": [[BODY_OPEN, BODY_OPEN + nested(NEST)]]}],
    article_path(CUT): [{"replace": [["</head>", SCRIPT + "</head>"]], "truncate": 9000}],
    article_path(RELATED): [{"replace": [['href="https://sputnikglobe.com/20221228/',
                                          'href="http://[oops/20221228/']]}],
    article_path(STRAY_BYTE): [{"bytes_replace": [["Angola's government said",
                                                   "Angola\xffs government said"]]}],
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    """The crawl of hostile pages and a listing full of bad links."""
    return fault_crawl(tmp_path_factory.mktemp("hostile"), HOSTILE_FAULTS)


def listed_urls() -> set[str]:
    """Every article the recorded section page and chunks list."""
    return {
        entry.url.split("/", 3)[3]
        for name in ("section", "more-1", "more-2")
        for entry in parse_listing(FIXTURES[name].url, FIXTURES[name].body().decode()).entries
    }


def test_one_bad_link_in_a_listing_never_stops_the_crawl(hostile: FaultCrawl) -> None:
    assert hostile.finish_reason == "finished"
    answered = "select requested_url from fetches where kind = 'article' and status is not null"
    requested = {row["requested_url"].split("/", 3)[3] for row in hostile.db.query(answered)}
    assert listed_urls() <= requested
    assert len(hostile.requests_to(LAST_CHUNK)) == 1  # "load more" followed to the end


def test_a_refused_listed_link_is_recorded_as_a_refused_fetch(hostile: FaultCrawl) -> None:
    rows = {row["requested_url"]: row for row in hostile.db.query(
        "select * from fetches where outcome = 'refused'")}  # fmt: skip
    for url, reason in HOSTILE_ENTRIES.items():
        row = rows[url]
        assert (row["kind"], row["status"]) == ("article", None)
        assert row["error"] == f"link not requested: {reason}"
        assert row["referer"].endswith("/africa/")
    chunk = rows["file:///etc/passwd"]
    assert (chunk["kind"], chunk["error"]) == ("listing", "link not requested: scheme file")
    assert hostile.stats["wire/listing/refused_url"] == len(HOSTILE_ENTRIES) + 1
    assert hostile.stats["store/fetches/refused"] == len(rows)
    assert not [e for e in hostile.log if "stolen" in e["path"] or "passwd" in e["path"]]


def test_a_deeply_nested_page_is_unparseable_through_the_crawl(hostile: FaultCrawl) -> None:
    fetch = hostile.fetch(DEEP)
    assert fetch["outcome"] == "unparseable"
    assert "before the end of the page" in fetch["error"]
    assert not hostile.stored(DEEP)


def test_a_cut_page_with_html_in_a_script_is_data_loss_through_the_crawl(
    hostile: FaultCrawl,
) -> None:
    fetch = hostile.fetch(CUT)
    assert (fetch["outcome"], fetch["status"]) == ("data_loss", 200)
    assert fetch["error"] == "the page stops before its </html>"
    assert not hostile.stored(CUT)


def test_a_related_link_that_is_no_url_drops_the_link_not_the_article(
    hostile: FaultCrawl,
) -> None:
    assert hostile.fetch(RELATED)["outcome"] == "ok"
    assert hostile.stored(RELATED)
    (link,) = hostile.db.query(
        "select r.url, r.title from related_links r join versions v on v.id = r.version_id "
        "join articles a on a.id = v.article_id where a.article_id = :id",
        {"id": RELATED},
    )
    assert (link["url"], link["title"]) == (
        None,
        "Olive Harvest Gets Under Way in Tunisia's Sfax Region",
    )
    assert hostile.stats["wire/article/dropped_url"] == 1


def test_a_stray_byte_is_replaced_and_counted_through_the_crawl(hostile: FaultCrawl) -> None:
    fetch = hostile.fetch(STRAY_BYTE)
    assert (fetch["outcome"], fetch["encoding"]) == ("ok", "utf-8+replace")
    sent = FIXTURES[STRAY_BYTE].body().count(b"Angola's government said")
    assert hostile.stats["fetch/encoding_errors"] == sent
    assert fetch["encoding_errors"] == sent  # recorded on the fetch, in the store
    ok_fetches = hostile.db.query(
        "select encoding_errors from fetches where outcome = 'ok' and encoding is not null"
        " and requested_url not like :u",  # robots.txt, sitemaps and feeds are read as bytes
        {"u": f"%{STRAY_BYTE}%"},
    )
    assert {row["encoding_errors"] for row in ok_fetches} == {0}
    (version,) = hostile.db.query(
        "select v.body_text from version_text v join articles a on a.current_version_id = v.id "
        "where a.article_id = :id",
        {"id": STRAY_BYTE},
    )
    assert "Angola\ufffds government said" in version["body_text"]


def test_a_page_of_too_many_tags_is_refused_before_parsing_through_the_crawl(
    tmp_path: Path,
) -> None:
    faults = {article_path(HUGE): [{"replace": [[BODY_OPEN, BODY_OPEN + "<p>" * MAX_PAGE_TAGS]]}]}
    crawl = fault_crawl(tmp_path, faults, "-s", "DOWNLOAD_MAXSIZE=16777216", "-a", "recheck=none")
    fetch = crawl.fetch(HUGE)
    assert fetch["outcome"] == "unparseable"
    assert f"tags, more than {MAX_PAGE_TAGS:,}: not parsed" in fetch["error"]
    assert fetch["body_sha256"] is not None  # the page is kept, to be seen
    assert not crawl.stored(HUGE)
    assert crawl.finish_reason == "finished"


def test_a_page_is_parsed_up_to_the_tag_bound_and_refused_past_it() -> None:
    page = "<html><body>{}</body></html>"
    filler = "<p>" * (MAX_PAGE_TAGS - page.count("<"))
    root = html_root(page.format(filler))
    assert len(root.findall(".//p")) == len(filler) // 3
    with pytest.raises(UnparseablePage, match=r"holds 250,001 tags, more than 250,000"):
        html_root(page.format(filler + "<p>"))


def test_an_endless_load_more_chain_stops_at_max_listing_pages(tmp_path: Path) -> None:
    section_more = "/services/africa/more.html?id=1106399876&amp;date=20230116T084500&amp;tags=1"
    faults: dict[str, list[dict[str, Any]]] = {
        "/africa/": [{"replace": [[section_more, "/endless?page=2"]]}],
        "/endless": [{"chain": "/endless"}],
    }
    crawl = fault_crawl(tmp_path, faults, "-s", "MAX_LISTING_PAGES=5", "-a", "recheck=none")
    assert crawl.finish_reason == "finished"
    chunks = [e["path"] for e in crawl.log if e["path"].startswith("/endless")]
    assert chunks == [f"/endless?page={n}" for n in range(2, 6)]
    assert crawl.stats["wire/listing/max_listing_pages"] == 5
    listings = next(crawl.db.query(
        "select count(*) as n from fetches where kind in ('section', 'listing')"))["n"]  # fmt: skip
    assert listings == 5
