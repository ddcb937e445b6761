"""How fast Datasette answers every page of a store, at 20,000 and at 1,000,000 versions.

For each store size (built and cached by :mod:`benchmarks.store_size`), Datasette runs
in-process (``datasette.client``) with the store's metadata and the settings
``python -m store serve`` gives it (:data:`store.metadata.SERVE_SETTINGS`), the database named
``wire`` as the metadata is written. Every path of :data:`PATHS` — the home and database pages,
every table and view, the full-text searches, every canned query of ``store/metadata.yml``
with realistic parameters — and every ``--path`` given is requested once to warm up, then
``--repeat`` times; the median is printed, per page, for each size, with the ratio and
whether the page meets the goal: at most :data:`GOAL_MS` at the largest size, and at most
:data:`GOAL_RATIO` times its time at the smallest. A page that does not answer 200 fails.

The reader's pages (``/article``, ``/diff``, ``/raw``) are timed too. Paths are templates:
``{url}`` (an article with three versions, the newest such), ``{word}``
(a search word), ``{crawl}`` (a crawl id), ``{day}``, ``{from}``/``{to}`` (a week),
``{fetch_id}``, ``{version_id}`` and ``{article_id}`` (those of ``{url}``'s current version) are
filled in from each store, URL-quoted. Add pages with ``--path '/article?url={url}'``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages
    sys.path.insert(0, str(ROOT))

from datasette.app import Datasette  # noqa: E402
from datasette.database import Database  # noqa: E402

from benchmarks.generate import DEFAULT_SEED  # noqa: E402
from benchmarks.store_size import DEFAULT_BASE, WORKDIR, build  # noqa: E402
from store.metadata import SERVE_SETTINGS, YAML_DATABASE, read_yaml  # noqa: E402
from store.schema import TABLES, VIEWS  # noqa: E402

GOAL_MS = 300.0
GOAL_RATIO = 3.0
SIZES = (20_000, 1_000_000)
DB = YAML_DATABASE  # the store is served under the name the metadata is written for

# The pages, besides every table and view and every canned query (added from the schema and
# the metadata by all_paths). Extend here, or with --path.
PATHS: list[str] = [
    "/",  # the archive's front page (store/web/front.py)
    # the reader's pages (store/web/reader.py): an article, two of its versions compared, and
    # the raw page of its current version's fetch
    "/article?url={url}",
    "/diff?url={url}",  # its current version against the one before
    "/raw/{fetch_id}",
    f"/{DB}",
    f"/{DB}/versions?_search={{word}}",
    f"/{DB}/current_articles?_search={{word}}",
    f"/{DB}/captions?_search={{word}}",
    f"/{DB}/current_articles?day={{day}}",
    f"/{DB}/fetches?crawl_id={{crawl}}",
    # the searches ranked by relevance (every hit ranked), besides their default order
    f"/{DB}/search?q={{word}}&order=relevance&page=",
    f"/{DB}/caption_search?q={{word}}&order=relevance&page=",
]
# Parameter values of the canned queries (each a template); a query with ``crawl`` or ``url``
# that may be empty is also timed with it empty (every crawl, the whole graph).
QUERY_PARAMS: dict[str, str] = {
    "url": "{url}",
    "q": "{word}",
    "page": "",
    "crawl": "{crawl}",
    "from": "{from}",
    "to": "{to}",
    "a": "1",
    "b": "3",
}
ALSO_EMPTY = ("crawl", "url")
# A city of the generated stories (one country in fifteen): in headlines, bodies and captions.
SEARCH_WORD = "Mombasa"


@dataclass
class Timing:
    """The median time of one page, or why it failed."""

    ms: float | None
    status: int
    note: str = ""


def all_paths(extra: list[str]) -> list[str]:
    """:data:`PATHS`, every table and view, every canned query (with its parameters)."""
    metadata = read_yaml()
    paths = list(PATHS)
    for name in [*TABLES, *VIEWS]:
        paths.append(f"/{DB}/{name}")
    for name, query in metadata["databases"][YAML_DATABASE].get("queries", {}).items():
        params = list(query.get("params", []))
        values = {param: QUERY_PARAMS.get(param, "") for param in params}
        paths.append(f"/{DB}/{name}" + query_string(values))
        for param in ALSO_EMPTY:
            if values.get(param):
                paths.append(f"/{DB}/{name}" + query_string({**values, param: ""}))
    return paths + extra


def query_string(values: dict[str, str]) -> str:
    """``?a=…&b=…`` of template values (placeholders stay for :func:`fill`)."""
    if not values:
        return ""
    return "?" + "&".join(f"{name}={value}" for name, value in values.items())


def placeholders(path: Path) -> dict[str, str]:
    """The values of the path templates for this store, URL-quoted."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            """
            SELECT a.url, a.id, v.id, v.fetch_id, v.crawl_id, date(v.published_at)
            FROM articles AS a JOIN versions AS v ON v.id = a.current_version_id
            ORDER BY v.version >= 3 DESC, v.version >= 2 DESC, a.id DESC LIMIT 1
            """
        ).fetchone()
    finally:
        conn.close()
    url, article_id, version_id, fetch_id, crawl_id, day = row
    values: dict[str, object] = {
        "url": url,
        "article_id": article_id,
        "version_id": version_id,
        "fetch_id": fetch_id,
        "crawl": crawl_id,
        "day": day,
        "from": f"{day}",
        "to": (date.fromisoformat(day) + timedelta(days=7)).isoformat(),  # a week
        "word": SEARCH_WORD,
    }
    return {name: quote(str(value), safe="") for name, value in values.items()}


def fill(template: str, values: dict[str, str]) -> str:
    """A path template with its placeholders filled in."""
    return template.format(**values)


def datasette_for(path: Path) -> Datasette:
    """Datasette as ``python -m store serve`` runs it, with the store named ``wire``."""
    ds = Datasette(metadata=read_yaml(), settings=dict(SERVE_SETTINGS))
    # Datasette made without a file serves an in-memory database first: the reader's pages
    # and the front page read the first database, which on the command line is the store
    ds.remove_database("_memory")
    ds.add_database(Database(ds, path=str(path), is_mutable=True), name=DB)
    return ds


async def time_pages(ds: Datasette, paths: list[str], repeat: int) -> dict[str, Timing]:
    """The median time of each page, after one request to warm it up."""
    await ds.invoke_startup()
    timings = {}
    for path in paths:
        response = await ds.client.get(path)
        if response.status_code != 200:
            timings[path] = Timing(None, response.status_code)
            continue
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            await ds.client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        timings[path] = Timing(statistics.median(times), 200)
    return timings


def verdict(small: Timing | None, large: Timing | None) -> tuple[str, str]:
    """(ratio, PASS/FAIL) of a page at the two sizes."""
    if large is None or large.ms is None:
        return "", "FAIL" if large is not None else ""
    if small is None or small.ms is None:
        return "", "PASS" if large.ms <= GOAL_MS else "FAIL"
    ratio = large.ms / small.ms
    ok = large.ms <= GOAL_MS and ratio <= GOAL_RATIO
    return f"{ratio:.1f}", "PASS" if ok else "FAIL"


def cell(timing: Timing | None) -> str:
    """A time in the table."""
    if timing is None:
        return ""
    return f"{timing.ms:.0f}" if timing.ms is not None else f"HTTP {timing.status}"


def format_table(templates: list[str], sizes: list[int], results: list[dict[str, Timing]]) -> str:
    """The table: one line per page, the time at each size, the ratio and the verdict."""
    width = max(len(t) for t in templates)
    head = [f"{'page'.ljust(width)}", *(f"{f'ms @ {s:,}':>14}" for s in sizes)]
    lines = ["  ".join([*head, f"{'ratio':>6}", "goal"])]
    failed = 0
    for template in templates:
        timings = [result.get(template) for result in results]
        ratio, ok = verdict(timings[0], timings[-1])
        failed += ok == "FAIL"
        row = [template.ljust(width), *(f"{cell(t):>14}" for t in timings)]
        lines.append("  ".join([*row, f"{ratio:>6}", ok]))
    lines.append(
        f"{failed} of {len(templates)} pages fail the goal (median of the warm requests; "
        f"<= {GOAL_MS:.0f} ms at {sizes[-1]:,} and <= {GOAL_RATIO:.0f}x the time at {sizes[0]:,})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the stores if needed, time every page, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="versions")
    parser.add_argument("--repeat", type=int, default=5, help="warm requests per page")
    parser.add_argument("--path", action="append", default=[], help="another page (template)")
    parser.add_argument("--only", default="", help="time only the pages containing this")
    parser.add_argument("--base", type=int, default=DEFAULT_BASE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, default=WORKDIR, help="where stores are kept")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take a size's times from its last run (benchmarks/.work/pages-SIZE.json) when "
        "they cover the pages asked for",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    templates = [t for t in all_paths(args.path) if args.only in t]
    results = []
    for size in args.sizes:
        saved = args.workdir / f"pages-{size}.json"
        if args.reuse and saved.exists():
            known = {
                path: Timing(**timing) for path, timing in json.loads(saved.read_text()).items()
            }
            if set(templates) <= set(known):
                results.append({t: known[t] for t in templates})
                print(f"# {size:,} versions: times of the last run ({saved.name})")
                continue
        store = build(size, args.seed, args.base, args.workdir)
        values = placeholders(store)
        started = time.perf_counter()
        timed = asyncio.run(
            time_pages(datasette_for(store), [fill(t, values) for t in templates], args.repeat)
        )
        by_template = {t: timed[fill(t, values)] for t in templates}
        results.append(by_template)
        saved.write_text(json.dumps({t: asdict(x) for t, x in by_template.items()}, indent=1))
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"# {size:,} versions: {store.name}, {store.stat().st_size / 1e9:.2f} GB, "
            f"timed in {time.perf_counter() - started:.0f} s (load average then {load})",
            flush=True,
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# {os.cpu_count()} cores, load average {load}, Python {sys.version.split()[0]}")
    print(format_table(templates, args.sizes, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
