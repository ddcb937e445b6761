"""The crawl's progress line: Scrapy's ``LogStats`` with what an archivist watches.

Every ``LOGSTATS_INTERVAL`` seconds (Scrapy's setting, default 60; 0 switches it off) a long
crawl logs pages fetched and their rate, articles stored (new versions among them) and the
requests still queued, e.g.
``Progress: 1200 pages (60/min), 1150 articles stored (12 new versions), 340 queued``.
"""

from __future__ import annotations

import logging

from scrapy import Spider
from scrapy.extensions.logstats import LogStats

logger = logging.getLogger(__name__)


class ProgressStats(LogStats):
    """``LogStats`` whose periodic line counts articles and the queue, not Scrapy items."""

    def log(self, spider: Spider) -> None:
        """Log one progress line (Scrapy's rates, the store's counts, the scheduler's queue)."""
        self.calculate_stats()
        value = self.stats.get_value
        new = int(value("store/versions/new", 0))
        stored = new + int(value("store/versions/same", 0))
        queued = int(value("scheduler/enqueued", 0)) - int(value("scheduler/dequeued", 0))
        logger.info(
            "Progress: %d pages (%d/min), %d articles stored (%d new versions), %d queued",
            self.pages,
            self.prate,
            stored,
            new,
            queued,
            extra={"spider": spider},
        )
