"""The ceiling of the benchmarks: the section crawl with nothing but Scrapy's own work.

Run with ``scrapy runspider benchmarks/ceiling_spider.py -s FIXTURES_REPLAY=SET -s
'ITEM_PIPELINES={}'`` under the project's settings: the same replay handler, middlewares and
listing walk as ``scrapy crawl africa``, but each article's callback only reads the page's
title and yields it — no parser, no split, no hashes, no store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.sites import parse_listing
from crawler.spiders.africa import AfricaSpider
from crawler.spiders.section import ARTICLE_PRIORITY


class CeilingSpider(scrapy.Spider):
    """Walks the Africa section like ``AfricaSpider``; reads only each article's title."""

    name = "ceiling"
    allowed_domains = AfricaSpider.allowed_domains

    async def start(self) -> AsyncIterator[Any]:
        """The section page."""
        yield Request(AfricaSpider.section_url, callback=self.parse_listing)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """A listing page: a request per listed article, then the next chunk."""
        listing = parse_listing(response.url, response.text)
        for entry in listing.entries:
            yield response.follow(entry.url, callback=self.parse_article, priority=ARTICLE_PRIORITY)
        if listing.next_url:
            yield Request(listing.next_url, callback=self.parse_listing)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """The page's title, and nothing else."""
        yield {"title": response.css("title::text").get()}
