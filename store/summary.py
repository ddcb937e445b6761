"""What a store holds, in numbers, and the text that reports them at the end of a crawl.

:func:`read_summary` counts; :func:`format_summary` is the one place that words the report
(the crawl's closing message and ``python -m store summary`` both print it), ending with the
command that opens the store in Datasette.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, get_args

from sqlite_utils import Database

from domain.records import EventKind, FetchOutcome

# Whole-store totals, each the row count of the table of that name, in report order.
LABELS: dict[str, str] = {
    "articles": "Articles",
    "versions": "Versions",
    "captions": "Captions",
    "related_links": "Related links",
    "tags": "Tags",
    "blocks": "Blocks",
    "listing_pages": "Listing pages",
    "listings": "Listing entries",
}
OUTCOMES: tuple[str, ...] = get_args(FetchOutcome)
BY_PARSER = "Articles by parser"
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)

COUNT_TOTALS = "SELECT " + ", ".join(
    f"(SELECT count(*) FROM {table}) AS {table}" for table in LABELS
)
COUNT_FETCHES = """
SELECT outcome, count(*) AS n FROM fetches
WHERE :crawl_id IS NULL OR crawl_id = :crawl_id
GROUP BY outcome
"""
COUNT_EVENTS = """
SELECT kind, count(*) AS n FROM article_events
WHERE :crawl_id IS NULL OR crawl_id = :crawl_id
GROUP BY kind
"""
# Articles by the parser that read them: for one crawl, the articles its fetches showed (each
# reading is an observation; re-parses are not a crawl's); for the store, the parser of each
# article's current version.
COUNT_BY_PARSER_IN_CRAWL = """
SELECT o.parser, count(DISTINCT o.article_id) AS n
FROM observations o JOIN fetches f ON f.id = o.fetch_id
WHERE o.reparse_id IS NULL AND f.crawl_id = :crawl_id
GROUP BY o.parser ORDER BY o.parser
"""
COUNT_BY_PARSER = """
SELECT v.parser, count(*) AS n
FROM articles a JOIN versions v ON v.id = a.current_version_id
GROUP BY v.parser ORDER BY v.parser
"""
# An article is added by the crawl that stored its first version.
COUNT_ADDED = """
SELECT count(*) AS versions, coalesce(sum(version = 1), 0) AS articles
FROM versions WHERE crawl_id = :crawl_id
"""


def read_summary(db: Database, crawl_id: str | None = None) -> dict[str, Any]:
    """Count what the store holds; fetches (and what was added) for one crawl when given."""
    result: dict[str, Any] = {"crawl_id": crawl_id}
    result.update(next(db.query(COUNT_TOTALS)))
    fetches = dict.fromkeys(OUTCOMES, 0)
    for row in db.query(COUNT_FETCHES, {"crawl_id": crawl_id}):
        fetches[row["outcome"]] = row["n"]
    result["fetches"] = fetches
    result["fetches_total"] = sum(fetches.values())
    events = dict.fromkeys(EVENT_KINDS, 0)
    for row in db.query(COUNT_EVENTS, {"crawl_id": crawl_id}):
        events[row["kind"]] = row["n"]
    result["events"] = events
    by_parser = COUNT_BY_PARSER if crawl_id is None else COUNT_BY_PARSER_IN_CRAWL
    result["articles_by_parser"] = {
        row["parser"]: row["n"] for row in db.query(by_parser, {"crawl_id": crawl_id})
    }
    result["articles_added"] = result["versions_added"] = None
    if crawl_id is not None:
        added = next(db.query(COUNT_ADDED, {"crawl_id": crawl_id}))
        result["articles_added"] = added["articles"]
        result["versions_added"] = added["versions"]
    return result


def this_python() -> str:
    """The Python running this code, as a command typed in the working folder: the project's
    ``.venv/bin/python`` when run from it (a bare ``python`` may be none, or one without the
    project installed)."""
    executable = Path(sys.executable)
    try:
        return str(executable.relative_to(Path.cwd()))
    except ValueError:
        return str(executable)


def browse_command(store_path: str | Path) -> str:
    """The shell command that opens the store in Datasette with its metadata, as it works
    typed in the working folder (with :func:`this_python`)."""
    return f"{shlex.quote(this_python())} -m store serve {shlex.quote(str(store_path))}"


def format_summary(summary: dict[str, Any], store_path: str | Path) -> str:
    """The human-readable report of a summary, ending with the command to browse the store."""
    width = max(*map(len, LABELS.values()), *map(len, OUTCOMES), len(BY_PARSER)) + 3
    lines = [f"Store: {store_path}"]
    if summary["crawl_id"] is not None:
        lines.append(f"Crawl: {summary['crawl_id']}")
    added = {"articles": summary["articles_added"], "versions": summary["versions_added"]}
    for key, label in LABELS.items():
        line = f"  {label + ':':<{width}}{summary[key]:>8}"
        if added.get(key) is not None:
            line += f"  ({added[key]} added by this crawl)"
        lines.append(line)
    scope = "this crawl" if summary["crawl_id"] is not None else "all crawls"
    lines.append(f"  {'Fetches:':<{width}}{summary['fetches_total']:>8}  ({scope})")
    for outcome, count in summary["fetches"].items():
        lines.append(f"    {outcome + ':':<{width - 2}}{count:>8}")
    events = ", ".join(f"{kind} {count}" for kind, count in summary["events"].items())
    lines.append(f"  {'Events:':<{width}}{events}  ({scope})")
    parsers = ", ".join(f"{name} {n}" for name, n in summary["articles_by_parser"].items())
    lines.append(f"  {BY_PARSER + ':':<{width}}{parsers or 'none'}  ({scope})")
    lines.append("Browse it in Datasette:")
    lines.append(f"  {browse_command(store_path)}")
    return "\n".join(lines)
