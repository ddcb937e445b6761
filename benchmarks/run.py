"""The benchmarks: every figure of the crawler beside its baseline, measured in the same run.

``python benchmarks/run.py`` (N = 2,000 articles) or ``python benchmarks/run.py --large``
(N = 20,000) generates recorded sites (``benchmarks/generate.py``, cached in the work folder),
runs the crawls in subprocesses as a user would, and prints one table: each figure, its
baseline, the ratio and the goal, with the machine's core count and Python version. Times are
``time.perf_counter`` medians of ``--repeat`` runs; peak memory is the crawl's: the ``ru_maxrss``
of the crawl process plus the ``VmHWM`` of its store writer process, as the OS reports them
(printed by ``benchmarks.timing``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks.diffs import DEFAULT_SIZES, measure  # noqa: E402
from benchmarks.generate import (  # noqa: E402
    DEFAULT_SEED,
    GENERATOR_VERSION,
    PAGE_ITEMS,
    article_file,
    article_spec,
    boilerplate,
    generate,
)
from benchmarks.timing import read_mark  # noqa: E402
from crawler.fixtures import SIDECAR_SUFFIX, ReplayIndex  # noqa: E402
from crawler.sites import parse_article  # noqa: E402
from domain.records import FetchRecord  # noqa: E402
from pipelines.chain import read_article  # noqa: E402
from pipelines.reparse import ReparseCounts, format_counts, reparse_store  # noqa: E402
from pipelines.warc_import import import_files  # noqa: E402
from store.db import Store  # noqa: E402
from store.export import iter_article_lines  # noqa: E402
from store.warc_export import Selection, export_file  # noqa: E402

DEFAULT_WORKDIR = ROOT / "benchmarks" / ".work"
TIMER = '{"benchmarks.timing.CrawlTimer": 0}'
CEILING_SPIDER = ROOT / "benchmarks" / "ceiling_spider.py"
BOILERPLATE_KINDS = ("caption", "related", "tag", "timestamp", "banner")


@dataclass
class Figure:
    """One line of the table."""

    name: str
    value: str
    baseline: str
    ratio: float | None
    goal: str
    met: bool | None


@dataclass
class CrawlRun:
    """One crawl subprocess: the crawl's own time, its wall time and its peak memory."""

    seconds: float
    wall: float
    peak_rss_kb: int
    items: int
    responses: int


@dataclass
class Plan:
    """What to measure and where."""

    articles: int
    repeat: int
    sample: int
    seed: int
    workdir: Path
    diff_paragraphs: tuple[int, ...] = DEFAULT_SIZES


# -- running things --------------------------------------------------------------------------


def median_time(action: Callable[[], Any], repeat: int) -> float:
    """The median wall time of ``action`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def scrapy_env() -> dict[str, str]:
    """The environment a crawl runs in: the project's settings, the project importable."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": path}


def run_scrapy(args: list[str], cwd: Path, log: Path) -> CrawlRun:
    """Run ``scrapy ARGS`` timed, from ``cwd``; its peak RSS is the crawl's and its writer's."""
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"EXTENSIONS={TIMER}"]
    command += ["-s", "LOG_LEVEL=WARNING", "-s", "STORE_SUMMARY=False"]
    with log.open("w") as out, log.with_suffix(".err").open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=scrapy_env(), stdout=out, stderr=err)
        process.wait()
        wall = time.perf_counter() - started
    if process.returncode != 0:
        tail = log.with_suffix(".err").read_text()[-3000:]
        raise RuntimeError(f"scrapy {' '.join(args)} failed ({process.returncode}):\n{tail}")
    mark = read_mark(log.read_text())
    # Two processes' peaks added: an upper bound of their peak together. (The crawl's children's
    # ``ru_maxrss`` would not do: it counts the pages a child shared with the crawl between
    # fork and exec.)
    peak = mark["rss_kb"] + mark["writer_rss_kb"]
    return CrawlRun(mark["seconds"], wall, peak, mark["items"], mark["responses"])


