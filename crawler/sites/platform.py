"""The parser for the publishing platform behind Sputnik's editions and ria.ru.

Pure code: HTML text and its URL in, :mod:`crawler.sites.model` data out. One class per
layout version of the platform (as Fundus does); :func:`crawler.sites.parse_article` picks the
one whose ``recognize`` accepts the page. Selectors are compiled once, as class attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel import Selector, SelectorList

from crawler.sites import dates
from crawler.sites.model import (
    ArticlePage,
    Block,
    BlockKind,
    DateClaim,
    Image,
    ListingEntry,
    ListingPage,
    Tag,
)
from crawler.text import article_identity, normalize_text, strip_tracking


class UnparseablePage(ValueError):
    """The page is not an article (or listing) this parser can read: never an empty article."""


@dataclass(frozen=True)
class Site:
    """What the parser must know of one edition: its clock."""

    host: str
    timezone: timezone  # the zone of times printed without one


MOSCOW = timezone(timedelta(hours=3), "MSK")
SITES = {
    "sputnikglobe.com": Site("sputnikglobe.com", UTC),
    "sputniknews.com": Site("sputniknews.com", UTC),
    "en.sputniknews.africa": Site("en.sputniknews.africa", UTC),
    "ria.ru": Site("ria.ru", MOSCOW),
}


def site_for(url: str) -> Site:
    """The edition a URL belongs to (an unknown host is read as printing UTC)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return SITES.get(host, Site(host, UTC))


_ARTICLE_ID_IN_URL = re.compile(r"-(\d{6,})\.html$")
_DATELINE_PLACE = re.compile(r"^([^,(]{1,40})[,(]")

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


# Compiled once and run on lxml nodes directly: parsel would wrap every text node it returns.
_VISIBLE_TEXT = etree.XPath(
    ".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]",
    smart_strings=False,
)


def visible_text(node: Selector | SelectorList[Selector]) -> str:
    """The normalized text a reader sees in ``node`` (scripts and styles left out)."""
    nodes = node if isinstance(node, SelectorList) else [node]
    parts = [text for one in nodes for text in _VISIBLE_TEXT(one.root)]
    return normalize_text(" ".join(parts))


def _first_text(node: Selector | SelectorList[Selector], css: str) -> str | None:
    found = node.css(css)
    if not found:
        return None
    return visible_text(found[0]) or None


def is_dateline(text: str) -> bool:
    """Whether a bold opening is a dateline: a place in capitals, then a comma or a bracket.

    ``MOSCOW (Sputnik) -``, ``SÃO TOMÉ (Sputnik) -``, ``МОСКВА, 11 июн - РИА Новости.``
    """
    match = _DATELINE_PLACE.match(text)
    place = match.group(1).strip() if match else ""
    return bool(place) and place[0].isalpha() and place == place.upper()


def article_id_from_url(url: str) -> str | None:
    """The platform's numeric article id at the end of an article URL, if any."""
    match = _ARTICLE_ID_IN_URL.search(urlsplit(url).path)
    return match.group(1) if match else None


