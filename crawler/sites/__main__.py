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

from crawler.sites import UnparseablePage
from domain.times import iso_z
from pipelines.preview import export_page  # an entry point: the top of the layers


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
