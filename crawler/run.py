"""The identity of one crawl run, shared by every component of that run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

CRAWL_ID_STAT = "crawl/id"


def crawl_id(crawler: Crawler) -> str:
    """This run's id: made on first use, kept in the crawl's stats."""
    assert crawler.stats is not None
    value = crawler.stats.get_value(CRAWL_ID_STAT)
    if value is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        value = f"{stamp}-{uuid.uuid4().hex[:8]}"
        crawler.stats.set_value(CRAWL_ID_STAT, value)
    return str(value)