class PlatformV1:
    """The platform's current design (2021 on): ``div.article[data-article-id]``."""

    name = "platform"
    version = "1.0"

    ARTICLE = "div.article[data-article-id]"
    HEADER = ".article__header"
    TITLE = "h1.article__title, div.article__title"
    LEAD = ".article__announce-text"
    MAIN_MEDIA = ".article__announce .media"
    BODY_BLOCKS = ".article__body > .article__block"
    DATE_VISIBLE = ".article__info-date > a"
    DATE_MODIFIED = ".article__info-date-modified"
    AUTHORS = ".article__author-name"
    TAGS = "ul.tags li.tag a, .article__tags a.article__tags-item"
    MEDIA_IMAGE = "img"
    MEDIA_CAPTION = ".media__description, .media__title"
    MEDIA_CREDIT = ".media__copyright-item.m-copyright, .photoview__copyright"
    GALLERY_ITEM = ".article__photo-item"
    GALLERY_CAPTION = ".article__photo-item-text"
    RELATED_LINK = "a.article__article-link"
    RELATED_TITLE = ".article__article-title"
    RELATED_DATE = ".elem-info__date"
    QUOTE_TEXT = ".article__quote-text"
    QUOTE_INFO = ".article__quote-info"
    LIST_ITEM = "li"
    TABLE_ROW = "tr"
    TEXT = ".article__text"

    @classmethod
    def applies_to(cls, page: Selector) -> bool:
        """Whether the page is in this design."""
        return bool(page.css(cls.ARTICLE))

    @classmethod
    def recognize(cls, url: str, page: Selector) -> PlatformV1 | None:
        """The parser of a parsed page if it is in this design, else None (one search)."""
        candidates = page.css(cls.ARTICLE)
        return cls(url, "", page, candidates) if candidates else None

    def __init__(
        self,
        url: str,
        html: str,
        page: Selector | None = None,
        candidates: SelectorList[Selector] | None = None,
    ) -> None:
        """The parser of one page (``page``: ``html`` already parsed; ``candidates``: its
        ``div.article`` elements, already found)."""
        self.url = url
        self.site = site_for(url)
        self.page = page if page is not None else Selector(text=html)
        self.article = self._scope(candidates)
        self.header = self.article.css(self.HEADER)
        self._metas: dict[str, list[str]] | None = None
        self._claims: list[DateClaim] | None = None

    # -- scoping -----------------------------------------------------------------------

    def _scope(self, candidates: SelectorList[Selector] | None = None) -> Selector:
        """The one ``div.article`` whose id matches the URL (later ones are infinite scroll)."""
        if candidates is None:
            candidates = self.page.css(self.ARTICLE)
        if not candidates:
            raise UnparseablePage("no div.article[data-article-id] on the page")
        wanted = article_id_from_url(self.url)
        if wanted is None:
            return candidates[0]
        for candidate in candidates:
            if candidate.attrib.get("data-article-id") == wanted:
                return candidate
        raise UnparseablePage(f"no div.article with data-article-id={wanted} (the URL's id)")

    def _meta(self, key: str) -> list[str]:
        """The non-empty, normalized contents of the head's metas named ``key``, in page order."""
        if self._metas is None:
            self._metas = self._read_metas()
        values = (normalize_text(v) for v in self._metas.get(key, ()))
        return [v for v in values if v]

    def _read_metas(self) -> dict[str, list[str]]:
        """Every head meta's raw content by its ``property`` and by its ``name``."""
        metas: dict[str, list[str]] = {}
        for meta in self.page.root.xpath("/html/head/meta[@content]"):
            attrib = meta.attrib
            for key in dict.fromkeys((attrib.get("property"), attrib.get("name"))):
                if key is not None:
                    metas.setdefault(key, []).append(attrib["content"])
        return metas

    def _meta_one(self, key: str) -> str | None:
        values = self._meta(key)
        return values[0] if values else None

    def _absolute(self, href: str | None) -> str | None:
        if not href or not href.strip():
            return None
        return urljoin(self.url, href.strip())

    # -- the page ----------------------------------------------------------------------

    def parse(self) -> ArticlePage:
        """The whole article; raises :class:`UnparseablePage` where there is no article."""
        title = self.title()
        blocks = self.blocks()
        if title is None:
            raise UnparseablePage("the article has no title")
        if not any(b.kind == "text" and b.text for b in blocks):
            raise UnparseablePage("the article has no body text")
        claims = self.date_claims()
        return ArticlePage(
            url=self.url,
            canonical_url=self._absolute(
                self.page.xpath("/html/head/link[@rel='canonical']/@href").get()
            ),
            article_id=self.article.attrib.get("data-article-id"),
            site=self.site.host,
            section=self._meta_one("analytics:rubric") or self._meta_one("article:section"),
            language=self.language(),
            title=title,
            lead=_first_text(self.header, self.LEAD),
            authors=self.authors(),
            dates=claims,
            published_at=pick_date(claims, "published"),
            modified_at=pick_date(claims, "modified"),
            tags=self.tags(),
            blocks=blocks,
            parser=self.name,
            parser_version=self.version,
        )

    def title(self) -> str | None:
        """The headline shown above the article."""
        return _first_text(self.header, self.TITLE)

    def language(self) -> str | None:
        """The page's language as a short code ("en", "ru")."""
        lang = self.page.xpath("/html/@lang").get() or self._meta_one("og:locale")
        if not lang:
            return None
        return lang.replace("_", "-").split("-")[0].lower() or None

    def authors(self) -> list[str]:
        """Named authors: the visible byline, else ``article:author`` unless it is the publisher."""
        visible = [visible_text(a) for a in self.header.css(self.AUTHORS)]
        names = [n for n in visible if n]
        if names:
            return names
        publisher = self._meta_one("og:site_name")
        return [a for a in self._meta("article:author") if a != publisher]

    def tags(self) -> list[Tag]:
        """The tags listed under the article, else those of the ``article:tag`` metas."""
        found = [
            Tag(name=visible_text(a), url=self._absolute(a.attrib.get("href")))
            for a in self.article.css(self.TAGS)
        ]
        found = [t for t in found if t.name]
        if found:
            return found
        return [Tag(name=name, url=None) for name in self._meta("article:tag")]

    # -- dates -------------------------------------------------------------------------

    def date_claims(self) -> list[DateClaim]:
        """Every date the page claims, with raw string and source (read once per page)."""
        if self._claims is None:
            self._claims = self._read_date_claims()
        return list(self._claims)

    def _read_date_claims(self) -> list[DateClaim]:
        """Read every date claim off the page."""
        tz = self.site.timezone
        claims: list[DateClaim] = []
        for kind, key in (
            ("published", "article:published_time"),
            ("modified", "article:modified_time"),
        ):
            raw = self._meta_one(key)
            if raw:
                claims.append(DateClaim(kind, dates.parse_meta(raw, tz), raw, f"meta:{key}"))  # type: ignore[arg-type]
        p_ts = self._meta_one("analytics:p_ts")
        if p_ts:
            claims.append(
                DateClaim("published", dates.parse_epoch(p_ts), p_ts, "meta:analytics:p_ts")
            )
        visible = _first_text(self.header, self.DATE_VISIBLE)
        if visible:
            claims.append(
                DateClaim("published", dates.parse_visible(visible, tz), visible, "visible")
            )
        modified = _first_text(self.header, self.DATE_MODIFIED)
        if modified:
            raw = modified
            claims.append(DateClaim("modified", dates.parse_visible(raw, tz), raw, "visible"))
        for kind, prop in (("published", "datePublished"), ("modified", "dateModified")):
            raw = self.article.xpath(
                ".//*[contains(@class,'article__meta')]//*[@itemprop=$p]/text()", p=prop
            ).get()
            if raw and raw.strip():
                raw = raw.strip()
                claims.append(DateClaim(kind, dates.parse_meta(raw, tz), raw, "microdata"))  # type: ignore[arg-type]
        return claims

    # -- body --------------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The main photo (if any) and every body block, in page order."""
        blocks: list[Block] = []
        main = self.header.css(self.MAIN_MEDIA)
        if main:
            blocks.append(Block("media", 0, images=[self._image(main[0])], in_header=True))
        # related items print no year: they are dated from the article's own publication
        published = pick_date(self.date_claims(), "published")
        for node in self.article.css(self.BODY_BLOCKS):
            first_text = not any(b.kind == "text" for b in blocks)
            blocks.append(self._block(node, len(blocks), published, first_text))
        return blocks

    def _block(
        self, node: Selector, position: int, published: str | None, first_text: bool
    ) -> Block:
        data_type = (node.attrib.get("data-type") or "").strip().lower()
        kind = BLOCK_KINDS.get(data_type, "unknown")
        if kind == "text":
            return self._text_block(node, position, first_text)
        if kind == "quote":
            return Block(
                "quote",
                position,
                text=_first_text(node, self.QUOTE_TEXT) or visible_text(node),
                attribution=_first_text(node, self.QUOTE_INFO),
            )
        if kind in ("list", "table"):
            rows = node.css(self.LIST_ITEM if kind == "list" else self.TABLE_ROW)
            items = [t for t in (visible_text(r) for r in rows) if t]
            return Block(kind, position, text="\n".join(items), items=items)
        if kind == "media":
            return Block("media", position, images=[self._image(node)])
        if kind == "gallery":
            images = [
                self._image(item, self.GALLERY_CAPTION) for item in node.css(self.GALLERY_ITEM)
            ]
            return Block("gallery", position, images=images)
        if kind == "related":
            return self._related_block(node, position, published)
        if kind == "embed":
            return self._embed_block(node, position)
        if kind == "banner":
            return Block("banner", position, text=visible_text(node))
        return Block(kind, position, text=visible_text(node))

    def _text_block(self, node: Selector, position: int, first_text: bool) -> Block:
        text_node = node.css(self.TEXT) or node
        text = visible_text(text_node)
        dateline = None
        if first_text:
            opening = text_node.xpath("./*[1][self::strong or self::b]")
            before = text_node.xpath("./*[1]/preceding-sibling::text()").getall()
            if opening and not normalize_text("".join(before)):
                candidate = visible_text(opening[0])
                if is_dateline(candidate):
                    dateline = candidate
        return Block("text", position, text=text, dateline=dateline)

    def _image(self, node: Selector, caption_css: str | None = None) -> Image:
        img = node.css(self.MEDIA_IMAGE)
        src = (img.attrib.get("src") or img.attrib.get("data-src")) if img else None
        return Image(
            image_url=self._absolute(src),
            caption=_first_text(node, caption_css or self.MEDIA_CAPTION),
            credit=_first_text(node, self.MEDIA_CREDIT),
        )

    def _related_block(self, node: Selector, position: int, published: str | None) -> Block:
        link = node.css(self.RELATED_LINK)
        href = self._absolute(link.attrib.get("href")) if link else None
        raw = _first_text(node, self.RELATED_DATE)
        return Block(
            "related",
            position,
            text=visible_text(link) if link else visible_text(node),
            url=strip_tracking(href) if href else None,
            title=_first_text(node, self.RELATED_TITLE),
            published_raw=raw,
            published_at=dates.parse_day_month(raw, self.site.timezone, published) if raw else None,
        )

    def _embed_block(self, node: Selector, position: int) -> Block:
        iframe = node.css("iframe")
        if iframe:
            url = self._absolute(iframe.attrib.get("src"))
            provider = iframe.attrib.get("title") or urlsplit(url or "").hostname
        else:
            links = node.css("blockquote a::attr(href)").getall()
            url = self._absolute(links[-1]) if links else None
            quote_class = node.css("blockquote::attr(class)").get() or ""
            provider = quote_class.split("-")[0] or None
        return Block("embed", position, text=visible_text(node), url=url, title=provider)


