"""Fetch provenance: what the crawler records of every HTTP exchange and every failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.run import utc_now
from store.records import FetchKind, FetchOutcome, FetchRecord

if TYPE_CHECKING:
    from collections.abc import Mapping

# request.meta keys this project sets
META_KIND = "wire_kind"  # "section" | "listing" | "article"
META_RECEIVED_AT = "wire_received_at"  # when the response arrived (set by ReceivedAtMiddleware)
META_RECORDED_AT = "fixture_fetched_at"  # a replayed response's original fetch time


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


def fetch_from_failure(failure: Failure, crawl_id: str) -> FetchRecord:
    """The record of a fetch that failed: an HTTP error status, or no response at all."""
    if failure.check(HttpError):
        response: Response = failure.value.response
        return fetch_from_response(response, crawl_id)
    request: Request = failure.request  # type: ignore[attr-defined]
    referer = request.headers.get("Referer")
    return FetchRecord(
        crawl_id=crawl_id,
        kind=_kind(request),
        requested_url=request.url,
        final_url=None,
        status=None,
        outcome="failed",
        fetched_at=utc_now(),
        error=f"{failure.type.__name__}: {failure.getErrorMessage()}" if failure.type else None,
        referer=referer.decode("latin-1") if referer else None,
    )


def _kind(request: Request) -> FetchKind:
    kind = request.meta.get(META_KIND, "article")
    assert kind in ("section", "listing", "article")
    return kind
