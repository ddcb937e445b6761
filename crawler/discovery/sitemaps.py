"""The article sitemaps as a discovery source.

robots.txt names the site's sitemaps; the article index (``sitemap_article_index.xml``) lists
one sitemap per month (``sitemap_article.xml?date_start=…&date_end=…``). A routine run reads
only the newest month; ``-a since=`` reads every month that ends on or after it
(:func:`crawler.sites.sitemaps.sitemaps_to_read`). The other sitemaps robots.txt names (the
list index, the archive index) list no articles and are not read (``wire/sitemap/not_read``).
Sitemap entries do not say the section: each article page must show it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy.utils.sitemap import sitemap_urls_from_robots

from crawler.discovery.base import DiscoverySpider
from crawler.items import DiscoveryItem
from crawler.sites import UnparseablePage
from crawler.sites.sitemaps import parse_sitemap, sitemaps_to_read

logger = logging.getLogger(__name__)

SOURCE = "sitemap"
ARTICLE_SITEMAP = "sitemap_article"  # in the path of the article index and its sitemaps


class SitemapDiscovery(DiscoverySpider):
    """Finds articles in the article sitemaps robots.txt names."""

    def sitemap_requests(self, robots_body: bytes, robots_url: str) -> Iterator[Any]:
        """A request for each article sitemap robots.txt names (Scrapy reads the lines)."""
        for url in sitemap_urls_from_robots(robots_body, base_url=robots_url):
            if ARTICLE_SITEMAP not in urlsplit(url).path:
                self.crawler.stats.inc_value("wire/sitemap/not_read")
                logger.info("Not reading %s: not an article sitemap", url)
                continue
            reason = self.link_refusal(url)
            if reason is not None:
                logger.warning("Not reading the sitemap %s: %s", url, reason)
                continue
            yield self.request(url, "sitemap", SOURCE, self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap index (its months within ``since``) or a sitemap (its articles)."""
        yield from self.pending()
        fetch = self.document_fetch(response)
        if fetch.outcome != "ok":
            yield self.not_recognized(fetch, SOURCE, fetch.error or fetch.outcome)
            return
        try:
            sitemap = parse_sitemap(response.url, response.body)
        except UnparseablePage as refused:
            yield self.not_recognized(fetch, SOURCE, str(refused))
            return
        if sitemap.kind == "urlset":
            yield from self.discovered(response, fetch, sitemap.listing(), SOURCE)
            return
        yield DiscoveryItem(fetch, sitemap.listing(), SOURCE)
        chosen = sitemaps_to_read(sitemap.sitemaps, self.since)
        skipped = len(sitemap.sitemaps) - len(chosen)
        self.crawler.stats.inc_value("wire/sitemap/months_skipped", skipped)
        logger.info(
            "Sitemap index %s: reading %d of %d sitemaps (since=%s)",
            response.url,
            len(chosen),
            len(sitemap.sitemaps),
            self.since,
        )
        for ref in chosen:
            if self.link_refusal(ref.url) is None:
                yield self.request(ref.url, "sitemap", SOURCE, self.parse_sitemap)
