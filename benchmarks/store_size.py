"""Build (and cache) a store of N versions, realistic in shape, for the page benchmark.

Crawling a million versions would take days, so the store is made in two steps:

1. **A base set written by the store's own code**: ``--base`` articles of the synthetic site
   (:mod:`benchmarks.generate`), each page read by the crawl's article chain
   (``pipelines.chain.read_article``) and saved with :meth:`store.Store.save_article`, crawl
   by crawl, one crawl per day. Every article is fetched by the crawl of its day; some are
   fetched again the next days, unchanged or with a paragraph rewritten (new versions, with
   their changes and diffs, as the history makes them), a few answer 404 (gone). Each crawl
   also saves its section listing pages (:meth:`~store.Store.save_listing`), the RSS feed and
   an article sitemap (:meth:`~store.Store.save_discovery`), and is finished with
   :meth:`~store.Store.finish_crawl` (which records delisted articles).
2. **Copies of it by SQL** (``INSERT … SELECT``), as many as the size asks: copy ``k`` of every
   row has its ids shifted past the copies before it, its crawl ids suffixed ``-rK``, its
   article URLs suffixed ``-rK.html`` and its times ``K`` days later, so copies overlap in time
   like the sections of a wire service crawled in parallel (about 36 articles a day in the
   base, a few hundred a day in the copies together). Which column is shifted how is read from
   the schema (the declared foreign keys, the names of time and URL columns), so a column added
   later is copied too; a table the rules do not know is left with its base rows (printed).
   The full-text tables are filled the way the store fills them: ``captions_fts`` by its
   triggers, ``versions_fts`` from the view ``version_text``.

Stores are cached under ``benchmarks/.work/stores/`` keyed by size, seed and :data:`BUILD`;
``python benchmarks/store_size.py --versions 1000000`` builds one and prints how long it took
and how big it is.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the project's packages
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import (  # noqa: E402
    DEFAULT_SEED,
    HTML_HEADERS,
    SECTION_URL,
    ArticleSpec,
    _e,
    article_spec,
    render_article,
)
from domain.pages import ListingEntry, ListingPage  # noqa: E402
from domain.records import CrawlRecord, FetchKind, FetchRecord  # noqa: E402
from domain.times import iso_z  # noqa: E402
from pipelines.chain import read_article  # noqa: E402
from store import Store, summaries  # noqa: E402
from store.schema import SCHEMA_VERSION  # noqa: E402

BUILD = 1  # bump when the shape of the built store changes: cached stores are rebuilt
WORKDIR = ROOT / "benchmarks" / ".work" / "stores"
DEFAULT_BASE = 550  # articles of the base set: about 1,000 versions
SPIDER = "africa"
ORIGIN = SECTION_URL.split("/", 3)[:3]
FEED_URL = "/".join(ORIGIN) + "/export/rss2/africa/index.xml"
SITEMAP_URL = "/".join(ORIGIN) + "/sitemap_article.xml"
# Of the articles of a day: the share fetched again the next day, the share of those whose
# text changed, the share changed once more two days later, and the share gone (404).
REFETCHED, CHANGED, CHANGED_AGAIN, GONE = 0.7, 0.45, 0.3, 0.02
PAGE_ENTRIES = 20  # entries of a section page or "load more" chunk
LISTING_DEPTH = timedelta(hours=12)  # how far before its day a crawl read the listing


@dataclass(frozen=True)
class Fetch:
    """One planned article fetch of the base set."""

    at: datetime
    index: int
    revision: int  # 0: the page as published; 1, 2: with a paragraph rewritten; -1: 404


def day_of(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def revised(html: str, spec: ArticleSpec, revision: int) -> str:
    """The page with ``revision`` of its text paragraphs rewritten (a sentence added), as an
    editor's update shows it: every place the page prints the paragraph changes."""
    texts = [block.text for block in spec.blocks if block.kind == "text" and block.text]
    for number, text in enumerate(texts[:revision]):
        update = f"{text} Update {number + 1}: officials confirmed the figures on Monday."
        html = html.replace(_e(text), _e(update))
    return html


