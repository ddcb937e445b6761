"""What a crawl would store of one saved article page, in the export's shape.

The crawl's decoding, article chain (:func:`pipelines.chain.read_article`) and store, run on
bytes already at hand (a saved file, a fixture) in an in-memory store: used by
``python -m crawler.sites``.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.fetching import UndecodablePage, decode_page
from crawler.sites import UnparseablePage
from domain.records import CrawlRecord, FetchRecord
from pipelines.chain import read_article
from store import Store

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
    fetch = FetchRecord(
        crawl_id=LOCAL_CRAWL,
        kind="article",
        requested_url=url,
        final_url=url,
        status=200,
        outcome="ok",
        fetched_at=fetched_at,
        body=body,
        encoding=encoding,
    )
    record = read_article(fetch, html)
    with Store.memory() as store:
        store.begin_crawl(CrawlRecord(LOCAL_CRAWL, "crawler.sites", {"url": url}, fetched_at, {}))
        store.save_article(fetch, record)
        return next(iter(store.export_articles()))
