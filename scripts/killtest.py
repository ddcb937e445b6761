"""Kill a replay crawl with SIGKILL at random moments, then prove the store lost nothing.

    .venv/bin/python scripts/killtest.py [--kills 20] [--seed N] [--workdir DIR]

1. An uninterrupted replay crawl of ``fixtures/sputnik-africa`` into ``reference.db``.
2. ``--kills`` times: the same crawl into ``killed.db``, killed with SIGKILL after a random
   delay; after each kill ``PRAGMA integrity_check`` must say ok and no item may be
   half-written (see :func:`half_written`).
3. One more crawl into ``killed.db``, run to its end: its articles (export without
   provenance) and their versions, blocks, captions, links, tags and bodies must equal the
   reference's.

The killed crawls capture their exchanges as WARC files (``WARC_DIR``, README *Web archives*):
after each kill every WARC file must read to its end with no record cut short, and every
``warc_records`` row must point at a whole ``response`` record with its id (:func:`warc_problems`).

It prints each kill and a tally, and exits 1 if any check failed. The test suite runs it
with a few kills; ``docs/RELIABILITY.md`` holds the figures of the last full run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from domain.text import article_identity  # noqa: E402
from store import Store  # noqa: E402

FIXTURE_SET = "fixtures/sputnik-africa"
# a small delay between requests spreads the writes over about a second, for the kills to hit
CRAWL_SETTINGS = ("DOWNLOAD_DELAY=0.05", "STORE_SUMMARY=False", "LOG_LEVEL=WARNING")
# tables whose content a re-run must make equal to an uninterrupted crawl's
CONTENT_TABLES = ("articles", "versions", "blocks", "captions", "related_links", "tags", "bodies")

# Each query returns the rows that break one rule of "nothing half-written".
HALF_WRITTEN = {
    "fetch without an outcome": "SELECT id FROM fetches WHERE outcome IS NULL OR outcome = ''",
    "ok listing fetch without its listing": """
        SELECT f.id FROM fetches f LEFT JOIN listing_pages l ON l.fetch_id = f.id
        WHERE f.outcome = 'ok' AND f.kind IN ('section', 'listing') AND l.fetch_id IS NULL""",
    "version without its blocks": """
        SELECT v.id FROM versions v WHERE NOT EXISTS (SELECT 1 FROM blocks b
        WHERE b.version_id = v.id)""",
    "version without its fetch": """
        SELECT v.id FROM versions v LEFT JOIN fetches f ON f.id = v.fetch_id WHERE f.id IS NULL""",
    "article without a current version": """
        SELECT a.id FROM articles a LEFT JOIN versions v ON v.id = a.current_version_id
        WHERE v.id IS NULL""",
    "fetch whose body is missing": """
        SELECT f.id FROM fetches f LEFT JOIN bodies b ON b.sha256 = f.body_sha256
        WHERE f.body_sha256 IS NOT NULL AND b.sha256 IS NULL""",
}


@dataclass
class Kill:
    """What one kill did."""

    delay: float
    killed: bool  # False: the crawl had ended before the signal
    fetches_written: int  # by the killed run
    problems: list[str]


def crawl(store: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start a replay crawl into ``store`` (``extra``: more ``NAME=VALUE`` settings)."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(ROOT)}
    settings = [f"FIXTURES_REPLAY={FIXTURE_SET}", f"STORE_PATH={store}", *CRAWL_SETTINGS, *extra]
    command = [sys.executable, "-m", "scrapy", "crawl", "africa"]
    for setting in settings:
        command += ["-s", setting]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def crawl_to_end(store: Path, *extra: str) -> float:
    """Run a replay crawl into ``store`` to its end (``extra``: more ``NAME=VALUE`` settings);
    return how long it took."""
    started = time.monotonic()
    process = crawl(store, *extra)
    _, stderr = process.communicate(timeout=300)
    if process.returncode != 0:
        raise SystemExit(f"the crawl failed:\n{stderr.decode(errors='replace')[-2000:]}")
    return time.monotonic() - started


def half_written(db: sqlite3.Connection) -> list[str]:
    """Every broken rule of the store, with a count; empty when nothing is half-written."""
    problems = []
    check = db.execute("PRAGMA integrity_check").fetchall()
    if check != [("ok",)]:
        problems.append(f"integrity_check: {check[:5]}")
    tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    if db.execute("PRAGMA user_version").fetchone()[0] == 0:
        if tables:  # the schema is made in one transaction with its version
            problems.append(f"half-made schema: {tables} tables without a schema version")
        return problems
    if db.execute("PRAGMA foreign_key_check").fetchall():
        problems.append("foreign_key_check found dangling keys")
    for rule, sql in HALF_WRITTEN.items():
        count = len(db.execute(sql).fetchall())
        if count:
            problems.append(f"{rule}: {count}")
    stored = {row[0] for row in db.execute("SELECT url FROM articles")}
    ok_articles = db.execute(
        "SELECT coalesce(final_url, requested_url) FROM fetches "
        "WHERE kind = 'article' AND outcome = 'ok'"
    ).fetchall()
    missing = [url for (url,) in ok_articles if article_identity(url) not in stored]
    if missing:
        problems.append(f"ok article fetch without its article: {len(missing)}")
    return problems


@contextmanager
def open_db(store: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to the store (it recovers the WAL the killed crawl left), closed after."""
    db = sqlite3.connect(store, timeout=30)
    try:
        yield db
    finally:
        db.close()


def count_fetches(store: Path) -> int:
    """How many fetches the store holds (0 for a missing or not yet created store)."""
    if not store.exists():
        return 0
    with open_db(store) as db:
        try:
            return int(db.execute("SELECT count(*) FROM fetches").fetchone()[0])
        except sqlite3.OperationalError:  # killed before the schema was made
            return 0