def plan_fetches(seed: int, articles: int) -> list[Fetch]:
    """Every article fetch of the base set, in time order."""
    rng = random.Random(f"{seed}:store_size")
    fetches = []
    for index in range(articles):
        published = article_spec(seed, index).header.published
        first = published + timedelta(minutes=rng.randrange(5, 90))
        fetches.append(Fetch(first, index, 0))
        if rng.random() < GONE:
            fetches.append(Fetch(first + timedelta(days=1), index, -1))
            continue
        if rng.random() >= REFETCHED:
            continue
        changed = rng.random() < CHANGED
        fetches.append(Fetch(first + timedelta(days=1), index, int(changed)))
        if changed and rng.random() < CHANGED_AGAIN:
            fetches.append(Fetch(first + timedelta(days=2), index, 2))
    return sorted(fetches, key=lambda f: (f.at, f.index))


def listing_fetch(
    crawl_id: str, kind: FetchKind, url: str, at: datetime, source: str
) -> FetchRecord:
    """The fetch of a listing page, feed or sitemap (its body a stand-in: nothing reads it)."""
    body = f"<!-- {kind} {url} at {iso_z(at)} -->".encode()
    return FetchRecord(
        crawl_id,
        kind,
        url,
        url,
        200,
        "ok",
        iso_z(at),
        body=body,
        source=source,
    )


def save_listings(store: Store, crawl_id: str, at: datetime, specs: list[ArticleSpec]) -> None:
    """The crawl's section page and "load more" chunks, its RSS feed and its sitemap."""
    entries = [
        ListingEntry(
            spec.header.url,
            spec.header.title,
            iso_z(spec.header.published),
            str(int(spec.header.published.timestamp())),
            0,
        )
        for spec in sorted(specs, key=lambda s: s.header.published, reverse=True)
    ]
    for page in range(max(1, math.ceil(len(entries) / PAGE_ENTRIES))):
        chunk = entries[page * PAGE_ENTRIES : (page + 1) * PAGE_ENTRIES]
        url = SECTION_URL if page == 0 else f"{SECTION_URL}more.html?page={page}"
        listed = [
            ListingEntry(e.url, e.title, e.listed_at, e.listed_raw, n) for n, e in enumerate(chunk)
        ]
        kind: FetchKind = "section" if page == 0 else "listing"
        fetch = listing_fetch(crawl_id, kind, url, at, "section")
        # every page offers "load more": the crawl stopped at its depth, not at the end
        more = f"{SECTION_URL}more.html?page={page + 1}"
        store.save_listing(fetch, ListingPage(url, listed, more, "sputnik", "1"), SPIDER)
    sources: tuple[tuple[FetchKind, str, str], ...] = (
        ("feed", FEED_URL, "rss"),
        ("sitemap", SITEMAP_URL, "sitemap"),
    )
    for kind, url, source in sources:
        listed = [
            ListingEntry(e.url, e.title if source == "rss" else None, e.listed_at, e.listed_at, n)
            for n, e in enumerate(entries)
        ]
        fetch = listing_fetch(crawl_id, kind, url, at, source)
        store.save_discovery(fetch, ListingPage(url, listed, None, source, "1"), source)


def build_base(path: Path, articles: int, seed: int) -> None:
    """Write the base set into a new store at ``path`` with the store's own code."""
    fetches = plan_fetches(seed, articles)
    days = sorted({day_of(f.at) for f in fetches})
    specs = [article_spec(seed, index) for index in range(articles)]
    with Store(path) as store:
        for day in days:
            crawl_id = f"bench-{day:%Y%m%d}"
            started = day + timedelta(minutes=1)
            store.begin_crawl(
                CrawlRecord(crawl_id, SPIDER, {}, iso_z(started), {"wirearchive": "bench"})
            )
            todays = [f for f in fetches if day_of(f.at) == day]
            # the listing as the crawl read it: the articles of the last day and a half
            listed = [
                spec
                for spec in specs
                if started - LISTING_DEPTH <= spec.header.published < started + timedelta(days=1)
            ]
            save_listings(store, crawl_id, started, listed)
            for planned in todays:
                save_article_fetch(store, crawl_id, seed, planned)
            finished = iso_z(day + timedelta(hours=23, minutes=59))
            store.finish_crawl(crawl_id, finished, "finished", {"bench": len(todays)})


