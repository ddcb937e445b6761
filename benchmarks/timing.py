"""A Scrapy extension for the benchmarks: prints how long the crawl itself ran.

``-s 'EXTENSIONS={"benchmarks.timing.CrawlTimer": 0}'`` makes a crawl print one line
``BENCH {"seconds": ..., "items": ..., "responses": ..., "rss_kb": ..., "writer_rss_kb": ...}``
on stdout when the engine stops: the time from the spider's opening to its closing
(``time.perf_counter``), so the process's start-up (imports, settings, the replay handler's
index) is measured apart from the crawl; and the peak resident memory of the crawl process
(``getrusage``) and of the store's writer process (its ``VmHWM``, which the storage pipeline
reads before the writer exits and keeps in the stats), which together are the crawl's memory.
"""

from __future__ import annotations

import json
import resource
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

from pipelines.storage import STAT_WRITER_PEAK_RSS

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

MARK = "BENCH "


class CrawlTimer:
    """Times the crawl from ``spider_opened`` to ``spider_closed``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = time.perf_counter()
        self.line: dict[str, Any] = {}
        self.stats: StatsCollector

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlTimer:
        """Built by Scrapy; listens for the spider's opening and closing."""
        timer = cls(crawler)
        crawler.signals.connect(timer.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(timer.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(timer.engine_stopped, signal=signals.engine_stopped)
        return timer

    def spider_opened(self, spider: Any) -> None:
        """Start the clock."""
        self.started = time.perf_counter()

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Stop the clock."""
        stats = self.crawler.stats
        assert stats is not None
        self.stats = stats
        self.line = {
            "seconds": time.perf_counter() - self.started,
            "reason": reason,
            "items": stats.get_value("item_scraped_count", 0),
            "responses": stats.get_value("response_received_count", 0),
        }

    def engine_stopped(self) -> None:
        """Print the line the benchmark reads, with the peak memory of both processes."""
        line = {
            **self.line,
            "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            # as the storage pipeline read it before the writer exited (0: no writer)
            "writer_rss_kb": int(self.stats.get_value(STAT_WRITER_PEAK_RSS, 0)),
        }
        print(MARK + json.dumps(line), flush=True)


def read_mark(stdout: str) -> dict[str, Any]:
    """The line a timed crawl printed, as a dict."""
    for line in stdout.splitlines():
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK) :]))
    raise RuntimeError("the crawl printed no timing line")
