"""What every discovery source of a section spider shares: its requests, its items, its
refusals and failures.

:class:`DiscoverySpider` is the base of the section spider and of each source's mixin
(:mod:`crawler.discovery.sitemaps`, :mod:`~crawler.discovery.feed`,
:mod:`~crawler.discovery.archive`, :mod:`~crawler.discovery.robots`); Scrapy's callbacks must be
the spider's methods (a ``JOBDIR`` crawl stores them by name), so each source adds its own.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, UsageError
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.fetching import (
    META_KIND,
    META_SOURCE,
    fetch_from_failure,
    fetch_from_response,
    link_refusal,
    refused_link,
    refused_page,
)
from crawler.items import DiscoveryItem, FetchItem
from crawler.run import crawl_id
from domain.pages import ListingPage
from domain.records import UNSECTIONED_SOURCES, FetchKind, FetchRecord

logger = logging.getLogger(__name__)

META_REQUIRED_SECTION = "wire_required_section"
STAT_SECTION_ERROR = "wire/section/error"
STAT_REFUSED_URL = "wire/listing/refused_url"
OPTIONAL_SOURCES = ("rss", "sitemap", "archive")
STAT_BACKLOG = "wire/discovery/backlog_max"
# Articles go before the next listing page: the queue then holds one page of articles at a
# time, not the whole section's (memory flat in the section's size; articles stored sooner).
ARTICLE_PRIORITY = 1


def discovery_sources(value: str | list[str] | None) -> set[str]:
    """The ``DISCOVERY_SOURCES`` setting, checked: a comma-separated list (or a list)."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    sources = {name.strip() for name in names if name.strip()}
    unknown = sources - set(OPTIONAL_SOURCES)
    if unknown:
        raise UsageError(
            f"DISCOVERY_SOURCES: unknown source {', '.join(sorted(unknown))} "
            f"(known: {', '.join(OPTIONAL_SOURCES)})"
        )
    return sources


