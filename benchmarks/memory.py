"""Peak memory of a crawl that meets one page as large as the download limit allows:
``python benchmarks/memory.py [--elements 1000000 5000000]``.

For each count, the recorded Africa section is served by the fault server
(``tests/mockserver.py``, a real HTTP server on 127.0.0.1) with one article page grown by that
many elements inside its body (``<i>x</i>`` for up to 1.5 million, ``<p>`` beyond, so that
5 million fit under ``DOWNLOAD_MAXSIZE``, 16 MiB), and the section is crawled through the real
engine. Prints the crawl process's peak resident memory (``getrusage``, by
``benchmarks.timing.CrawlTimer``), its store writer's (``VmHWM``), the page's size and what
became of it (its fetch's outcome and error).
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks.timing import read_mark  # noqa: E402
from tests.mockserver import serve_fixture_set  # noqa: E402

AFRICA = ROOT / "fixtures" / "sputnik-africa"
PAGE_PATH = (
    "/20230120/russian-defense-ministry-discusses-bilateral-cooperation-with-car-prime-minister"
    "-1106523345.html"
)
ARTICLE_ID = "1106523345"
ANCHOR = 'class="article__body">'
DEFAULT_COUNTS = (1_000_000, 5_000_000)
LOCAL_SPIDER = ROOT / "tests" / "local_section_spider.py"
TIMER = '{"benchmarks.timing.CrawlTimer": 0}'


def elements(count: int) -> str:
    """``count`` elements of the smallest markup that keeps the page under the limit."""
    return "<i>x</i>" * count if count <= 1_500_000 else "<p>" * count


def one_paragraph(megabytes: float) -> str:
    """One paragraph of words, ``megabytes`` long: a page at the limit with few tags."""
    words = "The ministry said the talks would go on next week. "
    return "<p>" + words * int(megabytes * 1e6 / len(words)) + "</p>"


def faults(count: int, text_mb: float = 0) -> dict[str, list[dict[str, object]]]:
    """The fault rule that grows the article page by ``count`` elements (or, with
    ``text_mb``, by one paragraph that long)."""
    grown = one_paragraph(text_mb) if text_mb else elements(count)
    return {PAGE_PATH: [{"replace": [[ANCHOR, ANCHOR + grown]]}]}


def crawl(count: int, folder: Path, text_mb: float = 0) -> dict[str, object]:
    """Crawl the section with one grown page; the crawl's figures and that page's fetch."""
    store = folder / f"memory-{count}-{text_mb}.db"
    with serve_fixture_set(AFRICA, faults(count, text_mb)) as port:
        command = [
            sys.executable, "-m", "scrapy", "runspider", str(LOCAL_SPIDER),
            "-a", f"section_url=http://127.0.0.1:{port}/africa/", "-a", "recheck=none",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", f"STORE_PATH={store}",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", f"EXTENSIONS={TIMER}", "-s", "LOG_LEVEL=WARNING", "-s", "STORE_SUMMARY=False",
        ]  # fmt: skip
        env = {"PYTHONPATH": str(ROOT), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
        done = subprocess.run(
            command, cwd=folder, env={**_environ(), **env}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the crawl failed ({done.returncode}):\n{done.stderr[-3000:]}")
    mark = read_mark(done.stdout)
    db = sqlite3.connect(store)
    try:
        row = db.execute(
            "SELECT f.outcome, f.error, b.size FROM fetches AS f "
            "LEFT JOIN bodies AS b ON b.sha256 = f.body_sha256 WHERE f.requested_url LIKE ?",
            (f"%{ARTICLE_ID}%",),
        ).fetchone()
    finally:
        db.close()
    outcome, error, size = row if row else ("(no fetch)", None, None)
    return {
        "elements": f"one paragraph of {text_mb:g} MB" if text_mb else f"{count:,} elements",
        "crawl_rss_mb": mark["rss_kb"] / 1024,
        "writer_rss_mb": mark["writer_rss_kb"] / 1024,
        "outcome": outcome,
        "error": error,
        "page_mb": (size or 0) / 1e6,
        "reason": mark.get("reason"),
    }


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def describe(result: dict[str, object]) -> str:
    """One line of figures."""
    error = f" ({result['error']})" if result["error"] else ""
    return (
        f"{result['elements']} ({result['page_mb']:.1f} MB page): peak RSS "
        f"{result['crawl_rss_mb']:.0f} MB crawl process, {result['writer_rss_mb']:.0f} MB "
        f"writer; the page: {result['outcome']}{error}; crawl {result['reason']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: crawl with each count and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=int, nargs="*", default=list(DEFAULT_COUNTS))
    parser.add_argument(
        "--text-mb", type=float, nargs="*", default=[15.0], metavar="MB",
        help="also pages grown by one paragraph of MB megabytes (default 15; none: skip)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        for count in args.elements:
            print(describe(crawl(count, Path(folder))), flush=True)
        for text_mb in args.text_mb:
            print(describe(crawl(0, Path(folder), text_mb)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