def pick_date(claims: list[DateClaim], kind: str) -> str | None:
    """The date of ``kind`` the page claims most exactly.

    Order: a meta value that states its UTC offset, the Unix-seconds ``analytics:p_ts``, the
    visible text, the microdata, and last a meta value without offset (read in site time).
    """

    def rank(claim: DateClaim) -> int:
        if claim.source.startswith("meta:article:"):
            return 0 if dates.meta_has_offset(claim.raw) else 4
        return {"meta:analytics:p_ts": 1, "visible": 2, "microdata": 3}.get(claim.source, 5)

    usable = [c for c in claims if c.kind == kind and c.value is not None]
    if not usable:
        return None
    return min(usable, key=rank).value


class ListingV1:
    """Section pages and their "load more" chunks in the platform's current design."""

    name = "platform-listing"
    version = "1.0"

    ITEM = "div.list__item"
    LINK = "a.list__title"
    DATE = ".list__date"
    DATE_TEXT = "span.date"
    MORE = "div.list__more::attr(data-url)"
    NEXT = "div.list-items-loaded::attr(data-next-url)"

    def __init__(self, url: str, html: str) -> None:
        self.url = url
        self.site = site_for(url)
        self.page = Selector(text=html)

    def parse(self) -> ListingPage:
        """Every listed article in order, and the next chunk's URL (None on the last)."""
        entries: list[ListingEntry] = []
        for item in self.page.css(self.ITEM):
            link = item.css(self.LINK)
            href = link.attrib.get("href") if link else None
            if not href:
                continue
            listed_raw, listed_at = self._date(item)
            entries.append(
                ListingEntry(
                    url=article_identity(urljoin(self.url, href.strip())),
                    title=visible_text(link) or None,
                    listed_at=listed_at,
                    listed_raw=listed_raw,
                    position=len(entries),
                )
            )
        next_href = self.page.css(self.NEXT).get() or self.page.css(self.MORE).get()
        return ListingPage(
            url=self.url,
            entries=entries,
            next_url=urljoin(self.url, next_href.strip()) if next_href else None,
            parser=self.name,
            parser_version=self.version,
        )

    def _date(self, item: Selector) -> tuple[str | None, str | None]:
        date = item.css(self.DATE)
        epoch = date.attrib.get("data-unixtime") if date else None
        if epoch:
            return epoch, dates.parse_epoch(epoch)
        text = _first_text(item, self.DATE_TEXT)
        if text:
            return text, dates.parse_visible(text, self.site.timezone)
        return None, None
