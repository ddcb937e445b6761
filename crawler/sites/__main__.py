"""``python -m crawler.sites PAGE.html --url URL``: what the parser makes of one saved page.

Says which parser read the page, and its version (``parser: platform-legacy 1.0`` on stderr),
then prints the article as JSON in the export's shape (as ``python -m store export`` writes
it), running the same parser, boilerplate split and hashing as a crawl, without the network or
the Scrapy engine. ``--fields`` prints the same record field by field, for reading. Example::

    python -m crawler.sites saved.html --url https://sputnikglobe.com/20230120/x-1106523345.html
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.sites import ARTICLE_PARSERS, UnparseablePage
from domain.times import iso_z
from pipelines.preview import export_page  # an entry point: the top of the layers

SINGLE_FIELDS = ("title", "lead", "dateline", "published_at", "modified_at", "section",
                 "language", "article_id", "url")  # fmt: skip


def parser_line(record: dict[str, Any]) -> str:
    """``parser: NAME VERSION (what the parser reads)``."""
    provenance = record["provenance"]
    name, version = provenance["parser"], provenance["parser_version"]
    about = next((p.design for p in ARTICLE_PARSERS if p.name == name), "")
    return f"parser: {name} {version}" + (f" ({about})" if about else "")


def field_lines(record: dict[str, Any]) -> Iterator[str]:
    """The record, field by field: one line a value, lists numbered."""
    yield parser_line(record)
    for key in SINGLE_FIELDS:
        yield f"{key}: {record[key]}"
    for claim in record["dates"]:
        zone = f", zone {claim['zone']}" if claim.get("zone") else ""
        where = f"({claim['source']}{zone}) raw {claim['raw']!r}"
        yield f"date: {claim['kind']} {claim['value']} {where}"
    yield f"authors: {', '.join(record['authors'])}"
    yield f"tags: {', '.join(record['tags'])}"
    for number, paragraph in enumerate(record["body"], 1):
        yield f"body {number}: {paragraph}"
    for caption in record["captions"]:
        yield (f"caption {caption['position']}: {caption['caption']} | credit: "
               f"{caption['credit']} | {caption['image_url']}")  # fmt: skip
    for link in record["related_links"]:
        yield f"related {link['position']}: {link['title']} | {link['url']}"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.sites",
        description="Print which parser reads one saved article page, and what it reads, "
        "as export JSON.",
        epilog="example: python -m crawler.sites page.html --url "
        "https://sputnikglobe.com/20230120/slug-1106523345.html",
    )
    parser.add_argument("page", type=Path, help="the saved HTML file")
    parser.add_argument("--url", required=True, help="the URL the page was fetched from")
    parser.add_argument(
        "--fields", action="store_true", help="print the fields one a line instead of JSON"
    )
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
    if args.fields:
        sys.stdout.write("".join(line + "\n" for line in field_lines(record)))
        return 0
    print(parser_line(record), file=sys.stderr)
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
