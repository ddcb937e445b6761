"""What a site parser reads from a page: plain data, no Scrapy, no HTML.

An article page becomes an :class:`ArticlePage`: header fields plus the body as an ordered
list of typed :class:`Block` objects, exactly as the page shows them (boilerplate included;
the pipelines decide what is body and what is not). A listing page (a section page or a
"load more" chunk) becomes a :class:`ListingPage`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

BlockKind = Literal[
    "text",  # a body paragraph
    "quote",  # a quotation; ``attribution`` holds who said it
    "list",  # a bulleted or numbered list; ``items`` holds its entries
    "heading",  # a subheading inside the body
    "table",  # a table, flattened to text (rows in ``items``)
    "media",  # a photo (the main photo or one inside the body): ``images[0]``
    "gallery",  # several photos with their captions: ``images``
    "related",  # an inline "read also" block linking another article
    "embed",  # a video player, a social post, any third-party embed
    "banner",  # an advertising slot
    "disclaimer",  # the publisher's notice inside the text ("the views expressed …")
    "story",  # the running story the article belongs to: ``title`` and ``url`` of its page
    "unknown",  # a block type this parser version does not know (kept, never guessed)
]

DateKind = Literal["published", "modified"]


@dataclass
class DateClaim:
    """One date the page claims, with its raw string and where it was read."""

    kind: DateKind
    value: str | None  # ISO 8601 UTC ending in Z, or None where the raw string did not parse
    raw: str
    source: str  # e.g. "meta:article:published_time", "meta:analytics:p_ts", "visible", "microdata"
    # how the zone of ``value`` was known: "stated" (the raw value states it: an offset, Z,
    # Unix seconds, "GMT" printed), "page" (derived from the page's own absolute and printed
    # times), "edition" (the edition's clock), "assumed" (no clock known: read as UTC); None
    # where ``value`` is None
    zone: str | None = None


@dataclass
class Image:
    """A photo: its URL, caption and credit, as the page shows them."""

    image_url: str | None
    caption: str | None
    credit: str | None


@dataclass
class Block:
    """One block of an article, in page order; ``position`` is its index in that order."""

    kind: BlockKind
    position: int
    text: str = ""  # the block's visible text, whitespace-normalized ("" for media/banner)
    dateline: str | None = (
        None  # the bold lead-in of the first paragraph, e.g. "MOSCOW (Sputnik) -"
    )
    items: list[str] = field(default_factory=list)  # list entries, table rows
    attribution: str | None = None  # a quote's speaker
    images: list[Image] = field(default_factory=list)  # media (one) and gallery (several)
    url: str | None = None  # related: the linked article (tracking removed); embed: the source
    title: str | None = None  # related: the linked article's title; embed: the provider
    published_raw: str | None = None  # related: the timestamp as printed
    published_at: str | None = None  # related: that timestamp in UTC (ISO 8601, Z)
    in_header: bool = False  # True for the main photo, which the page shows above the body

    def to_dict(self) -> dict[str, Any]:
        """The block as a JSON-ready dict: ``dataclasses.asdict``, without its slow deep copy."""
        data = {name: getattr(self, name) for name in BLOCK_FIELDS}
        data["items"] = list(self.items)
        data["images"] = [
            {"image_url": i.image_url, "caption": i.caption, "credit": i.credit}
            for i in self.images
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        """The block :meth:`to_dict` made (keys it does not know are left out)."""
        known = {name: data[name] for name in BLOCK_FIELDS if name in data}
        known["images"] = [Image(**image) for image in known.get("images", ())]
        known["items"] = list(known.get("items", ()))
        return cls(**known)


BLOCK_FIELDS = tuple(f.name for f in fields(Block))


@dataclass
class Tag:
    """A tag the page lists under the article."""

    name: str
    url: str | None


@dataclass
class ArticlePage:
    """Everything the parser read from one article page."""

    url: str  # the URL the page was fetched from (after redirects)
    canonical_url: str | None
    article_id: str | None
    site: str  # the host, e.g. "sputnikglobe.com"
    section: str | None  # the page's rubric, e.g. "Africa"
    language: str | None
    title: str | None
    lead: str | None
    authors: list[str]
    dates: list[DateClaim]
    published_at: str | None
    modified_at: str | None
    tags: list[Tag]
    blocks: list[Block]
    parser: str
    parser_version: str

    def to_dict(self) -> dict[str, Any]:
        """The page as a JSON-ready dict."""
        return asdict(self)

    def in_section(self, section: str) -> bool:
        """Whether the page's own rubric or one of its tags names ``section`` (any case)."""
        wanted = section.casefold()
        names = [self.section or "", *(tag.name for tag in self.tags)]
        return any(name.casefold() == wanted for name in names)


@dataclass
class ListingEntry:
    """One article as a listing page shows it."""

    url: str  # absolute, without query or fragment
    title: str | None
    listed_at: str | None  # UTC, ISO 8601 with Z
    listed_raw: str | None  # the raw value it came from (e.g. the data-unixtime attribute)
    position: int  # 0-based index on this listing page


@dataclass
class ListingPage:
    """A section page or a "load more" chunk: its entries and the next chunk's URL."""

    url: str
    entries: list[ListingEntry]
    next_url: str | None
    parser: str
    parser_version: str

    def to_dict(self) -> dict[str, Any]:
        """The listing as a JSON-ready dict."""
        return asdict(self)
