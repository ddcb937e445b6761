"""The fault matrix: crawls through the real Scrapy engine against a misbehaving local server.

Two crawls of the recorded Africa section, each with a fault on most article URLs (see
:data:`NETWORK_FAULTS` and :data:`CONTENT_FAULTS`); every test then reads one outcome from the
store those crawls wrote. Each fault must be recorded in ``fetches`` (and the stats), must
never become an article, and must not stop the crawl.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from crawler.fixtures import index_fixture_set
from domain.text import article_identity
from pipelines.reparse import format_counts, reparse_store
from store import Store
from tests.conftest import AFRICA
from tests.crawling import ROOT, run_scrapy
from tests.mockserver import path_key, read_log, serve_fixture_set

LOCAL_SPIDER = str(ROOT / "tests" / "local_section_spider.py")
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")


def article_path(article_id: str) -> str:
    """The server path of the recorded article with this id."""
    (found,) = [
        path_key(f.url)
        for f in index_fixture_set(AFRICA).values()
        if f.url.endswith(f"-{article_id}.html")
    ]
    return found


RETRY_AFTER = 2  # seconds the 429 asks for
MAXSIZE = 200_000  # DOWNLOAD_MAXSIZE of the fault crawls (every recorded page is smaller)
TRACKED = "1106399876"  # listed on the section page and in a chunk, under different queries

NETWORK_FAULTS: dict[str, list[dict[str, Any]]] = {
    article_path("1106052640"): [{"delay": 4}],  # slower than DOWNLOAD_TIMEOUT=2, every time
    article_path("1106081942"): [{"status": 500}, {"status": 503}, {}],
    article_path("1106132207"): [{"status": 503}],  # forever
    article_path("1106158803"): [{"status": 429, "headers": {"Retry-After": RETRY_AFTER}}, {}],
    article_path("1106176530"): [{"drop_after": 3000}],  # Content-Length says more
    article_path("1106201450"): [{"drop_after": 3000, "no_length": True}],
    article_path("1106222671"): [{"pad_to": MAXSIZE + 50_000}],
    article_path("1106283315"): [{"gzip_bomb": 50_000_000}],
    article_path("1106301288"): [{"redirect": "http://example.com/stolen.html"}],
    article_path("1106378044"): [{"redirect": "http://169.254.169.254/latest/meta-data/"}],
    article_path("1106478120"): [{"redirect": "file:///etc/passwd"}],
    "/robots.txt": [{"body": "User-agent: *\nDisallow: /20230117/\n"}],  # 1106449902's day
    "/africa/": [
        {"replace": [[f"-{TRACKED}.html", f"-{TRACKED}.html?utm_source=tw&share=1#comments"]]}
    ],
    "/services/africa/more.html?id=1106399876&date=20230116T084500&tags=1": [
        {"replace": [[f"-{TRACKED}.html", f"-{TRACKED}.html#top"]]}
    ],
}

ANGOLA_TITLE = "Angola's 2023 Budget Prioritises Social Spending and Debt Service"
ANGOLA_FIRST = (
    "Angola's government said on Monday that its budget for 2023 would increase spending on "
    "health, education and social protection while continuing to reduce the country's debt "
    "burden."
)
CYRILLIC_TITLE = "Бюджет Анголы на 2023 год: социальные расходы и обслуживание долга"
CYRILLIC_FIRST = (
    "Правительство Анголы заявило в понедельник, что бюджет на 2023 год увеличит расходы на "
    "здравоохранение, образование и социальную защиту."
)
TUNISIA = "1106081942"
TUNISIA_TITLE = "Tunisia's Olive Oil Export Earnings Rise as Global Prices Climb"
CYRILLIC_TUNISIA = "Доходы Туниса от экспорта оливкового масла растут вслед за мировыми ценами"
CAPTCHA = (
    "<html><head><title>Attention Required</title></head><body><h1>Are you a robot?</h1>"
    "<form action='/captcha'><input name='answer'></form></body></html>"
)
REDESIGNED = "1106509473"
MALFORMED = (
    "<html><body><div class='article' data-article-id='1106222671'><p>Unclosed <b>text"
    "</div></span></td></html>"
)
NO_BODY = (
    "<html><head><title>x</title></head><body><div class='article' data-article-id='1106378044'>"
    "<div class='article__header'><h1 class='article__title'>A Title Alone</h1></div>"
    "<div class='article__body'></div></div></body></html>"
)

CONTENT_FAULTS: dict[str, list[dict[str, Any]]] = {
    # cp1251 bytes labelled UTF-8 by the header and by <meta>
    article_path("1106052640"): [
        {
            "reencode": "cp1251",
            "replace": [[ANGOLA_TITLE, CYRILLIC_TITLE], [ANGOLA_FIRST, CYRILLIC_FIRST]],
        }
    ],
    # the charset only in <meta>
    article_path(TUNISIA): [
        {
            "reencode": "cp1251",
            "replace": [
                [TUNISIA_TITLE, CYRILLIC_TUNISIA],
                ['<meta charset="utf-8">', '<meta charset="windows-1251">'],
            ],
            "headers": {"Content-Type": "text/html"},
        }
    ],
    # a UTF-8 BOM, with a header that claims Latin-1
    article_path("1106158803"): [
        {"bom": True, "headers": {"Content-Type": "text/html; charset=iso-8859-1"}}
    ],
    # a charset name no one knows
    article_path("1106132207"): [{"headers": {"Content-Type": "text/html; charset=x-klingon"}}],
    article_path("1106176530"): [
        {
            "body": "%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n",
            "headers": {"Content-Type": "application/pdf"},
        }
    ],
    article_path("1106201450"): [
        {"body": "\u0089PNG\r\n\u001a\n", "headers": {"Content-Type": "image/png"}}
    ],
    article_path("1106222671"): [{"body": MALFORMED}],
    article_path("1106283315"): [{"body": ""}],
    article_path("1106301288"): [{"body": CAPTCHA}],
    article_path("1106378044"): [{"body": NO_BODY}],
    # a redesign: the page as recorded, without the attribute the platform parser looks for
    article_path(REDESIGNED): [{"replace": [["data-article-id=", "data-story-id="]]}],
    # a complete response (right Content-Length) of a page cut in the middle
    article_path("1106449902"): [{"replace": [["</html>", ""], ["</body>", ""]]}],
}


@dataclass
class FaultCrawl:
    """A finished crawl against the fault server: its store, stats and the server's log."""

    db: Database
    stats: dict[str, Any]
    finish_reason: str
    log: list[dict[str, Any]]

    def fetches(self, article_id: str) -> list[dict[str, Any]]:
        """Every fetch of the article with this id, in order."""
        return list(
            self.db.query(
                "select * from fetches where requested_url like :tail order by id",
                {"tail": f"%-{article_id}.html%"},
            )
        )

    def fetch(self, article_id: str) -> dict[str, Any]:
        """The one fetch of this article."""
        (row,) = self.fetches(article_id)
        return row

    def stored(self, article_id: str) -> bool:
        """Whether the article is in the store."""
        return bool(
            list(self.db.query("select 1 from articles where article_id = :id", {"id": article_id}))
        )

    def requests_to(self, path: str) -> list[float]:
        """When the server saw each request to ``path``."""
        return [entry["time"] for entry in self.log if entry["path"] == path]


