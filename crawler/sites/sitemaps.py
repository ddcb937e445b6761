"""The sitemap parser: a sitemap index or an article sitemap (sitemaps.org 0.9).

Pure code: the XML bytes and their URL in, a :class:`Sitemap` out. Reading the XML is
Scrapy's own sitemap reader (:class:`scrapy.utils.sitemap.Sitemap`, which ``SitemapSpider``
uses: namespaces, recovery from bad markup, no entity expansion); this module only turns what
it reads into the project's data and refuses what is no sitemap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs, urlsplit

from lxml.etree import LxmlError
from scrapy.utils.sitemap import Sitemap as ScrapySitemap

from crawler.sites.html import UnparseablePage, resolve
from domain.pages import ListingEntry, ListingPage
from domain.text import article_identity
from domain.times import iso_z, parse_iso

PARSER = "sitemap"
PARSER_VERSION = "1.0"
KINDS = {"sitemapindex": "index", "urlset": "urlset"}


@dataclass(frozen=True)
class SitemapRef:
    """A sitemap an index lists, with the window of days its query names, if any
    (``sitemap_article.xml?date_start=20230101&date_end=20230131``)."""

    url: str
    lastmod: str | None
    start: date | None = None
    end: date | None = None


@dataclass
class Sitemap:
    """A parsed sitemap: an index of sitemaps, or a urlset of article candidates."""

    url: str
    kind: str  # "index" or "urlset"
    sitemaps: list[SitemapRef] = field(default_factory=list)
    entries: list[ListingEntry] = field(default_factory=list)

    def listing(self) -> ListingPage:
        """The article candidates as a listing page (none for an index)."""
        return ListingPage(self.url, self.entries, None, PARSER, PARSER_VERSION)


def _lastmod(raw: str | None) -> str | None:
    """A W3C datetime (``2023-01-20T10:48:00+00:00``, ``2023-01-20``) in UTC, or None."""
    if not raw:
        return None
    try:
        return iso_z(parse_iso(raw.strip()))
    except ValueError:
        return None


def _window(url: str) -> tuple[date | None, date | None]:
    """The ``date_start``/``date_end`` (YYYYMMDD) a sitemap URL's query names."""
    query = parse_qs(urlsplit(url).query)
    days: list[date | None] = []
    for name in ("date_start", "date_end"):
        raw = (query.get(name) or [""])[0]
        try:
            days.append(date(int(raw[:4]), int(raw[4:6]), int(raw[6:8])) if len(raw) == 8 else None)
        except ValueError:
            days.append(None)
    return days[0], days[1]


def _add(sitemap: Sitemap, url: str, item: dict[str, object]) -> None:
    """Add one entry Scrapy's reader read to ``sitemap``."""
    href = str(item.get("loc") or "").strip()
    loc = resolve(url, href) if href else None
    if not loc:
        raise UnparseablePage(f"a sitemap entry without a usable <loc>: {item!r}"[:200])
    raw = item.get("lastmod")
    lastmod_raw = str(raw) if raw else None
    if sitemap.kind == "index":
        start, end = _window(loc)
        sitemap.sitemaps.append(SitemapRef(loc, _lastmod(lastmod_raw), start, end))
    else:
        sitemap.entries.append(
            ListingEntry(
                url=article_identity(loc),
                title=None,
                listed_at=_lastmod(lastmod_raw),
                listed_raw=lastmod_raw,
                position=len(sitemap.entries),
            )
        )


def parse_sitemap(url: str, body: bytes) -> Sitemap:
    """The sitemap index or urlset at ``url``; :class:`UnparseablePage` for anything else
    (an HTML page, a feed, XML of another kind, an entry whose ``<loc>`` is no URL, a sitemap
    with no entry)."""
    try:
        reader = ScrapySitemap(body)
    except (LxmlError, StopIteration, ValueError) as error:
        raise UnparseablePage(f"not XML: {error or type(error).__name__}") from None
    kind = KINDS.get(reader.type)
    if kind is None:
        raise UnparseablePage(f"not a sitemap: the root element is <{reader.type}>")
    sitemap = Sitemap(url, kind)
    try:
        for item in reader:  # one entry at a time: a sitemap of 100,000 is never one list
            _add(sitemap, url, item)
    except LxmlError as error:
        raise UnparseablePage(f"broken sitemap XML: {error}") from None
    if not sitemap.sitemaps and not sitemap.entries:
        # Scrapy's reader skips an entry without <loc>; the site never serves an empty index
        # or month: a sitemap with nothing in it is one whose form changed
        raise UnparseablePage(f"a sitemap {reader.type} with no entry that has a <loc>")
    return sitemap


def sitemaps_to_read(refs: list[SitemapRef], since: date | None) -> list[SitemapRef]:
    """The sitemaps of an index a crawl reads: with ``since``, every one whose window ends on
    or after it; without, only the newest window (a routine run). A sitemap whose URL names no
    window is always read."""
    undated = [ref for ref in refs if ref.end is None]
    dated = [ref for ref in refs if ref.end is not None]
    if since is not None:
        chosen = [ref for ref in dated if ref.end is not None and ref.end >= since]
    else:
        newest = max((ref.end for ref in dated if ref.end is not None), default=None)
        chosen = [ref for ref in dated if ref.end == newest]
    return sorted(chosen, key=lambda ref: ref.end or date.min, reverse=True) + undated
