"""The boilerplate split: a generic policy over typed blocks, and the pipeline that applies it.

Body paragraphs stay in the body; photo captions (with image URL, credit, position), related
links (title, URL without tracking, time, position) and the dateline become records of their
own; banners, embeds and blocks of unknown type are dropped and counted (their data stays in
the store's ``blocks`` table). Every block ends up in exactly one place, named in
``SplitArticle.destinations``.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.items import ArticleItem
from crawler.sites.model import ArticlePage, Block
from store.records import BlockDestination, CaptionRecord, RelatedLinkRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

# Block kinds whose text is body text.
BODY_KINDS = frozenset({"text", "quote", "list", "heading", "table"})
# Separators between a dateline and the paragraph it opens ("MOSCOW (Sputnik) - The ...").
_DATELINE_TAIL = re.compile(r"[\s\-–—.:,]+$")
_PARAGRAPH_HEAD = re.compile(r"^[\s\-–—.:,]+")


@dataclass
class SplitArticle:
    """An article page with its boilerplate split out of the body."""

    dateline: str | None = None
    body: list[str] = field(default_factory=list)
    captions: list[CaptionRecord] = field(default_factory=list)
    related_links: list[RelatedLinkRecord] = field(default_factory=list)
    destinations: dict[int, BlockDestination] = field(default_factory=dict)  # position -> place
    dropped: Counter[str] = field(default_factory=Counter)  # block kind -> how many dropped


def clean_dateline(raw: str) -> str:
    """``"MOSCOW (Sputnik) -"`` -> ``"MOSCOW (Sputnik)"``: the dateline without its separator."""
    return _DATELINE_TAIL.sub("", raw)


def split_article(page: ArticlePage) -> SplitArticle:
    """Sort every block of ``page`` into body, dateline, captions, related links or drops."""
    split = SplitArticle()
    for block in page.blocks:
        split.destinations[block.position] = _place(block, split)
    return split


def _place(block: Block, split: SplitArticle) -> BlockDestination:
    """Put one block where it belongs in ``split`` and say where that is."""
    if block.kind in ("media", "gallery"):
        for index, image in enumerate(block.images):
            split.captions.append(
                CaptionRecord(block.position, index, image.image_url, image.caption, image.credit)
            )
        return "captions"
    if block.kind == "related":
        split.related_links.append(
            RelatedLinkRecord(
                block.position, block.title, block.url, block.published_at, block.published_raw
            )
        )
        return "related_links"
    if block.kind in BODY_KINDS and block.text:
        text = block.text
        if block.dateline and text.startswith(block.dateline):
            split.dateline = clean_dateline(block.dateline)
            text = _PARAGRAPH_HEAD.sub("", text[len(block.dateline) :])
            if not text:
                return "dateline"
        split.body.append(text)
        return "body"
    split.dropped[block.kind if block.kind not in BODY_KINDS else "empty"] += 1
    return "dropped"


class BoilerplatePipeline:
    """Applies :func:`split_article` to every article item and counts what it dropped."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BoilerplatePipeline:
        """Built by Scrapy with the crawl's stats collector."""
        assert crawler.stats is not None
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        """Fill ``item.split`` for articles; other items pass through."""
        if not isinstance(item, ArticleItem):
            return item
        item.split = split_article(item.page)
        for kind, count in item.split.dropped.items():
            self.stats.inc_value(f"boilerplate/dropped/{kind}", count)
        if item.split.dropped.get("unknown"):
            logger.warning(
                "unknown block types on %s: kept in blocks, not in the body", item.page.url
            )
        return item
