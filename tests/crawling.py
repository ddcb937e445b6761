"""Runs ``scrapy crawl`` in a subprocess (a Twisted reactor cannot restart in one process)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTACT = "archive-ops@newsroom.org"  # a live crawl's contact in tests (none leaves the machine)


@dataclass
class CrawlRun:
    """What a crawl printed and how it ended."""

    returncode: int
    stdout: str
    stderr: str


def run_scrapy(*args: str, cwd: Path = ROOT, timeout: float = 180) -> CrawlRun:
    """``scrapy ARGS`` with the project's settings, from ``cwd``."""
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": "crawler.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CrawlRun(done.returncode, done.stdout, done.stderr)


def run_crawl(*args: str) -> CrawlRun:
    """``scrapy crawl africa ARGS`` from the project root."""
    return run_scrapy("crawl", "africa", *args)


# The sets recorded before discovery had sources besides the section page: robots.txt, the
# section page and its chunks only (a replay with every source meets a 404 for each of them).
SECTION_ONLY = ("-s", "DISCOVERY_SOURCES=")


def replay(store: Path, *args: str, fixture_set: str = "fixtures/sputnik-africa") -> CrawlRun:
    """A replay crawl of a recorded site into ``store``; fails the test if the crawl fails.
    A set of the ``sputnik-africa`` series is replayed with the section's listing alone."""
    only = SECTION_ONLY if Path(fixture_set).name.startswith("sputnik-africa") else ()
    run = run_crawl("-s", f"FIXTURES_REPLAY={fixture_set}", "-s", f"STORE_PATH={store}", *only,
                    *args)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return run
