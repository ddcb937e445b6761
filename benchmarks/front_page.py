"""What the Datasette front page (``/``) costs on a store: each of its queries, its whole
reading, and the page as Datasette serves it. A script that prints; nothing is asserted.

    python benchmarks/front_page.py STORE [--repeat R]

Prints the median of R runs (default 5) in milliseconds. The page's own queries
(:mod:`store.web.frontpage`) read a bounded number of rows through indexes; the rest of the
page's time is Datasette's index view (a permission check of every table and query).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datasette.app import Datasette

from store import load_metadata
from store.web import frontpage
from store.web.charts import day_window

QUERIES = (
    "LATEST_ARTICLES_SQL",
    "LATEST_CHANGES_SQL",
    "SILENT_EDITS_SQL",
    "EVENTS_SQL",
    "LATEST_FETCH_SQL",
    "LATEST_PUBLISHED_SQL",
    "LATEST_CHANGE_SQL",
    "ARTICLES_PER_DAY_SQL",
    "CHANGES_PER_DAY_SQL",
)


def median_ms(run: Callable[[], object], repeat: int) -> float:
    """The median time of ``run`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def async_median_ms(run: Callable[[], Awaitable[object]], repeat: int) -> float:
    """The median time of an awaitable ``run`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def served(store: Path, repeat: int) -> tuple[float, float]:
    """The front page's reading and the whole page ``/``, through Datasette in-process."""
    datasette = Datasette(files=[str(store)], metadata=load_metadata(store))
    await datasette.invoke_startup()
    db = datasette.get_database(store.stem)
    reading = await async_median_ms(lambda: frontpage.front_page(db, store.stem), repeat)
    page = await async_median_ms(lambda: datasette.client.get("/"), repeat)
    return reading, page


def main() -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.store.is_file():
        print(f"error: no store at {args.store}", file=sys.stderr)
        return 1
    db = sqlite3.connect(f"file:{args.store}?mode=ro", uri=True)
    (versions,) = db.execute("SELECT max(id) FROM versions").fetchone()
    print(f"{args.store}: about {versions or 0:,} versions; median of {args.repeat} runs")
    window = day_window(
        str(db.execute(frontpage.LATEST_CHANGE_SQL).fetchone()[0] or "2024-01-01")[:10],
        frontpage.WINDOW_DAYS,
    )
    params = {"rows": frontpage.ROWS, "bound": "9999", "days": json.dumps(window)}
    for name in QUERIES:
        sql = getattr(frontpage, name)
        took = median_ms(lambda sql=sql: db.execute(sql, params).fetchall(), args.repeat)
        print(f"  {name:24} {took:8.1f} ms")
    reading, page = asyncio.run(served(args.store, args.repeat))
    print(f"  {'front_page() in all':24} {reading:8.1f} ms")
    print(f"  {'GET / (Datasette)':24} {page:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
