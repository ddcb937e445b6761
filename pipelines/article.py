"""The article pipeline: runs the article chain on every article page of a crawl.

An :class:`crawler.items.ArticleItem` leaves with its ``record`` (parsed, split, hashed by
:func:`pipelines.chain.read_article`; links that are no URL left out and counted as
``wire/article/dropped_url``; each article counted by the parser that read it as
``wire/article/parser/<name>``, so the pages only the generic extractor read stand apart); a
page no parser reads as an article leaves as a :class:`crawler.items.FetchItem` whose fetch is
``unparseable`` — kept raw, to re-parse later. A page found by a source that does not say the
section (``required_section`` set) whose own rubric and tags do not name that section leaves as
a fetch with outcome ``out_of_section``. Other items pass through.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter

from crawler.fetching import refused_page
from crawler.items import FetchItem
from crawler.sites import UnparseablePage, parse_article
from crawler.sites.generic import GenericV1
from pipelines.chain import read_article

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

STAT_PARSER_ERROR = "wire/parser/error"
STAT_DROPPED_URL = "wire/article/dropped_url"  # links on an article page that are no URL
STAT_PARSER = "wire/article/parser"  # + "/<name>": articles read by each parser
STAT_OUT_OF_SECTION = "wire/article/out_of_section"


class ArticlePipeline:
    """Turns each article page into the record the store saves, and counts what it dropped."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        """Built by Scrapy with the crawl's stats collector."""
        if crawler.stats is None:
            raise RuntimeError("the article pipeline needs the crawl's stats collector")
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        """Fill ``record`` of an article page, or turn a page that is no article into its fetch."""
        adapter = ItemAdapter(item)
        if "text" not in adapter.field_names() or adapter.get("record") is not None:
            return item
        fetch = adapter["fetch"]
        dropped_urls: list[str] = []
        try:
            record = read_article(
                fetch, adapter["text"], lambda url, html: parse_article(url, html, dropped_urls)
            )
        except UnparseablePage as refused:
            logger.warning("Not an article: %s (%s)", fetch.final_url, refused)
            return FetchItem(refused_page(fetch, str(refused)))
        except Exception as bug:  # a parser bug must not lose the fetch: record it, count it
            logger.exception("Parser error on %s", fetch.final_url)
            self.stats.inc_value(STAT_PARSER_ERROR)
            return FetchItem(refused_page(fetch, f"parser error: {type(bug).__name__}: {bug}"))
        required = adapter.get("required_section")
        if required and not record.page.in_section(required):
            self.stats.inc_value(STAT_OUT_OF_SECTION)
            names = ", ".join(
                [record.page.section or "no rubric"] + [t.name for t in record.page.tags]
            )
            logger.info("Out of section %s: %s (%s)", required, record.url, names)
            return FetchItem(
                dataclasses.replace(
                    fetch,
                    outcome="out_of_section",
                    error=f"not in section {required}: rubric and tags {names}",
                )
            )
        self.stats.inc_value(f"{STAT_PARSER}/{record.page.parser}")
        if record.page.parser == GenericV1.name:
            logger.info("No site parser recognizes %s: read by the generic extractor", record.url)
        if dropped_urls:
            self.stats.inc_value(STAT_DROPPED_URL, len(dropped_urls))
            logger.warning(
                "Left out %d links that are no URL on %s: %s",
                len(dropped_urls),
                record.url,
                ", ".join(repr(url) for url in dropped_urls[:5]),
            )
        for kind, count in record.split.dropped.items():
            self.stats.inc_value(f"boilerplate/dropped/{kind}", count)
        if record.split.dropped.get("unknown"):
            logger.warning("unknown block types on %s: kept in blocks, not in the body", record.url)
        adapter["record"] = record
        return item