def fault_crawl(
    folder: Path, faults: dict[str, list[dict[str, Any]]], *arguments: str
) -> FaultCrawl:
    """Crawl the recorded section from the fault server into ``folder/w.db`` (``arguments``:
    more ``-s``/``-a`` options for ``scrapy runspider``)."""
    log = folder / "requests.jsonl"
    with serve_fixture_set(AFRICA, faults, log) as port:
        run = run_scrapy(
            "runspider", LOCAL_SPIDER, "-a", f"section_url=http://127.0.0.1:{port}/africa/",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", "STORE_PATH=w.db",
            "-s", "DOWNLOAD_TIMEOUT=2", "-s", f"DOWNLOAD_MAXSIZE={MAXSIZE}",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", *FAST, *arguments, cwd=folder,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    db = Database(folder / "w.db")
    (crawl,) = list(db.query("select stats, finish_reason from crawls"))
    return FaultCrawl(db, json.loads(crawl["stats"]), crawl["finish_reason"], read_log(log))


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    """The crawl with network and HTTP faults."""
    return fault_crawl(tmp_path_factory.mktemp("network"), NETWORK_FAULTS)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    """The crawl with bad content: charsets, non-HTML, empty and hostile pages."""
    return fault_crawl(tmp_path_factory.mktemp("content"), CONTENT_FAULTS)


# -- the network crawl ---------------------------------------------------------------------


def test_the_crawl_goes_on_past_every_fault(network: FaultCrawl) -> None:
    assert network.finish_reason == "finished"
    stored = {row["article_id"] for row in network.db.query("select article_id from articles")}
    assert stored == {"1106081942", "1106158803", TRACKED, "1106509473", "1106523345", "1106528817"}


def test_a_slow_response_is_retried_then_recorded_as_a_timeout(network: FaultCrawl) -> None:
    fetch = network.fetch("1106052640")
    assert (fetch["outcome"], fetch["status"]) == ("timeout", None)
    assert "after 2 retries" in fetch["error"]
    assert len(network.requests_to(article_path("1106052640"))) == 3  # the try and 2 retries
    assert network.stats["store/fetches/timeout"] == 1


def test_two_server_errors_then_success_is_one_article(network: FaultCrawl) -> None:
    assert [f["outcome"] for f in network.fetches("1106081942")] == ["ok"]
    assert network.stored("1106081942")
    assert len(network.requests_to(article_path("1106081942"))) == 3
    assert network.stats["retry/reason_count/500 Internal Server Error"] == 1


def test_503_forever_is_recorded_as_given_up(network: FaultCrawl) -> None:
    fetch = network.fetch("1106132207")
    assert (fetch["outcome"], fetch["status"]) == ("gave_up", 503)
    assert fetch["error"] == "HTTP 503 after 2 retries"
    assert not network.stored("1106132207")
    assert network.stats["store/fetches/gave_up"] == 1


def test_429_retry_waits_as_long_as_retry_after_asks(network: FaultCrawl) -> None:
    first, second = network.requests_to(article_path("1106158803"))
    assert second - first >= RETRY_AFTER  # what the server saw: the retry came no sooner
    assert network.fetch("1106158803")["outcome"] == "ok"
    assert network.stats["retry/retry_after/waits"] == 1


def test_a_connection_dropped_mid_body_is_data_loss(network: FaultCrawl) -> None:
    fetch = network.fetch("1106176530")
    assert fetch["outcome"] == "data_loss"
    assert fetch["error"].startswith("ResponseDataLossError")
    assert not network.stored("1106176530")


def test_a_body_cut_short_without_length_is_data_loss(network: FaultCrawl) -> None:
    fetch = network.fetch("1106201450")
    assert (fetch["outcome"], fetch["status"]) == ("data_loss", 200)
    assert fetch["error"] == "the connection closed before the page ended"
    assert not network.stored("1106201450")  # no version from a partial page


def test_a_body_over_the_size_limit_is_too_large(network: FaultCrawl) -> None:
    fetch = network.fetch("1106222671")
    assert fetch["outcome"] == "too_large"
    assert "max size" in fetch["error"]


def test_a_compression_bomb_is_stopped_at_the_limit(network: FaultCrawl) -> None:
    fetch = network.fetch("1106283315")
    assert fetch["outcome"] == "too_large"
    assert f"DOWNLOAD_MAXSIZE ({MAXSIZE} B)" in fetch["error"]


@pytest.mark.parametrize(
    ("article_id", "reason"),
    [
        ("1106301288", "redirect to http://example.com/stolen.html not followed (off-site)"),
        ("1106378044", "not followed (private address)"),
        ("1106478120", "redirect to file:///etc/passwd not followed (scheme file)"),
    ],
)
def test_a_redirect_off_site_to_a_private_address_or_to_file_is_not_followed(
    network: FaultCrawl, article_id: str, reason: str
) -> None:
    fetch = network.fetch(article_id)
    assert (fetch["outcome"], fetch["status"]) == ("refused", 302)
    assert reason in fetch["error"]
    assert fetch["requested_url"].endswith(f"-{article_id}.html")
    assert not network.stored(article_id)
    assert not [e for e in network.log if "stolen" in e["path"] or "meta-data" in e["path"]]


def test_robots_txt_disallowing_an_article_is_obeyed_and_recorded(network: FaultCrawl) -> None:
    fetch = network.fetch("1106449902")
    assert (fetch["outcome"], fetch["error"]) == (
        "refused",
        "IgnoreRequest: Forbidden by robots.txt: /20230117/",  # the rule's path
    )
    assert network.requests_to(article_path("1106449902")) == []
    assert network.stats["robotstxt/forbidden"] == 1


def test_tracking_parameters_and_fragments_make_one_article(network: FaultCrawl) -> None:
    (fetch,) = network.fetches(TRACKED)
    urls = [row["url"] for row in network.db.query("select url from articles")]
    assert sum(TRACKED in url for url in urls) == 1
    assert article_identity(fetch["requested_url"]) in urls
    assert network.stats["dupefilter/filtered"] >= 1


def test_every_fault_is_counted_in_the_stats(network: FaultCrawl) -> None:
    counted = {k.removeprefix("store/fetches/"): v for k, v in network.stats.items()
               if k.startswith("store/fetches/")}  # fmt: skip
    rows = dict(network.db.execute("select outcome, count(*) from fetches group by 1").fetchall())
    assert counted == rows
    assert set(rows) >= {"ok", "timeout", "gave_up", "data_loss", "too_large", "refused"}


# -- the content crawl ---------------------------------------------------------------------


def current(crawl: FaultCrawl, article_id: str) -> dict[str, Any]:
    """The current version of a stored article."""
    (row,) = crawl.db.query(
        "select v.*, t.body, t.body_text from articles a "
        "join versions v on v.id = a.current_version_id join version_text t on t.id = v.id "
        "where a.article_id = :id",
        {"id": article_id},
    )
    return row


def test_cp1251_labelled_utf8_is_read_as_cp1251(content: FaultCrawl) -> None:
    fetch = content.fetch("1106052640")
    assert (fetch["outcome"], fetch["encoding"]) == ("ok", "cp1251")
    version = current(content, "1106052640")
    assert version["title"] == CYRILLIC_TITLE
    assert CYRILLIC_FIRST in version["body_text"]
    assert "\ufffd" not in version["body_text"] + version["title"]


def test_reparse_reads_every_page_as_the_crawl_decoded_it(
    content: FaultCrawl, tmp_path: Path
) -> None:
    (database,) = content.db.query("pragma database_list")
    copy = tmp_path / "w.db"
    shutil.copy(database["file"], copy)
    with Store(copy) as store:
        counts = reparse_store(store, progress_every=0)
    assert counts.pages > 0
    assert (counts.changed, counts.failed) == (0, 0), format_counts(counts)


def test_a_charset_only_in_meta_is_used(content: FaultCrawl) -> None:
    assert content.fetch(TUNISIA)["encoding"] == "cp1251"
    assert current(content, TUNISIA)["title"] == CYRILLIC_TUNISIA


def test_a_bom_wins_over_the_header(content: FaultCrawl) -> None:
    assert content.fetch("1106158803")["encoding"] == "utf-8"
    title = current(content, "1106158803")["title"]
    assert title.startswith("São Tomé")


def test_an_unknown_charset_name_falls_back_to_the_page(content: FaultCrawl) -> None:
    fetch = content.fetch("1106132207")
    assert (fetch["outcome"], fetch["encoding"]) == ("ok", "utf-8")


def test_every_decoded_page_records_its_encoding(content: FaultCrawl) -> None:
    # robots.txt, sitemaps and feeds are read as bytes by their parsers (Protego, lxml,
    # feedparser), not decoded by the crawl: no encoding of ours to record
    rows = list(content.db.query("select outcome, encoding from fetches where outcome = 'ok' "
                                 "and kind not in ('robots', 'sitemap', 'feed')"))  # fmt: skip
    assert rows and all(row["encoding"] for row in rows)


@pytest.mark.parametrize(("article_id", "mime"), [("1106176530", "application/pdf"),
                                                  ("1106201450", "image/png")])  # fmt: skip
def test_a_pdf_or_image_is_not_html_and_kept(
    content: FaultCrawl, article_id: str, mime: str
) -> None:
    fetch = content.fetch(article_id)
    assert (fetch["outcome"], fetch["error"]) == (
        "not_html",
        f"not an HTML page (Content-Type: {mime})",
    )
    assert fetch["body_sha256"] is not None
    assert not content.stored(article_id)


def test_an_html_page_cut_short_is_data_loss(content: FaultCrawl) -> None:
    fetch = content.fetch("1106449902")
    assert (fetch["outcome"], fetch["error"]) == ("data_loss", "the page stops before its </html>")
    assert not content.stored("1106449902")


@pytest.mark.parametrize(
    ("article_id", "reason"),
    [
        ("1106222671", "the article has no title"),
        # no design of the platform: the generic extractor finds no article either
        (
            "1106283315",
            "no parser recognizes this page's layout; the generic extractor found no article text",
        ),
        (
            "1106301288",
            "no parser recognizes this page's layout; the generic extractor found a title but "
            "no article text (0 words)",
        ),
        ("1106378044", "the article has no body text"),
    ],
)
def test_malformed_empty_or_ban_pages_are_unparseable_with_the_page_kept(
    content: FaultCrawl, article_id: str, reason: str
) -> None:
    fetch = content.fetch(article_id)
    assert (fetch["outcome"], fetch["error"]) == ("unparseable", reason)
    assert not content.stored(article_id)
    (body,) = content.db.query(
        "select size from bodies where sha256 = :s", {"s": fetch["body_sha256"]}
    )
    assert body["size"] == len(
        {"1106222671": MALFORMED, "1106283315": "", "1106301288": CAPTCHA, "1106378044": NO_BODY}[
            article_id
        ].encode()
    )


def test_a_redesigned_page_is_read_by_the_generic_extractor_and_counted_apart(
    content: FaultCrawl,
) -> None:
    fetch = content.fetch(REDESIGNED)
    assert fetch["outcome"] == "ok"
    (version,) = content.db.query(
        "select v.parser, v.title, a.article_id from versions v "
        "join articles a on a.id = v.article_id where v.fetch_id = :id",
        {"id": fetch["id"]},
    )
    assert (version["parser"], version["article_id"]) == ("generic", None)
    assert version["title"]
    assert content.stats["wire/article/parser/generic"] == 1
    assert content.stats["wire/article/parser/platform"] == 8


def test_the_content_crawl_stores_every_good_page(content: FaultCrawl) -> None:
    assert content.finish_reason == "finished"
    count = next(content.db.query("select count(*) as n from articles"))["n"]
    assert count == 9
