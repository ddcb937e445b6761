"""Politeness through the real engine against tests.mockserver: robots.txt's Crawl-delay, a
host's Retry-After pause, and the contact in the User-Agent.

Time bounds here are only "nothing happened before N s", read from the server's own clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from scrapy.core.downloader import Slot
from scrapy.settings import Settings
from sqlite_utils import Database

from crawler.politeness import (
    ContactAddon,
    contact_problem,
    contact_usage_error,
    slot_floor,
)
from tests.conftest import AFRICA
from tests.crawling import ROOT, run_crawl, run_scrapy
from tests.mockserver import read_log, serve_fixture_set
from tests.test_faults import article_path

LOCAL_SPIDER = str(ROOT / "tests" / "local_section_spider.py")
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")
CRAWL_DELAY = 1.5
PAUSE = 2  # the Retry-After of the 429, in seconds
MARGIN = 0.1  # seconds of clock and network slack in a "not before" bound
FIRST_ARTICLE = "1106052640"  # early in the listing: many requests follow it
# One request at a time: Scrapy 2.19 enforces a slot's concurrency only with a delay (with
# none, a queue of requests leaves the slot at once), and a request already on its way when
# the 429 arrives cannot be called back.
ONE_AT_A_TIME = (
    "-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
)  # fmt: skip


@dataclass
class PoliteCrawl:
    """A finished crawl: its finish reason, stats, fetches and what the server saw."""

    finish_reason: str
    stats: dict[str, Any]
    fetches: list[dict[str, Any]]
    log: list[dict[str, Any]]


def polite_crawl(
    folder: Path, faults: dict[str, list[dict[str, Any]]], *settings: str
) -> PoliteCrawl:
    """Crawl the recorded section from the fault server into ``folder/w.db``."""
    log = folder / "requests.jsonl"
    with serve_fixture_set(AFRICA, faults, log) as port:
        run = run_scrapy(
            "runspider", LOCAL_SPIDER, "-a", f"section_url=http://127.0.0.1:{port}/africa/",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", "STORE_PATH=w.db", *settings,
            cwd=folder, timeout=120,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    db = Database(folder / "w.db")
    (crawl,) = list(db.query("select stats, finish_reason from crawls"))
    fetches = list(db.query("select requested_url, outcome, status, error from fetches"))
    return PoliteCrawl(crawl["finish_reason"], json.loads(crawl["stats"]), fetches, read_log(log))


# -- Crawl-delay ------------------------------------------------------------------------------


def test_robots_crawl_delay_spaces_every_request_to_the_host(tmp_path: Path) -> None:
    """AutoThrottle on, starting from no delay: the Crawl-delay still holds between requests."""
    robots = f"User-agent: *\nCrawl-delay: {CRAWL_DELAY}\nDisallow: /private/\n"
    crawl = polite_crawl(
        tmp_path, {"/robots.txt": [{"body": robots}]},
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=True",
        "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4",
        "-s", "CLOSESPIDER_PAGECOUNT=5",
    )  # fmt: skip
    times = [entry["time"] for entry in crawl.log]
    assert crawl.log[0]["path"] == "/robots.txt" and len(times) >= 5
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert min(gaps) >= CRAWL_DELAY - MARGIN, gaps
    assert crawl.stats["robotstxt/crawl_delay/127.0.0.1"] == CRAWL_DELAY


@pytest.mark.parametrize(
    ("delay", "jitter", "crawl_delay", "after"),
    [
        (3.0, 0.5, 1.0, (3.0, 0.5)),  # a longer configured delay is kept, jitter and all
        (3.0, 0.5, 2.0, (3.0, 1 / 3)),  # the jitter narrowed: the shortest wait is 2 s
        (0.5, 0.5, 5.0, (5.0, 0.0)),  # raised to the Crawl-delay, no wait below it
    ],
)
def test_a_crawl_delay_never_lowers_a_slot_delay(
    delay: float, jitter: float, crawl_delay: float, after: tuple[float, float]
) -> None:
    slot = Slot(concurrency=2, delay=delay, jitter=jitter)
    slot_floor(slot, crawl_delay)
    assert (slot.delay, slot.jitter) == pytest.approx(after)
    assert slot.delay * (1 - slot.jitter) >= crawl_delay - 1e-9


# -- Retry-After pauses the host --------------------------------------------------------------


def test_a_429_with_retry_after_pauses_the_whole_host(tmp_path: Path) -> None:
    faults = {article_path(FIRST_ARTICLE): [{"status": 429, "headers": {"Retry-After": PAUSE}}, {}]}
    crawl = polite_crawl(tmp_path, faults, *ONE_AT_A_TIME)
    (refused_at,) = [e["time"] for e in crawl.log if e["rule"] == 0 and "-1106052640" in e["path"]]
    during = [e["path"] for e in crawl.log if refused_at < e["time"] < refused_at + PAUSE - MARGIN]
    assert during == []  # no request of any kind reached the host during the pause
    later = [e for e in crawl.log if e["time"] > refused_at]
    assert len(later) > 5  # the crawl went on after the pause
    assert crawl.finish_reason == "finished"
    assert crawl.stats["host_pause/pauses"] == 1
    assert crawl.stats["host_pause/waits"] >= 1


def test_a_retry_after_over_the_cap_ends_the_crawl(tmp_path: Path) -> None:
    faults = {article_path(FIRST_ARTICLE): [{"status": 429, "headers": {"Retry-After": 3600}}]}
    crawl = polite_crawl(tmp_path, faults, *ONE_AT_A_TIME)
    (refused_at,) = [e["time"] for e in crawl.log if "-1106052640" in e["path"]]
    assert [e["path"] for e in crawl.log if e["time"] > refused_at] == []
    assert crawl.finish_reason == "rate_limited"
    (fetch,) = [f for f in crawl.fetches if "-1106052640" in f["requested_url"]]
    assert (fetch["outcome"], fetch["status"]) == ("gave_up", 429)
    assert "over RETRY_AFTER_MAX" in fetch["error"]
    assert crawl.stats["host_pause/over_max"] == 1
    refused = [f["error"] for f in crawl.fetches if f["outcome"] == "refused"]
    # whatever was already queued for the host is refused, never sent
    assert all("asked for a pause over RETRY_AFTER_MAX" in error for error in refused), refused


# -- the contact --------------------------------------------------------------------------------


def test_the_user_agent_names_the_contact(tmp_path: Path) -> None:
    crawl = polite_crawl(
        tmp_path,
        {},
        *FAST,
        "-s",
        "CONTACT=archive-ops@newsroom.org",
        "-s",
        "CLOSESPIDER_PAGECOUNT=2",
    )
    agents = {entry["agent"] for entry in crawl.log}
    assert agents == {"wirearchive/0.1.0 (news wire archiving; +archive-ops@newsroom.org)"}


@pytest.mark.parametrize(
    "setting",
    [(), ("-s", "CONTACT=you@example.com"), ("-s", "CONTACT=ops"), ("-s", "CONTACT=ftp://a.org")],
)
def test_a_live_crawl_without_a_real_contact_is_a_usage_error(
    tmp_path: Path, setting: tuple[str, ...]
) -> None:
    run = run_crawl("-s", f"STORE_PATH={tmp_path / 'w.db'}", *setting)
    assert run.returncode == 2
    assert run.stderr.startswith("error: CONTACT="), run.stderr
    assert len(run.stderr.splitlines()) == 1 and "-s CONTACT=you@your-domain" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "w.db").exists()  # nothing opened, nothing fetched


@pytest.mark.parametrize(
    ("contact", "problem"),
    [
        ("archive-ops@newsroom.org", None),
        ("mailto:archive-ops@newsroom.org", None),
        ("https://newsroom.org/crawler", None),
        (None, "no contact"),
        ("  ", "no contact"),
        ("ops", "'ops' is neither an email address nor an http(s) URL"),
        ("ops@localhost", "'ops@localhost' is neither an email address nor an http(s) URL"),
        ("you@example.com", "'you@example.com' is a placeholder, not your contact"),
        (
            "https://www.example.org/",
            "'https://www.example.org/' is a placeholder, not your contact",
        ),
        ("me@box.invalid", "'me@box.invalid' is a placeholder, not your contact"),
        (
            "https://github.com/wirearchive/wirearchive",
            "'https://github.com/wirearchive/wirearchive' is a placeholder, not your contact",
        ),
    ],
)
def test_a_contact_is_an_email_address_or_a_url_of_someone(
    contact: str | None, problem: str | None
) -> None:
    assert contact_problem(contact) == problem


def test_a_replay_needs_no_contact() -> None:
    assert contact_usage_error(Settings({"FIXTURES_REPLAY": "fixtures/sputnik-africa"})) is None
    assert contact_usage_error(Settings({})) is not None


def test_the_user_agent_keeps_the_name_robots_rules_match_without_a_contact() -> None:
    settings = Settings({"USER_AGENT": "ignored"})
    ContactAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "wirearchive/0.1.0 (news wire archiving)"
