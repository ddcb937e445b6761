"""The storage pipeline: hands each item to the store in one transaction, and the crawl's
beginning, end and summary.

It writes no SQL itself: ``store.Store`` does. Every call on the store runs in one writer
thread of its own, in the order the items arrive, so compressing bodies and SQLite's own work
overlap with downloading and parsing the next pages (zlib and sqlite3 release the GIL).
A failed write is never logged-and-ignored: the crawl stops with the reason ``store_full``
(the disk, or ``STORE_MAX_PAGES``, is full) or ``store_error`` (any other failed write), and
the item is dropped with a counter. Each item is one transaction, so a failed one leaves
nothing behind and the earlier ones intact.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.items import ArticleItem, FetchItem, ListingItem
from crawler.run import crawl_id, utc_now
from store import Store, StoreError, format_summary
from store.records import CrawlRecord, ListingEntryRecord, ListingRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
T = TypeVar("T")

SOFTWARE = ("wirearchive", "scrapy", "sqlite-utils", "itemadapter", "w3lib", "parsel", "lxml")
# Settings that shape what a run fetched, kept with the crawl.
RECORDED_SETTINGS = (
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "AUTOTHROTTLE_ENABLED",
    "DOWNLOAD_DELAY",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "FIXTURES_REPLAY",
    "FIXTURES_RECORD",
    "STORE_PATH",
    "RECHECK_SCHEDULE",
    "RECHECK_NOW",
)


def software_versions() -> dict[str, str]:
    """The installed versions of the packages a crawl's output depends on."""
    found: dict[str, str] = {"python": sys.version.split()[0]}
    for name in SOFTWARE:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def is_full(error: Exception) -> bool:
    """Whether a failed write means the disk (or the store's page limit) is full."""
    return isinstance(error, sqlite3.OperationalError) and "full" in str(error)


def listing_record(item: ListingItem) -> ListingRecord:
    """The record the store keeps of a listing page."""
    listing = item.listing
    return ListingRecord(
        listing_url=listing.url,
        section=item.section,
        entries=[
            ListingEntryRecord(e.position, e.url, e.title, e.listed_at, e.listed_raw)
            for e in listing.entries
        ],
        next_url=listing.next_url,
        parser=listing.parser,
        parser_version=listing.parser_version,
    )


class StoragePipeline:
    """Writes every item to the SQLite store at ``STORE_PATH``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("STORE_PATH")
        self.print_summary = crawler.settings.getbool("STORE_SUMMARY", True)
        self.max_pages = crawler.settings.getint("STORE_MAX_PAGES")
        self.store: Store | None = None
        self.stopping = False
        # one thread owns the SQLite connection: every store call runs there, first in first out
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    def _in_writer(self, call: Callable[[], T]) -> Deferred[T]:
        """Run ``call`` in the writer thread; its result (or error) comes back in the reactor."""
        from twisted.internet import reactor  # the reactor Scrapy installed

        done: Deferred[T] = Deferred()

        def back(future: Future[T]) -> None:
            error = future.exception()
            if error is None:
                reactor.callFromThread(done.callback, future.result())
            else:
                reactor.callFromThread(done.errback, Failure(error))

        self.writer.submit(call).add_done_callback(back)
        return done

    def _wait_for_writer(self, call: Callable[[], T]) -> T:
        """Run ``call`` in the writer thread and wait for it (start and end of the crawl)."""
        return self.writer.submit(call).result()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        """Built by Scrapy; finishes the crawl record when the spider closes."""
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        """Open the store and record the crawl's start."""
        spider = self.crawler.spider
        assert spider is not None
        self.store = store = self._wait_for_writer(lambda: Store(self.path))
        if self.max_pages:
            self._wait_for_writer(lambda: store.limit_pages(self.max_pages))
        settings = {key: self.crawler.settings.get(key) for key in RECORDED_SETTINGS}
        arguments = {
            key: str(value)
            for key, value in (("since", getattr(spider, "since", None)),
                               ("max_pages", getattr(spider, "max_pages", None)),
                               ("recheck", getattr(spider, "recheck", None)))
            if value is not None
        }  # fmt: skip
        crawl = CrawlRecord(
            id=crawl_id(self.crawler),
            spider=spider.name,
            arguments=arguments,
            started_at=utc_now(),
            software=software_versions(),
            settings=settings,
        )
        self._wait_for_writer(lambda: store.begin_crawl(crawl))
        logger.info("Storing into %s (crawl %s)", self.path, crawl_id(self.crawler))

    def _write(self, store: Store, item: Any) -> Callable[[], Any] | None:
        """The store call that writes ``item`` in one transaction (None: not a stored item)."""
        if isinstance(item, ArticleItem):
            record = item.record
            assert record is not None, "the provenance pipeline runs before storage"
            return lambda: store.save_article(item.fetch, record)
        if isinstance(item, ListingItem):
            listing = listing_record(item)
            return lambda: store.save_listing(item.fetch, listing)
        if isinstance(item, FetchItem):
            return lambda: store.save_fetch(item.fetch)
        return None

    async def process_item(self, item: Any) -> Any:
        """Write the item's fetch and what came of it, in one transaction."""
        assert self.store is not None
        stats = self.crawler.stats
        assert stats is not None
        write = self._write(self.store, item)
        if write is None:
            return item
        try:
            result = await maybe_deferred_to_future(self._in_writer(write))
        except (sqlite3.Error, StoreError) as error:
            reason = "store_full" if is_full(error) else "store_error"
            stats.inc_value(f"store/error/{reason}")
            self.stop(reason, error)
            raise DropItem(f"store write failed: {error}") from error
        if isinstance(item, ArticleItem):
            stats.inc_value("store/versions/new" if result.new_version else "store/versions/same")
        stats.inc_value(f"store/fetches/{item.fetch.outcome}")
        return item

    def stop(self, reason: str, error: Exception) -> None:
        """Stop the crawl (once) because the store cannot take more."""
        if self.stopping:
            return
        self.stopping = True
        logger.error("Could not write to %s: %s; stopping the crawl (%s)", self.path, error, reason)
        engine = self.crawler.engine
        if engine is not None:
            deferred_from_coro(engine.close_spider_async(reason=reason))

    def _finish_crawl(self, store: Store, run: str, reason: str, stats: dict[str, Any]) -> None:
        """Record the crawl's end and stats; a full store may still take the end alone."""
        try:
            store.finish_crawl(run, utc_now(), reason, stats)
        except sqlite3.Error as error:
            logger.error("Could not record the crawl's stats in %s: %s", self.path, error)
            try:
                store.finish_crawl(run, utc_now(), reason, {})
            except sqlite3.Error as again:
                logger.error("Could not record the crawl's end in %s: %s", self.path, again)

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Record the crawl's end, why it ended and its stats; print the summary."""
        if self.store is None:
            return
        stats = self.crawler.stats
        assert stats is not None
        all_stats = {k: v if isinstance(v, int | float | str) else str(v)
                     for k, v in stats.get_stats().items()}  # fmt: skip
        run, store = crawl_id(self.crawler), self.store
        self.store = None
        try:
            self._wait_for_writer(lambda: self._finish_crawl(store, run, reason, all_stats))
            if self.print_summary:
                summary = self._wait_for_writer(lambda: store.summary(run))
                print(format_summary(summary, self.path), flush=True)
        finally:
            self._wait_for_writer(store.close)
            self.writer.shutdown()
