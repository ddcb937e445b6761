"""The feed parser: the edition's RSS feed (``/export/rss2/archive/index.xml``).

Pure code: the feed's bytes and URL in, a :class:`domain.pages.ListingPage` out. Reading the
feed is feedparser's (RSS 0.9x/1.0/2.0 and Atom, dates in every format feeds use); this module
keeps each item's link, title and publication time, and refuses what is no feed.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import feedparser

from crawler.sites.html import UnparseablePage, resolve
from domain.pages import ListingEntry, ListingPage
from domain.text import article_identity
from domain.times import iso_z

PARSER = "feed"
PARSER_VERSION = "1.0"


def parse_feed(url: str, body: bytes) -> ListingPage:
    """The items of the feed at ``url``, in feed order; :class:`UnparseablePage` when the
    bytes are no feed (an HTML page, a sitemap) or an item has no link."""
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        raise UnparseablePage(f"not an RSS or Atom feed{f' ({problem})' if problem else ''}")
    entries: list[ListingEntry] = []
    for item in parsed.entries:
        href = str(item.get("link") or "").strip()
        link = resolve(url, href) if href else None
        if not link:
            raise UnparseablePage(f"a feed item without a usable <link>: {item.get('title')!r}")
        moment = item.get("published_parsed") or item.get("updated_parsed")
        listed_at = iso_z(datetime.fromtimestamp(calendar.timegm(moment), UTC)) if moment else None
        entries.append(
            ListingEntry(
                url=article_identity(link),
                title=str(item.get("title") or "") or None,
                listed_at=listed_at,
                listed_raw=item.get("published") or item.get("updated"),
                position=len(entries),
            )
        )
    return ListingPage(url, entries, None, PARSER, PARSER_VERSION)
