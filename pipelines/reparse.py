"""Re-parse a store: read every stored raw article page again with the current parser, offline.

Each page goes through the crawl's own code path — the body decoded as the crawl decoded it
(``crawler.fetching.decode_page`` on the recorded headers), then the article chain
(:func:`pipelines.chain.read_article`: parse, split, hash) — and
:meth:`store.Store.save_reparse` keeps the reading: which parser version produced which text,
and a new version only where the text differs from every version the article has.

``python -m store reparse STORE_PATH`` runs :func:`reparse_store` and prints its summary.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, dataclass
from typing import TextIO

from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from crawler.fetching import UndecodablePage, decode_page, is_html
from crawler.sites import UnparseablePage
from domain.records import ArticleRecord, FetchRecord
from domain.times import utc_now
from pipelines.chain import ParseArticle, read_article
from store import Store

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500


@dataclass
class ReparseCounts:
    """What a re-parse did, page by page."""

    pages: int = 0
    unchanged: int = 0  # the same text as the page's previous reading (or refused again)
    changed: int = 0  # another text than before (or a page refused before that reads now)
    failed: int = 0  # refused or crashed on now, though it read before


def page_text(fetch: FetchRecord) -> str | None:
    """The page's text as the crawl decoded it (:func:`crawler.fetching.decode_page` on the
    recorded headers and body), or None when the body is no HTML page or no encoding reads it."""
    url = fetch.final_url or fetch.requested_url
    headers = Headers(fetch.headers)
    body = fetch.body or b""
    response_class = responsetypes.from_args(headers=headers, url=url, body=body)
    response = response_class(url=url, status=fetch.status or 200, headers=headers, body=body)
    if not is_html(response):
        return None
    try:
        text, _ = decode_page(response)
    except UndecodablePage:
        return None
    return text


def read_stored(fetch: FetchRecord, parse: ParseArticle | None = None) -> ArticleRecord:
    """A stored page through the article chain; :class:`UnparseablePage` when it is no article."""
    text = page_text(fetch)
    if text is None:
        raise UnparseablePage("not an HTML page, or no encoding reads it")
    return read_article(fetch, text, parse)


def reparse_store(
    store: Store,
    parse: ParseArticle | None = None,
    progress: TextIO = sys.stderr,
    progress_every: int = PROGRESS_EVERY,
) -> ReparseCounts:
    """Read every stored article page again; report progress every ``progress_every`` pages."""
    counts = ReparseCounts()
    parsers: set[tuple[str, str]] = set()
    reparse_id = store.begin_reparse(utc_now())
    for fetch_id, fetch in store.reparse_sources():
        counts.pages += 1
        try:
            record = read_stored(fetch, parse)
        except Exception as error:  # a parser bug on one old page must not stop the others
            refused_before = fetch.outcome == "unparseable"
            if refused_before and isinstance(error, UnparseablePage):
                counts.unchanged += 1
            else:
                counts.failed += 1
                logger.warning(
                    "Could not re-parse fetch %s (%s): %s", fetch_id, fetch.final_url, error
                )
        else:
            parsers.add((record.page.parser, record.page.parser_version))
            changed = store.save_reparse(reparse_id, fetch_id, fetch, record, utc_now())
            if changed:
                counts.changed += 1
            else:
                counts.unchanged += 1
        if progress_every and counts.pages % progress_every == 0:
            print(f"reparse: {format_counts(counts)}", file=progress, flush=True)
    names = sorted(parsers)
    store.finish_reparse(
        reparse_id,
        utc_now(),
        asdict(counts),
        parser=", ".join(sorted({name for name, _ in names})) or None,
        parser_version=", ".join(sorted({version for _, version in names})) or None,
    )
    return counts


def format_counts(counts: ReparseCounts) -> str:
    """``"12 pages: 10 unchanged, 1 changed, 1 failed"``."""
    return (
        f"{counts.pages} pages: {counts.unchanged} unchanged, {counts.changed} changed, "
        f"{counts.failed} failed"
    )
