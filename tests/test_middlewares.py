"""The project's downloader components on their own: Retry-After, the article fingerprint,
the redirect guard's reasons and how failures are classed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest, ResponseDataLossError
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.fetching import META_GAVE_UP, META_KIND, decode_page, is_html, outcome_of_failure
from crawler.middlewares import (
    ArticleFingerprinter,
    RedirectGuardMiddleware,
    RetryAfterMiddleware,
    refusal,
    retry_after_seconds,
)
from tests.local_section_spider import LocalSectionSpider

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (b" 120 ", 120.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(
    header: str | bytes | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds


def test_a_retry_after_longer_than_the_cap_is_given_up() -> None:
    crawler = get_crawler(LocalSectionSpider, {"RETRY_AFTER_MAX": 60})
    middleware = RetryAfterMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1/a-1.html")
    response = Response(request.url, status=429, headers={"Retry-After": "3600"}, request=request)
    result = asyncio.run(middleware.process_response(request, response))
    assert result is response
    assert (
        request.meta[META_GAVE_UP] == "HTTP 429: Retry-After 3600 s is over RETRY_AFTER_MAX (60 s)"
    )
    assert crawler.stats is not None
    assert crawler.stats.get_value("retry/retry_after/over_max") == 1


def retry_middleware(**settings: Any) -> tuple[RetryAfterMiddleware, StatsCollector]:
    """The middleware of a crawler whose spider is open, and that crawler's stats."""
    crawler = get_crawler(LocalSectionSpider, settings)
    crawler.spider = LocalSectionSpider.from_crawler(crawler)
    assert crawler.stats is not None
    return RetryAfterMiddleware.from_crawler(crawler), crawler.stats


def test_a_retryable_status_is_retried_as_scrapy_retries() -> None:
    middleware, stats = retry_middleware(RETRY_TIMES=2, RETRY_PRIORITY_ADJUST=-3)
    request = Request("http://127.0.0.1/a-1.html", priority=10)
    first = asyncio.run(middleware.process_response(request, Response(request.url, status=503)))
    assert isinstance(first, Request)
    assert (first.meta["retry_times"], first.priority, first.dont_filter) == (1, 7, True)
    second = asyncio.run(middleware.process_response(first, Response(first.url, status=500)))
    assert isinstance(second, Request)
    assert second.meta["retry_times"] == 2
    answer = Response(second.url, status=503)
    assert asyncio.run(middleware.process_response(second, answer)) is answer
    assert second.meta[META_GAVE_UP] == "HTTP 503 after 2 retries"
    assert stats.get_value("retry/count") == 2
    assert stats.get_value("retry/reason_count/503 Service Unavailable") == 1
    assert stats.get_value("retry/reason_count/500 Internal Server Error") == 1
    assert stats.get_value("retry/max_reached") == 1


def test_request_meta_overrides_the_retry_settings() -> None:
    middleware, stats = retry_middleware(RETRY_TIMES=5)
    once = Request("http://127.0.0.1/a-1.html", meta={"max_retry_times": 1, "priority_adjust": 4})
    retry = asyncio.run(middleware.process_response(once, Response(once.url, status=503)))
    assert isinstance(retry, Request)
    assert retry.priority == 4
    answer = Response(retry.url, status=503)
    assert asyncio.run(middleware.process_response(retry, answer)) is answer
    assert stats.get_value("retry/max_reached") == 1
    never = Request("http://127.0.0.1/a-2.html", meta={"dont_retry": True})
    answer = Response(never.url, status=503)
    assert asyncio.run(middleware.process_response(never, answer)) is answer
    assert META_GAVE_UP not in never.meta
    assert stats.get_value("retry/count") == 1