def save_article_fetch(store: Store, crawl_id: str, seed: int, planned: Fetch) -> None:
    """Fetch one article page as planned: the page (maybe revised), or a 404."""
    spec = article_spec(seed, planned.index)
    url, at = spec.header.url, iso_z(planned.at)
    source = "section" if planned.revision == 0 else "recheck"
    if planned.revision < 0:
        store.save_fetch(
            FetchRecord(crawl_id, "article", url, url, 404, "not_found", at, source=source)
        )
        return
    html = revised(render_article(spec, seed), spec, planned.revision)
    fetch = FetchRecord(
        crawl_id,
        "article",
        url,
        url,
        200,
        "ok",
        at,
        elapsed_ms=120.0,
        referer=SECTION_URL,
        headers=dict(HTML_HEADERS),
        body=html.encode(),
        encoding="utf-8",
        encoding_errors=0,
        source=source,
    )
    store.save_article(fetch, read_article(fetch, html))


# -- copies by SQL ---------------------------------------------------------------------------

# Tables never copied: raw bodies are shared by content hash; the FTS tables are filled after;
# crawl_readings is kept by its trigger as the copies' observations go in; the summaries of
# store/summaries.py are filled once after the copies (their triggers look rows up by indexes
# the copies go without).
NOT_COPIED = frozenset(
    {"bodies", "_sqlite_migrations", "reparses", "crawl_readings", *summaries.TABLES}
)
# Columns holding times (ISO 8601, whole seconds, Z) besides those named ``*_at``.
TIME_COLUMNS = frozenset({"first_seen", "last_seen", "at"})


def is_time(column: str) -> bool:
    """Whether the column holds a time (shifted by days in a copy)."""
    return column.endswith("_at") or column in TIME_COLUMNS


def is_url(column: str) -> bool:
    """Whether the column holds a URL that may be an article's (suffixed in a copy)."""
    return column == "url" or column.endswith("_url") or column == "referer"


def copy_expression(
    table: str, column: str, foreign: dict[str, str], spans: dict[str, int]
) -> str | None:
    """The SQL expression of ``column`` in copy ``:k`` (``None``: leave it to the rowid)."""
    quoted = f'"{column}"'
    target = foreign.get(column, table if column == "id" else None)
    if target == "crawls":
        return f"{quoted} || '-r' || :k"
    if target == "bodies":
        return quoted
    if target is not None:
        return f"{quoted} + :k * {spans[target]}"
    if is_time(column):
        return (
            f"CASE WHEN {quoted} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' "
            f"THEN date(substr({quoted}, 1, 10), '+' || :k || ' days') || substr({quoted}, 11) "
            f"ELSE {quoted} END"
        )
    if is_url(column):
        return f"replace({quoted}, '.html', '-r' || :k || '.html')"
    return quoted


