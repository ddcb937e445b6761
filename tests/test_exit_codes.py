"""How a crawl ends: its last line and its exit status, for a scheduler to read.

Through the real engine in a subprocess: a replay that finishes (0), a section page in a
layout the parser does not recognize (6, ``layout_unrecognized``), a site that cannot be reached
(1); the README's *Exit codes* table is :data:`crawler.commands.crawl.EXIT_CODES`.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

from crawler.commands.crawl import EXIT_CODES, EXIT_OTHER, exit_code
from tests.conftest import AFRICA
from tests.crawling import CONTACT, ROOT, replay, run_crawl, run_scrapy

ENDING = re.compile(r"^Crawl ended: (\w+) after [\d.]+ s \(exit status (\d+)\)$", re.M)
REDESIGNED = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Africa - News</title></head><body>
<main class="feed-v2"><article class="card"><a href="/20230120/a-new-design-1106600001.html">
A headline in a new design</a><time datetime="2023-01-20T10:00:00Z">10:00</time></article>
</main></body></html>
"""


def ending(stdout: str) -> tuple[str, int]:
    """The finish reason and exit status the crawl's last line states."""
    found = ENDING.findall(stdout)
    assert found, stdout[-2000:]
    reason, status = found[-1]
    return reason, int(status)


def test_a_finished_replay_says_so_and_exits_0(tmp_path: Path) -> None:
    run = replay(tmp_path / "wire.db")
    assert ending(run.stdout) == ("finished", 0)
    assert run.stdout.rstrip().splitlines()[-1].startswith("Crawl ended: finished after ")


def test_a_redesigned_section_page_ends_the_crawl_with_exit_6(tmp_path: Path) -> None:
    site = tmp_path / "redesigned"
    site.mkdir()
    for name in ("robots.txt", "robots.http.json", "section.http.json"):
        shutil.copy(AFRICA / name, site / name)
    (site / "section.html").write_text(REDESIGNED, encoding="utf-8")
    store = tmp_path / "wire.db"
    run = run_scrapy(
        "crawl", "africa", "-s", "FIXTURES_REPLAY=redesigned", "-s", f"STORE_PATH={store}",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 6, run.stderr[-3000:]
    assert ending(run.stdout) == ("layout_unrecognized", 6)
    assert "lists no article this parser recognizes" in run.stderr
    with sqlite3.connect(store) as db:
        reason, stats = db.execute("SELECT finish_reason, stats FROM crawls").fetchone()
        pages = db.execute("SELECT entries FROM listing_pages").fetchall()
    assert reason == "layout_unrecognized"
    assert pages == [(0,)]  # the page that showed the change is kept as evidence
    assert json.loads(stats)["finish_reason"] == "layout_unrecognized"


def test_an_unreachable_site_exits_1_with_the_replay_hint(tmp_path: Path) -> None:
    run = run_crawl(
        "-s", f"STORE_PATH={tmp_path / 'wire.db'}",
        "-s", "TWISTED_DNS_RESOLVER=tests.offline.NoNetworkResolver", "-s", f"CONTACT={CONTACT}",
        "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
    )  # fmt: skip
    assert run.returncode == 1
    assert ending(run.stdout) == ("unreachable", 1)
    assert "FIXTURES_REPLAY=fixtures/sputnikglobe-africa" in run.stderr


def test_every_finish_reason_has_its_own_status() -> None:
    codes = list(EXIT_CODES.values())
    assert len(set(codes)) == len(codes) and 2 not in codes and EXIT_OTHER not in codes
    assert exit_code("finished") == 0
    assert exit_code("closespider_timeout") == EXIT_OTHER


def test_the_readme_lists_every_exit_status() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n### ", 1)[0]
    rows = dict(re.findall(r"^\| `(\d+)` \| `?([\w ,`/*]+?)`? \|", section, re.M))
    expected = {str(code): reason for reason, code in EXIT_CODES.items()}
    for code, reason in expected.items():
        assert reason in rows.get(code, ""), (code, reason, rows)
    assert "2" in rows and str(EXIT_OTHER) in rows
