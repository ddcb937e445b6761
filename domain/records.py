"""What the store keeps: plain records, no Scrapy, no SQL.

The crawler makes the fetch records, the article chain the article records; the store writes
each fetch together with what came of it in a single transaction. Times are ISO 8601 UTC
strings ending in ``Z`` (:mod:`domain.times`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from domain.hashing import sha256_hex
from domain.pages import ArticlePage, Block

FetchOutcome = Literal[
    "ok",
    "not_found",
    "http_error",
    "gave_up",
    "timeout",
    "data_loss",
    "too_large",
    "not_html",
    "unparseable",
    "redirected_away",
    "refused",
    "out_of_section",
    "failed",
]


class OutcomeMeaning(NamedTuple):
    """What a fetch outcome says: when a fetch ends with it, and what the store keeps of it."""

    when: str
    kept: str


# Every outcome's meaning, in the README's order (its *Faults and outcomes* table is checked
# against this, in tests/test_docs_and_cli.py): the one place an outcome is described.
FETCH_OUTCOMES: dict[FetchOutcome, OutcomeMeaning] = {
    "ok": OutcomeMeaning(
        "a 2xx page, parsed into an article or a listing",
        "the fetch, the body, the article version or listing",
    ),
    "not_found": OutcomeMeaning("404 or 410", "the fetch and body; the article is marked `gone`"),
    "http_error": OutcomeMeaning(
        "any other non-2xx status that is not retried", "the fetch and body"
    ),
    "gave_up": OutcomeMeaning(
        "a retryable status (500, 502, 503, 504, 522, 524, 408, 429) still answered after "
        "`RETRY_TIMES` retries, or a `Retry-After` over `RETRY_AFTER_MAX`",
        "the fetch and body; no article",
    ),
    "timeout": OutcomeMeaning(
        "no response within `DOWNLOAD_TIMEOUT`, after every retry", "the fetch"
    ),
    "data_loss": OutcomeMeaning(
        "the body was cut short: the connection dropped before `Content-Length`, or closed "
        "before the page's `</html>`",
        "the fetch and the partial body; never a version",
    ),
    "too_large": OutcomeMeaning(
        "the body, or what it decompresses to (a compression bomb), is over "
        "`DOWNLOAD_MAXSIZE`; the download stops there",
        "the fetch",
    ),
    "not_html": OutcomeMeaning(
        "a 2xx answer that is not a web page by its `Content-Type` (a PDF, an image)",
        "the fetch and body",
    ),
    "unparseable": OutcomeMeaning(
        "a 2xx HTML page refused: the platform parser found no `div.article` with the URL's id, "
        "no title or no body text, or no parser recognizes the page and the generic extractor "
        "finds no article on it (an empty page, a ban, captcha or login page, a headline alone "
        "— see *Pages of other sites*), or no encoding reads it, or it is nested deeper than "
        "the HTML parser reads, or has more than 250,000 tags (refused before parsing: its "
        "tree would take more memory than a crawl may use)",
        "the fetch and body, to re-parse later",
    ),
    "redirected_away": OutcomeMeaning(
        "an article request redirected to the section or home page: the site's way of saying "
        "the article is gone (see *History*)",
        "the fetch, with `redirect_status` and `final_url`; the article gets a `gone` event",
    ),
    "refused": OutcomeMeaning(
        "not fetched by choice: robots.txt, off the allowed domains, an address the guard "
        "refuses (a private, loopback, link-local or other non-public IP in any spelling, or a "
        "name whose DNS answer is one), another scheme, a rate-limited host's queued request, "
        "or a redirect to any of these",
        "the fetch (the 3xx when a redirect was refused)",
    ),
    "out_of_section": OutcomeMeaning(
        "an article page found by a source that does not say the section (RSS, a sitemap, a "
        "day archive) whose own section and tags do not put it in the spider's section",
        "the fetch and body; no article",
    ),
    "failed": OutcomeMeaning(
        "any other network failure (DNS, connection refused or reset)", "the fetch"
    ),
}

# section: the section page; listing: its "load more" chunks; article: an article page;
# robots: robots.txt; sitemap: a sitemap index or sitemap; feed: an RSS feed; archive: a day
# archive page (``/YYYYMMDD/``)
FetchKind = Literal["section", "listing", "article", "robots", "sitemap", "feed", "archive"]
FETCH_KINDS: tuple[FetchKind, ...] = (
    "section", "listing", "article", "robots", "sitemap", "feed", "archive",
)  # fmt: skip
# How a request was found (``fetches.source``): the section's listing, the edition's RSS feed,
# an article sitemap, a day archive, robots.txt (the sitemaps it names), a recheck of a known
# article. Candidates from ``rss``, ``sitemap`` and ``archive`` do not say their section.
DiscoverySource = Literal["section", "rss", "sitemap", "archive", "robots", "recheck"]
UNSECTIONED_SOURCES: frozenset[str] = frozenset({"rss", "sitemap", "archive"})

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
    worker: str | None = None  # the process that ran it (domain.frontier.worker_name)


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
    encoding_errors: int | None = None  # undecodable bytes replaced by U+FFFD (None: not decoded)
    source: str | None = None  # how the request was found (DiscoverySource), where known

    def __post_init__(self) -> None:
        """Hash the body once, where the fetch is made: every later user reads this hash."""
        if self.body is not None and self.body_sha256 is None:
            self.body_sha256 = sha256_hex(self.body)


@dataclass(frozen=True)
class WarcSource:
    """Where an exchange is kept as a WARC record: file, byte offset, ``WARC-Record-ID``."""

    file: str
    offset: int | None
    record_id: str


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
