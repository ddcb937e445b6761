"""Downloader middlewares of the project: the fetch clock, the address and redirect guards,
retries that honour ``Retry-After``, and the request fingerprint that makes an article one
request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.request import RequestFingerprinter
from scrapy.utils.response import response_status_message
from twisted.internet.error import DNSLookupError
from w3lib.url import safe_url_string

from crawler.fetching import META_GAVE_UP, META_KIND, META_RECEIVED_AT, META_REDIRECT_REFUSED
from crawler.guard import GuardedResolver, refusal
from domain.text import article_identity
from domain.times import utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ReceivedAtMiddleware:
    """Stamps each response with the UTC time it arrived (``request.meta['wire_received_at']``)."""

    def process_response(self, request: Request, response: Response) -> Response:
        """Record when the response came in."""
        request.meta[META_RECEIVED_AT] = utc_now()
        return response


class AddressGuardMiddleware:
    """Refuses requests to other schemes than http(s) and to private addresses.

    ``ALLOW_PRIVATE_HOSTS`` (a list of hosts) lets tests reach a server on 127.0.0.1.
    """

    def __init__(self, stats: StatsCollector, allowed: set[str]) -> None:
        self.stats = stats
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        """Built by Scrapy from ``ALLOW_PRIVATE_HOSTS``."""
        assert crawler.stats is not None
        return cls(crawler.stats, set(crawler.settings.getlist("ALLOW_PRIVATE_HOSTS")))

    def process_request(self, request: Request) -> None:
        """Let the request through, or raise IgnoreRequest with a reason and a counter."""
        reason = refusal(request.url, self.allowed)
        if reason is None:
            return
        self.stats.inc_value(f"guard/refused/{reason.split()[0]}")
        logger.warning("Refused %s: %s", request.url, reason)
        raise IgnoreRequest(f"refused: {reason}")


class ResolverRefusalMiddleware:
    """Turns a lookup that :class:`crawler.guard.GuardedResolver` refused into a refusal.

    The resolver fails the lookup of a name that resolves to a private address; Twisted then
    reports a plain DNS failure. This middleware sits before Scrapy's retries (a higher order
    number sees exceptions first), so such a request is not retried but raised as
    ``IgnoreRequest`` and recorded as ``refused``, counted as ``guard/refused/resolved``.
    """

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResolverRefusalMiddleware:
        """Built by Scrapy."""
        assert crawler.stats is not None
        return cls(crawler.stats)

    @staticmethod
    def resolver() -> GuardedResolver | None:
        """The guarded resolver installed on the reactor, if it is one."""
        from twisted.internet import reactor

        installed = getattr(reactor, "resolver", None)
        return installed if isinstance(installed, GuardedResolver) else None

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Raise IgnoreRequest for a lookup the guard refused; let other failures pass."""
        if not isinstance(exception, DNSLookupError | CannotResolveHostError):
            return
        resolver = self.resolver()
        host = (urlsplit(request.url).hostname or "").lower()
        address = resolver.refused.get(host) if resolver is not None else None
        if address is None:
            return
        self.stats.inc_value("guard/refused/resolved")
        reason = f"private address ({host} resolves to {address})"
        raise IgnoreRequest(f"refused: {reason}")


