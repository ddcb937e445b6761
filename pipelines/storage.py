"""The storage pipeline: hands each item to the store in one transaction, and the crawl's
beginning, end and summary.

It writes no SQL itself: it makes the calls of :class:`store.protocol.AsyncStoreWriter` on the
client of the writer process (:mod:`store.writer`), where ``store.Store`` takes them in the
order the items arrive — so
compressing bodies and SQLite's own work run on another core while the crawl downloads and
parses the next pages.
A failed write is never logged-and-ignored: the crawl stops with the reason ``store_full``
(the disk, or ``STORE_MAX_PAGES``, is full), ``store_timeout`` (the writer did not answer
within ``STORE_WRITER_TIMEOUT``: it is stopped) or ``store_error`` (any other failed write), and
the item is dropped with a counter. Each item is one transaction, so a failed one leaves
nothing behind and the earlier ones intact.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.run import crawl_id
from domain.frontier import worker_name
from domain.records import CrawlRecord
from domain.times import utc_now
from store import SaveResult, StoreError, format_summary
from store.protocol import AsyncStoreWriter
from store.stream import StreamWriterClient
from store.writer import WriterClient, WriterError, WriterTimeout

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

STAT_WRITER_PEAK_RSS = "store/writer/peak_rss_kb"
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
    "FIXTURES_REPLAY_SET",  # the replayed set's name and kind (crawler.fixtures)
    "STORE_PATH",
    "RECHECK_SCHEDULE",
    "RECHECK_NOW",
    "WARC_DIR",  # the store's writer captures the crawl's exchanges there (store/warc_capture.py)
    "WARC_MAX_SIZE",
    "FRONTIER_URL",  # a worker of a distributed crawl: its Redis
)
STAT_SENT = "store/sent"  # store calls a distributed crawl's worker put in the stream


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


def failure_reason(error: Exception) -> str:
    """The finish reason of a crawl stopped by this failed write."""
    if isinstance(error, WriterTimeout):
        return "store_timeout"
    return "store_full" if is_full(error) else "store_error"


class StoragePipeline:
    """Writes every item to the SQLite store at ``STORE_PATH``, through the writer process."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("STORE_PATH")
        self.print_summary = crawler.settings.getbool("STORE_SUMMARY", True)
        self.max_pages = crawler.settings.getint("STORE_MAX_PAGES")
        self.timeout = crawler.settings.getfloat("STORE_WRITER_TIMEOUT") or None
        self.frontier = crawler.settings.get("FRONTIER_URL") or None
        self.writer: WriterClient | StreamWriterClient | None = None
        self.stopping = False
        self.failed_to_open: tuple[str, Exception] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        """Built by Scrapy; finishes the crawl record when the spider closes."""
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def open_spider(self) -> None:
        """Start the writer process, open the store and record the crawl's start; a store that
        fails or does not answer stops the crawl before anything is fetched."""
        spider = self.crawler.spider
        assert spider is not None and self.crawler.stats is not None
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
            worker=worker_name(self.crawler.settings.get("WORKER_NAME")),
        )
        try:
            if self.frontier:  # a worker: the store is the writer's, behind the stream
                writer: WriterClient | StreamWriterClient = await StreamWriterClient.connect(
                    self.frontier, timeout=self.timeout
                )
            else:
                writer = await WriterClient.start(self.path, timeout=self.timeout)
            self.writer = writer
            if self.max_pages:
                await writer.limit_pages(self.max_pages)
            await writer.begin_crawl(crawl)
        except (sqlite3.Error, StoreError, WriterError) as error:
            reason = failure_reason(error)
            self.crawler.stats.inc_value(f"store/error/{reason}")
            self.failed_to_open = (reason, error)  # stopped once the spider is open
            return
        where = f"the stream of {self.frontier}" if self.frontier else self.path
        logger.info("Storing into %s (crawl %s)", where, crawl_id(self.crawler))

    @staticmethod
    async def save(writer: AsyncStoreWriter, adapter: ItemAdapter) -> SaveResult | None:
        """Write an item with a fetch in one transaction; what the article's save did, if any.

        An item with an article ``record`` is an article, one with a ``listing`` a listing page,
        one with a ``page`` a discovery source's page, any other item a fetch alone (an article
        page that no article pipeline read is refused by the store: an ``ok`` fetch is saved
        with its article).
        """
        fetch = adapter["fetch"]
        if adapter.get("record") is not None:
            return await writer.save_article(fetch, adapter["record"])
        if adapter.get("listing") is not None:
            await writer.save_listing(fetch, adapter["listing"], adapter["section"])
        elif adapter.get("page") is not None:
            await writer.save_discovery(fetch, adapter["page"], adapter["source"])
        else:
            await writer.save_fetch(fetch)
        return None

    async def process_item(self, item: Any) -> Any:
        """Write the item's fetch and what came of it, in one transaction."""
        stats = self.crawler.stats
        assert stats is not None
        adapter = ItemAdapter(item)
        fetch = adapter.get("fetch")
        if fetch is None:
            return item
        if self.writer is None:
            raise DropItem("the store is closed")
        try:
            saved = await self.save(self.writer, adapter)
        except (sqlite3.Error, StoreError, WriterError) as error:
            reason = failure_reason(error)
            stats.inc_value(f"store/error/{reason}")
            self.stop(reason, error)
            raise DropItem(f"store write failed: {error}") from error
        if saved is not None:
            stats.inc_value("store/versions/new" if saved.new_version else "store/versions/same")
        if self.frontier:
            stats.inc_value(STAT_SENT)
        stats.inc_value(f"store/fetches/{fetch.outcome}")
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

    async def _finish_crawl(
        self,
        writer: WriterClient | StreamWriterClient,
        run: str,
        reason: str,
        stats: dict[str, Any],
    ) -> None:
        """Record the crawl's end and stats; a full store may still take the end alone."""
        try:
            await writer.finish_crawl(run, utc_now(), reason, stats)
        except (sqlite3.Error, WriterError) as error:
            logger.error("Could not record the crawl's stats in %s: %s", self.path, error)
            try:
                await writer.finish_crawl(run, utc_now(), reason, {})
            except (sqlite3.Error, WriterError) as again:
                logger.error("Could not record the crawl's end in %s: %s", self.path, again)

    def spider_opened(self, spider: Any) -> None:
        """Stop a crawl whose store failed to open (the engine cannot close a spider that is
        still opening)."""
        if self.failed_to_open is not None:
            self.stop(*self.failed_to_open)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Record the crawl's end, why it ended and its stats; print the summary."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        stats = self.crawler.stats
        assert stats is not None
        all_stats = {k: v if isinstance(v, int | float | str) else str(v)
                     for k, v in stats.get_stats().items()}  # fmt: skip
        run = crawl_id(self.crawler)
        try:
            # a stopped writer: its last write was rolled back, nothing more is sent
            if isinstance(writer, WriterClient) and writer.stalled:
                logger.error(
                    "The end of crawl %s is not recorded in %s: its writer was stopped", run,
                    self.path,
                )  # fmt: skip
                return
            await self._finish_crawl(writer, run, reason, all_stats)
            if self.print_summary:
                try:
                    summary = await writer.summary(run)
                except (sqlite3.Error, StoreError, WriterError) as error:
                    logger.error("Could not read the summary of %s: %s", self.path, error)
                else:
                    # a distributed crawl's writer names the store it writes
                    where = summary.pop("store", None) or self.path
                    print(format_summary(summary, where), flush=True)
        finally:
            await self._close(writer)

    async def _close(self, writer: WriterClient | StreamWriterClient) -> None:
        """Close the writer (its peak memory kept in the stats, a process of ours)."""
        if isinstance(writer, StreamWriterClient):
            await writer.close()
            return
        # after the crawl's last store calls (its end, the summary), before the writer exits
        peak = writer.peak_rss_kb()
        if peak is not None:
            self.crawler.stats.set_value(STAT_WRITER_PEAK_RSS, peak)
        status = await writer.close()
        if status != 0 and not writer.stalled:
            logger.error("The store writer process exited with status %s", status)
