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

from scrapy.exceptions import CloseSpider, UsageError
from scrapy.http import Response

from crawler.discovery.archive import ArchiveDiscovery
from crawler.discovery.base import (
    ARTICLE_PRIORITY,
    META_REQUIRED_SECTION,
    STAT_SECTION_ERROR,
    discovery_sources,
)
from crawler.discovery.feed import FeedDiscovery
from crawler.discovery.robots import RobotsDiscovery
from crawler.distributed import FrontierSpider, frontier_url
from crawler.fetching import (
    META_KIND,
    DecodedPage,
    fetch_from_response,
    read_page,
    refused_page,
)
from crawler.history import (
    check_settings,
    known_articles,
    parse_recheck,
    recheck_urls,
    redirected_away,
)
from crawler.items import ArticleItem, FetchItem, ListingItem
from crawler.sites import UnparseablePage, parse_listing

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

__all__ = [
    "ARTICLE_PRIORITY",
    "STAT_SECTION_ERROR",
    "STAT_SECTION_REACHED",
    "SectionSpider",
    "parse_arguments",
]

META_PAGE_NUMBER = "wire_page_number"
STAT_SECTION_REACHED = "wire/section/reached"
# The finish reason of a crawl whose section page showed no recognized article.
FINISH_LAYOUT_UNRECOGNIZED = "layout_unrecognized"
STAT_RECHECK = "wire/recheck/requested"
STAT_REDIRECTED_AWAY = "wire/article/redirected_away"
STAT_ENCODING_ERRORS = "fetch/encoding_errors"  # undecodable bytes replaced, summed
STAT_LISTING_UNPARSEABLE = "wire/listing/unparseable"
STAT_MAX_LISTING_PAGES = "wire/listing/max_listing_pages"
STAT_KNOWN_PAGE = "wire/listing/known_page"


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


