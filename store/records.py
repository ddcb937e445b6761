"""What the store accepts: plain records, no Scrapy.

The item pipelines build these from crawled responses; :class:`store.Store` writes each one
(a fetch together with what came of it) in a single transaction. Times are ISO 8601 UTC
strings ending in ``Z``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FetchOutcome = Literal[
    "ok",  # 2xx, parsed into an article or a listing
    "not_found",  # 404 or 410
    "http_error",  # any other non-2xx status
    "failed",  # no HTTP response at all (DNS, connection refused, reset, ...)
    "unparseable",  # 2xx HTML, but the parser refused the page (kept raw, no article)
    "redirected_away",  # an article request redirected to the section or home page: gone
    "timeout",  # no response within DOWNLOAD_TIMEOUT, after every retry
    "gave_up",  # a retryable status (5xx, 429, 408) still answered after every retry
    "data_loss",  # the body was cut short (connection dropped mid-body); no partial page parsed
    "too_large",  # the body (or its decompressed size) was over DOWNLOAD_MAXSIZE; stopped there
    "not_html",  # 2xx, but a PDF, an image or other content that is not a web page (kept raw)
    "refused",  # not fetched by choice: robots.txt, off-site, private address, other scheme,
    # or a redirect that was not followed
]

FetchKind = Literal["section", "listing", "article"]

EventKind = Literal[
    "gone",  # a known article answered 404/410 or redirected to the section or home page
    "live",  # a gone article answered with its page again
    "delisted",  # dropped off its section's listing while its page still answered
    "relisted",  # listed again after being delisted
]

# where the boilerplate split put a block: a dropped block (banner, embed, unknown, empty) is
# counted and kept in ``blocks`` with its data, never in the body
BlockDestination = Literal["body", "dateline", "captions", "related_links", "dropped"]


@dataclass
class CrawlRecord:
    """One run of a spider."""

    id: str
    spider: str
    arguments: dict[str, Any]
    started_at: str
    software: dict[str, str]  # package name -> version
    settings: dict[str, Any] = field(default_factory=dict)  # the settings that shape the run


@dataclass
class FetchRecord:
    """One HTTP exchange, or one failure to get one."""

    crawl_id: str
    kind: FetchKind
    requested_url: str
    final_url: str | None
    status: int | None
    outcome: FetchOutcome
    fetched_at: str
    error: str | None = None
    elapsed_ms: float | None = None
    referer: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # the response body as the page's bytes (transfer coding removed)
    body_sha256: str | None = None
    redirect_status: int | None = None  # the first redirect's status, when one was followed
    encoding: str | None = None  # the character encoding the page's text was decoded with


@dataclass
class BlockRecord:
    """One block of an article body, and where the boilerplate split put it."""

    position: int
    kind: str
    destination: BlockDestination
    text: str
    sha256: str  # SHA-256 of the block's normalized text
    data: dict[str, Any] = field(default_factory=dict)  # the parser's full block


@dataclass
class CaptionRecord:
    """A photo caption split out of the body (the main photo, an inline photo, a gallery)."""

    position: int  # the block's index in page order
    index: int  # the photo's index inside the block (0 except in galleries)
    image_url: str | None
    caption: str | None
    credit: str | None


@dataclass
class RelatedLinkRecord:
    """An inline "read also" link split out of the body."""

    position: int
    title: str | None
    url: str | None  # without tracking parameters
    published_at: str | None
    published_raw: str | None


@dataclass
class TagRecord:
    """A tag of the article."""

    index: int
    name: str
    url: str | None


@dataclass
class DateRecord:
    """A date the page claims, with its raw string and where it was read."""

    kind: str
    value: str | None
    raw: str
    source: str


@dataclass
class ArticleRecord:
    """One parsed, split and hashed article page."""

    url: str  # the article's identity: absolute, no query, no fragment
    article_id: str | None
    site: str
    section: str | None
    title: str | None
    lead: str | None
    dateline: str | None
    published_at: str | None
    modified_at: str | None
    language: str | None
    canonical_url: str | None
    authors: list[str]
    dates: list[DateRecord]
    body: list[str]  # the body paragraphs, in order
    blocks: list[BlockRecord]  # every block of the page, each with its destination
    captions: list[CaptionRecord]
    related_links: list[RelatedLinkRecord]
    tags: list[TagRecord]
    text_sha256: str  # SHA-256 of the normalized text (see pipelines.hashing)
    raw_sha256: str  # SHA-256 of the raw body bytes
    parser: str
    parser_version: str
    dropped: dict[str, int] = field(default_factory=dict)  # block kind -> count dropped


@dataclass
class ListingEntryRecord:
    """One article as a listing page showed it."""

    position: int
    url: str
    title: str | None
    listed_at: str | None
    listed_raw: str | None


@dataclass
class ListingRecord:
    """A section page or "load more" chunk and the entries it showed."""

    listing_url: str
    section: str
    entries: list[ListingEntryRecord]
    next_url: str | None
    parser: str
    parser_version: str
