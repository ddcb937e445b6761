"""SectionSpider: reads a section's listing, follows its "load more" chunks, requests articles.

Spiders route; they do not parse fields: listing pages go to ``crawler.sites``, article pages
to the article pipeline (the article chain), and every response (or failure) becomes exactly
one item carrying its fetch provenance.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Self

import scrapy
from scrapy.exceptions import CloseSpider, UsageError
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.fetching import (
    META_KIND,
    DecodedPage,
    fetch_from_failure,
    fetch_from_response,
    link_refusal,
    read_page,
    refused_link,
    refused_page,
)
from crawler.history import check_settings, parse_recheck, recheck_urls, redirected_away
from crawler.items import ArticleItem, FetchItem, ListingItem
from crawler.run import crawl_id
from crawler.sites import UnparseablePage, parse_listing
from domain.records import FetchKind

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

META_PAGE_NUMBER = "wire_page_number"
STAT_SECTION_REACHED = "wire/section/reached"
STAT_SECTION_ERROR = "wire/section/error"
# The finish reason of a crawl whose section page showed no recognized article.
FINISH_LAYOUT_UNRECOGNIZED = "layout_unrecognized"
STAT_RECHECK = "wire/recheck/requested"
STAT_REDIRECTED_AWAY = "wire/article/redirected_away"
STAT_REFUSED_URL = "wire/listing/refused_url"
STAT_ENCODING_ERRORS = "fetch/encoding_errors"  # undecodable bytes replaced, summed
STAT_LISTING_UNPARSEABLE = "wire/listing/unparseable"
STAT_MAX_LISTING_PAGES = "wire/listing/max_listing_pages"
# Articles go before the next listing page: the queue then holds one page of articles at a
# time, not the whole section's (memory flat in the section's size; articles stored sooner).
ARTICLE_PRIORITY = 1


def parse_arguments(since: str | None, max_pages: str | None) -> tuple[date | None, int | None]:
    """The spider's ``-a since=YYYY-MM-DD`` and ``-a max_pages=N``, checked."""
    since_date = None
    if since:
        try:
            since_date = date.fromisoformat(since)
        except ValueError:
            raise UsageError(f"since must be a date as YYYY-MM-DD, not {since!r}") from None
    pages = None
    if max_pages:
        if not max_pages.isdigit() or int(max_pages) < 1:
            raise UsageError(f"max_pages must be a whole number of at least 1, not {max_pages!r}")
        pages = int(max_pages)
    return since_date, pages


