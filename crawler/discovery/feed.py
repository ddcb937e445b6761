"""The edition's RSS feed as a discovery source (``/export/rss2/archive/index.xml``, the
latest items of every section: each article page must show the section)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from scrapy.http import Request, Response

from crawler.discovery.base import DiscoverySpider
from crawler.sites import UnparseablePage
from crawler.sites.feeds import parse_feed

SOURCE = "rss"


class FeedDiscovery(DiscoverySpider):
    """Finds articles in the edition's RSS feed."""

    feed_path = "/export/rss2/archive/index.xml"

    def feed_request(self) -> Request:
        """The request of the edition's feed."""
        return self.request(urljoin(self.section_url, self.feed_path), "feed", SOURCE,
                            self.parse_feed)  # fmt: skip

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """The feed: its item, and a request per item within ``since``."""
        yield from self.pending()
        fetch = self.document_fetch(response)
        if fetch.outcome != "ok":
            yield self.not_recognized(fetch, SOURCE, fetch.error or fetch.outcome)
            return
        try:
            page = parse_feed(response.url, response.body)
        except UnparseablePage as refused:
            yield self.not_recognized(fetch, SOURCE, str(refused))
            return
        yield from self.discovered(response, fetch, page, SOURCE)
