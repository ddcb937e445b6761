"""What the store keeps: plain records, no Scrapy, no SQL.

The crawler makes the fetch records, the article chain the article records; the store writes
each fetch together with what came of it in a single transaction. Times are ISO 8601 UTC
strings ending in ``Z`` (:mod:`domain.times`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from domain.hashing import sha256_hex
from domain.pages import ArticlePage, Block

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

    def __post_init__(self) -> None:
        """Hash the body once, where the fetch is made: every later user reads this hash."""
        if self.body is not None and self.body_sha256 is None:
            self.body_sha256 = sha256_hex(self.body)


@dataclass
class PlacedBlock:
    """One block of an article page, where the boilerplate split put it, and its text hash."""

    block: Block
    destination: BlockDestination
    sha256: str  # SHA-256 of the block's normalized text (domain.hashing.block_sha256)


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
class SplitArticle:
    """An article page with its boilerplate split out of the body (``pipelines.boilerplate``).

    ``destinations`` names, for each of the page's blocks in order, where the block went.
    """

    dateline: str | None = None
    body: list[str] = field(default_factory=list)
    captions: list[CaptionRecord] = field(default_factory=list)
    related_links: list[RelatedLinkRecord] = field(default_factory=list)
    destinations: list[BlockDestination] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)  # block kind -> how many dropped


@dataclass
class ArticleRecord:
    """One article page as the store keeps it: the parser's page, its split, and its hashes.

    Made by the article chain (``pipelines.chain.read_article``) and nowhere else.
    """

    url: str  # the article's identity: absolute, no query, no fragment (domain.text)
    page: ArticlePage
    split: SplitArticle
    block_sha256: list[str]  # per block of ``page.blocks``: SHA-256 of its normalized text
    text_sha256: str  # SHA-256 of the canonical text (domain.hashing)
    raw_sha256: str  # SHA-256 of the raw body bytes

    def placed_blocks(self) -> list[PlacedBlock]:
        """Every block of the page with its destination and hash, in page order."""
        return [
            PlacedBlock(block, destination, sha256)
            for block, destination, sha256 in zip(
                self.page.blocks, self.split.destinations, self.block_sha256, strict=True
            )
        ]