class SectionSpider(scrapy.Spider):
    """Crawls one section of a wire service: listing pages, then every listed article."""

    section: str = ""
    section_url: str = ""
    # The -a arguments, each a parameter of __init__, and their meanings: `scrapy crawl NAME
    # --help` lists them (crawler.config), the README's *Spider arguments* table too.
    arguments: ClassVar[dict[str, str]] = {
        "since": (
            "a date YYYY-MM-DD: articles listed before it are not fetched, and pagination stops "
            "at the first listing page that shows one"
        ),
        "max_pages": "the most listing pages to read (the section page counts as one)",
        "recheck": (
            "all: fetch every known article of the section again; none: only what the listing "
            "shows; unset: those due under RECHECK_SCHEDULE"
        ),
    }

    def __init__(
        self,
        since: str | None = None,
        max_pages: str | None = None,
        recheck: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.since, self.max_pages = parse_arguments(since, max_pages)
        self.recheck = parse_recheck(recheck)
        # listed times are ISO Z strings: one compares them as text
        self.since_iso = f"{self.since.isoformat()}T00:00:00Z" if self.since else None
        self.refused_urls: set[str] = set()  # each refused link recorded once per run

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Built by Scrapy; refuses bad recheck settings before anything is fetched."""
        check_settings(crawler.settings)
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """The section page, then the known articles due for a recheck."""
        yield Request(
            self.section_url,
            callback=self.parse_listing,
            errback=self.fetch_failed,
            meta={META_KIND: "section", META_PAGE_NUMBER: 1},
        )
        urls = recheck_urls(self.crawler.settings, self.section, self.recheck)
        logger.info("Rechecking %d known articles (recheck=%s)", len(urls), self.recheck)
        for url in urls:
            self.crawler.stats.inc_value(STAT_RECHECK)
            yield Request(
                url,
                callback=self.parse_article,
                errback=self.fetch_failed,
                meta={META_KIND: "article"},
            )

    @property
    def page_limit(self) -> int | None:
        """The most listing pages to read: ``MAX_LISTING_PAGES`` (0: no bound), or
        ``-a max_pages`` where it is smaller."""
        bounds = [self.crawler.settings.getint("MAX_LISTING_PAGES"), self.max_pages or 0]
        return min((b for b in bounds if b > 0), default=None)

    def decoded(self, response: Response, page: DecodedPage) -> None:
        """Count and log the undecodable bytes a page had replaced (``fetch/encoding_errors``)."""
        if page.replaced:
            self.crawler.stats.inc_value(STAT_ENCODING_ERRORS, page.replaced)
            logger.warning(
                "Replaced %d undecodable bytes with U+FFFD in %s (read as %s)",
                page.replaced,
                response.url,
                page.codec,
            )

    def link_refusal(self, url: str) -> str | None:
        """Why a listed link must not be requested (:func:`crawler.fetching.link_refusal` with
        the spider's ``allowed_domains``), or None."""
        return link_refusal(url, getattr(self, "allowed_domains", None) or ())

    def refused(self, response: Response, url: str, kind: FetchKind, reason: str) -> list[Any]:
        """The fetch item of a listed link not requested — counted, logged, recorded as
        ``refused`` — or none when this run recorded that URL already."""
        self.crawler.stats.inc_value(STAT_REFUSED_URL)
        self.crawler.stats.inc_value(f"{STAT_REFUSED_URL}/{reason.split()[0]}")
        logger.warning("Not requesting %s listed on %s: %s", url, response.url, reason)
        if url in self.refused_urls:
            return []
        self.refused_urls.add(url)
        return [FetchItem(refused_link(url, kind, reason, crawl_id(self.crawler), response.url))]

    def layout_unrecognized(self, response: Response, why: str) -> None:
        """Stop the crawl: the section page is not in a layout the parser knows (its fetch is
        kept as the evidence)."""
        logger.error(
            "The section page %s lists no article this parser recognizes (%s): its layout has "
            "changed; stopping",
            response.url,
            why,
        )
        raise CloseSpider(FINISH_LAYOUT_UNRECOGNIZED)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """A listing page: its item, a request per listed article, the next chunk.

        Every listed URL and the next chunk's are checked before a request is made
        (:func:`crawler.fetching.link_refusal`); a refused one is recorded as a ``refused``
        fetch and left out of the listing item, and the others go on.
        """
        fetch, page = read_page(response, crawl_id(self.crawler))
        if page is None:
            yield FetchItem(fetch)
            return
        self.decoded(response, page)
        try:
            listing = parse_listing(response.url, page.text)
        except UnparseablePage as refused:
            self.crawler.stats.inc_value(STAT_LISTING_UNPARSEABLE)
            logger.warning("Not a listing: %s (%s)", response.url, refused)
            yield FetchItem(refused_page(fetch, str(refused)))
            if response.meta.get(META_KIND) == "section":
                self.layout_unrecognized(response, str(refused))
            return
        if response.meta.get(META_KIND) == "section":
            self.crawler.stats.set_value(STAT_SECTION_REACHED, 1)
        entries, refusals = [], []
        for entry in listing.entries:
            reason = self.link_refusal(entry.url)
            if reason is None:
                entries.append(entry)
            else:
                refusals += self.refused(response, entry.url, "article", reason)
        yield ListingItem(fetch, dataclasses.replace(listing, entries=entries), self.section)
        yield from refusals
        if response.meta.get(META_KIND) == "section" and not listing.entries:
            # a section page always lists articles: none recognized means its layout changed
            self.layout_unrecognized(
                response, f"no article that {listing.parser} {listing.parser_version} recognizes"
            )
        reached_since = False
        for entry in entries:
            if self.since_iso and entry.listed_at and entry.listed_at < self.since_iso:
                reached_since = True
                self.crawler.stats.inc_value("wire/listing/older_than_since")
                continue
            yield response.follow(
                entry.url,
                callback=self.parse_article,
                errback=self.fetch_failed,
                meta={META_KIND: "article"},
                priority=ARTICLE_PRIORITY,
            )
        page_number: int = response.meta[META_PAGE_NUMBER]
        if listing.next_url is None:
            logger.info("Listing ends at page %s: no next chunk", page_number)
        elif reached_since:
            logger.info(
                "Listing stops at page %s: items older than since=%s", page_number, self.since
            )
        elif self.page_limit is not None and page_number >= self.page_limit:
            if self.max_pages is None or self.page_limit < self.max_pages:
                self.crawler.stats.set_value(STAT_MAX_LISTING_PAGES, page_number)
                logger.warning(
                    "Listing stops at page %s: MAX_LISTING_PAGES reached (%s not requested)",
                    page_number,
                    listing.next_url,
                )
            else:
                logger.info("Listing stops at page %s: max_pages reached", page_number)
        elif reason := self.link_refusal(listing.next_url):
            logger.warning("Listing stops at page %s: its next chunk is refused", page_number)
            yield from self.refused(response, listing.next_url, "listing", reason)
        else:
            yield Request(
                listing.next_url,
                callback=self.parse_listing,
                errback=self.fetch_failed,
                meta={META_KIND: "listing", META_PAGE_NUMBER: page_number + 1},
            )

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article page: an article item, or a fetch item where the page is no article."""
        run = crawl_id(self.crawler)
        gone = redirected_away(response, self.section_url)
        if gone:
            self.crawler.stats.inc_value(STAT_REDIRECTED_AWAY)
            logger.info("Gone: %s", gone)
            yield FetchItem(fetch_from_response(response, run, "redirected_away", gone))
            return
        fetch, page = read_page(response, run)
        if page is None:
            logger.warning("Not a page: %s (%s)", response.url, fetch.error)
            yield FetchItem(fetch)
            return
        self.decoded(response, page)
        yield ArticleItem(fetch, page.text)  # read by the article pipeline (pipelines.article)

    def fetch_failed(self, failure: Failure) -> Iterator[Any]:
        """An HTTP error status or a failed download: recorded, never silently skipped."""
        fetch = fetch_from_failure(failure, crawl_id(self.crawler))
        if fetch.kind == "section":
            reason = fetch.error or f"HTTP {fetch.status}"
            self.crawler.stats.set_value(STAT_SECTION_ERROR, reason)
        logger.warning(
            "Fetch %s: %s (%s)", fetch.outcome, fetch.requested_url, fetch.error or fetch.status
        )
        yield FetchItem(fetch)
