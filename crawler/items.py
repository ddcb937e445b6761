"""The items a spider yields: every response becomes exactly one of them.

Each carries the fetch it came from (:class:`domain.records.FetchRecord`), so the store writes
the fetch and what came of it together or not at all. They are dataclass items: pipelines read
and fill them through ``itemadapter.ItemAdapter``, as any Scrapy item.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.pages import ListingPage
from domain.records import ArticleRecord, FetchRecord


@dataclass
class ArticleItem:
    """An article page, decoded: the article pipeline fills ``record`` (the article chain)."""

    fetch: FetchRecord
    text: str  # the page as decoded (crawler.fetching.decode_page)
    record: ArticleRecord | None = None
    # the section the page must name (its rubric or a tag) to be kept as an article: set when
    # the source that found it does not say the section (RSS, a sitemap, a day archive)
    required_section: str | None = None


@dataclass
class ListingItem:
    """A section page or "load more" chunk, parsed."""

    fetch: FetchRecord
    listing: ListingPage
    section: str


@dataclass
class DiscoveryItem:
    """A discovery source's page (robots.txt, a sitemap, the RSS feed, a day archive) and the
    article candidates it listed."""

    fetch: FetchRecord
    page: ListingPage
    source: str


@dataclass
class FetchItem:
    """A fetch that gave no article or listing: an HTTP error, a 404, a failure, a refused page."""

    fetch: FetchRecord
