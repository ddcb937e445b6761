"""Fetch provenance: what the crawler records of every HTTP exchange and every failure.

Every fetch gets one outcome (see ``domain.records.FetchOutcome``): :func:`outcome_of_failure`
names what went wrong when there was no usable response, and :func:`read_page` decides
whether a response is a page to parse at all (HTML, complete, decodable) and with which
character encoding its bytes are read; :func:`link_refusal` decides whether a link found on a
page may become a request at all, and :func:`refused_link` records one that may not.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

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

from domain.records import FETCH_KINDS, FetchKind, FetchOutcome, FetchRecord
from domain.times import utc_now

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

# request.meta keys this project sets
META_KIND = "wire_kind"  # a FetchKind: "section", "listing", "article", "sitemap", ...
META_SOURCE = "wire_source"  # how the request was found (domain.records.DiscoverySource)
META_RECEIVED_AT = "wire_received_at"  # when the response arrived (set by ReceivedAtMiddleware)
META_RECORDED_AT = "fixture_fetched_at"  # a replayed response's original fetch time
META_GAVE_UP = "wire_gave_up"  # why retrying stopped (set by RetryAfterMiddleware)
META_REDIRECT_REFUSED = "wire_redirect_refused"  # why (set by RedirectGuardMiddleware)

TIMEOUTS = (DownloadTimeoutError, TwistedTimeoutError, TCPTimedOutError)
# Undecodable bytes, once read with ``surrogateescape`` (a strict decoder never makes these)
ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# More undecodable bytes than one per this many characters: the page is refused, not repaired
CHARACTERS_PER_REPLACEMENT = 1000
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
        source=_source(request),
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
        source=_source(request),
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


def declared_encodings(response: Response) -> list[str]:
    """The encodings the page declares, in order: its BOM, the HTTP header, its ``<meta>``."""
    body = response.body
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
    labels = (
        read_bom(body)[0],
        http_content_type_encoding(content_type),
        html_body_declared_encoding(body),
    )
    return list(dict.fromkeys(name for name in map(codec_name, labels) if name))


def encoding_candidates(response: Response) -> Iterator[str]:
    """The encodings to try, in order: BOM, HTTP header, ``<meta>``, a detector, UTF-8.

    Lazy: the detector only runs when the declared encodings failed.
    """
    body = response.body
    labels: list[Callable[[], str | None]] = [lambda: detected_encoding(body), lambda: "utf-8"]
    tried = declared_encodings(response)
    yield from tried
    for label in labels:
        name = codec_name(label())
        if name and name not in tried:
            tried.append(name)
            yield name


@dataclasses.dataclass(frozen=True)
class DecodedPage:
    """A page's text, the encoding that read it, and how many undecodable bytes were replaced."""

    text: str
    codec: str  # the Python codec name, e.g. "utf-8"
    replaced: int = 0  # undecodable bytes, each now U+FFFD in ``text``

    @property
    def encoding(self) -> str:
        """What ``fetches.encoding`` records: the codec, ``+replace`` when bytes were replaced."""
        return f"{self.codec}+replace" if self.replaced else self.codec


def _without_bom(body: bytes, encoding: str) -> bytes:
    bom_encoding, bom = read_bom(body)
    return body[len(bom) :] if bom and codec_name(bom_encoding) == encoding else body


def _replacing(body: bytes, encoding: str) -> DecodedPage | None:
    """``body`` read as ``encoding`` with each undecodable byte replaced by U+FFFD; None when
    a byte in the ASCII range is undecodable (UTF-16, ...), which no escape carries."""
    try:
        escaped = _without_bom(body, encoding).decode(encoding, errors="surrogateescape")
    except UnicodeDecodeError:
        return None
    text, replaced = ESCAPED_BYTE.subn("\ufffd", escaped)
    return DecodedPage(text, encoding, replaced)


def few_replaced(page: DecodedPage) -> bool:
    """Whether a page has at most one replaced byte per :data:`CHARACTERS_PER_REPLACEMENT`
    characters: stray bytes, not a wrong encoding."""
    return page.replaced * CHARACTERS_PER_REPLACEMENT <= len(page.text)


