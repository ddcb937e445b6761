"""What the parsers of the platform's designs share: one page's head metas, links, language,
dates, paragraphs with their dateline, photos, and the assembly of the :class:`ArticlePage`.

A design is a subclass (:class:`crawler.sites.platform.PlatformV1`,
:class:`crawler.sites.legacy.LegacyV1`) that holds its selectors and the rules of its layout.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.sites.claims import pick_date, read_date_claims
from crawler.sites.editions import Clock, site_for
from crawler.sites.html import Css, Node, Query, UnparseablePage, first_text, resolve, visible_text
from domain.pages import ArticlePage, Block, DateClaim, DateKind, Image, Tag
from domain.text import normalize_text

_DATELINE_PLACE = re.compile(r"^([^,(]{1,40})[,(]")


def is_dateline(text: str) -> bool:
    """Whether a bold opening is a dateline: a place in capitals, then a comma or a bracket.

    ``MOSCOW (Sputnik) -``, ``SÃO TOMÉ (Sputnik) -``, ``МОСКВА, 11 июн - РИА Новости.``
    """
    match = _DATELINE_PLACE.match(text)
    place = match.group(1).strip() if match else ""
    return bool(place) and place[0].isalpha() and place == place.upper()


class PlatformPage:
    """One parsed page of the platform, in any of its designs; subclasses read the fields."""

    name = "platform"
    version = "0"
    design = ""  # which of the platform's designs, in a few words (the CLI prints it)

    HEAD_METAS = Query("/html/head/meta[@content]")
    CANONICAL = Query("/html/head/link[@rel='canonical']/@href")
    LANG = Query("/html/@lang")
    OPENING = Query("./*[1][self::strong or self::b]")
    BEFORE_OPENING = Query("./*[1]/preceding-sibling::text()")
    IMAGE = Css("img")
    IFRAME = Css("iframe")

    def __init__(self, url: str, root: Node, dropped_urls: list[str] | None = None) -> None:
        """The parser of one parsed page. Links that are no URL are left out of the article
        (their text stays) and appended, as written, to ``dropped_urls``."""
        self.url = url
        self.dropped_urls = dropped_urls if dropped_urls is not None else []
        self.site = site_for(url)
        self.root = root
        self._metas: dict[str, list[str]] | None = None
        self._claims: tuple[list[DateClaim], Clock] | None = None

    # -- what a design reads -----------------------------------------------------------

    def title(self) -> str | None:
        """The headline shown above the article."""
        raise NotImplementedError

    def lead(self) -> str | None:
        """The lead (standfirst) shown above the body."""
        raise NotImplementedError

    def article_id(self) -> str | None:
        """The platform's numeric id of the article."""
        raise NotImplementedError

    def section(self) -> str | None:
        """The page's rubric."""
        raise NotImplementedError

    def authors(self) -> list[str]:
        """Named authors."""
        raise NotImplementedError

    def tags(self) -> list[Tag]:
        """The tags listed under the article."""
        raise NotImplementedError

    def printed_dates(self) -> tuple[list[tuple[DateKind, str]], list[tuple[DateKind, str]]]:
        """The page's visible dates and its microdata dates, raw, with their kinds."""
        raise NotImplementedError

    def blocks(self) -> list[Block]:
        """The main photo (if any) and every body block, in page order."""
        raise NotImplementedError

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
            canonical_url=self.absolute(self.CANONICAL.first(self.root)),
            article_id=self.article_id(),
            site=self.site.host,
            section=self.section(),
            language=self.language(),
            title=title,
            lead=self.lead(),
            authors=self.authors(),
            dates=claims,
            published_at=pick_date(claims, "published"),
            modified_at=pick_date(claims, "modified"),
            tags=self.tags(),
            blocks=blocks,
            parser=self.name,
            parser_version=self.version,
        )

    def meta(self, key: str) -> list[str]:
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

    def meta_one(self, key: str) -> str | None:
        """The first non-empty content of the head's metas named ``key``."""
        values = self.meta(key)
        return values[0] if values else None

    def absolute(self, href: str | None) -> str | None:
        """A link's absolute URL; None (and the link noted in ``dropped_urls``) where it is
        no URL."""
        if not href or not href.strip():
            return None
        url = resolve(self.url, href.strip())
        if url is None:
            self.dropped_urls.append(href.strip())
        return url

    def language(self) -> str | None:
        """The page's language as a short code ("en", "ru")."""
        lang = self.LANG.first(self.root) or self.meta_one("og:locale")
        if not lang:
            return None
        return lang.replace("_", "-").split("-")[0].lower() or None

    def meta_authors(self) -> list[str]:
        """``article:author`` names, the publisher left out."""
        publisher = self.meta_one("og:site_name")
        return [a for a in self.meta("article:author") if a != publisher]

    def meta_tags(self) -> list[Tag]:
        """The tags of the ``article:tag`` metas."""
        return [Tag(name=name, url=None) for name in self.meta("article:tag")]

    def link_tags(self, links: list[Node]) -> list[Tag]:
        """Tags from the tag links under the article, else from the metas."""
        found = [Tag(name=visible_text(a), url=self.absolute(a.get("href"))) for a in links]
        found = [t for t in found if t.name]
        return found or self.meta_tags()

    # -- dates -------------------------------------------------------------------------

    def date_claims(self) -> list[DateClaim]:
        """Every date the page claims, with raw string, source and zone (read once)."""
        return list(self._read_claims()[0])

    def clock(self) -> Clock:
        """The zone the page's unzoned times are read in (see :mod:`crawler.sites.editions`)."""
        return self._read_claims()[1]

    def _read_claims(self) -> tuple[list[DateClaim], Clock]:
        if self._claims is None:
            visible, microdata = self.printed_dates()
            self._claims = read_date_claims(self.site, self.meta_one, visible, microdata)
        return self._claims

    def published(self) -> str | None:
        """The article's own publication time (UTC), the year of items that print none."""
        return pick_date(self.date_claims(), "published")

    # -- blocks ------------------------------------------------------------------------

    def text_block(self, nodes: list[Node], position: int, opens_body: bool) -> Block:
        """A paragraph; the first paragraph's bold opening is its dateline when it is one."""
        text = visible_text(*nodes)
        dateline = None
        if opens_body:
            opening = self.OPENING.all(*nodes)
            before = self.BEFORE_OPENING.all(*nodes)
            if opening and not normalize_text("".join(before)):
                candidate = visible_text(opening[0])
                if is_dateline(candidate):
                    dateline = candidate
        return Block("text", position, text=text, dateline=dateline)

    def image(self, node: Node, caption: Css, credit: Css) -> Image:
        """The photo in ``node``: its image URL, caption and credit."""
        img = self.IMAGE.first(node)
        src = (img.get("src") or img.get("data-src")) if img is not None else None
        return Image(
            image_url=self.absolute(src),
            caption=first_text(caption, node),
            credit=first_text(credit, node),
        )

    def embed_block(self, node: Node, position: int, iframe: Node | None) -> Block:
        """A player or a social post: its source URL and provider, its text kept as data."""
        url = self.absolute(iframe.get("src")) if iframe is not None else None
        provider = (iframe.get("title") if iframe is not None else None) or urlsplit(
            url or ""
        ).hostname
        return Block("embed", position, text=visible_text(node), url=url, title=provider)
