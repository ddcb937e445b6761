"""Site parsers: HTML in, data out, no Scrapy engine needed.

``parse_article`` and ``parse_listing`` choose the parser version whose ``recognize``
recognizes the page, so a layout change is a new class beside the old one.
"""

from __future__ import annotations

from crawler.sites.generic import GenericV1
from crawler.sites.html import UnparseablePage, html_root
from crawler.sites.legacy import LegacyV1
from crawler.sites.listing import ListingV1
from crawler.sites.platform import PlatformV1
from domain.pages import ArticlePage, ListingPage

ARTICLE_PARSERS = (PlatformV1, LegacyV1)

__all__ = ["ARTICLE_PARSERS", "UnparseablePage", "parse_article", "parse_listing"]


def parse_article(url: str, html: str, dropped_urls: list[str] | None = None) -> ArticlePage:
    """The article on a page fetched from ``url``; :class:`UnparseablePage` if there is none.

    Links on the page that are no URL (``href="http://[oops/"``) are left out of the article,
    never the page: each is appended, as written, to ``dropped_urls`` when it is given.

    A page no parser of :data:`ARTICLE_PARSERS` recognizes is read by the generic extractor
    (:mod:`crawler.sites.generic`); a page a parser recognizes never is, even when it refuses it.
    """
    root = html_root(html)  # parsed once, for the version check and the parser alike
    for parser in ARTICLE_PARSERS:
        recognized = parser.recognize(url, root, dropped_urls)
        if recognized is not None:
            return recognized.parse()
    try:  # the last resort: a page of another site or design
        return GenericV1.read(url, html, root, dropped_urls)
    except UnparseablePage as refused:
        raise UnparseablePage(f"no parser recognizes this page's layout; {refused}") from None


def parse_listing(url: str, html: str) -> ListingPage:
    """The entries of a section page or "load more" chunk fetched from ``url``."""
    return ListingV1(url, html).parse()
