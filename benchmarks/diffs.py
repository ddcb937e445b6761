"""How long the store holds its write lock when an article comes back with every paragraph
changed: ``python benchmarks/diffs.py [--paragraphs 2000 20000]``.

For each size, an article page in the platform's markup (``benchmarks/generate.py``) with that
many body paragraphs is read by the crawl's own chain and saved, then a second page of it whose
paragraphs were all rewritten (one word of each changed, so every old paragraph is similar to
many new ones: the worst case for pairing rewritten paragraphs). Each save is one transaction;
the time from each ``BEGIN IMMEDIATE`` to its ``COMMIT`` is the time the write lock was held.
Prints the longest, the page's size and what the stored comparison says (aligned, or too
large to align).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from sqlite_utils import Database  # noqa: E402

from benchmarks.generate import (  # noqa: E402
    DEFAULT_SEED,
    FETCHED_AT,
    HTML_HEADERS,
    Block,
    article_spec,
    render_article,
)
from domain.records import CrawlRecord, FetchRecord  # noqa: E402
from pipelines.chain import read_article  # noqa: E402
from store.db import Store  # noqa: E402
from store.repository import ImmediateDatabase  # noqa: E402

DEFAULT_SIZES = (2_000, 20_000)
WORDS = ("water", "grain", "power", "roads", "ports", "trade", "rains", "banks")


@dataclasses.dataclass
class LockTimer:
    """Times every transaction of a store: from its ``BEGIN IMMEDIATE`` (the write lock taken)
    to its ``COMMIT`` or rollback. (SQLite's trace callback would time it too, but it runs
    once per row of an ``executemany`` and slows the very inserts it times.)"""

    longest: float = 0.0
    transactions: int = 0

    def wrap(self, db: ImmediateDatabase) -> None:
        """Time each outermost ``db.atomic()`` from now on."""
        atomic = db.atomic

        @contextlib.contextmanager
        def timed() -> Iterator[Database]:
            if db.conn.in_transaction:  # a savepoint inside a timed transaction
                with atomic() as inner:
                    yield inner
                return
            started = time.perf_counter()
            try:
                with atomic() as inner:
                    yield inner
            finally:
                self.longest = max(self.longest, time.perf_counter() - started)
                self.transactions += 1

        db.atomic = timed  # type: ignore[method-assign]


def page(paragraphs: int, version: int) -> str:
    """An article page with ``paragraphs`` body paragraphs; version 2 rewrites every one."""
    spec = article_spec(DEFAULT_SEED, 0)
    blocks = tuple(
        Block("text", f"Paragraph {n} on {WORDS[(n + version) % len(WORDS)]} in the region, "
                      f"as officials said on {'Monday' if version == 1 else 'Tuesday'}, "
                      "with more to follow in the coming days and weeks.")
        for n in range(paragraphs)
    )  # fmt: skip
    return render_article(dataclasses.replace(spec, blocks=blocks), DEFAULT_SEED)


def measure(paragraphs: int, folder: Path) -> dict[str, object]:
    """Save two versions of one article, all paragraphs changed; the longest lock held."""
    url = article_spec(DEFAULT_SEED, 0).header.url
    timer = LockTimer()
    with Store(folder / f"diff-{paragraphs}.db") as store:
        timer.wrap(store.db)
        crawl = CrawlRecord("bench", "africa", {}, FETCHED_AT, {}, {})
        store.begin_crawl(crawl)
        size = 0
        started = time.perf_counter()
        for version, at in ((1, FETCHED_AT), (2, "2024-07-01T01:00:00Z")):
            html = page(paragraphs, version)
            size = len(html.encode())
            fetch = FetchRecord("bench", "article", url, url, 200, "ok", at,
                                headers=HTML_HEADERS, body=html.encode())  # fmt: skip
            store.save_article(fetch, read_article(fetch, html))
        elapsed = time.perf_counter() - started
        change = next(store.db.query("SELECT summary FROM version_changes"))
    summary = json.loads(change["summary"])
    return {
        "paragraphs": paragraphs,
        "page_bytes": size,
        "longest_lock_s": timer.longest,
        "transactions": timer.transactions,
        "total_s": elapsed,
        "body": summary["body"],
        "too_large": summary.get("too_large_to_align", []),
    }


def describe(result: dict[str, object]) -> str:
    """One line of figures."""
    aligned = "too large to align" if result["too_large"] else f"aligned {result['body']}"
    return (
        f"{result['paragraphs']:>6} paragraphs ({int(str(result['page_bytes'])) / 1e6:.1f} MB "
        f"page): longest transaction {float(str(result['longest_lock_s'])):.3f} s of "
        f"{result['transactions']}; both saves {float(str(result['total_s'])):.2f} s; body "
        f"{aligned}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: measure each size and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, nargs="+", default=list(DEFAULT_SIZES))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-diffs-") as folder:
        for paragraphs in args.paragraphs:
            print(describe(measure(paragraphs, Path(folder))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
