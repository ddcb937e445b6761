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
from crawler.sites.editions import site_for
from crawler.sites.html import (
    Css,
    Node,
    Query,
    UnparseablePage,
    first_text,
    resolve,
    visible_text,
)
from domain.pages import ArticlePage, Block, BlockKind, DateClaim, Image, Tag
from domain.text import normalize_text, strip_tracking

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
    MEDIA_IMAGE = Css("img")
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
    IFRAME = Css("iframe")
    QUOTE_LINKS = Css("blockquote a::attr(href)")
    QUOTE_CLASS = Css("blockquote::attr(class)")
    HEAD_METAS = Query("/html/head/meta[@content]")
    CANONICAL = Query("/html/head/link[@rel='canonical']/@href")
    LANG = Query("/html/@lang")
    MICRODATA = Query(".//*[contains(@class,'article__meta')]//*[@itemprop=$p]/text()")
    OPENING = Query("./*[1][self::strong or self::b]")
    BEFORE_OPENING = Query("./*[1]/preceding-sibling::text()")

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
        least one, as :meth:`recognize` found them). Links that are no URL are left out of
        the article (their text stays) and appended, as written, to ``dropped_urls``."""
        self.url = url
        self.dropped_urls = dropped_urls if dropped_urls is not None else []
        self.site = site_for(url)
        self.root = root
        self.article = self._scope(candidates)
        self.header = self.HEADER.all(self.article)
        self._metas: dict[str, list[str]] | None = None
        self._claims: list[DateClaim] | None = None

    # -- scoping -----------------------------------------------------------------------

    def _scope(self, candidates: list[Node]) -> Node:
        """The one ``div.article`` whose id matches the URL (later ones are infinite scroll)."""
        wanted = article_id_from_url(self.url)
        if wanted is None:
            return candidates[0]
        for candidate in candidates:
            if candidate.get("data-article-id") == wanted:
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
        for meta in self.HEAD_METAS.all(self.root):
            attrib = meta.attrib
            for key in dict.fromkeys((attrib.get("property"), attrib.get("name"))):
                if key is not None:
                    metas.setdefault(key, []).append(attrib["content"])
        return metas

    def _meta_one(self, key: str) -> str | None:
        values = self._meta(key)
        return values[0] if values else None

    def _absolute(self, href: str | None) -> str | None:
        """A link's absolute URL; None (and the link noted in ``dropped_urls``) where it is
        no URL."""
        if not href or not href.strip():
            return None
        url = resolve(self.url, href.strip())
        if url is None:
            self.dropped_urls.append(href.strip())
        return url

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
            canonical_url=self._absolute(self.CANONICAL.first(self.root)),
            article_id=self.article.get("data-article-id"),
            site=self.site.host,
            section=self._meta_one("analytics:rubric") or self._meta_one("article:section"),
            language=self.language(),
            title=title,
            lead=first_text(self.LEAD, *self.header),
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
        return first_text(self.TITLE, *self.header)

    def language(self) -> str | None:
        """The page's language as a short code ("en", "ru")."""
        lang = self.LANG.first(self.root) or self._meta_one("og:locale")
        if not lang:
            return None
        return lang.replace("_", "-").split("-")[0].lower() or None

    def authors(self) -> list[str]:
        """Named authors: the visible byline, else ``article:author`` unless it is the publisher."""
        visible = [visible_text(a) for a in self.AUTHORS.all(*self.header)]
        names = [n for n in visible if n]
        if names:
            return names
        publisher = self._meta_one("og:site_name")
        return [a for a in self._meta("article:author") if a != publisher]

    def tags(self) -> list[Tag]:
        """The tags listed under the article, else those of the ``article:tag`` metas."""
        found = [
            Tag(name=visible_text(a), url=self._absolute(a.get("href")))
            for a in self.TAGS.all(self.article)
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
        visible = first_text(self.DATE_VISIBLE, *self.header)
        if visible:
            claims.append(
                DateClaim("published", dates.parse_visible(visible, tz), visible, "visible")
            )
        modified = first_text(self.DATE_MODIFIED, *self.header)
        if modified:
            raw = modified
            claims.append(DateClaim("modified", dates.parse_visible(raw, tz), raw, "visible"))
        for kind, prop in (("published", "datePublished"), ("modified", "dateModified")):
            raw = self.MICRODATA.first(self.article, p=prop)
            if raw and raw.strip():
                raw = raw.strip()
                claims.append(DateClaim(kind, dates.parse_meta(raw, tz), raw, "microdata"))  # type: ignore[arg-type]
        return claims

    # -- body --------------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The main photo (if any) and every body block, in page order."""
        blocks: list[Block] = []
        main = self.MAIN_MEDIA.first(*self.header)
        if main is not None:
            blocks.append(Block("media", 0, images=[self._image(main)], in_header=True))
        # related items print no year: they are dated from the article's own publication
        published = pick_date(self.date_claims(), "published")
        for node in self.BODY_BLOCKS.all(self.article):
            opens_body = not any(b.kind == "text" for b in blocks)
            blocks.append(self._block(node, len(blocks), published, opens_body))
        return blocks

    def _block(self, node: Node, position: int, published: str | None, opens_body: bool) -> Block:
        data_type = (node.get("data-type") or "").strip().lower()
        kind = BLOCK_KINDS.get(data_type, "unknown")
        if kind == "text":
            return self._text_block(node, position, opens_body)
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

    def _text_block(self, node: Node, position: int, first_text: bool) -> Block:
        text_nodes = self.TEXT.all(node) or [node]
        text = visible_text(*text_nodes)
        dateline = None
        if first_text:
            opening = self.OPENING.all(*text_nodes)
            before = self.BEFORE_OPENING.all(*text_nodes)
            if opening and not normalize_text("".join(before)):
                candidate = visible_text(opening[0])
                if is_dateline(candidate):
                    dateline = candidate
        return Block("text", position, text=text, dateline=dateline)

    def _image(self, node: Node, caption: Css | None = None) -> Image:
        img = self.MEDIA_IMAGE.first(node)
        src = (img.get("src") or img.get("data-src")) if img is not None else None
        return Image(
            image_url=self._absolute(src),
            caption=first_text(caption or self.MEDIA_CAPTION, node),
            credit=first_text(self.MEDIA_CREDIT, node),
        )

    def _related_block(self, node: Node, position: int, published: str | None) -> Block:
        links = self.RELATED_LINK.all(node)
        href = self._absolute(links[0].get("href")) if links else None
        raw = first_text(self.RELATED_DATE, node)
        return Block(
            "related",
            position,
            text=visible_text(*links) if links else visible_text(node),
            url=strip_tracking(href) if href else None,
            title=first_text(self.RELATED_TITLE, node),
            published_raw=raw,
            published_at=dates.parse_day_month(raw, self.site.timezone, published) if raw else None,
        )

    def _embed_block(self, node: Node, position: int) -> Block:
        iframe = self.IFRAME.first(node)
        if iframe is not None:
            url = self._absolute(iframe.get("src"))
            provider = iframe.get("title") or urlsplit(url or "").hostname
        else:
            links = self.QUOTE_LINKS.all(node)
            url = self._absolute(links[-1]) if links else None
            quote_class = self.QUOTE_CLASS.first(node) or ""
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
