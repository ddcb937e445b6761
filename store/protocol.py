"""The interface a crawl writes to the store through, and its requests as typed messages.

:class:`StoreWriter` is what :class:`store.Store` offers a crawl, in process;
:class:`AsyncStoreWriter` the same calls awaited, as :class:`store.writer.WriterClient` makes
them across a pipe to the writer process. On the pipe each call is one of the request
dataclasses below (:data:`Request`), which knows the one store method it stands for
(:meth:`apply`): no method names travel as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from domain.pages import ListingPage
from domain.records import ArticleRecord, CrawlRecord, FetchRecord
from store.history import SaveResult


class StoreWriter(Protocol):
    """The store calls a crawl makes, each one transaction."""

    def limit_pages(self, pages: int) -> None:
        """Let the file grow to at most ``pages`` pages (a full disk, for tests)."""

    def begin_crawl(self, crawl: CrawlRecord) -> None:
        """Record the start of a crawl run."""

    def save_article(self, fetch: FetchRecord, article: ArticleRecord) -> SaveResult:
        """Save an article page's fetch and what its reading means for the article."""

    def save_listing(self, fetch: FetchRecord, listing: ListingPage, section: str) -> int:
        """Save a listing page's fetch and its entries; the fetch's id."""

    def save_fetch(self, fetch: FetchRecord) -> int:
        """Save a fetch that gave no article or listing; its id."""

    def save_discovery(self, fetch: FetchRecord, page: ListingPage, source: str) -> int:
        """Save a discovery source's fetch and the candidates it listed; the fetch's id."""

    def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """Record a crawl run's end and stats."""

    def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """What the store holds, and what one crawl fetched and added."""


class AsyncStoreWriter(Protocol):
    """:class:`StoreWriter`'s calls, awaited (the store runs elsewhere). A write may answer
    None where the store applies it later (a distributed crawl's stream, :mod:`store.stream`)."""

    async def limit_pages(self, pages: int) -> None:
        """See :meth:`StoreWriter.limit_pages`."""

    async def begin_crawl(self, crawl: CrawlRecord) -> None:
        """See :meth:`StoreWriter.begin_crawl`."""

    async def save_article(self, fetch: FetchRecord, article: ArticleRecord) -> SaveResult | None:
        """See :meth:`StoreWriter.save_article`."""

    async def save_listing(
        self, fetch: FetchRecord, listing: ListingPage, section: str
    ) -> int | None:
        """See :meth:`StoreWriter.save_listing`."""

    async def save_fetch(self, fetch: FetchRecord) -> int | None:
        """See :meth:`StoreWriter.save_fetch`."""

    async def save_discovery(
        self, fetch: FetchRecord, page: ListingPage, source: str
    ) -> int | None:
        """See :meth:`StoreWriter.save_discovery`."""

    async def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """See :meth:`StoreWriter.finish_crawl`."""

    async def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """See :meth:`StoreWriter.summary`."""


@dataclass(frozen=True)
class OpenStore:
    """Open the store at ``path`` (the writer process's first request), with its
    ``PRAGMA quick_check`` when ``check``."""

    path: str
    check: bool = False


@dataclass(frozen=True)
class LimitPages:
    """:meth:`StoreWriter.limit_pages`."""

    pages: int

    def apply(self, store: StoreWriter) -> None:
        """Make the call on ``store``."""
        store.limit_pages(self.pages)


@dataclass(frozen=True)
class BeginCrawl:
    """:meth:`StoreWriter.begin_crawl`."""

    crawl: CrawlRecord

    def apply(self, store: StoreWriter) -> None:
        """Make the call on ``store``."""
        store.begin_crawl(self.crawl)


@dataclass(frozen=True)
class SaveArticle:
    """:meth:`StoreWriter.save_article`."""

    fetch: FetchRecord
    article: ArticleRecord

    def apply(self, store: StoreWriter) -> SaveResult:
        """Make the call on ``store``."""
        return store.save_article(self.fetch, self.article)


@dataclass(frozen=True)
class SaveListing:
    """:meth:`StoreWriter.save_listing`."""

    fetch: FetchRecord
    listing: ListingPage
    section: str

    def apply(self, store: StoreWriter) -> int:
        """Make the call on ``store``."""
        return store.save_listing(self.fetch, self.listing, self.section)


@dataclass(frozen=True)
class SaveFetch:
    """:meth:`StoreWriter.save_fetch`."""

    fetch: FetchRecord

    def apply(self, store: StoreWriter) -> int:
        """Make the call on ``store``."""
        return store.save_fetch(self.fetch)


@dataclass(frozen=True)
class SaveDiscovery:
    """:meth:`StoreWriter.save_discovery`."""

    fetch: FetchRecord
    page: ListingPage
    source: str

    def apply(self, store: StoreWriter) -> int:
        """Make the call on ``store``."""
        return store.save_discovery(self.fetch, self.page, self.source)


@dataclass(frozen=True)
class FinishCrawl:
    """:meth:`StoreWriter.finish_crawl`."""

    crawl_id: str
    finished_at: str
    reason: str
    stats: dict[str, Any]

    def apply(self, store: StoreWriter) -> None:
        """Make the call on ``store``."""
        store.finish_crawl(self.crawl_id, self.finished_at, self.reason, self.stats)


@dataclass(frozen=True)
class Summary:
    """:meth:`StoreWriter.summary`."""

    crawl_id: str | None = None

    def apply(self, store: StoreWriter) -> dict[str, Any]:
        """Make the call on ``store``."""
        return store.summary(self.crawl_id)


Request = (
    LimitPages
    | BeginCrawl
    | SaveArticle
    | SaveListing
    | SaveFetch
    | SaveDiscovery
    | FinishCrawl
    | Summary
)
REQUESTS = (  # for isinstance(): every Request
    LimitPages,
    BeginCrawl,
    SaveArticle,
    SaveListing,
    SaveFetch,
    SaveDiscovery,
    FinishCrawl,
    Summary,
)
