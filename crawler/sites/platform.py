"""The article parser for the publishing platform behind Sputnik's editions and ria.ru.

Pure code: HTML text and its URL in, :mod:`domain.pages` data out. One class per
layout version of the platform (as Fundus does); :func:`crawler.sites.parse_article` picks the
one whose ``recognize`` accepts the page. Selectors are compiled once, as class attributes,
and run on lxml's tree directly (:class:`crawler.sites.html.Css`); the listing parser is
:mod:`crawler.sites.listing`, the editions' clocks :mod:`crawler.sites.editions`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.sites import dates
from crawler.sites.html import Css, Node, Query, UnparseablePage, first_text, visible_text
from crawler.sites.page import PlatformPage
from domain.pages import Block, BlockKind, DateKind, Image, Tag
from domain.text import strip_tracking

# the current design's /20230120/slug-ID.html, the earlier /section/20200317ID-slug/ and
# the oldest /section/20150320/ID.html
_ARTICLE_ID_IN_URL = (
    re.compile(r"-(\d{6,})\.html$"),
    re.compile(r"/\d{8}(\d{6,})-[^/]*/?$"),
    re.compile(r"/\d{8}/(\d{6,})(?:\.html|/[^/]*)?/?$"),
)

# data-type of an article__block -> the block kind
BLOCK_KINDS: dict[str, BlockKind] = {
    "text": "text",
    "quote": "quote",
    "list": "list",
    "h2": "heading",
    "h3": "heading",
    "h4": "heading",
    "table": "table",
    "media": "media",
    "image": "media",
    "photo": "media",
    "photolenta": "gallery",
    "gallery": "gallery",
    "article": "related",
    "video": "embed",
    "embed": "embed",
    "social": "embed",
    "html": "embed",
    "banner": "banner",
}


def article_id_from_url(url: str) -> str | None:
    """The platform's numeric article id at the end of an article URL, if any."""
    path = urlsplit(url).path
    for pattern in _ARTICLE_ID_IN_URL:
        match = pattern.search(path)
        if match:
            return match.group(1)
    return None


