"""Scrapy's feed exports (``scrapy crawl africa -O items.jsonl``) write the crawl's articles.

The items of a crawl carry what the store needs: the fetch (with the page's raw bytes) and the
decoded page, and, after the article pipeline, the article record. Serialized as they are they
would be megabytes of escaped HTML per line. :class:`ArticleFeedExporter` (Scrapy's
``FeedExporter``, in its place in ``EXTENSIONS``) hands the feeds, in every format Scrapy
writes, one record per article page the crawl read (:func:`feed_record`): the keys of
``python -m store export`` that one page shows — all but ``version`` and ``versions``, and
``provenance`` without ``fetch_id``, which the store gives. Listing pages and fetches that gave
no article (errors, refusals, pages the parser refused) are in the store, not in the feed.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from scrapy.extensions.feedexport import FeedExporter

from crawler.items import ArticleItem

if TYPE_CHECKING:
    from scrapy import Spider


def feed_record(item: Any) -> dict[str, Any] | None:
    """The article an item brought, in the export's shape; None for any other item."""
    if not isinstance(item, ArticleItem) or item.record is None:
        return None
    record, fetch = item.record, item.fetch
    page, split = record.page, record.split
    return {
        "url": record.url,
        "article_id": page.article_id,
        "site": page.site,
        "section": page.section,
        "title": page.title,
        "lead": page.lead,
        "dateline": split.dateline,
        "published_at": page.published_at,
        "modified_at": page.modified_at,
        "dates": [asdict(date) for date in page.dates],
        "authors": list(page.authors),
        "language": page.language,
        "tags": [tag.name for tag in page.tags],
        "body": list(split.body),
        "captions": [
            {
                "position": c.position,
                "image_url": c.image_url,
                "caption": c.caption,
                "credit": c.credit,
            }
            for c in split.captions
        ],
        "related_links": [
            {
                "position": r.position,
                "title": r.title,
                "url": r.url,
                "published_at": r.published_at,
                "published_raw": r.published_raw,
            }
            for r in split.related_links
        ],
        "provenance": {
            "crawl_id": fetch.crawl_id,
            "fetched_at": fetch.fetched_at,
            "status": fetch.status,
            "requested_url": fetch.requested_url,
            "final_url": fetch.final_url,
            "referer": fetch.referer,
            "raw_sha256": record.raw_sha256,
            "text_sha256": record.text_sha256,
            "parser": page.parser,
            "parser_version": page.parser_version,
        },
    }


class ArticleFeedExporter(FeedExporter):
    """Scrapy's feed exports, fed :func:`feed_record` of each article item (other items are
    left out)."""

    def item_scraped(self, item: Any, spider: Spider) -> None:
        """Export the article ``item`` brought, if it brought one."""
        record = feed_record(item)
        if record is not None:
            super().item_scraped(record, spider)