class DiscoverySpider(scrapy.Spider):
    """A spider that finds a section's articles through several sources."""

    section: str = ""
    section_url: str = ""
    since: date | None = None
    since_iso: str | None = None  # listed times are ISO Z strings: compared as text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused_urls: set[str] = set()  # each refused link recorded once per run
        self.pending_items: list[Any] = []  # items made outside a callback (robots.txt)
        self.backlog: deque[tuple[str, str]] = deque()  # (url, source) not yet requested
        self.fed_at_idle = False  # a batch was requested from the backlog in this idle spell

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        """Built by Scrapy; feeds the backlog when the crawl is idle."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.feed_backlog, signal=signals.spider_idle)
        return spider

    @property
    def batch(self) -> int:
        """``DISCOVERY_BATCH``: the most article requests queued at once from one source page.

        A worker of a distributed crawl (``FRONTIER_URL``) queues every candidate at once: its
        queue is in Redis, not in its memory, and a candidate it held back would die with it
        (the lease of the page that listed it ends once the page's callback is done)."""
        if self.crawler.settings.get("FRONTIER_URL"):
            return sys.maxsize
        return max(1, self.crawler.settings.getint("DISCOVERY_BATCH"))

    def discovery_busy(self) -> bool:
        """Whether candidates still wait to be requested (for ``crawler.health``: a crawl is
        judged only when it is done)."""
        return bool(self.backlog) or self.fed_at_idle

    def feed_backlog(self) -> None:
        """When the crawl is idle, request the next batch of waiting candidates; once the
        backlog is empty, keep the crawl open one idle round more, so every idle handler sees
        a crawl with nothing left to do."""
        if not self.backlog:
            if self.fed_at_idle:
                self.fed_at_idle = False
                raise DontCloseSpider
            return
        engine = self.crawler.engine
        assert engine is not None
        for _ in range(min(self.batch, len(self.backlog))):
            url, source = self.backlog.popleft()
            engine.crawl(self.article_request(url, source))
        self.fed_at_idle = True
        raise DontCloseSpider

    def article_requests(self, candidates: Iterable[tuple[str, str]]) -> Iterator[Request]:
        """Requests for (URL, source) candidates: up to ``DISCOVERY_BATCH`` now when nothing
        waits already, the others into the backlog (kept as pairs of strings, a fraction of a
        request's memory), requested a batch at a time when the crawl is idle."""
        made, batch = 0, self.batch
        for url, source in candidates:
            if made < batch and not self.backlog:
                made += 1
                yield self.article_request(url, source)
            else:
                self.backlog.append((url, source))
        stats = self.crawler.stats
        stats.max_value(STAT_BACKLOG, len(self.backlog))

    def uses(self, source: str) -> bool:
        """Whether ``DISCOVERY_SOURCES`` names ``source``."""
        return source in discovery_sources(self.crawler.settings.get("DISCOVERY_SOURCES"))

    @property
    def run(self) -> str:
        """This crawl's id."""
        return crawl_id(self.crawler)

    def pending(self) -> Iterator[Any]:
        """The items made since the last callback outside one (the robots.txt fetch and the
        requests it leads to): every callback yields them first."""
        items, self.pending_items = self.pending_items, []
        yield from items

    def link_refusal(self, url: str) -> str | None:
        """Why a listed link must not be requested (:func:`crawler.fetching.link_refusal` with
        the spider's ``allowed_domains``), or None."""
        return link_refusal(url, getattr(self, "allowed_domains", None) or ())

    def refused(
        self, response: Response, url: str, kind: FetchKind, reason: str, source: str
    ) -> list[Any]:
        """The fetch item of a listed link not requested — counted, logged, recorded as
        ``refused`` — or none when this run recorded that URL already."""
        self.crawler.stats.inc_value(STAT_REFUSED_URL)
        self.crawler.stats.inc_value(f"{STAT_REFUSED_URL}/{reason.split()[0]}")
        logger.warning("Not requesting %s listed on %s: %s", url, response.url, reason)
        if url in self.refused_urls:
            return []
        self.refused_urls.add(url)
        fetch = refused_link(url, kind, reason, self.run, response.url)
        return [FetchItem(dataclasses.replace(fetch, source=source))]

    def request(
        self, url: str, kind: FetchKind, source: str, callback: Any, **meta: Any
    ) -> Request:
        """A request of one of the spider's sources, recorded with its kind and source."""
        return Request(
            url,
            callback=callback,
            errback=self.fetch_failed,
            meta={META_KIND: kind, META_SOURCE: source, **meta},
            priority=ARTICLE_PRIORITY if kind == "article" else 0,
        )

    def article_request(self, url: str, source: str) -> Request:
        """The request of an article found by ``source``; one from a source that does not
        say the section must show the section on its own page to be kept."""
        meta = {META_REQUIRED_SECTION: self.section} if source in UNSECTIONED_SOURCES else {}
        return self.request(url, "article", source, self.parse_article, **meta)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article page (the section spider's)."""
        raise NotImplementedError

    def document_fetch(self, response: Response) -> FetchRecord:
        """The fetch record of a 2xx XML or text document (robots.txt, a sitemap, a feed):
        ``data_loss`` where the body was cut short, else ``ok``."""
        if "dataloss" in response.flags or "partial" in response.flags:
            return fetch_from_response(
                response, self.run, "data_loss", "the connection closed before the body ended"
            )
        return fetch_from_response(response, self.run)

    def not_recognized(self, fetch: FetchRecord, source: str, why: str) -> FetchItem:
        """A source's page its parser refused: counted, logged as the layout drift it is, and
        recorded as ``unparseable`` with the reason."""
        self.crawler.stats.inc_value(f"wire/{source}/unparseable")
        logger.error(
            "The %s page %s is not in a form its parser knows (%s): recorded as unparseable",
            source,
            fetch.requested_url,
            why,
        )
        return FetchItem(refused_page(fetch, why))

    def discovered(
        self, response: Response, fetch: FetchRecord, page: ListingPage, source: str
    ) -> Iterator[Any]:
        """A discovery source's page: its item (the candidates it listed) and a request per
        candidate within ``since``; links that may not be requested are recorded as refused."""
        entries, refusals = [], []
        for entry in page.entries:
            reason = self.link_refusal(entry.url)
            if reason is None:
                entries.append(entry)
            else:
                refusals += self.refused(response, entry.url, "article", reason, source)
        yield DiscoveryItem(fetch, dataclasses.replace(page, entries=entries), source)
        yield from refusals
        self.crawler.stats.inc_value(f"wire/{source}/candidates", len(entries))
        yield from self.article_requests(
            (entry.url, source) for entry in entries if self.within_since(entry.listed_at, source)
        )

    def within_since(self, listed_at: str | None, source: str) -> bool:
        """Whether a candidate listed at ``listed_at`` is not older than ``since`` (counted
        ``wire/<source>/older_than_since`` when it is)."""
        if self.since_iso and listed_at and listed_at < self.since_iso:
            self.crawler.stats.inc_value(f"wire/{source}/older_than_since")
            return False
        return True

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        """An HTTP error status, a failed download or a refused request: recorded, never
        silently skipped."""
        yield from self.pending()
        fetch = fetch_from_failure(failure, self.run)
        if fetch.kind == "section":
            reason = fetch.error or f"HTTP {fetch.status}"
            self.crawler.stats.set_value(STAT_SECTION_ERROR, reason)
        logger.warning(
            "Fetch %s: %s (%s)", fetch.outcome, fetch.requested_url, fetch.error or fetch.status
        )
        yield FetchItem(fetch)
