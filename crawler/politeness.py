"""Politeness beyond Scrapy's defaults: the host's own pace, its pauses, and who is asking.

* :class:`CrawlDelay` (an extension): robots.txt's ``Crawl-delay`` for our User-Agent becomes
  the least delay of that host's downloader slot; it never lowers a configured or throttled
  delay, and AutoThrottle cannot take the slot below it.
* :class:`PoliteDownloadHandler` (Scrapy's HTTP/1.1 handler for http and https): a 429 or 503
  with ``Retry-After`` pauses the whole host — no request to it is sent until the pause is
  over, whichever request it is. A ``Retry-After`` over ``RETRY_AFTER_MAX`` closes the host
  for the rest of the crawl (its requests are refused, never sent) and ends the crawl
  (finish reason ``rate_limited``): the site asked us to stay away longer than we wait.
* :func:`contact_problem` and :class:`ContactAddon`: the User-Agent names a real contact
  (``CONTACT``), ``wirearchive/VERSION (+CONTACT)``; ``scrapy crawl`` refuses a live crawl
  without one.
"""

from __future__ import annotations

import logging
import math
import re
from importlib.metadata import PackageNotFoundError, version
from time import monotonic
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler.middlewares import retry_after_seconds

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.robotstxt import RobotParser
    from scrapy.settings import BaseSettings
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

STOP_REASON = "rate_limited"  # the finish reason of a crawl a host asked to stay away
PAUSING_STATUSES = frozenset({429, 503})  # the statuses whose Retry-After pauses the host

try:
    VERSION = version("wirearchive")
except PackageNotFoundError:  # pragma: no cover - run from a tree that is not installed
    VERSION = "0.1.0"


# -- the contact in the User-Agent ----------------------------------------------------------

EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
# Domains that are no one's contact (RFC 2606, RFC 6761) and the project's own address.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
PLACEHOLDER_SUFFIXES = (".example", ".invalid", ".test", ".localhost", ".local")
PROJECT_URL = "https://github.com/wirearchive/wirearchive"


def contact_domain(contact: str) -> str | None:
    """The domain of an email address or an http(s) URL, or None when ``contact`` is neither."""
    contact = contact.strip()
    if contact.startswith("mailto:"):
        contact = contact[len("mailto:") :]
    email = EMAIL.match(contact)
    if email:
        return email.group(1).lower()
    parts = urlsplit(contact)
    if parts.scheme in ("http", "https") and parts.hostname and "." in parts.hostname:
        return parts.hostname.lower()
    return None


def contact_problem(contact: str | None) -> str | None:
    """What is wrong with ``contact`` as the crawler's contact, or None when it will do."""
    if not contact or not contact.strip():
        return "no contact"
    domain = contact_domain(contact)
    if domain is None:
        return f"{contact!r} is neither an email address nor an http(s) URL"
    placeholder = (
        domain in PLACEHOLDER_DOMAINS
        or domain.endswith(tuple(f".{d}" for d in PLACEHOLDER_DOMAINS))
        or f".{domain}".endswith(PLACEHOLDER_SUFFIXES)
        or contact.strip().rstrip("/") == PROJECT_URL
    )
    return f"{contact!r} is a placeholder, not your contact" if placeholder else None


def user_agent(contact: str | None) -> str:
    """``wirearchive/0.1.0 (news wire archiving; +CONTACT)``, without the contact when none."""
    if not contact:
        return f"wirearchive/{VERSION} (news wire archiving)"
    return f"wirearchive/{VERSION} (news wire archiving; +{contact.strip()})"


def contact_usage_error(settings: BaseSettings) -> str | None:
    """Why ``CONTACT`` will not do for a live crawl, or None (``crawler.config`` prints it as
    ``error: CONTACT=VALUE: why``).

    A replay (``FIXTURES_REPLAY``) asks no one and needs no contact.
    """
    if settings.get("FIXTURES_REPLAY"):
        return None
    problem = contact_problem(settings.get("CONTACT"))
    if problem is None:
        return None
    return (
        f"{problem}. A live crawl names who runs it in its User-Agent, so the site "
        "can reach you: add -s CONTACT=you@your-domain (an email address or an http(s) URL), "
        "or replay the recorded site with -s FIXTURES_REPLAY=fixtures/sputnik-africa"
    )


class ContactAddon:
    """Builds the User-Agent from ``CONTACT`` (unless ``USER_AGENT`` is set on the command
    line or by a spider)."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Set ``USER_AGENT`` to ``wirearchive/VERSION (…; +CONTACT)``."""
        settings.set("USER_AGENT", user_agent(settings.get("CONTACT")), priority="project")


# -- Crawl-delay ------------------------------------------------------------------------------


def slot_floor(slot: Slot, least: float) -> None:
    """Make ``slot`` wait at least ``least`` seconds between requests.

    The delay is raised to ``least`` if lower; the random jitter Scrapy applies around it is
    narrowed so that its shortest wait is still ``least``.
    """
    slot.delay = max(slot.delay, least)
    if slot.delay > 0 and slot.delay * (1 - slot.jitter) < least:
        slot.jitter = max(0.0, 1 - least / slot.delay)


