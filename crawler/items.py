"""The items a spider yields: every response becomes exactly one of them.

Each carries the fetch it came from (``store.records.FetchRecord``), so the store writes the
fetch and what came of it together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.sites.model import ArticlePage, ListingPage
from store.records import ArticleRecord, FetchRecord

if TYPE_CHECKING:
    from pipelines.boilerplate import SplitArticle


@dataclass
class ArticleItem:
    """An article page, parsed; the pipelines add the split and the stored record."""

    fetch: FetchRecord
    page: ArticlePage
    split: SplitArticle | None = None  # set by the boilerplate pipeline
    record: ArticleRecord | None = None  # set by the provenance pipeline


@dataclass
class ListingItem:
    """A section page or "load more" chunk, parsed."""

    fetch: FetchRecord
    listing: ListingPage
    section: str


@dataclass
class FetchItem:
    """A fetch that gave no article or listing: an HTTP error, a 404, a failure, a refused page."""

    fetch: FetchRecord
