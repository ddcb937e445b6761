"""Runs ``scrapy crawl`` in a subprocess (a Twisted reactor cannot restart in one process)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CrawlRun:
    """What a crawl printed and how it ended."""

    returncode: int
    stdout: str
    stderr: str


def run_crawl(*args: str, timeout: float = 180) -> CrawlRun:
    """``scrapy crawl africa ARGS`` from the project root."""
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "africa", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CrawlRun(done.returncode, done.stdout, done.stderr)


def replay(store: Path, *args: str, fixture_set: str = "fixtures/sputnik-africa") -> CrawlRun:
    """A replay crawl of a recorded site into ``store``; fails the test if the crawl fails."""
    run = run_crawl("-s", f"FIXTURES_REPLAY={fixture_set}", "-s", f"STORE_PATH={store}", *args)
    assert run.returncode == 0, run.stderr[-3000:]
    return run
