"""The listing parser of the platform: section pages and their "load more" chunks.

Pure code: HTML text and its URL in, a :class:`domain.pages.ListingPage` out.
"""

from __future__ import annotations

from crawler.sites import dates
from crawler.sites.editions import page_clock, site_for
from crawler.sites.html import Css, Node, first_text, html_root, resolve, visible_text
from domain.pages import ListingEntry, ListingPage
from domain.text import article_identity


class ListingV1:
    """Section pages and their "load more" chunks in the platform's current design."""

    name = "platform-listing"
    version = "1.0"

    ITEM = Css("div.list__item")
    LINK = Css("a.list__title")
    DATE = Css(".list__date")
    DATE_TEXT = Css("span.date")
    MORE = Css("div.list__more::attr(data-url)")
    NEXT = Css("div.list-items-loaded::attr(data-next-url)")

    def __init__(self, url: str, html: str, root: Node | None = None) -> None:
        """The parser of a page's text (``root``: its tree, when it is parsed already)."""
        self.url = url
        self.site = site_for(url)
        self.root = html_root(html) if root is None else root

    def parse(self) -> ListingPage:
        """Every listed article in order, and the next chunk's URL (None on the last)."""
        entries: list[ListingEntry] = []
        for item in self.ITEM.all(self.root):
            links = self.LINK.all(item)
            href = links[0].get("href") if links else None
            if not href:
                continue
            listed_raw, listed_at = self._date(item)
            entries.append(
                ListingEntry(
                    url=self._entry_url(href.strip()),
                    title=visible_text(*links) or None,
                    listed_at=listed_at,
                    listed_raw=listed_raw,
                    position=len(entries),
                )
            )
        next_href = self.NEXT.first(self.root) or self.MORE.first(self.root)
        next_href = next_href.strip() if next_href else None
        return ListingPage(
            url=self.url,
            entries=entries,
            next_url=(resolve(self.url, next_href) or next_href) if next_href else None,
            parser=self.name,
            parser_version=self.version,
        )

    def _entry_url(self, href: str) -> str:
        """The listed article's identity; the href as written where it is no URL, for the
        spider to refuse and record (``crawler.fetching.link_refusal``)."""
        url = resolve(self.url, href)
        if url is None:
            return href
        try:
            return article_identity(url)
        except ValueError:
            return href

    def _date(self, item: Node) -> tuple[str | None, str | None]:
        date = self.DATE.first(item)
        epoch = date.get("data-unixtime") if date is not None else None
        if epoch:
            return epoch, dates.parse_epoch(epoch)
        text = first_text(self.DATE_TEXT, item)
        if text:
            return text, dates.parse_visible(text, page_clock(self.site, None, []).tz)
        return None, None