def read_text(response: Response) -> DecodedPage:
    """The page's text, read with the first of these that works:

    1. an encoding the page declares (BOM, HTTP ``charset``, ``<meta>``) reading every byte;
    2. the declared encoding (UTF-8 when none is) with a few undecodable bytes — at most one
       per :data:`CHARACTERS_PER_REPLACEMENT` characters — each replaced by U+FFFD and
       counted: a stray byte neither loses the page nor hands it to a detector's guess (which
       reads one bad byte in UTF-8 as a whole page of cp1250 mojibake);
    3. a detector's guess (charset-normalizer), then UTF-8, reading every byte: cp1251 bytes
       labelled UTF-8 are read as cp1251, never as mojibake or a page of U+FFFD.

    Otherwise the page is refused (:class:`UndecodablePage`).
    """
    body = response.body
    declared = declared_encodings(response)
    for encoding in declared:
        try:
            return DecodedPage(_without_bom(body, encoding).decode(encoding), encoding)
        except UnicodeDecodeError:
            continue
    replaced = _replacing(body, declared[0] if declared else "utf-8")
    if replaced is not None and few_replaced(replaced):
        return replaced
    for encoding in encoding_candidates(response):
        if encoding in declared:
            continue
        try:
            return DecodedPage(_without_bom(body, encoding).decode(encoding), encoding)
        except UnicodeDecodeError:
            continue
    if replaced is None:
        raise UndecodablePage("no character encoding reads the page without errors")
    raise UndecodablePage(
        f"{replaced.replaced} bytes no encoding reads ({replaced.codec}: more than 1 in "
        f"{CHARACTERS_PER_REPLACEMENT:,} characters)"
    )


def decode_page(response: Response) -> tuple[str, str]:
    """The page's text and the encoding that read it, as :func:`read_text` decodes it
    (``utf-8+replace`` when undecodable bytes were replaced)."""
    page = read_text(response)
    return page.text, page.encoding


# What decides where a page's document ends, found by regular expressions at C speed (a
# Python tokenizer over every tag took ~50 ms on a 150 kB page, a quarter of a crawl's time).
# Scripts, styles, comments and RCDATA are skipped whole: a ``</html>`` inside them is no tag.
_DOCUMENT_MARKS = re.compile(
    r"<!--|<(?P<raw>script|style|title|textarea|xmp|iframe|noembed|noframes)(?=[\s/>])"
    r"|<(?P<open>html|body)(?=[\s/>])|</(?:html|body)\s*>",
    re.IGNORECASE,
)
_RAW_END = {
    tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE)
    for tag in ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes")
}
# What may follow a document's close: whitespace, comments and end tags, nothing else.
_AFTER_CLOSE = re.compile(r"(?:\s|<!--.*?-->|</[a-zA-Z][^<>]*>)*(?:<!--(?:(?!-->).)*)?", re.S)


def document_unclosed(text: str) -> bool | None:
    """Whether a page is a document that stops before its end; None when it is no document
    (a "load more" chunk, a fragment), which has no structure of its own to close.

    Read as a browser tokenizes: scripts and styles are raw text and titles, textareas and
    iframes RCDATA (a ``</html>`` inside them is no tag), comments are skipped. The page is a
    *document* when it opens ``<html>`` or ``<body>``; the document is *closed* when its last
    tag is ``</body>`` or ``</html>`` (only end tags, comments and whitespace may follow; a
    comment cut at the very end is left unread).
    """
    document = False
    closed_at: int | None = None  # where the last </body> or </html> ends
    position = 0
    while (mark := _DOCUMENT_MARKS.search(text, position)) is not None:
        if mark.group(0) == "<!--":
            end = text.find("-->", mark.end())
            if end < 0:
                break  # a comment cut at the end: unread, as a tokenizer leaves it
            position = end + 3
        elif mark.group("raw"):
            closing = _RAW_END[mark.group("raw").lower()].search(text, mark.end())
            closed_at = None  # a start tag opens content again
            if closing is None:
                break  # the page ends inside a script or a title
            position = closing.end()
        else:
            if mark.group("open"):
                document, closed_at = True, None
            else:
                closed_at = mark.end()
            position = mark.end()
    if not document:
        return None
    if closed_at is None:
        return True
    return _AFTER_CLOSE.fullmatch(text, closed_at) is None


