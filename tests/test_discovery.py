"""Discovery through the real engine: robots.txt obeyed and kept, every source of the
real-shaped set (fixtures/sputnikglobe-africa), provenance, out-of-section candidates, since,
and layout drift ending a crawl with its own reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from protego import Protego
from scrapy.utils.test import get_crawler
from sqlite_utils import Database

from crawler.commands.crawl import EXIT_CODES
from crawler.discovery.archive import archive_days
from crawler.discovery.robots import disallowed_path
from crawler.fixtures import index_fixture_set
from crawler.goldens import article_fixtures, decoded_text
from crawler.sites import UnparseablePage, parse_article
from crawler.sites.feeds import parse_feed
from crawler.sites.sitemaps import SitemapRef, parse_sitemap, sitemaps_to_read
from crawler.spiders.africa import AfricaSpider
from domain.pages import ListingEntry
from tests.conftest import AFRICA, FIXTURES
from tests.crawling import ROOT, CrawlRun, run_crawl
from tests.drift import make_drift_set

SITE = FIXTURES / "sputnikglobe-africa"
SET = "fixtures/sputnikglobe-africa"


def crawl(store: Path, fixture_set: str = SET, *args: str) -> CrawlRun:
    return run_crawl("-s", f"FIXTURES_REPLAY={fixture_set}", "-s", f"STORE_PATH={store}",
                     "-s", "STORE_SUMMARY=False", *args)  # fmt: skip


def stats(store: Path, crawl_index: int = -1) -> dict[str, Any]:
    rows = list(Database(store).query("SELECT stats FROM crawls ORDER BY started_at, rowid"))
    data: dict[str, Any] = json.loads(rows[crawl_index]["stats"])
    return data


def section_articles(folder: Path, section: str = "africa") -> set[str]:
    """The article pages of a set that name the section themselves (rubric or tag)."""
    return {
        fixture.url
        for _, fixture in article_fixtures(folder)
        if parse_article(fixture.url, decoded_text(fixture)).in_section(section)
    }


@pytest.fixture(scope="module")
def routine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("routine") / "wire.db"
    run = crawl(store)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Crawl ended: finished" in run.stdout
    return store


def test_no_request_under_a_disallowed_path_is_ever_made(routine: Path) -> None:
    db = Database(routine)
    services = list(db.query("SELECT * FROM fetches WHERE requested_url LIKE '%/services/%'"))
    assert {row["source"] for row in services} == {"section", "archive"}
    for row in services:
        assert row["outcome"] == "refused" and row["status"] is None
        assert row["body_sha256"] is None
        assert row["error"] == "IgnoreRequest: Forbidden by robots.txt: /services/"
    # every response the replay served is a stored fetch: none of them is under /services/
    answered = db.execute("SELECT count(*) FROM fetches WHERE status IS NOT NULL").fetchone()[0]
    assert stats(routine)["fixtures/replay/served"] == answered
    assert stats(routine)["robotstxt/forbidden/section/services/"] == 1
    assert stats(routine)["robotstxt/forbidden/archive/services/"] == 1


def test_candidates_are_requested_in_bounded_batches(routine: Path, tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    run = crawl(store, SET, "-s", "DISCOVERY_BATCH=2")
    assert run.returncode == 0, run.stderr[-3000:]
    assert stats(store)["wire/discovery/backlog_max"] > 2
    assert stats(store)["wire/health"] == "not_judged"  # judged once, at the very end
    articles = "SELECT url FROM articles ORDER BY url"
    assert list(Database(store).query(articles)) == list(Database(routine).query(articles))


@pytest.mark.parametrize(("frontier", "now"), [(None, 2), ("redis://127.0.0.1:1/0", 5)])
def test_a_distributed_worker_holds_no_candidate_back(frontier: str | None, now: int) -> None:
    """A crawl of one process queues DISCOVERY_BATCH candidates and keeps the rest as URLs; a
    worker of a distributed crawl queues them all in Redis: one it held back would be lost
    with it, the lease of the page that listed it being over."""
    settings = {"DISCOVERY_BATCH": 2, "FRONTIER_URL": frontier}
    spider = AfricaSpider.from_crawler(get_crawler(AfricaSpider, settings))
    candidates = [(f"https://sputnikglobe.com/20230101/a-{i}.html", "sitemap") for i in range(5)]
    requests = list(spider.article_requests(candidates))
    assert [request.url for request in requests] == [url for url, _ in candidates[:now]]
    assert list(spider.backlog) == candidates[now:]


def test_robots_txt_is_a_stored_fetch(routine: Path) -> None:
    db = Database(routine)
    (robots,) = db.query("SELECT * FROM fetches WHERE kind = 'robots'")
    assert robots["requested_url"] == "https://sputnikglobe.com/robots.txt"
    assert robots["outcome"] == "ok" and robots["status"] == 200
    body = db.execute("SELECT sha256 FROM bodies WHERE sha256 = ?", [robots["body_sha256"]])
    assert body.fetchone() is not None


def test_every_article_of_the_section_is_found_with_services_disallowed(routine: Path) -> None:
    stored = {row["url"] for row in Database(routine).query("SELECT url FROM articles")}
    wanted = {url for url in section_articles(SITE) if "/2023" in url}  # the routine window
    assert stored == wanted
    assert len(stored) == 18


def test_out_of_section_candidates_are_recorded_and_not_stored(routine: Path) -> None:
    db = Database(routine)
    out = {row["requested_url"]: row for row in db.query(
        "SELECT * FROM fetches WHERE outcome = 'out_of_section'")}  # fmt: skip
    expected = {f.url for _, f in article_fixtures(SITE)} - section_articles(SITE)
    assert set(out) == expected and len(expected) == 2
    for url, row in out.items():
        assert row["body_sha256"] is not None and "not in section africa" in row["error"]
        assert not list(db.query("SELECT 1 FROM articles WHERE url = ?", [url]))


def test_each_article_records_how_it_was_first_found(routine: Path) -> None:
    db = Database(routine)
    rows = {row["url"]: row for row in db.query("SELECT * FROM article_discovery")}
    assert set(rows) == {row["url"] for row in db.query("SELECT url FROM articles")}
    for row in rows.values():
        assert row["first_source"] in {"section", "rss", "sitemap", "archive"}
        assert row["first_fetch_id"] and row["listed_at"] and row["position"] is not None
    senegal = next(row for url, row in rows.items() if url.endswith("-1106470300.html"))
    assert (senegal["first_source"], senegal["sources"]) == ("archive", "archive")
    assert senegal["listing_url"] == "https://sputnikglobe.com/20230118/"


def test_the_coverage_query_shows_what_each_source_found_alone(routine: Path) -> None:
    metadata = (ROOT / "store" / "metadata.yml").read_text(encoding="utf-8")
    assert "discovery_coverage:" in metadata
    from store.metadata import read_yaml

    queries = read_yaml()["databases"]["wire"]["queries"]
    rows = {
        row["source"]: row
        for row in Database(routine).query(queries["discovery_coverage"]["sql"], {"crawl": ""})
    }
    assert {s: (r["articles"], r["only_this_source"]) for s, r in rows.items()} == {
        "archive": (8, 1),
        "rss": (7, 0),
        "section": (6, 0),
        "sitemap": (16, 10),
    }
    refusals = list(Database(routine).query(queries["robots_refusals"]["sql"], {"crawl": ""}))
    assert {(r["source"], r["disallowed"], r["refused"]) for r in refusals} == {
        ("section", "/services/", 1),
        ("archive", "/services/", 1),
    }


@pytest.mark.parametrize("name", ["discovery_coverage", "robots_refusals", "health_by_crawl"])
def test_the_discovery_queries_answer_in_datasette(routine: Path, name: str) -> None:
    from datasette.app import Datasette

    from store import load_metadata
    from tests.datasette_client import Client

    client = Client(Datasette(files=[str(routine)], metadata=load_metadata(routine)))
    params = {} if name == "health_by_crawl" else {"crawl": ""}
    assert client.rows(f"/wire/{name}", **params)


def sitemap_fetches(store: Path, crawl_index: int = -1) -> set[str]:
    db = Database(store)
    crawls = [r["id"] for r in db.query("SELECT id FROM crawls ORDER BY started_at, rowid")]
    return {
        row["requested_url"].split("date_start=")[1][:6]
        for row in db.query(
            "SELECT requested_url FROM fetches WHERE kind = 'sitemap' AND crawl_id = ? "
            "AND requested_url LIKE '%date_start=%'",
            [crawls[crawl_index]],
        )
    }


def test_a_routine_run_reads_only_the_newest_sitemap_month(routine: Path) -> None:
    assert sitemap_fetches(routine) == {"202301"}
    assert stats(routine)["wire/sitemap/months_skipped"] == 2


def test_since_bounds_the_sitemap_months(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    run = crawl(store, SET, "-a", "since=2022-12-20")
    assert run.returncode == 0, run.stderr[-3000:]
    assert sitemap_fetches(store) == {"202212", "202301"}
    urls = {row["url"] for row in Database(store).query("SELECT url FROM articles")}
    assert any(url.endswith("-1105990000.html") for url in urls)  # December's
    assert not any(url.endswith("-1105800000.html") for url in urls)  # November's


def test_since_stops_the_listing_at_articles_already_stored(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    africa = f"fixtures/{AFRICA.name}"
    for args in ((), ("-a", "since=2023-01-01")):
        run = crawl(store, africa, "-s", "DISCOVERY_SOURCES=", "-s", "RECHECK_SCHEDULE=", *args)
        assert run.returncode == 0, run.stderr[-3000:]
    listings = list(Database(store).query(
        "SELECT requested_url FROM fetches WHERE kind IN ('section', 'listing')"))  # fmt: skip
    assert len(listings) == 3 + 1  # the first crawl read all three pages, the second one
    assert stats(store)["wire/listing/known_page"] == 1


def test_a_redesigned_section_page_ends_the_crawl_layout_unrecognized(tmp_path: Path) -> None:
    run = crawl(tmp_path / "w.db", "fixtures/sputnikglobe-africa-redesign")
    assert run.returncode == EXIT_CODES["layout_unrecognized"] == 6
    assert "Crawl ended: layout_unrecognized" in run.stdout
    assert "lists no article this parser recognizes" in run.stderr
    (row,) = Database(tmp_path / "w.db").query("SELECT finish_reason FROM crawls")
    assert row["finish_reason"] == "layout_unrecognized"


def store_health(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "store", "health", str(store), *args],
                          capture_output=True, text=True, cwd=ROOT, check=False)  # fmt: skip


def test_a_coverage_drop_ends_the_crawl_and_store_health_says_so(tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    first = crawl(store)
    assert first.returncode == 0, first.stderr[-3000:]
    healthy = store_health(store)
    assert healthy.returncode == 0 and "coverage not judged" in healthy.stdout
    drift = crawl(store, str(make_drift_set(tmp_path / "drift")))
    assert drift.returncode == EXIT_CODES["coverage_dropped"] == 9, drift.stderr[-3000:]
    assert "Crawl ended: coverage_dropped" in drift.stdout
    assert "Coverage dropped against the last 1 crawls: recognized 22%" in drift.stderr
    dropped = store_health(store)
    assert dropped.returncode == 1
    lines = dropped.stdout.splitlines()
    header = "crawl started ended pages read recognized title date body dateline captions tags"
    assert lines[0].split() == header.split()
    # the drifted pages are read by the generic extractor: read, but not recognized
    assert lines[1].split()[2:6] == ["coverage_dropped", "18", "18", "22%"]
    assert lines[3].split()[2:6] == ["finished", "18", "18", "100%"]
    assert lines[-1].startswith(
        "coverage dropped: recognized 22% (recent crawls: 100%); dateline 22%"
    )
    # judged against the crawl before the drop, the first one is fine
    (first_id,) = [r["id"] for r in Database(store).query(
        "SELECT id FROM crawls WHERE finish_reason = 'finished'")]  # fmt: skip
    assert store_health(store, "--crawl", first_id).returncode == 0


def test_a_healthy_crawl_after_a_healthy_one_is_judged_ok(routine: Path, tmp_path: Path) -> None:
    store = tmp_path / "w.db"
    store.write_bytes(routine.read_bytes())
    again = crawl(store)
    assert again.returncode == 0, again.stderr[-3000:]
    report = store_health(store, "--last", "3")
    assert report.returncode == 0
    assert report.stdout.splitlines()[-1] == "coverage ok against the last 1 crawls"


# The parsers and rules, without the engine


def test_the_sitemap_parser_refuses_what_is_no_sitemap() -> None:
    for body in (b"<html><body>Just a moment...</body></html>", b"", b"<rss version='2.0'/>"):
        with pytest.raises(UnparseablePage):
            parse_sitemap("https://sputnikglobe.com/sitemap_article_index.xml", body)
    with pytest.raises(UnparseablePage, match="no entry that has a <loc>"):
        parse_sitemap(
            "https://x.test/s.xml", b"<urlset><url><lastmod>2023</lastmod></url></urlset>"
        )
    with pytest.raises(UnparseablePage, match="without a usable <loc>"):
        parse_sitemap(
            "https://x.test/s.xml", b"<urlset><url><loc>http://[oops/</loc></url></urlset>"
        )


def test_the_sitemap_index_gives_its_monthly_windows() -> None:
    index = index_fixture_set(SITE)
    fixture = next(f for f in index.values() if f.url.endswith("sitemap_article_index.xml"))
    sitemap = parse_sitemap(fixture.url, fixture.body())
    assert sitemap.kind == "index"
    assert [(ref.start.isoformat(), ref.end.isoformat()) for ref in sitemap.sitemaps
            if ref.start and ref.end] == [("2022-11-01", "2022-11-30"),
                                         ("2022-12-01", "2022-12-31"),
                                         ("2023-01-01", "2023-01-31")]  # fmt: skip


def test_which_sitemaps_a_crawl_reads() -> None:
    from datetime import date

    refs = [SitemapRef(f"https://x.test/{m}", None, date(2022, m, 1), date(2022, m, 28))
            for m in (10, 11, 12)] + [SitemapRef("https://x.test/undated", None)]  # fmt: skip
    assert [r.url for r in sitemaps_to_read(refs, None)] == ["https://x.test/12",
                                                             "https://x.test/undated"]  # fmt: skip
    assert [r.url for r in sitemaps_to_read(refs, date(2022, 11, 28))] == [
        "https://x.test/12", "https://x.test/11", "https://x.test/undated"]  # fmt: skip


def test_the_feed_parser_refuses_what_is_no_feed() -> None:
    for body in (b"<html><body>Access denied</body></html>", b"<urlset/>", b"\x00\x01"):
        with pytest.raises(UnparseablePage, match="not an RSS or Atom feed"):
            parse_feed("https://sputnikglobe.com/export/rss2/archive/index.xml", body)
    feed = b"<rss version='2.0'><channel><item><title>No link</title></item></channel></rss>"
    with pytest.raises(UnparseablePage, match="without a usable <link>"):
        parse_feed("https://x.test/rss", feed)


def test_the_feed_parser_reads_links_and_times() -> None:
    fixture = next(f for f in index_fixture_set(SITE).values() if f.url.endswith("index.xml")
                   and "rss2" in f.url)  # fmt: skip
    page = parse_feed(fixture.url, fixture.body())
    assert len(page.entries) == 8
    first = page.entries[0]
    assert first.url.endswith("-1106531190.html") and first.listed_at == "2023-01-20T11:50:00Z"
    assert first.listed_raw == "Fri, 20 Jan 2023 11:50:00 +0000"


def test_the_refused_rule_is_named_by_its_path() -> None:
    rules = Protego.parse("User-agent: *\nDisallow: /services/\nDisallow: /*-print.html\n")

    class Parser:
        def allowed(self, url: str, useragent: str | bytes) -> bool:
            return bool(rules.can_fetch(url, str(useragent)))

    url = "https://sputnikglobe.com/services/africa/more.html?id=1&date=2"
    assert disallowed_path(Parser(), url, "wirearchive") == "/services/"  # type: ignore[arg-type]
    printed = "https://sputnikglobe.com/20230120/story-1-print.html"
    assert disallowed_path(Parser(), printed, "wirearchive") == "/20230120/story-1-print.html"  # type: ignore[arg-type]


def test_day_archives_cover_the_section_pages_days() -> None:
    from datetime import date

    entries = [ListingEntry(f"u{i}", None, f"2023-01-{d}T10:00:00Z", None, i)
               for i, d in enumerate((20, 19, 16))]  # fmt: skip
    assert [d.isoformat() for d in archive_days(entries, None)] == [
        "2023-01-20", "2023-01-19", "2023-01-18", "2023-01-17", "2023-01-16"]  # fmt: skip
    assert [d.day for d in archive_days(entries, date(2023, 1, 19))] == [20, 19]
    assert archive_days([], None) == []
