"""The article chain: one decoded page and its fetch in, the record the store saves out.

Parse (the site parser that recognizes the page), split (``pipelines.boilerplate``), hash
(``domain.hashing``): pure code, no Scrapy, no store. The crawl's pipeline, ``store reparse``,
the page preview (``python -m crawler.sites``), the goldens, the benchmarks and the tests all
call :func:`read_article`, so a page reads the same wherever it is read.
"""

from __future__ import annotations

from collections.abc import Callable

from crawler.sites import UnparseablePage, parse_article
from domain.hashing import block_sha256, canonical_text, text_sha256
from domain.pages import ArticlePage
from domain.records import ArticleRecord, FetchRecord
from domain.text import article_identity
from pipelines.boilerplate import split_article

ParseArticle = Callable[[str, str], ArticlePage]

__all__ = ["ParseArticle", "UnparseablePage", "article_record", "read_article"]


def read_article(fetch: FetchRecord, text: str, parse: ParseArticle | None = None) -> ArticleRecord:
    """The record of the article page ``fetch`` brought, whose decoded text is ``text``.

    ``parse`` replaces the site parsers (:func:`crawler.sites.parse_article`), for tests and
    re-parses with another parser. Raises :class:`crawler.sites.UnparseablePage` when no parser
    finds an article there.
    """
    url = fetch.final_url or fetch.requested_url
    return article_record(fetch, (parse or parse_article)(url, text))


def article_record(fetch: FetchRecord, page: ArticlePage) -> ArticleRecord:
    """The record of a parsed page: its split, each block's hash and the canonical-text hash."""
    if fetch.body_sha256 is None:
        raise ValueError(f"the fetch of {fetch.requested_url} has no body to hash")
    split = split_article(page)
    canonical = canonical_text(
        title=page.title,
        lead=page.lead,
        dateline=split.dateline,
        body=split.body,
        captions=split.captions,
        related_links=split.related_links,
        tags=[tag.name for tag in page.tags],
    )
    return ArticleRecord(
        url=article_identity(fetch.final_url or fetch.requested_url),
        page=page,
        split=split,
        block_sha256=[block_sha256(block.text) for block in page.blocks],
        text_sha256=text_sha256(canonical),
        raw_sha256=fetch.body_sha256,
    )