def copy_statements(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """The ``INSERT … SELECT`` of each table for one copy, and the tables left as they are."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY rowid"
        )
    ]
    shadow = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_fts_%'")
    }
    # a copy's ids come after those of the copies before it: the base set's largest rowid
    spans = {
        table: conn.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()[0]
        for table in tables
        if table not in shadow
    }
    statements, skipped = [], []
    for table in tables:
        if table in NOT_COPIED or table not in spans:
            continue
        foreign = {row[3]: row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')}
        if any(target not in spans for target in foreign.values()):
            skipped.append(table)
            continue
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        expressions = [copy_expression(table, c, foreign, spans) for c in columns]
        names = ", ".join(f'"{c}"' for c in columns)
        values = ", ".join(e for e in expressions if e is not None)
        statements.append(
            f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" '
            f"WHERE rowid <= {spans[table]}"  # the base set's rows
        )
    return statements, skipped


def replicate(path: Path, copies: int, progress: bool = True) -> None:
    """Add ``copies`` copies of the base set, then fill the full-text tables."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")  # out of WAL first, then no journal at all
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = OFF")
    statements, skipped = copy_statements(conn)
    if skipped:
        print(f"left with their base rows only: {', '.join(skipped)}", flush=True)
    base_versions = conn.execute("SELECT max(id) FROM versions").fetchone()[0]
    # every index but the primary keys is made again once the rows are in: faster than
    # keeping them up to date row by row
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    summaries.drop_triggers(conn)
    # versions_fts is filled once at the end; captions_fts by its triggers as rows go in
    started = time.perf_counter()
    for k in range(1, copies + 1):
        conn.execute("BEGIN")
        for statement in statements:
            conn.execute(statement, {"k": k})
        conn.execute("COMMIT")
        if progress and (k % 50 == 0 or k == copies):
            print(f"  copy {k}/{copies} ({time.perf_counter() - started:.0f} s)", flush=True)
    for _, sql in indexes:
        conn.execute(sql)
    if progress:
        print(f"  indexes made again ({time.perf_counter() - started:.0f} s)", flush=True)
    conn.execute("BEGIN")
    summaries.refill(conn)
    summaries.create_triggers(conn)
    conn.execute("COMMIT")
    if progress:
        print(f"  summaries filled ({time.perf_counter() - started:.0f} s)", flush=True)
    conn.execute(
        "INSERT INTO versions_fts (rowid, title, lead, body_text) "
        "SELECT id, title, lead, body_text FROM version_text WHERE id > ?",
        (base_versions,),
    )
    if progress:
        print(f"  versions_fts filled ({time.perf_counter() - started:.0f} s)", flush=True)
    conn.close()


def store_path(versions: int, seed: int, base: int, workdir: Path = WORKDIR) -> Path:
    """Where the store of this size is cached."""
    return workdir / f"store-{versions}-b{base}-s{seed}-g{BUILD}.db"


def count_versions(path: Path) -> int:
    """How many versions a store holds."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM versions").fetchone()[0])
    finally:
        conn.close()


def build(
    versions: int, seed: int = DEFAULT_SEED, base: int = DEFAULT_BASE, workdir: Path = WORKDIR
) -> Path:
    """The cached store of about ``versions`` versions, built first if needed; opened once with
    :class:`store.Store` so it is migrated to this code's schema."""
    path = store_path(versions, seed, base, workdir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        print(f"building {path.name}: base set of {base} articles ...", flush=True)
        build_base(partial, base, seed)
        base_versions = count_versions(partial)
        copies = max(0, math.ceil(versions / base_versions) - 1)
        print(
            f"  base: {base_versions} versions ({time.perf_counter() - started:.0f} s); "
            f"{copies} copies ...",
            flush=True,
        )
        replicate(partial, copies)
        partial.rename(path)
        size = path.stat().st_size
        print(
            f"built {path.name}: {count_versions(path):,} versions, {size / 1e9:.2f} GB, "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    started = time.perf_counter()
    Store(path).close()  # migrated to SCHEMA_VERSION if it was built by an older one
    if (took := time.perf_counter() - started) > 1:
        print(f"  {path.name} opened (migrated) in {took:.0f} s", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: build (or find) the store of a size and say where it is."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=20_000, help="versions (about)")
    parser.add_argument("--base", type=int, default=DEFAULT_BASE, help="articles of the base set")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.versions < 1 or args.base < 1:
        parser.error("--versions and --base must be 1 or more")
    path = build(args.versions, args.seed, args.base)
    print(f"{path} (schema {SCHEMA_VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
