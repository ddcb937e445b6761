"""What a crawl would store of one saved article page, in the export's shape.

The same parser, boilerplate split, hashing and store as a crawl, run on bytes already at
hand (a saved file, a fixture) in an in-memory store: used by ``python -m crawler.sites`` and
by the golden files of ``python -m crawler.goldens``.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.fetching import UndecodablePage, decode_page
from crawler.items import ArticleItem
from crawler.sites import UnparseablePage, parse_article
from pipelines.boilerplate import split_article
from pipelines.hashing import sha256_hex
from pipelines.provenance import article_record
from store import Store
from store.records import CrawlRecord, FetchRecord

LOCAL_CRAWL = "local-file"


def export_page(
    body: bytes, url: str, fetched_at: str, headers: dict[str, str] | None = None
) -> dict[str, object]:
    """One saved page as the export would show it, its bytes decoded as a crawl decodes them
    (:func:`crawler.fetching.decode_page`: BOM, the ``headers``' charset when given, ``<meta>``,
    a detector, UTF-8); :class:`UnparseablePage` where it is no article or no encoding reads it."""
    try:
        html, encoding = decode_page(HtmlResponse(url=url, headers=headers or {}, body=body))
    except UndecodablePage as undecodable:
        raise UnparseablePage(str(undecodable)) from None
    page = parse_article(url, html)
    fetch = FetchRecord(
        crawl_id=LOCAL_CRAWL,
        kind="article",
        requested_url=url,
        final_url=url,
        status=200,
        outcome="ok",
        fetched_at=fetched_at,
        body=body,
        body_sha256=sha256_hex(body),
        encoding=encoding,
    )
    item = ArticleItem(fetch, page, split=split_article(page))
    with Store.memory() as store:
        store.begin_crawl(CrawlRecord(LOCAL_CRAWL, "crawler.sites", {"url": url}, fetched_at, {}))
        store.save_article(fetch, article_record(item))
        return next(iter(store.export_articles()))
