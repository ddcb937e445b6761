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

__all__ = [
    "ARTICLE_PARSERS",
    "ListingNotArticle",
    "UnparseablePage",
    "parse_article",
    "parse_capture",
    "parse_listing",
]


class ListingNotArticle(UnparseablePage):
    """A page of unknown kind that the listing parser reads entries from: a section page."""


def parse_article(
    url: str, html: str, dropped_urls: list[str] | None = None, refuse_listings: bool = False
) -> ArticlePage:
    """The article on a page fetched from ``url``; :class:`UnparseablePage` if there is none.

    Links on the page that are no URL (``href="http://[oops/"``) are left out of the article,
    never the page: each is appended, as written, to ``dropped_urls`` when it is given.

    A page no parser of :data:`ARTICLE_PARSERS` recognizes is read by the generic extractor
    (:mod:`crawler.sites.generic`); a page a parser recognizes never is, even when it refuses it.
    With ``refuse_listings``, a page no parser recognizes but the listing parser reads entries
    from is refused first (:class:`ListingNotArticle`), before the generic extractor — which
    would take its teasers for an article — spends its time on it.
    """
    root = html_root(html)  # parsed once, for the version check and the parsers alike
    for parser in ARTICLE_PARSERS:
        recognized = parser.recognize(url, root, dropped_urls)
        if recognized is not None:
            return recognized.parse()
    if refuse_listings and ListingV1(url, html, root).parse().entries:
        raise ListingNotArticle("a listing: the listing parser reads entries from this page")
    try:  # the last resort: a page of another site or design
        return GenericV1.read(url, html, root, dropped_urls)
    except UnparseablePage as refused:
        raise UnparseablePage(f"no parser recognizes this page's layout; {refused}") from None


def parse_capture(url: str, html: str) -> ArticlePage:
    """The article on a page whose kind nobody knows (an archived capture): as
    :func:`parse_article` reads it, a listing refused (:class:`ListingNotArticle`). A crawl
    knows a section page from an article page (the spider asked for it); a capture does not
    say."""
    return parse_article(url, html, refuse_listings=True)


def parse_listing(url: str, html: str) -> ListingPage:
    """The entries of a section page or "load more" chunk fetched from ``url``."""
    return ListingV1(url, html).parse()