class SectionSpider(ArchiveDiscovery, FeedDiscovery, RobotsDiscovery, FrontierSpider):
    """Crawls one section of a wire service: every discovery source, then every article."""

    # The -a arguments, each a parameter of __init__, and their meanings: `scrapy crawl NAME
    # --help` lists them (crawler.config), the README's *Spider arguments* table too.
    arguments: ClassVar[dict[str, str]] = {
        "since": (
            "a date YYYY-MM-DD: articles listed before it are not fetched, pagination stops "
            "at the first listing page that shows one (or only articles already stored), and "
            "the article sitemaps are read from its month on"
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
        self.since_iso = f"{self.since.isoformat()}T00:00:00Z" if self.since else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Built by Scrapy; refuses bad recheck settings before anything is fetched."""
        check_settings(crawler.settings)
        discovery_sources(crawler.settings.get("DISCOVERY_SOURCES"))
        spider: Self = super().from_crawler(crawler, *args, **kwargs)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """The section page, the known articles due for a recheck, then the feed (robots.txt
        comes first: Scrapy's middleware fetches it before the first request to the host, and
        the sitemaps it names follow). A worker of a distributed crawl starts from the
        frontier's seeds instead (``python -m store schedule`` put the same there)."""
        if frontier_url(self.crawler.settings):
            self.setup_frontier(self.crawler)  # the add-ons' settings are in from here
            for request in self.seed_requests():
                yield request
            return
        starts = list(self.start_requests_of_section())
        for request in starts:
            if request.meta[META_KIND] != "feed":
                yield request
        urls = recheck_urls(self.crawler.settings, self.section, self.recheck)
        logger.info("Rechecking %d known articles (recheck=%s)", len(urls), self.recheck)
        for url in urls:
            yield self.recheck_request(url)
        for request in starts:
            if request.meta[META_KIND] == "feed":
                yield request

    def start_requests_of_section(self) -> Iterator[Any]:
        """The section page, robots.txt where Scrapy's middleware does not fetch it, the feed."""
        yield self.request(self.section_url, "section", "section", self.parse_listing,
                           **{META_PAGE_NUMBER: 1})  # fmt: skip
        if self.uses("sitemap") and not self.crawler.settings.getbool("ROBOTSTXT_OBEY"):
            yield self.robots_request()
        if self.uses("rss"):
            yield self.feed_request()

    def recheck_request(self, url: str) -> Any:
        """The request of a known article fetched again (counted)."""
        self.crawler.stats.inc_value(STAT_RECHECK)
        return self.request(url, "article", "recheck", self.parse_article)

    @property
    def page_limit(self) -> int | None:
        """The most listing pages to read: ``MAX_LISTING_PAGES`` (0: no bound), or
        ``-a max_pages`` where it is smaller."""
        bounds = [self.crawler.settings.getint("MAX_LISTING_PAGES"), self.max_pages or 0]
        return min((b for b in bounds if b > 0), default=None)

    @property
    def archive_page_limit(self) -> int | None:
        """A day archive's pages are bound as the section's listing is."""
        return self.page_limit

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
        """A listing page: its item, a request per listed article, the next chunk; the
        section page also leads to the day archives of the days it covers.

        Every listed URL and the next chunk's are checked before a request is made
        (:func:`crawler.fetching.link_refusal`); a refused one is recorded as a ``refused``
        fetch and left out of the listing item, and the others go on. The next chunk is
        requested through robots.txt like any request: where robots.txt disallows it
        (``/services/`` on the live site) the refusal is recorded and the listing ends there.
        """
        yield from self.pending()
        fetch, page = read_page(response, self.run)
        if page is None:
            yield FetchItem(fetch)
            return
        self.decoded(response, page)
        is_section = response.meta.get(META_KIND) == "section"
        try:
            listing = parse_listing(response.url, page.text)
        except UnparseablePage as refused:
            self.crawler.stats.inc_value(STAT_LISTING_UNPARSEABLE)
            logger.warning("Not a listing: %s (%s)", response.url, refused)
            yield FetchItem(refused_page(fetch, str(refused)))
            if is_section:
                self.layout_unrecognized(response, str(refused))
            return
        if is_section:
            self.crawler.stats.set_value(STAT_SECTION_REACHED, 1)
        entries, refusals = [], []
        for entry in listing.entries:
            reason = self.link_refusal(entry.url)
            if reason is None:
                entries.append(entry)
            else:
                refusals += self.refused(response, entry.url, "article", reason, "section")
        yield ListingItem(fetch, dataclasses.replace(listing, entries=entries), self.section)
        yield from refusals
        if is_section and not listing.entries:
            # a section page always lists articles: none recognized means its layout changed
            self.layout_unrecognized(
                response, f"no article that {listing.parser} {listing.parser_version} recognizes"
            )
        within = [e for e in entries if self.within_since(e.listed_at, "listing")]
        reached_since = len(within) < len(entries)
        yield from self.article_requests((entry.url, "section") for entry in within)
        if is_section and self.uses("archive"):
            yield from self.archive_requests(entries)
        yield from self.next_listing_page(response, listing.next_url, entries, reached_since)

    def next_listing_page(
        self, response: Response, next_url: str | None, entries: list[Any], reached_since: bool
    ) -> Iterator[Any]:
        """The request of the next "load more" chunk, unless the listing stops here: no next
        chunk, ``since`` reached (by date, or — with ``since`` — at a page whose articles are
        all already in the store), the page bound, or a refused link."""
        page_number: int = response.meta[META_PAGE_NUMBER]
        if next_url is None:
            logger.info("Listing ends at page %s: no next chunk", page_number)
        elif reached_since:
            logger.info(
                "Listing stops at page %s: items older than since=%s", page_number, self.since
            )
        elif self.since and entries and self.all_known(entries):
            self.crawler.stats.set_value(STAT_KNOWN_PAGE, page_number)
            logger.info(
                "Listing stops at page %s: its articles are all in the store already (since=%s)",
                page_number,
                self.since,
            )
        elif self.page_limit is not None and page_number >= self.page_limit:
            if self.max_pages is None or self.page_limit < self.max_pages:
                self.crawler.stats.set_value(STAT_MAX_LISTING_PAGES, page_number)
                logger.warning(
                    "Listing stops at page %s: MAX_LISTING_PAGES reached (%s not requested)",
                    page_number,
                    next_url,
                )
            else:
                logger.info("Listing stops at page %s: max_pages reached", page_number)
        elif reason := self.link_refusal(next_url):
            logger.warning("Listing stops at page %s: its next chunk is refused", page_number)
            yield from self.refused(response, next_url, "listing", reason, "section")
        else:
            yield self.request(next_url, "listing", "section", self.parse_listing,
                               **{META_PAGE_NUMBER: page_number + 1})  # fmt: skip

    def all_known(self, entries: list[Any]) -> bool:
        """Whether every entry is an article the store already holds."""
        urls = [entry.url for entry in entries]
        return len(known_articles(self.crawler.settings, urls)) == len(set(urls))

    def parse_article(self, response: Response) -> Iterator[Any]:
        """An article page: an article item, or a fetch item where the page is no article."""
        yield from self.pending()
        gone = redirected_away(response, self.section_url)
        if gone:
            self.crawler.stats.inc_value(STAT_REDIRECTED_AWAY)
            logger.info("Gone: %s", gone)
            yield FetchItem(fetch_from_response(response, self.run, "redirected_away", gone))
            return
        fetch, page = read_page(response, self.run)
        if page is None:
            logger.warning("Not a page: %s (%s)", response.url, fetch.error)
            yield FetchItem(fetch)
            return
        self.decoded(response, page)
        # read by the article pipeline (pipelines.article)
        yield ArticleItem(
            fetch, page.text, required_section=response.meta.get(META_REQUIRED_SECTION)
        )