def crawl(plan: Plan, site: Path, store: Path, *extra: str) -> CrawlRun:
    """``scrapy crawl africa`` replaying ``site`` into ``store``."""
    args = ["crawl", "africa", "-s", f"FIXTURES_REPLAY={site.name}", "-s", f"STORE_PATH={store}"]
    return run_scrapy([*args, *extra], cwd=site.parent, log=plan.workdir / "crawl.log")


def ceiling_crawl(plan: Plan, site: Path) -> CrawlRun:
    """The same replay walked by the ceiling spider, with no item pipelines."""
    args = ["runspider", str(CEILING_SPIDER), "-s", f"FIXTURES_REPLAY={site.name}"]
    args += ["-s", "ITEM_PIPELINES={}"]
    return run_scrapy(args, cwd=site.parent, log=plan.workdir / "ceiling.log")


def small_size(plan: Plan) -> int:
    """N/10: the size of the smaller site (at least one listing page, for the re-crawl)."""
    return max(plan.articles // 10, PAGE_ITEMS)


def fresh(path: Path) -> Path:
    """``path`` with any store file (and its WAL and shared memory) removed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def site_for(plan: Plan, articles: int) -> Path:
    """The generated site of ``articles`` articles, made once and kept in the work folder."""
    site = plan.workdir / f"site-{articles}-{plan.seed}-v{GENERATOR_VERSION}"
    done = site / "COMPLETE"
    if not done.is_file():
        shutil.rmtree(site, ignore_errors=True)
        started = time.perf_counter()
        stats = generate(site, articles, plan.seed)
        print(
            f"  generated {site.name}: {stats.bytes / 1e6:.0f} MB in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        done.write_text("ok\n")
    return site


def html_bytes(site: Path) -> int:
    """The bytes of every recorded HTML body of a site (what a crawl of it stores raw)."""
    return sum(p.stat().st_size for p in site.glob("*.html"))


def store_bytes(store: Path) -> int:
    """The size of a store on disk: the file, its WAL and its shared memory."""
    return sum(
        Path(f"{store}{suffix}").stat().st_size
        for suffix in ("", "-wal", "-shm")
        if Path(f"{store}{suffix}").exists()
    )


def count_articles(store: Path) -> tuple[int, int]:
    """(articles, versions) in a store."""
    with sqlite3.connect(store) as conn:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM versions").fetchone()[0]
    return int(articles), int(versions)


# -- parsing in-process -----------------------------------------------------------------------


def sample_pages(plan: Plan, site: Path) -> list[tuple[int, str, str]]:
    """(index, URL, HTML) of ``plan.sample`` article pages spread evenly over the site."""
    step = max(1, plan.articles // plan.sample)
    pages = []
    for index in range(0, plan.articles, step)[: plan.sample]:
        spec = article_spec(plan.seed, index)
        html = (site / article_file(spec)).read_text(encoding="utf-8")
        pages.append((index, spec.header.url, html))
    return pages


def parse_body(url: str, html: str) -> str:
    """The project's body text of a page: the article chain's body paragraphs, joined."""
    fetch = FetchRecord(
        "bench", "article", url, url, 200, "ok", "2024-01-01T00:00:00Z", body=html.encode()
    )
    return "\n".join(read_article(fetch, html).split.body)


def leaks(plan: Plan, bodies: Iterable[tuple[int, str]]) -> tuple[int, int, dict[str, int]]:
    """(boilerplate strings found, pages with any, by kind) in bodies of known pages."""
    found, pages = 0, 0
    kinds = dict.fromkeys(BOILERPLATE_KINDS, 0)
    for index, body in bodies:
        page_found = 0
        for kind, strings in boilerplate(article_spec(plan.seed, index)).items():
            hits = sum(1 for s in set(strings) if s in body)
            kinds[kind] += hits
            page_found += hits
        found += page_found
        pages += page_found > 0
    return found, pages, kinds


def boilerplate_total(plan: Plan, indexes: Iterable[int]) -> int:
    """How many distinct boilerplate strings the pages hold."""
    return sum(
        len(set(strings))
        for index in indexes
        for strings in boilerplate(article_spec(plan.seed, index)).values()
    )


def timed_reparse(store_path: Path, scratch: Path, repeat: int) -> tuple[float, ReparseCounts]:
    """``python -m store reparse`` (its own function, in this process, no progress lines) on a
    fresh copy of ``store_path`` each time: the median time and the last run's counts."""
    times, counts = [], ReparseCounts()
    for _ in range(repeat):
        copy = fresh(scratch)
        for suffix in ("", "-wal"):
            if Path(f"{store_path}{suffix}").exists():
                shutil.copyfile(f"{store_path}{suffix}", f"{copy}{suffix}")
        with Store(copy) as store:
            started = time.perf_counter()
            counts = reparse_store(store, progress_every=0)
            times.append(time.perf_counter() - started)
    return statistics.median(times), counts


def stored_pages(store_path: Path, limit: int) -> list[tuple[str, str]]:
    """(URL, HTML) of the first ``limit`` current versions' raw bodies, as reparse reads them."""
    query = """
        SELECT a.url, b.data FROM articles AS a
        JOIN versions AS v ON v.id = a.current_version_id
        JOIN bodies AS b ON b.sha256 = v.raw_sha256
        ORDER BY v.id LIMIT :limit
    """
    with sqlite3.connect(store_path) as conn:
        rows = conn.execute(query, {"limit": limit}).fetchall()
    return [(url, zlib.decompress(data).decode("utf-8")) for url, data in rows]


def export_jsonl(store_path: Path) -> int:
    """Export every article as the CLI does (``python -m store export``), into nothing."""
    with Store(store_path) as store:
        return sum(1 for line in iter_article_lines(store.db) if line.encode("utf-8") + b"\n")


# The rows an export reads, each table with one plain SELECT. Body text is stored once (schema
# 5), in the body blocks: until then ``v.*`` read it (``versions.body`` and ``body_text``), so the
# blocks' text is read here too, or the baseline would be the export without its largest part.
EXPORTED_ROWS = (
    """SELECT a.*, v.*, f.* FROM articles AS a
       JOIN versions AS v ON v.id = a.current_version_id JOIN fetches AS f ON f.id = v.fetch_id""",
    "SELECT t.* FROM tags AS t JOIN articles AS a ON a.current_version_id = t.version_id",
    "SELECT c.* FROM captions AS c JOIN articles AS a ON a.current_version_id = c.version_id",
    "SELECT r.* FROM related_links AS r JOIN articles AS a ON a.current_version_id = r.version_id",
    """SELECT b.version_id, b.position, b.text, b.body_offset FROM blocks AS b
       JOIN articles AS a ON a.current_version_id = b.version_id WHERE b.destination = 'body'""",
)


def select_rows(store_path: Path) -> int:
    """Read the rows an export reads with plain ``SELECT``s; return how many articles."""
    with sqlite3.connect(store_path) as conn:
        counts = [len(conn.execute(query).fetchall()) for query in EXPORTED_ROWS]
    return counts[0]


# -- the figures -----------------------------------------------------------------------------


def rate(count: float, seconds: float) -> str:
    """``count`` per second, for the table."""
    return f"{count / seconds:,.0f}/s"


def ratio_figure(
    name: str, value: float, baseline: float, fmt: Callable[[float], str], goal: str, limit: float
) -> Figure:
    """A figure whose ratio value / baseline must be at least ``limit`` (a goal "≥") or, for a
    negative ``limit``, at most ``-limit`` (a goal "≤")."""
    ratio = value / baseline if baseline else float("nan")
    met = ratio >= limit if limit > 0 else ratio <= -limit
    return Figure(name, fmt(value), fmt(baseline), ratio, goal, met)


def crawl_figures(plan: Plan, big: Path, small: Path) -> tuple[list[Figure], Path, Path, float]:
    """End-to-end vs ceiling, memory at N vs N/10, store size; the stores it made and the
    end-to-end crawl's articles per second."""
    runs = plan.workdir / "stores"
    runs.mkdir(exist_ok=True)
    n, tenth = plan.articles, small_size(plan)
    e2e = [crawl(plan, big, fresh(runs / "e2e.db")) for _ in range(plan.repeat)]
    ceiling = [ceiling_crawl(plan, big) for _ in range(plan.repeat)]
    small_runs = [crawl(plan, small, fresh(runs / "tenth.db")) for _ in range(plan.repeat)]
    captured = []
    for _ in range(plan.repeat):
        shutil.rmtree(runs / "warc", ignore_errors=True)
        captured.append(crawl(plan, big, fresh(runs / "warc.db"), "-s", f"WARC_DIR={runs}/warc"))
    stored, _ = count_articles(runs / "e2e.db")
    assert stored == n, f"the crawl stored {stored} of {n} articles"
    e2e_rate = n / statistics.median(r.seconds for r in e2e)
    ceiling_rate = n / statistics.median(r.seconds for r in ceiling)
    rss = statistics.median(r.peak_rss_kb for r in e2e) / 1024
    rss_small = statistics.median(r.peak_rss_kb for r in small_runs) / 1024
    size, raw = store_bytes(runs / "e2e.db"), html_bytes(big)
    startup = statistics.median(r.wall - r.seconds for r in e2e)
    capture_rate = n / statistics.median(r.seconds for r in captured)
    figures = [
        ratio_figure(
            f"end-to-end replay crawl, N={n} (ceiling: title only, no pipelines)",
            e2e_rate, ceiling_rate, lambda v: f"{v:,.0f} art/s", "≥ 0.6", 0.6,
        ),
        ratio_figure(
            f"peak RSS of the crawl, N={n} vs N={tenth}",
            rss, rss_small, lambda v: f"{v:,.0f} MB", "≤ 1.2", -1.2,
        ),
        ratio_figure(
            "store size on disk vs raw HTML crawled",
            size / 1e6, raw / 1e6, lambda v: f"{v:,.1f} MB", "≤ 0.3", -0.3,
        ),
        ratio_figure(
            f"replay crawl with WARC capture (WARC_DIR), N={n} (baseline: the same without)",
            capture_rate, e2e_rate, lambda v: f"{v:,.0f} art/s", "≥ 0.9", 0.9,
        ),
        Figure("crawl process start-up (imports, settings, fixture index), wall",
               f"{startup:.2f} s", "", None, "info", None),
    ]  # fmt: skip
    return figures, runs / "e2e.db", runs / "tenth.db", e2e_rate


def import_figure(plan: Plan, store: Path, crawl_rate: float) -> Figure:
    """``store import`` of the crawl's own WARC (exported from its store) into an empty store,
    in this process, vs the end-to-end replay crawl of the same pages."""
    warc = plan.workdir / "crawl.warc.gz"
    with Store(store) as opened:
        export_file(opened.db, warc, "warc", Selection(all_versions=True), "bench")
    target = plan.workdir / "stores" / "imported.db"

    def imported() -> None:
        fresh(target)
        with Store(target) as opened:
            counts = import_files(opened, [warc], progress_every=0)
        assert counts.articles == plan.articles, f"imported {counts.articles} articles"

    seconds = median_time(imported, plan.repeat)
    return ratio_figure(
        f"store import of the crawl's WARC, {plan.articles} articles "
        "(pipelines.warc_import; baseline: the end-to-end replay crawl)",
        plan.articles / seconds, crawl_rate, lambda v: f"{v:,.0f} art/s", "≥ 0.8", 0.8,
    )  # fmt: skip


def recrawl_figure(plan: Plan, site: Path, big_store: Path, small_store: Path) -> Figure:
    """A re-crawl of the section's first pages, nothing changed, into a big and a small store."""
    tenth = small_size(plan)
    pages = max(1, tenth // 2 // (PAGE_ITEMS - 1))  # articles all within the small store
    times: dict[str, list[float]] = {"big": [], "small": []}
    for label, store in (("big", big_store), ("small", small_store)):
        copy = plan.workdir / "stores" / f"recrawl-{label}.db"
        for _ in range(plan.repeat):
            fresh(copy)
            shutil.copy(store, copy)
            before = count_articles(copy)
            run = crawl(plan, site, copy, "-a", f"max_pages={pages}")
            after = count_articles(copy)
            assert before == after, f"a re-crawl with nothing changed added rows: {before} {after}"
            times[label].append(run.seconds)
    big, small = statistics.median(times["big"]), statistics.median(times["small"])
    figure = ratio_figure(
        f"re-crawl, {pages} listing pages, nothing changed: store of {plan.articles} vs {tenth}",
        big, small, lambda v: f"{v:.2f} s", "≤ 1.2", -1.2,
    )  # fmt: skip
    return figure


def parser_figures(plan: Plan, site: Path) -> list[Figure]:
    """Parser ms/page vs trafilatura, and boilerplate left in each one's body."""
    pages = sample_pages(plan, site)
    ours = median_time(lambda: [parse_article(url, html) for _, url, html in pages], plan.repeat)
    bodies = [(index, parse_body(url, html)) for index, url, html in pages]
    found, on_pages, _ = leaks(plan, bodies)
    total = boilerplate_total(plan, (index for index, _, _ in pages))
    per_page = ours / len(pages) * 1000
    try:
        import trafilatura
    except ImportError:
        return [
            Figure(f"parser, ms/page ({len(pages)} pages)", f"{per_page:.2f} ms",
                   "trafilatura not installed", None, "≥ 5 × faster", None),
            Figure("boilerplate strings left in the body", f"{found} of {total}", "", None, "0",
                   found == 0),
        ]  # fmt: skip
    theirs = median_time(
        lambda: [trafilatura.extract(html, url=url) for _, url, html in pages], plan.repeat
    )
    extracted = [(index, trafilatura.extract(html, url=url) or "") for index, url, html in pages]
    t_found, t_pages, t_kinds = leaks(plan, extracted)
    detail = ", ".join(f"{k} {t_kinds[k]}" for k in BOILERPLATE_KINDS if t_kinds[k])
    return [
        Figure(
            f"parser, ms/page ({len(pages)} pages; baseline trafilatura.extract)",
            f"{per_page:.2f} ms", f"{theirs / len(pages) * 1000:.2f} ms",
            theirs / ours, "≥ 5 × faster", theirs / ours >= 5,
        ),
        Figure(
            f"boilerplate strings left in the body (of {total} on the pages)",
            f"{found} on {on_pages} pages", f"{t_found} on {t_pages} pages ({detail or 'none'})",
            None, "0 where trafilatura has some", found == 0 and t_found > 0,
        ),
    ]  # fmt: skip


def store_read_figures(plan: Plan, store: Path, small_store: Path) -> list[Figure]:
    """``store reparse`` vs the parser alone (on the N/10 store), and JSONL export vs a plain
    SELECT (on the N store)."""
    pages = stored_pages(small_store, small_size(plan))
    alone = median_time(lambda: [parse_article(url, html) for url, html in pages], plan.repeat)
    reparsed, counts = timed_reparse(small_store, plan.workdir / "reparse.db", plan.repeat)
    assert counts.pages == counts.unchanged == len(pages), f"reparse: {format_counts(counts)}"
    exported = median_time(lambda: export_jsonl(store), plan.repeat)
    selected = median_time(lambda: select_rows(store), plan.repeat)
    n = plan.articles
    return [
        ratio_figure(
            f"store reparse, {len(pages)} articles (pipelines.reparse.reparse_store; "
            "baseline: parser alone)",
            len(pages) / reparsed, len(pages) / alone, lambda v: f"{v:,.0f} art/s", "≥ 0.7", 0.7,
        ),
        ratio_figure(
            f"JSONL export, {n} articles (baseline: plain SELECTs of the same rows)",
            n / exported, n / selected, lambda v: f"{v:,.0f} art/s", "≥ 0.5", 0.5,
        ),
    ]  # fmt: skip


def index_figure(site: Path) -> Figure:
    """How long the replay handler's start-up index of every sidecar takes."""
    sidecars = sum(1 for _ in site.glob(f"*{SIDECAR_SUFFIX}"))
    started = time.perf_counter()
    ReplayIndex(site)
    seconds = time.perf_counter() - started
    return Figure(
        f"replay handler index at start-up ({sidecars} sidecars)",
        f"{seconds:.2f} s",
        "",
        None,
        "info",
        None,
    )


def lock_figures(plan: Plan) -> list[Figure]:
    """The longest write-lock hold when an article comes back with every paragraph rewritten
    (``benchmarks/diffs.py``), for each size."""
    figures = []
    folder = plan.workdir / "diffs"
    folder.mkdir(parents=True, exist_ok=True)
    for paragraphs in plan.diff_paragraphs:
        fresh(folder / f"diff-{paragraphs}.db")
        result = measure(paragraphs, folder)
        longest = float(str(result["longest_lock_s"]))
        aligned = "too large to align" if result["too_large"] else "aligned"
        figures.append(
            Figure(
                f"longest write-lock hold, {paragraphs:,} paragraphs all rewritten "
                f"({int(str(result['page_bytes'])) / 1e6:.1f} MB page; body {aligned})",
                f"{longest:.3f} s",
                "",
                None,
                "<= 1 s",
                longest <= 1.0,
            )
        )
    return figures


# -- the table -------------------------------------------------------------------------------


def machine() -> str:
    """Cores, Python, platform and load: what the figures were measured on."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}, "
        f"load average {load}"
    )


def format_table(figures: list[Figure]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| figure | value | baseline (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        met = {True: "yes", False: "NO", None: ""}[f.met]
        lines.append(f"| {f.name} | {f.value} | {f.baseline} | {ratio} | {f.goal} | {met} |")
    return "\n".join(lines)


def run(plan: Plan) -> list[Figure]:
    """Measure every figure."""
    plan.workdir.mkdir(parents=True, exist_ok=True)
    big, small = site_for(plan, plan.articles), site_for(plan, small_size(plan))
    figures = [index_figure(big)]
    print("  crawls: end-to-end, ceiling, N/10", file=sys.stderr)
    crawl_lines, big_store, small_store, crawl_rate = crawl_figures(plan, big, small)
    print("  re-crawl", file=sys.stderr)
    recrawl = recrawl_figure(plan, big, big_store, small_store)
    print("  parser, trafilatura", file=sys.stderr)
    parser_lines = parser_figures(plan, big)
    print("  reparse, export", file=sys.stderr)
    read_lines = store_read_figures(plan, big_store, small_store)
    print("  import", file=sys.stderr)
    imported = import_figure(plan, big_store, crawl_rate)
    print("  write lock: versions with every paragraph rewritten", file=sys.stderr)
    lock_lines = lock_figures(plan)
    return [*crawl_lines[:1], *parser_lines, *crawl_lines[1:3], recrawl, *read_lines,
            crawl_lines[3], imported, crawl_lines[4], *lock_lines, *figures]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="N (default 2000)")
    parser.add_argument("--large", action="store_true", help="N = 20,000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--sample", type=int, default=200, help="pages for in-process timings")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--diff-paragraphs",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="paragraphs of the rewritten versions timed under the write lock (default "
        f"{' '.join(map(str, DEFAULT_SIZES))})",
    )
    args = parser.parse_args(argv)
    articles = 20000 if args.large else args.articles
    plan = Plan(articles, args.repeat, min(args.sample, articles), args.seed,
                args.workdir.resolve(), tuple(args.diff_paragraphs))  # fmt: skip
    print(f"benchmarks: N={articles}, {args.repeat} runs each (median)", file=sys.stderr)
    started = time.perf_counter()
    figures = run(plan)
    print(f"N = {articles} articles; median of {args.repeat} runs; {machine()}")
    print(format_table(figures))
    print(f"(measured in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