def test_a_network_failure_is_retried_with_its_exception_as_the_reason() -> None:
    middleware, stats = retry_middleware(RETRY_TIMES=1)
    request = Request("http://127.0.0.1/a-1.html")
    retry = middleware.process_exception(request, DownloadTimeoutError("took too long"))
    assert isinstance(retry, Request)
    assert retry.meta["retry_times"] == 1
    assert middleware.process_exception(retry, DownloadTimeoutError("again")) is None
    reason = "retry/reason_count/scrapy.exceptions.DownloadTimeoutError"
    assert (stats.get_value("retry/count"), stats.get_value(reason)) == (1, 1)
    assert stats.get_value("retry/max_reached") == 1


@pytest.mark.parametrize(
    ("url", "off_site"),
    [
        ("http://127.0.0.1:8123/africa/", False),  # the port does not make a host off-site
        ("http://127.0.0.1/africa/", False),
        ("http://example.org/", True),
        ("http://127.0.0.1.example.org/", True),
    ],
)
def test_the_redirect_guard_compares_hosts_without_ports(url: str, off_site: bool) -> None:
    crawler = get_crawler(LocalSectionSpider)
    crawler.spider = LocalSectionSpider()
    assert RedirectGuardMiddleware.from_crawler(crawler).off_site(url) is off_site


def test_links_to_one_article_have_one_fingerprint() -> None:
    fingerprinter = ArticleFingerprinter()
    base = "https://sputnikglobe.com/20230102/x-1106052640.html"
    variants = [base, f"{base}?utm_source=tw", f"{base}#comments", f"{base}?in=t&share=1#top"]
    prints = {fingerprinter.fingerprint(Request(u, meta={META_KIND: "article"})) for u in variants}
    assert len(prints) == 1
    listing = "https://sputnikglobe.com/services/africa/more.html?id="
    chunks = {fingerprinter.fingerprint(Request(listing + n, meta={META_KIND: "listing"}))
              for n in ("1", "2")}  # fmt: skip
    assert len(chunks) == 2  # a listing's query matters


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://sputnikglobe.com/a.html", None),
        ("file:///etc/passwd", "scheme file"),
        ("data:text/html,<b>x</b>", "scheme data"),
        ("http://10.0.0.8/admin", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "private address"),
        ("http://[::1]:8080/", "private address"),
        ("http://localhost/", "private address"),
        ("http://127.0.0.1:9999/x", None),  # on the allowlist
    ],
)
def test_refusal_reasons(url: str, reason: str | None) -> None:
    assert refusal(url, {"127.0.0.1"}) == reason


def failure_of(error: Exception) -> Failure:
    """A failure carrying ``error``."""
    try:
        raise error
    except Exception:
        return Failure()


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (DownloadTimeoutError("took longer than 1 seconds"), "timeout"),
        (ResponseDataLossError(), "data_loss"),
        (IgnoreRequest("Forbidden by robots.txt"), "refused"),
        (IgnoreRequest("... exceeded DOWNLOAD_MAXSIZE (200 B) during decompression."), "too_large"),
        (ConnectionRefusedError(), "failed"),
    ],
)
def test_failures_are_classed(error: Exception, outcome: str) -> None:
    assert outcome_of_failure(failure_of(error)) == outcome


def html(body: bytes, content_type: str | None) -> HtmlResponse:
    """An HTML response with this body and Content-Type."""
    headers = {"Content-Type": content_type} if content_type else {}
    return HtmlResponse("https://sputnikglobe.com/a.html", body=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html><body>x</body></html>", "text/html", True),
        (b"%PDF-1.4", "application/pdf", False),
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"<html><body>x</body></html>", "text/plain", True),  # sniffed
        (b"just words", "text/plain", False),
    ],
)
def test_html_is_told_by_content_type_then_by_its_start(
    body: bytes, content_type: str | None, expected: bool
) -> None:
    assert is_html(html(body, content_type)) is expected


def test_a_page_valid_in_its_declared_encoding_keeps_it() -> None:
    page = html("<html><p>Кириллица</p></html>".encode("koi8-r"), "text/html; charset=koi8-r")
    assert decode_page(page) == ("<html><p>Кириллица</p></html>", "koi8-r")
