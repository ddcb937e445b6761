"""Fetch provenance: what the crawler records of every HTTP exchange and every failure.

Every fetch gets one outcome (see ``domain.records.FetchOutcome``): :func:`outcome_of_failure`
names what went wrong when there was no usable response, and :func:`read_page` decides
whether a response is a page to parse at all (HTML, complete, decodable) and with which
character encoding its bytes are read.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from typing import TYPE_CHECKING

import charset_normalizer
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import TCPTimedOutError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from domain.records import FetchKind, FetchOutcome, FetchRecord
from domain.times import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

# request.meta keys this project sets
META_KIND = "wire_kind"  # "section" | "listing" | "article"
META_RECEIVED_AT = "wire_received_at"  # when the response arrived (set by ReceivedAtMiddleware)
META_RECORDED_AT = "fixture_fetched_at"  # a replayed response's original fetch time
META_GAVE_UP = "wire_gave_up"  # why retrying stopped (set by RetryAfterMiddleware)
META_REDIRECT_REFUSED = "wire_redirect_refused"  # why (set by RedirectGuardMiddleware)

TIMEOUTS = (DownloadTimeoutError, TwistedTimeoutError, TCPTimedOutError)
HTML_START = re.compile(rb"<html[\s>]", re.IGNORECASE)
HTML_END = re.compile(rb"</html\s*>", re.IGNORECASE)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# How Scrapy words a body over DOWNLOAD_MAXSIZE (in the download handler and in decompression)
TOO_LARGE_MARKERS = ("max size", "DOWNLOAD_MAXSIZE")


def outcome_for_status(status: int) -> FetchOutcome:
    """How a fetch with this HTTP status is classed."""
    if 200 <= status < 300:
        return "ok"
    if status in (404, 410):
        return "not_found"
    return "http_error"


def _headers(response: Response) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, values in response.headers.items():
        key = name.decode("latin-1").lower()
        headers[key] = b", ".join(values).decode("latin-1")
    return headers


def _fetched_at(meta: Mapping[str, object]) -> str:
    for key in (META_RECORDED_AT, META_RECEIVED_AT):
        value = meta.get(key)
        if isinstance(value, str):
            return value
    return utc_now()


def fetch_from_response(
    response: Response,
    crawl_id: str,
    outcome: FetchOutcome | None = None,
    error: str | None = None,
) -> FetchRecord:
    """The record of a fetch that got an HTTP response (any status)."""
    request = response.request
    assert request is not None
    latency = request.meta.get("download_latency")
    referer = request.headers.get("Referer")
    redirects = request.meta.get("redirect_urls") or []
    return FetchRecord(
        crawl_id=crawl_id,
        kind=_kind(request),
        requested_url=redirects[0] if redirects else request.url,
        final_url=response.url,
        status=response.status,
        outcome=outcome or outcome_for_status(response.status),
        fetched_at=_fetched_at(request.meta),
        error=error,
        elapsed_ms=round(latency * 1000, 1) if isinstance(latency, float) else None,
        referer=referer.decode("latin-1") if referer else None,
        headers=_headers(response),
        body=response.body,
        redirect_status=_redirect_status(request.meta),
    )


def _redirect_status(meta: Mapping[str, object]) -> int | None:
    """The status of the first redirect followed (RedirectMiddleware's ``redirect_reasons``)."""
    reasons = meta.get("redirect_reasons")
    first = reasons[0] if isinstance(reasons, list) and reasons else None
    return first if isinstance(first, int) else None


def outcome_of_failure(failure: Failure) -> FetchOutcome:
    """How a download that gave no usable response is classed."""
    message = failure.getErrorMessage()
    if failure.check(*TIMEOUTS):
        return "timeout"
    if failure.check(ResponseDataLossError):
        return "data_loss"
    if failure.check(DownloadCancelledError, IgnoreRequest) and any(
        marker in message for marker in TOO_LARGE_MARKERS
    ):
        return "too_large"
    if failure.check(IgnoreRequest):
        return "refused"  # robots.txt, off-site, the address guard, too many redirects
    return "failed"


def fetch_from_http_error(response: Response, crawl_id: str) -> FetchRecord:
    """The record of a non-2xx response: given up after retries, a refused redirect, or else."""
    request = response.request
    assert request is not None
    gave_up = request.meta.get(META_GAVE_UP)
    if gave_up:
        return fetch_from_response(response, crawl_id, "gave_up", gave_up)
    location = response.headers.get("Location")
    if 300 <= response.status < 400 and location:
        target = location.decode("latin-1")
        reason = request.meta.get(META_REDIRECT_REFUSED, "not an http(s) URL")
        return fetch_from_response(
            response, crawl_id, "refused", f"redirect to {target} not followed ({reason})"
        )
    return fetch_from_response(response, crawl_id)


def fetch_from_failure(failure: Failure, crawl_id: str) -> FetchRecord:
    """The record of a fetch that failed: an HTTP error status, or no response at all."""
    if failure.check(HttpError):
        response: Response = failure.value.response
        return fetch_from_http_error(response, crawl_id)
    request: Request = failure.request  # type: ignore[attr-defined]
    referer = request.headers.get("Referer")
    redirects = request.meta.get("redirect_urls") or []
    error = f"{failure.type.__name__}: {failure.getErrorMessage()}" if failure.type else None
    if redirects and error:
        error += f" (redirected to {request.url})"
    retries = request.meta.get("retry_times")
    if retries and error:
        error += f" after {retries} retries"
    return FetchRecord(
        crawl_id=crawl_id,
        kind=_kind(request),
        requested_url=redirects[0] if redirects else request.url,
        final_url=None,
        status=None,
        outcome=outcome_of_failure(failure),
        fetched_at=utc_now(),
        error=error,
        referer=referer.decode("latin-1") if referer else None,
    )


class UndecodablePage(ValueError):
    """No character encoding reads the page's bytes without errors."""


def codec_name(encoding: str | None) -> str | None:
    """The Python codec name of an encoding label (``UTF8`` -> ``utf-8``); None if unknown."""
    resolved = resolve_encoding(encoding) if encoding else None
    if resolved is None:
        return None
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return None


def detected_encoding(body: bytes) -> str | None:
    """The encoding a detector (charset_normalizer) guesses for some bytes."""
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    return best.encoding if best else None


def encoding_candidates(response: Response) -> Iterator[str]:
    """The encodings to try, in order: BOM, HTTP header, ``<meta>``, a detector, UTF-8.

    Lazy: the detector only runs when the declared encodings failed.
    """
    body = response.body
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
    labels: list[Callable[[], str | None]] = [
        lambda: read_bom(body)[0],
        lambda: http_content_type_encoding(content_type),
        lambda: html_body_declared_encoding(body),
        lambda: detected_encoding(body),
        lambda: "utf-8",
    ]
    tried: set[str] = set()
    for label in labels:
        name = codec_name(label())
        if name and name not in tried:
            tried.add(name)
            yield name


def decode_page(response: Response) -> tuple[str, str]:
    """The page's text and the encoding that read it: the first candidate without errors.

    Never mojibake silently: bytes that are not valid in the declared encoding (cp1251 bytes
    labelled UTF-8) are read with the next candidate, and the one used is returned.
    """
    body = response.body
    bom_encoding, bom = read_bom(body)
    for encoding in encoding_candidates(response):
        data = body[len(bom) :] if bom and codec_name(bom_encoding) == encoding else body
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UndecodablePage("no character encoding reads the page without errors")


def cut_short(response: Response) -> str | None:
    """Why the body is incomplete, or None: the connection dropped, or the page stops early.

    A body that ended when the connection closed (no Content-Length: Scrapy flags it
    ``partial``) is complete only if it reaches ``</html>``; so is any page that opens with
    ``<html`` (a "load more" chunk is a fragment and has neither).
    """
    closed = HTML_END.search(response.body) is not None
    if "dataloss" in response.flags or ("partial" in response.flags and not closed):
        return "the connection closed before the page ended"
    if not closed and HTML_START.search(response.body[:4096]) is not None:
        return "the page stops before its </html>"
    return None


def is_html(response: Response) -> bool:
    """Whether a response is a web page: HTML by its Content-Type or, without one, its start.

    Scrapy guesses the response class from the URL when the Content-Type says nothing it
    knows, so a PDF at ``….html`` would pass for HTML: the header decides here.
    """
    if not isinstance(response, TextResponse):
        return False
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in HTML_TYPES:
        return True
    if mime and not (mime.startswith("text/") or mime.endswith("xml")):
        return False
    start = response.body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<body" in start


def read_page(response: Response, crawl_id: str) -> tuple[FetchRecord, str | None]:
    """The fetch record of a 2xx response and the page's text; no text where it is no page.

    The record's outcome says why there is no text: ``not_html`` (a PDF, an image, ...),
    ``data_loss`` (cut short) or ``unparseable`` (no encoding reads it).
    """
    incomplete = cut_short(response)
    if incomplete:
        return fetch_from_response(response, crawl_id, "data_loss", incomplete), None
    if not is_html(response):
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or "none"
        error = f"not an HTML page (Content-Type: {content_type})"
        return fetch_from_response(response, crawl_id, "not_html", error), None
    try:
        text, encoding = decode_page(response)
    except UndecodablePage as undecodable:
        return fetch_from_response(response, crawl_id, "unparseable", str(undecodable)), None
    fetch = fetch_from_response(response, crawl_id)
    return dataclasses.replace(fetch, encoding=encoding), text


def refused_page(fetch: FetchRecord, reason: str) -> FetchRecord:
    """The record of a page the parser refused: outcome ``unparseable``, with the reason."""
    return dataclasses.replace(fetch, outcome="unparseable", error=reason)


def _kind(request: Request) -> FetchKind:
    kind = request.meta.get(META_KIND, "article")
    assert kind in ("section", "listing", "article")
    return kind