class CrawlDelay:
    """Applies robots.txt's ``Crawl-delay`` to the host's downloader slot.

    Scrapy's RobotsTxtMiddleware parses robots.txt with Protego and sends ``robots_parsed``
    with the parser; its ``crawl_delay(user_agent)`` is the host's floor. Scrapy has no public
    setter for a running slot's delay: like Scrapy's own AutoThrottle, this sets the slot's
    ``delay`` (and ``jitter``) attributes, on ``request_reached_downloader`` (a new slot) and
    on ``response_downloaded`` after AutoThrottle (built after it, so its handler runs later).
    Off in a replay (nothing to be polite to).
    """

    def __init__(self, crawler: Crawler) -> None:
        if crawler.settings.get("FIXTURES_REPLAY") or not crawler.settings.getbool(
            "ROBOTSTXT_OBEY"
        ):
            raise NotConfigured
        self.crawler = crawler
        self.user_agent: str = (
            crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings["USER_AGENT"]
        )
        self.floors: dict[str, float] = {}  # slot key -> the host's Crawl-delay
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(self.enforce, signal=signals.request_reached_downloader)
        crawler.signals.connect(self.enforce, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        """Built by Scrapy."""
        return cls(crawler)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        """Remember the host's ``Crawl-delay`` for our User-Agent and apply it."""
        crawl_delay = getattr(robotparser, "crawl_delay", None)
        delay = crawl_delay(self.user_agent) if callable(crawl_delay) else None
        if not delay or delay <= 0:
            return
        assert self.crawler.engine is not None
        key = self.crawler.engine.downloader.get_slot_key(request)
        self.floors[key] = float(delay)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(f"robotstxt/crawl_delay/{key}", float(delay))
        logger.info("robots.txt of %s asks for a Crawl-delay of %s s", key, delay)
        self.enforce(request)

    def enforce(self, request: Request, **_: Any) -> None:
        """Keep the slot of ``request`` at or above its host's Crawl-delay."""
        if not self.floors:
            return
        assert self.crawler.engine is not None
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        floor = self.floors.get(key)
        slot = downloader.slots.get(key)
        if floor is not None and slot is not None:
            slot_floor(slot, floor)


# -- Retry-After pauses the host --------------------------------------------------------------


class PoliteDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler, which holds every request to a host that asked for
    a pause (a 429 or 503 with ``Retry-After``) until the pause is over.

    The wait happens after the request left its slot's queue and before the connection, so
    it holds for every request to the host, queued or new, retried or not, and does not count
    against ``DOWNLOAD_TIMEOUT``. A pause longer than ``RETRY_AFTER_MAX`` closes the host: its
    requests are refused (``host_pause/refused``) and the crawl ends (``rate_limited``).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("RETRY_AFTER_MAX")
        self.paused_until: dict[str, float] = {}  # host -> monotonic time (inf: closed)
        self.closing: Deferred[None] | None = None

    def count(self, key: str) -> None:
        """Add one to the ``host_pause/<key>`` counter."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"host_pause/{key}")

    async def download_request(self, request: Request) -> Response:
        """Wait out the host's pause, download, and start a pause when the answer asks."""
        host = urlparse_cached(request).hostname or ""
        waited = False
        while (wait := self.paused_until.get(host, 0.0) - monotonic()) > 0:
            if math.isinf(wait):
                self.count("refused")
                raise IgnoreRequest(
                    f"refused: {host} asked for a pause over RETRY_AFTER_MAX "
                    f"({self.max_wait:.0f} s); not requested again in this crawl"
                )
            if not waited:
                self.count("waits")
                waited = True
            await sleep(wait)
        response = await super().download_request(request)
        if response.status in PAUSING_STATUSES:
            self.pause(host, retry_after_seconds(response.headers.get("Retry-After")))
        return response

    def pause(self, host: str, seconds: float | None) -> None:
        """Hold requests to ``host`` for ``seconds``; close it when that is over the cap."""
        if not seconds:
            return
        if seconds > self.max_wait:
            self.paused_until[host] = math.inf
            self.count("over_max")
            logger.error(
                "%s asked for a pause of %.0f s, over RETRY_AFTER_MAX (%.0f s): "
                "ending the crawl (%s)",
                host,
                seconds,
                self.max_wait,
                STOP_REASON,
            )
            if self.closing is None and self.crawler.engine is not None:
                self.closing = deferred_from_coro(
                    self.crawler.engine.close_spider_async(reason=STOP_REASON)
                )
            return
        until = monotonic() + seconds
        if until > self.paused_until.get(host, 0.0):
            self.paused_until[host] = until
            self.count("pauses")
            logger.info("%s asked for a pause: no request to it for %.1f s", host, seconds)