class RedirectGuardMiddleware:
    """Keeps redirects inside the crawl: a ``Location`` off the spider's ``allowed_domains``,
    to a private address or to another scheme (``file:``) is not followed.

    It sits before Scrapy's RedirectMiddleware (a higher order number) and marks such a
    response ``dont_redirect``: the 3xx then reaches the spider's errback and is recorded as
    ``refused`` with the target and the reason (``guard/redirect/<reason>`` in the stats).
    """

    def __init__(self, crawler: Crawler, allowed: set[str]) -> None:
        self.crawler = crawler
        self.allowed = allowed
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuardMiddleware:
        """Built by Scrapy from ``ALLOW_PRIVATE_HOSTS`` and the spider's ``allowed_domains``."""
        return cls(crawler, set(crawler.settings.getlist("ALLOW_PRIVATE_HOSTS")))

    def off_site(self, url: str) -> bool:
        """Whether ``url``'s host is outside the spider's ``allowed_domains`` (when it has any).

        Hosts are compared without the port, as Scrapy's OffsiteMiddleware does.
        """
        domains: list[str] = list(getattr(self.crawler.spider, "allowed_domains", None) or ())
        host = (urlsplit(url).hostname or "").lower()
        return bool(domains) and not any(
            host == domain or host.endswith(f".{domain}") for domain in domains
        )

    def process_response(self, request: Request, response: Response) -> Response:
        """Mark a redirect that must not be followed; pass every response on."""
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1")))
        reason = refusal(target, self.allowed) or ("off-site" if self.off_site(target) else None)
        if reason is None:
            return response
        request.meta["dont_redirect"] = True
        request.meta[META_REDIRECT_REFUSED] = reason
        self.stats.inc_value(f"guard/redirect/{reason.split()[0]}")
        logger.warning("Not following the redirect of %s to %s: %s", request.url, target, reason)
        return response


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds (never negative); None if absent
    or unreadable. The header is either whole seconds or an HTTP date.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, plus what Scrapy does not do.

    Failed downloads (``RETRY_EXCEPTIONS``) are retried by Scrapy's own ``process_exception``;
    retryable statuses go through :meth:`retry_request`, built on Scrapy's public
    ``get_retry_request`` with the same settings and ``request.meta`` keys.

    * A retryable answer (429, 503, ...) with ``Retry-After`` is retried no sooner than the
      header asks, if that is at most ``RETRY_AFTER_MAX`` seconds; a longer wait is not
      retried (``retry/retry_after/over_max``) and the fetch is recorded as given up.
    * A request whose retries ran out is marked (``request.meta['wire_gave_up']``), so its
      fetch is recorded as ``gave_up`` rather than as a plain HTTP error.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("RETRY_AFTER_MAX")
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        """Built by Scrapy from ``RETRY_*`` and ``RETRY_AFTER_MAX``."""
        return cls(crawler)

    def retry_request(self, request: Request, reason: str) -> Request | None:
        """A copy of ``request`` to send again, or None when its retries ran out.

        As Scrapy's retries: ``RETRY_TIMES``, ``RETRY_PRIORITY_ADJUST`` and
        ``RETRY_GIVE_UP_LOG_LEVEL``, each overridden by the request's ``max_retry_times``,
        ``priority_adjust`` or ``give_up_log_level`` meta key; counted in the ``retry/``
        stats (``count``, ``reason_count/<reason>``, ``max_reached``).
        """
        spider = self.crawler.spider
        assert spider is not None
        return get_retry_request(
            request,
            spider=spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=request.meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level=request.meta.get("give_up_log_level", self.give_up_log_level),
        )

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        """Retry a retryable status after the wait it asks for, or mark it given up."""
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is not None and wait > self.max_wait:
            self.stats.inc_value("retry/retry_after/over_max")
            request.meta[META_GAVE_UP] = (
                f"HTTP {response.status}: Retry-After {wait:.0f} s is over "
                f"RETRY_AFTER_MAX ({self.max_wait:.0f} s)"
            )
            return response
        retry = self.retry_request(request, response_status_message(response.status))
        if retry is None:
            retries = request.meta.get("retry_times", 0)
            request.meta[META_GAVE_UP] = f"HTTP {response.status} after {retries} retries"
            return response
        if wait:
            self.stats.inc_value("retry/retry_after/waits")
            logger.info("Retry-After: waiting %.1f s before retrying %s", wait, request.url)
            await sleep(wait)
        return retry


class ArticleFingerprinter(RequestFingerprinter):
    """Request fingerprints in which an article request stands for its article identity.

    Two links to one article (with tracking parameters, a fragment, another query) are one
    request: the duplicate filter drops the second (``domain.text.article_identity``).
    """

    def fingerprint(self, request: Request) -> bytes:
        """The fingerprint of the request, by article identity for article requests."""
        if request.meta.get(META_KIND) == "article":
            request = request.replace(url=article_identity(request.url))
        return super().fingerprint(request)