def cut_short(response: Response, text: str | None) -> str | None:
    """Why the body is incomplete, or None, judged by the connection and by the page's
    structure (``text``, the decoded page; None when it could not be decoded).

    The connection dropped before ``Content-Length``: cut. A body that ended when the
    connection closed (no Content-Length: Scrapy flags it ``partial``) is complete only if it
    is a document that reaches its end. A complete response of a document (``<html>`` or
    ``<body>``) is cut when its body is never closed — even where a script holds the string
    ``</html>`` (:func:`document_unclosed`). HTML allows a page to leave out ``</body>`` and
    ``</html>``; such a page cannot be told from one cut at a tag, so it is refused too: a
    refused page is kept and seen, a shorter article would be false evidence.
    """
    if "dataloss" in response.flags:
        return "the connection closed before the page ended"
    unclosed = document_unclosed(text) if text is not None else None
    if "partial" in response.flags and unclosed is not False:
        return "the connection closed before the page ended"
    if unclosed:
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


def read_page(response: Response, crawl_id: str) -> tuple[FetchRecord, DecodedPage | None]:
    """The fetch record of a 2xx response and the decoded page; no page where it is none.

    The record's outcome says why there is no page: ``data_loss`` (cut short), ``not_html``
    (a PDF, an image, ...) or ``unparseable`` (no encoding reads it). The record's
    ``encoding`` is the page's (``utf-8+replace`` when undecodable bytes were replaced), its
    ``encoding_errors`` how many bytes were replaced.
    """
    if not is_html(response):
        incomplete = cut_short(response, None)
        if incomplete:
            return fetch_from_response(response, crawl_id, "data_loss", incomplete), None
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or "none"
        error = f"not an HTML page (Content-Type: {content_type})"
        return fetch_from_response(response, crawl_id, "not_html", error), None
    try:
        page = read_text(response)
    except UndecodablePage as undecodable:
        incomplete = cut_short(response, None)
        if incomplete:
            return fetch_from_response(response, crawl_id, "data_loss", incomplete), None
        return fetch_from_response(response, crawl_id, "unparseable", str(undecodable)), None
    incomplete = cut_short(response, page.text)
    if incomplete:
        fetch = fetch_from_response(response, crawl_id, "data_loss", incomplete)
        return decoded_with(fetch, page), None
    return decoded_with(fetch_from_response(response, crawl_id), page), page


def decoded_with(fetch: FetchRecord, page: DecodedPage) -> FetchRecord:
    """The fetch record with how its page was decoded: the encoding and the replaced bytes."""
    return dataclasses.replace(fetch, encoding=page.encoding, encoding_errors=page.replaced)


def refused_page(fetch: FetchRecord, reason: str) -> FetchRecord:
    """The record of a page the parser refused: outcome ``unparseable``, with the reason."""
    return dataclasses.replace(fetch, outcome="unparseable", error=reason)


def _kind(request: Request) -> FetchKind:
    kind = request.meta.get(META_KIND, "article")
    assert kind in FETCH_KINDS
    return kind


def _source(request: Request) -> str | None:
    source = request.meta.get(META_SOURCE)
    return source if isinstance(source, str) else None


def link_refusal(url: str, allowed_domains: Iterable[str] = ()) -> str | None:
    """Why a link found on a page must not become a request, or None.

    A link is requested only when it parses as a URL, is http(s) with a host, and that host is
    one of ``allowed_domains`` or under one (any host when there are none, as Scrapy's
    off-site filter has it). Private addresses are the address guard's to refuse
    (``crawler.middlewares``), after the request is made.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a port that is no number (or out of range) raises here
    except ValueError as error:
        return f"malformed URL ({error})"
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme}" if parts.scheme else "not an absolute URL"
    if not host:
        return "no host"
    domains = [d.lower() for d in allowed_domains]
    if domains and not any(host == d or host.endswith(f".{d}") for d in domains):
        return "off-site"
    return None


def refused_link(
    url: str, kind: FetchKind, reason: str, crawl_id: str, referer: str | None
) -> FetchRecord:
    """The record of a link not requested (:func:`link_refusal`): outcome ``refused``."""
    return FetchRecord(
        crawl_id=crawl_id,
        kind=kind,
        requested_url=url,
        final_url=None,
        status=None,
        outcome="refused",
        fetched_at=utc_now(),
        error=f"link not requested: {reason}",
        referer=referer,
    )