class PlatformV1(PlatformPage):
    """The platform's current design (2021 on): ``div.article[data-article-id]``."""

    name = "platform"
    version = "1.1"  # 1.1: exact text (inline elements join their neighbours), zones of dates
    design = "the current design, div.article[data-article-id], 2021 on"

    ARTICLE = Css("div.article[data-article-id]")
    HEADER = Css(".article__header")
    TITLE = Css("h1.article__title, div.article__title")
    LEAD = Css(".article__announce-text")
    MAIN_MEDIA = Css(".article__announce .media")
    BODY_BLOCKS = Css(".article__body > .article__block")
    DATE_VISIBLE = Css(".article__info-date > a")
    DATE_MODIFIED = Css(".article__info-date-modified")
    AUTHORS = Css(".article__author-name")
    TAGS = Css("ul.tags li.tag a, .article__tags a.article__tags-item")
    MEDIA_CAPTION = Css(".media__description, .media__title")
    MEDIA_CREDIT = Css(".media__copyright-item.m-copyright, .photoview__copyright")
    GALLERY_ITEM = Css(".article__photo-item")
    GALLERY_CAPTION = Css(".article__photo-item-text")
    RELATED_LINK = Css("a.article__article-link")
    RELATED_TITLE = Css(".article__article-title")
    RELATED_DATE = Css(".elem-info__date")
    QUOTE_TEXT = Css(".article__quote-text")
    QUOTE_INFO = Css(".article__quote-info")
    LIST_ITEM = Css("li")
    TABLE_ROW = Css("tr")
    TEXT = Css(".article__text")
    QUOTE_LINKS = Css("blockquote a::attr(href)")
    QUOTE_CLASS = Css("blockquote::attr(class)")
    MICRODATA = Query(".//*[contains(@class,'article__meta')]//*[@itemprop=$p]/text()")

    @classmethod
    def recognize(
        cls, url: str, root: Node, dropped_urls: list[str] | None = None
    ) -> PlatformV1 | None:
        """The parser of a parsed page if it is in this design, else None (one search)."""
        candidates = cls.ARTICLE.all(root)
        return cls(url, root, candidates, dropped_urls) if candidates else None

    def __init__(
        self, url: str, root: Node, candidates: list[Node], dropped_urls: list[str] | None = None
    ) -> None:
        """The parser of one parsed page (``candidates``: its ``div.article`` elements, at
        least one, as :meth:`recognize` found them)."""
        super().__init__(url, root, dropped_urls)
        self.article = self._scope(candidates)
        self.header = self.HEADER.all(self.article)

    def _scope(self, candidates: list[Node]) -> Node:
        """The one ``div.article`` whose id matches the URL (later ones are infinite scroll)."""
        wanted = article_id_from_url(self.url)
        if wanted is None:
            return candidates[0]
        for candidate in candidates:
            if candidate.get("data-article-id") == wanted:
                return candidate
        raise UnparseablePage(f"no div.article with data-article-id={wanted} (the URL's id)")

    # -- the header --------------------------------------------------------------------

    def title(self) -> str | None:
        """The headline shown above the article."""
        return first_text(self.TITLE, *self.header)

    def lead(self) -> str | None:
        """The announce text under the title."""
        return first_text(self.LEAD, *self.header)

    def article_id(self) -> str | None:
        """The ``data-article-id`` of the article's element."""
        return self.article.get("data-article-id")

    def section(self) -> str | None:
        """The analytics rubric, else ``article:section``."""
        return self.meta_one("analytics:rubric") or self.meta_one("article:section")

    def authors(self) -> list[str]:
        """Named authors: the visible byline, else ``article:author`` unless it is the publisher."""
        names = [n for n in (visible_text(a) for a in self.AUTHORS.all(*self.header)) if n]
        return names or self.meta_authors()

    def tags(self) -> list[Tag]:
        """The tags listed under the article, else those of the ``article:tag`` metas."""
        return self.link_tags(self.TAGS.all(self.article))

    def printed_dates(self) -> tuple[list[tuple[DateKind, str]], list[tuple[DateKind, str]]]:
        """The header's published and modified times, and the hidden microdata's."""
        visible: list[tuple[DateKind, str]] = []
        published = first_text(self.DATE_VISIBLE, *self.header)
        if published:
            visible.append(("published", published))
        modified = first_text(self.DATE_MODIFIED, *self.header)
        if modified:
            visible.append(("modified", modified))
        microdata: list[tuple[DateKind, str]] = []
        for kind, prop in (("published", "datePublished"), ("modified", "dateModified")):
            raw = self.MICRODATA.first(self.article, p=prop)
            if raw and raw.strip():
                microdata.append((kind, raw.strip()))  # type: ignore[arg-type]
        return visible, microdata

    # -- body --------------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The main photo (if any) and every body block, in page order."""
        blocks: list[Block] = []
        main = self.MAIN_MEDIA.first(*self.header)
        if main is not None:
            blocks.append(Block("media", 0, images=[self._image(main)], in_header=True))
        # related items print no year: they are dated from the article's own publication
        published = self.published()
        for node in self.BODY_BLOCKS.all(self.article):
            opens_body = not any(b.kind == "text" for b in blocks)
            blocks.append(self._block(node, len(blocks), published, opens_body))
        return blocks

    def _block(self, node: Node, position: int, published: str | None, opens_body: bool) -> Block:
        data_type = (node.get("data-type") or "").strip().lower()
        kind = BLOCK_KINDS.get(data_type, "unknown")
        if kind == "text":
            return self.text_block(self.TEXT.all(node) or [node], position, opens_body)
        if kind == "quote":
            return Block(
                "quote",
                position,
                text=first_text(self.QUOTE_TEXT, node) or visible_text(node),
                attribution=first_text(self.QUOTE_INFO, node),
            )
        if kind in ("list", "table"):
            rows = (self.LIST_ITEM if kind == "list" else self.TABLE_ROW).all(node)
            items = [t for t in (visible_text(r) for r in rows) if t]
            return Block(kind, position, text="\n".join(items), items=items)
        if kind == "media":
            return Block("media", position, images=[self._image(node)])
        if kind == "gallery":
            images = [
                self._image(item, self.GALLERY_CAPTION) for item in self.GALLERY_ITEM.all(node)
            ]
            return Block("gallery", position, images=images)
        if kind == "related":
            return self._related_block(node, position, published)
        if kind == "embed":
            return self._embed_block(node, position)
        if kind == "banner":
            return Block("banner", position, text=visible_text(node))
        return Block(kind, position, text=visible_text(node))

    def _image(self, node: Node, caption: Css | None = None) -> Image:
        return self.image(node, caption or self.MEDIA_CAPTION, self.MEDIA_CREDIT)

    def _related_block(self, node: Node, position: int, published: str | None) -> Block:
        links = self.RELATED_LINK.all(node)
        href = self.absolute(links[0].get("href")) if links else None
        raw = first_text(self.RELATED_DATE, node)
        return Block(
            "related",
            position,
            text=visible_text(*links) if links else visible_text(node),
            url=strip_tracking(href) if href else None,
            title=first_text(self.RELATED_TITLE, node),
            published_raw=raw,
            published_at=dates.parse_day_month(raw, self.clock().tz, published) if raw else None,
        )

    def _embed_block(self, node: Node, position: int) -> Block:
        iframe = self.IFRAME.first(node)
        if iframe is not None:
            return self.embed_block(node, position, iframe)
        links = self.QUOTE_LINKS.all(node)
        url = self.absolute(links[-1]) if links else None
        quote_class = self.QUOTE_CLASS.first(node) or ""
        provider = quote_class.split("-")[0] or None
        return Block("embed", position, text=visible_text(node), url=url, title=provider)