def warc_problems(store: Path, warc_dir: Path) -> list[str]:
    """What is wrong with the captured WARC files: a record cut short or unreadable, a
    ``warc_records`` row that points at no whole response record with its id."""
    problems = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        try:
            with path.open("rb") as stream:
                for record in ArchiveIterator(stream):
                    record.content_stream().read()
                    if getattr(record.raw_stream, "limit", 0) > 0:  # its length not there
                        problems.append(f"record cut short in {path.name}")
        except Exception as error:  # warcio's errors have no common base
            problems.append(f"{path.name} unreadable: {error}")
    with open_db(store) as db:
        try:
            rows = db.execute("SELECT file, offset, record_id FROM warc_records").fetchall()
        except sqlite3.OperationalError:  # killed before the schema was made
            rows = []
    for file, offset, record_id in rows:
        with open(file, "rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)), None)
            whole = record is not None and record.content_stream().read() is not None
            if not whole or record.rec_type != "response" or getattr(record.raw_stream, "limit", 0):
                problems.append(f"warc_records row for {record_id}: no whole response there")
            elif record.rec_headers.get_header("WARC-Record-ID") != record_id:
                problems.append(f"warc_records row for {record_id}: another record there")
    return problems


def kill_once(store: Path, delay: float, warc_dir: Path) -> Kill:
    """Start a crawl capturing WARC files, SIGKILL it after ``delay`` seconds, and check the
    store and the WARC files."""
    before = count_fetches(store)
    process = crawl(store, f"WARC_DIR={warc_dir}")
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    written = count_fetches(store) - before
    with open_db(store) as db:
        problems = half_written(db)
    return Kill(delay, killed, written, problems + warc_problems(store, warc_dir))


def content(store: Path) -> dict[str, Any]:
    """What a re-run must reproduce: the export without provenance, and the content tables."""
    with Store(store) as opened:
        articles = [
            {k: v for k, v in row.items() if k != "provenance"} for row in opened.export_articles()
        ]
    with open_db(store) as db:
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CONTENT_TABLES}
        texts = sorted(db.execute("SELECT text_sha256, raw_sha256 FROM versions").fetchall())
        bodies = sorted(r[0] for r in db.execute("SELECT sha256 FROM bodies"))
    articles.sort(key=lambda a: a["url"])
    return {"articles": articles, "counts": counts, "versions": texts, "bodies": bodies}


def where(kill: Kill, total: int) -> str:
    """Where in the crawl a kill landed."""
    if not kill.killed:
        return "the run had finished before the kill"
    if kill.fetches_written == 0:
        return "before the run wrote a fetch"
    if kill.fetches_written < total:
        return "mid-crawl (some of the run's fetches written)"
    return "after the run wrote every fetch"


def show(label: str, value: object) -> None:
    """Print one line of the tally."""
    print(f"  {label + ':':<56} {value}")


def main() -> int:
    """Run the kills, print each and the tally; 0 if every check passed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="how many SIGKILLs (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random moments")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the stores here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    chance = random.Random(seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="killtest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    reference, killed_store = workdir / "reference.db", workdir / "killed.db"
    for path in [*workdir.glob("*.db*"), *workdir.glob("warc/*.warc.gz")]:
        path.unlink()
    warc_dir = workdir / "warc"

    print(f"Kill test: {args.kills} SIGKILLs at random moments of a replay crawl of {FIXTURE_SET}")
    print(f"  seed {seed}, stores in {workdir}")
    duration = crawl_to_end(reference)
    total = count_fetches(reference)
    print(f"  uninterrupted crawl: {duration:.2f} s, {total} fetches")

    kills: list[Kill] = []
    for number in range(1, args.kills + 1):
        kill = kill_once(killed_store, chance.uniform(0.1, duration * 1.05), warc_dir)
        kills.append(kill)
        state = "; ".join(kill.problems) or "integrity ok, nothing half-written, WARC files whole"
        print(
            f"  kill {number:>2} at {kill.delay:.2f} s: {where(kill, total)}, "
            f"{kill.fetches_written} of {total} fetches written; {state}"
        )

    with open_db(killed_store) as db:
        # every kill may have landed before the store had its tables (a fast start-up)
        has_crawls = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crawls'"
        ).fetchone()
        unfinished = (
            db.execute("SELECT count(*) FROM crawls WHERE finished_at IS NULL").fetchone()
            if has_crawls
            else (0,)
        )
    crawl_to_end(killed_store)
    with open_db(killed_store) as db:
        final_problems = half_written(db)
    expected, got = content(reference), content(killed_store)
    same = expected == got

    tally = Counter(where(kill, total) for kill in kills)
    damaged = sum(bool(kill.problems) for kill in kills)
    print("Tally")
    show("kills", len(kills))
    for label in (
        "mid-crawl (some of the run's fetches written)",
        "before the run wrote a fetch",
        "after the run wrote every fetch",
        "the run had finished before the kill",
    ):
        show(f"  {label}", tally[label])
    show("crawl rows left without an end (killed after starting)", unfinished[0])
    show("stores failing a check after a kill", damaged)
    show("checks after the final re-run", "; ".join(final_problems) or "ok")
    counts = ", ".join(f"{n} {t}" for t, n in got["counts"].items())
    show("re-run equals the uninterrupted crawl", f"{'yes' if same else 'NO'} ({counts})")
    if not same:
        for key in expected:
            if expected[key] != got[key]:
                print(f"    differs: {key}: {json.dumps(expected[key])[:300]} != "
                      f"{json.dumps(got[key])[:300]}")  # fmt: skip
    passed = same and not damaged and not final_problems
    print(f"Result: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
