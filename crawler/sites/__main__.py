"""``python -m crawler.sites PAGE.html --url URL``: what the parser makes of one saved page.

Prints the article as JSON in the export's shape (as ``python -m store export`` writes it),
running the same parser, boilerplate split and hashing as a crawl, without the network or
the Scrapy engine. Example::

    python -m crawler.sites saved.html --url https://sputnikglobe.com/20230120/x-1106523345.html
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from w3lib.encoding import html_to_unicode

from crawler.items import ArticleItem
from crawler.sites import UnparseablePage, parse_article
from crawler.sites.dates import iso_z
from pipelines.boilerplate import split_article
from pipelines.hashing import sha256_hex
from pipelines.provenance import article_record
from store import Store
from store.records import CrawlRecord, FetchRecord

LOCAL_CRAWL = "local-file"


def export_page(body: bytes, url: str, fetched_at: str) -> dict[str, object]:
    """One saved page as the export would show it."""
    _, html = html_to_unicode(None, body)
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
    )
    item = ArticleItem(fetch, page, split=split_article(page))
    with Store.memory() as store:
        store.begin_crawl(CrawlRecord(LOCAL_CRAWL, "crawler.sites", {"url": url}, fetched_at, {}))
        store.save_article(fetch, article_record(item))
        return next(iter(store.export_articles()))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.sites",
        description="Print what the parser makes of one saved article page, as export JSON.",
        epilog="example: python -m crawler.sites page.html --url "
        "https://sputnikglobe.com/20230120/slug-1106523345.html",
    )
    parser.add_argument("page", type=Path, help="the saved HTML file")
    parser.add_argument("--url", required=True, help="the URL the page was fetched from")
    args = parser.parse_args(argv)
    try:
        body = args.page.read_bytes()
    except OSError as error:
        print(f"error: cannot read {args.page}: {error.strerror}", file=sys.stderr)
        return 2
    fetched_at = iso_z(datetime.fromtimestamp(args.page.stat().st_mtime, tz=UTC))
    try:
        record = export_page(body, args.url, fetched_at)
    except UnparseablePage as refused:
        print(f"error: not an article page: {refused}", file=sys.stderr)
        return 1
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
