"""A crawl checks its own coverage before it ends: layout drift is an error, not a success.

:class:`CoverageCheck` runs when the crawl has nothing left to do (``spider_idle``: every item
is written). It compares the crawl's health in the store — the share of article pages a
platform parser recognized, and of the articles read with a title, date, body, dateline,
captions, tags (:mod:`store.crawl_health`) — with the last ``HEALTH_WINDOW`` crawls of the spider.
When a share fell far below, the crawl ends with the finish reason ``coverage_dropped`` (exit
status 8) and an error naming what fell.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured

from crawler.run import crawl_id
from store import Store
from store.crawl_health import health_report

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

FINISH_COVERAGE_DROPPED = "coverage_dropped"
STAT_HEALTH = "wire/health"


class CoverageCheck:
    """Ends a crawl whose coverage dropped with ``coverage_dropped``."""

    def __init__(self, crawler: Crawler, window: int) -> None:
        self.crawler = crawler
        self.window = window
        self.dropped: bool | None = None  # the verdict, once judged

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CoverageCheck:
        """Built by Scrapy; off when ``HEALTH_WINDOW`` is 0."""
        window = crawler.settings.getint("HEALTH_WINDOW")
        if crawler.settings.get("FRONTIER_URL"):
            raise NotConfigured("a worker of a distributed crawl does not read the store")
        if window <= 0:
            raise NotConfigured("HEALTH_WINDOW is 0")
        check = cls(crawler, window)
        crawler.signals.connect(check.spider_idle, signal=signals.spider_idle)
        return check

    def spider_idle(self) -> None:
        """Judge the crawl once it has nothing left to do; end it when its coverage dropped
        (on every idle round from then on: another handler may keep the crawl open once)."""
        busy = getattr(self.crawler.spider, "discovery_busy", None)
        if callable(busy) and busy():
            return  # candidates still wait to be requested: not done yet
        if self.dropped is None:
            self.dropped = self.judge()
        if self.dropped:
            raise CloseSpider(FINISH_COVERAGE_DROPPED)

    def judge(self) -> bool:
        """Whether this crawl's coverage dropped against the crawls before it (logged)."""
        path = Path(self.crawler.settings.get("STORE_PATH"))
        if not path.is_file():
            return False
        with Store(path) as store:
            try:
                report = health_report(store.db, crawl_id(self.crawler), self.window)
            except LookupError:
                return False  # the crawl was never recorded (the store refused it)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value(STAT_HEALTH, "dropped" if report.dropped else
                        "ok" if report.judged else "not_judged")  # fmt: skip
        if report.dropped:
            logger.error(
                "Coverage dropped against the last %d crawls: %s. The site's layout has "
                "probably changed; see python -m store health %s",
                len(report.baseline),
                "; ".join(map(str, report.drops)),
                path,
            )
        return report.dropped
