"""The store as a history: fixtures/sputnik-africa-t1, -t2, -t3 replayed in order into one store.

What each article does at each moment is in the sets' README tables. The recheck schedule is
judged at each recording's own time (``RECHECK_NOW``), so every known article is due.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from datasette.app import Datasette
from scrapy.settings import Settings
from sqlite_utils import Database

from crawler.goldens import article_fixtures
from crawler.history import recheck_urls
from crawler.settings import RECHECK_SCHEDULE
from domain.times import parse_iso
from store import EXPORT_KEYS, Store, load_metadata
from store.schedule import parse_schedule
from tests.crawling import ROOT, replay, run_crawl, run_scrapy
from tests.datasette_client import Client
from tests.mockserver import serve_fixture_set
from tests.test_store import article_fetch, make_article, make_crawl

SITE = "https://sputnikglobe.com"
T1, T2, T3 = "2023-02-01T12:00:00Z", "2023-02-02T12:00:00Z", "2023-02-03T12:00:00Z"
HEADLINE = f"{SITE}/20230201/zambia-signs-debt-restructuring-deal-with-creditors-1106600101.html"
PARAGRAPHS = (
    f"{SITE}/20230201/ghana-lawmakers-approve-revised-budget-with-higher-vat-1106600102.html"
)
CAPTION = (
    f"{SITE}/20230131/senegal-expects-first-lng-cargo-from-offshore-field-this-year-1106600103.html"
)
MODIFIED = f"{SITE}/20230131/uganda-declares-end-of-ebola-outbreak-1106600104.html"
MARKUP = (
    f"{SITE}/20230131/morocco-adds-high-speed-trains-between-tangier-and-casablanca-1106600105.html"
)
DELETED = f"{SITE}/20230131/kenya-warns-of-heavy-rain-in-central-highlands-1106600106.html"
REDIRECT = (
    f"{SITE}/20230131/malawi-receives-fertiliser-shipment-for-smallholder-farmers-1106600107.html"
)
DELISTED = f"{SITE}/20230130/namibia-central-bank-keeps-rate-unchanged-1106600108.html"
NEW1 = f"{SITE}/20230202/ethiopian-airlines-to-resume-flights-to-mekelle-1106600109.html"
NEW2 = f"{SITE}/20230202/suez-canal-revenue-rises-in-january-1106600110.html"
LOCAL_SPIDER = str(ROOT / "tests" / "local_section_spider.py")
OLD_TITLE = "Zambia Signs Debt Restructuring Deal With Creditors"
NEW_TITLE = "Zambia Reaches Preliminary Debt Deal With Some Creditors"


SETS = {moment: ROOT / "fixtures" / f"sputnik-africa-{moment}" for moment in ("t1", "t2", "t3")}
GOLDEN_PAGES = [
    (moment, name) for moment, folder in SETS.items() for name, _ in article_fixtures(folder)
]


def test_the_three_sets_hold_the_pages_their_readmes_list() -> None:
    assert [len([p for m, p in GOLDEN_PAGES if m == moment]) for moment in SETS] == [8, 8, 9]


def replay_moment(store: Path, moment: str, *args: str) -> None:
    """Replay one recording, judging the recheck schedule at its own time."""
    now = {"t1": T1, "t2": T2, "t3": T3}[moment]
    replay(
        store, "-s", f"RECHECK_NOW={now}", *args, fixture_set=f"fixtures/sputnik-africa-{moment}"
    )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store holding the three recordings, replayed in order."""
    store = tmp_path_factory.mktemp("history") / "wire.db"
    for moment in ("t1", "t2", "t3"):
        replay_moment(store, moment)
    return store


@pytest.fixture(scope="module")
def db(history: Path) -> Database:
    return Database(history)


@pytest.fixture(scope="module")
def client(history: Path) -> Iterator[Client]:
    client = Client(Datasette(files=[str(history)], metadata=load_metadata(history)))
    yield client
    client.close()


def rows(db: Database, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return list(db.query(sql, params or {}))


def test_each_article_has_exactly_its_versions(db: Database) -> None:
    found = {
        row["url"]: row["versions"]
        for row in rows(db, "SELECT url, versions FROM current_articles")
    }
    assert found == {
        HEADLINE: 2,
        PARAGRAPHS: 3,
        CAPTION: 2,
        MODIFIED: 1,
        MARKUP: 1,
        DELETED: 1,
        REDIRECT: 1,
        DELISTED: 1,
        NEW1: 1,
        NEW2: 1,
    }


def test_versions_are_numbered_and_linked_to_the_fetch_they_came_from(db: Database) -> None:
    found = rows(
        db,
        """SELECT a.url, v.version, v.created_at, f.fetched_at, f.requested_url, c.started_at
        FROM versions v JOIN articles a ON a.id = v.article_id JOIN fetches f ON f.id = v.fetch_id
        JOIN crawls c ON c.id = v.crawl_id WHERE a.url = :url ORDER BY v.version""",
        {"url": PARAGRAPHS},
    )
    assert [(r["version"], r["created_at"], r["fetched_at"]) for r in found] == [
        (1, T1, T1),
        (2, T2, T2),
        (3, T3, T3),
    ]
    assert {r["requested_url"] for r in found} == {PARAGRAPHS}
    current = rows(
        db, "SELECT version, title FROM current_articles WHERE url = :u", {"u": HEADLINE}
    )
    assert current == [{"version": 2, "title": NEW_TITLE}]


def test_new_articles_appear_at_t2(db: Database) -> None:
    found = rows(db, "SELECT url, first_seen FROM articles WHERE first_seen > :t1", {"t1": T1})
    assert sorted((r["url"], r["first_seen"]) for r in found) == [(NEW1, T2), (NEW2, T2)]


def test_unchanged_text_adds_a_fetch_and_last_seen_not_a_version(db: Database) -> None:
    for url in (MARKUP, MODIFIED):
        (article,) = rows(db, "SELECT * FROM articles WHERE url = :u", {"u": url})
        assert (article["first_seen"], article["last_seen"], article["status"]) == (T1, T3, "live")
        fetches = rows(
            db, "SELECT body_sha256 FROM fetches WHERE requested_url = :u ORDER BY id", {"u": url}
        )
        assert len(fetches) == 3
    # the markup-only change is another raw page with the same text
    bodies = rows(
        db, "SELECT DISTINCT body_sha256 FROM fetches WHERE requested_url = :u", {"u": MARKUP}
    )
    assert len(bodies) == 2


def change(db: Database, url: str, version: int) -> dict[str, Any]:
    (row,) = rows(
        db,
        """SELECT vc.* FROM version_changes vc JOIN articles a ON a.id = vc.article_id
        WHERE a.url = :url AND vc.version = :version""",
        {"url": url, "version": version},
    )
    return row


def test_headline_change_is_a_silent_edit(db: Database) -> None:
    row = change(db, HEADLINE, 2)
    assert (row["previous_version"], row["cause"], row["silent_edit"]) == (1, "crawl", 1)
    summary = json.loads(row["summary"])
    assert summary["fields"] == ["title"]
    assert summary["title"] == {"from": OLD_TITLE, "to": NEW_TITLE}
    assert summary["body"] == {"added": 0, "removed": 0, "rewritten": 0, "unchanged": 3}
    assert (summary["silent_edit"], summary["modified_only"]) == (True, False)


def test_a_paragraph_gained_and_one_lost_then_one_rewritten(db: Database) -> None:
    second = change(db, PARAGRAPHS, 2)
    assert json.loads(second["fields"]) == ["body", "modified_at"]
    keys = ("paragraphs_added", "paragraphs_removed", "paragraphs_rewritten", "silent_edit")
    assert [second[key] for key in keys] == [1, 1, 0, 0]
    assert (second["previous_modified_at"], second["modified_at"]) == (
        "2023-02-01T07:30:00Z",
        "2023-02-02T08:15:00Z",
    )
    third = change(db, PARAGRAPHS, 3)
    summary = json.loads(third["summary"])
    assert summary["previous_version"] == 2
    assert summary["body"] == {"added": 0, "removed": 0, "rewritten": 1, "unchanged": 3}


def test_a_swapped_caption(db: Database) -> None:
    row = change(db, CAPTION, 2)
    summary = json.loads(row["summary"])
    assert summary["fields"] == ["captions"]
    assert summary["captions"]["unchanged"] == 0
    assert summary["captions"]["added"] + summary["captions"]["rewritten"] == 1
    assert row["silent_edit"] == 1


def test_a_modified_time_alone_is_no_version_but_is_reported(db: Database) -> None:
    found = rows(db, "SELECT * FROM modified_only")
    assert [(r["url"], r["version"], r["observed_at"]) for r in found] == [(MODIFIED, 1, T2)]
    assert (found[0]["previous_modified_at"], found[0]["modified_at"]) == (
        "2023-01-31T15:20:00Z",
        "2023-02-02T06:05:00Z",
    )


def events(db: Database) -> list[tuple[str, str, str, int | None]]:
    found = rows(
        db,
        """SELECT a.url, e.kind, e.at, e.status FROM article_events e
        JOIN articles a ON a.id = e.article_id ORDER BY e.at, a.url, e.id""",
    )
    return [(r["url"], r["kind"], r["at"], r["status"]) for r in found]


def test_gone_live_and_delisted_events(db: Database) -> None:
    assert events(db) == [
        (DELISTED, "delisted", T2, 200),
        (DELETED, "gone", T2, 410),
        (REDIRECT, "gone", T2, 301),
        (DELETED, "live", T3, 200),
    ]
    status = {r["url"]: r["status"] for r in rows(db, "SELECT url, status FROM articles")}
    assert (status[DELETED], status[REDIRECT], status[DELISTED]) == ("live", "gone", "live")
    # the evidence is the fetch: the 301 redirect landed on the section page
    (gone,) = rows(
        db,
        """SELECT e.evidence, f.outcome, f.redirect_status, f.final_url FROM article_events e
        JOIN fetches f ON f.id = e.fetch_id WHERE e.kind = 'gone' AND e.status = 301""",
    )
    assert (gone["outcome"], gone["redirect_status"], gone["final_url"]) == (
        "redirected_away",
        301,
        f"{SITE}/africa/",
    )
    assert "to the section page" in gone["evidence"]


def test_versions_of_a_gone_article_stay(db: Database) -> None:
    (row,) = rows(
        db, "SELECT versions, version FROM current_articles WHERE url = :u", {"u": REDIRECT}
    )
    assert (row["versions"], row["version"]) == (1, 1)


def test_the_schedule_with_a_frozen_clock(history: Path) -> None:
    schedule = parse_schedule(RECHECK_SCHEDULE)

    def due(now: str) -> set[str]:
        with Store(history) as store:
            return set(store.due_for_recheck(parse_iso(now), schedule, "africa"))

    everything = {HEADLINE, PARAGRAPHS, CAPTION, MODIFIED, MARKUP, DELETED, REDIRECT, DELISTED}
    everything |= {NEW1, NEW2}
    assert due(T3) == set()  # all were just checked, none is under a day old
    assert due("2023-02-04T12:00:00Z") == everything  # all under a week old, a day since
    # Namibia (published 30 January) is over a week old: weekly now; the others still daily
    assert due("2023-02-06T20:00:00Z") == everything - {DELISTED}
    weekly = {DELISTED, REDIRECT, DELETED, MARKUP, MODIFIED}  # published before 31 Jan 17:00
    assert due("2023-02-07T17:00:00Z") == everything - weekly
    assert due("2023-02-10T12:00:00Z") == everything  # a week since the last check
    assert due("2023-03-05T12:00:00Z") == set()  # over thirty days old: never again
    with Store(history) as store:
        assert store.due_for_recheck(parse_iso(T3), schedule, "business") == []


def canned(client: Client, name: str, **params: str) -> list[dict[str, Any]]:
    return client.rows(f"/wire/{name}", **params)


def test_canned_changes_in_period(client: Client) -> None:
    found = canned(client, "changes_in_period", **{"from": "2023-02-02", "to": "2023-02-03"})
    assert [(r["url"], r["previous_version"], r["version"]) for r in found] == [
        (CAPTION, 1, 2),
        (PARAGRAPHS, 1, 2),
        (HEADLINE, 1, 2),
    ]
    everything = canned(client, "changes_in_period", **{"from": "", "to": ""})
    assert len(everything) == 4
    assert (everything[-1]["url"], everything[-1]["version"]) == (PARAGRAPHS, 3)


def test_canned_version_history(client: Client) -> None:
    found = canned(client, "version_history", url=PARAGRAPHS)
    assert [(r["version"], r["is_current"], r["created_at"], r["fetches"]) for r in found] == [
        (1, 0, T1, 1),
        (2, 0, T2, 1),
        (3, 1, T3, 1),
    ]
    assert [r["cause"] for r in found] == [None, "crawl", "crawl"]
    markup = canned(client, "version_history", url=MARKUP)
    assert [(r["version"], r["fetches"], r["last_seen"]) for r in markup] == [(1, 3, T3)]


def test_canned_side_by_side_diff(client: Client) -> None:
    found = canned(client, "version_diff", url=PARAGRAPHS, a="1", b="3")
    body = [r for r in found if r["part"] == "paragraph"]
    assert [(r["op"], r["left_position"], r["right_position"]) for r in body] == [
        ("unchanged", 0, 0),
        ("removed", 1, None),
        ("rewritten", 2, 1),
        ("unchanged", 3, 2),
        ("added", None, 3),
    ]
    rewritten = body[2]
    assert 0.5 <= rewritten["similarity"] < 1
    assert "households" in rewritten["left_text"] and "families" in rewritten["right_text"]
    assert canned(client, "version_diff", url=PARAGRAPHS, a="3", b="1") == found
    title = next(r for r in canned(client, "version_diff", url=HEADLINE, a="1", b="2"))
    assert (title["part"], title["op"], title["left_text"], title["right_text"]) == (
        "title",
        "changed",
        OLD_TITLE,
        NEW_TITLE,
    )


def test_canned_silent_edits(client: Client) -> None:
    found = canned(client, "silent_edits")
    assert sorted((r["url"], r["version"]) for r in found) == [(CAPTION, 2), (HEADLINE, 2)]


def test_canned_gone_and_delisted(client: Client) -> None:
    found = canned(client, "gone_and_delisted")
    assert [(r["url"], r["kind"], r["at"], r["status"]) for r in found] == [
        (DELISTED, "delisted", T2, 200),
        (DELETED, "gone", T2, 410),
        (REDIRECT, "gone", T2, 301),
        (DELETED, "live", T3, 200),
    ]
    assert [r["current_status"] for r in found] == ["live", "live", "gone", "live"]


def test_canned_listing_headlines(client: Client) -> None:
    found = canned(client, "listing_headlines")
    assert [(r["url"], r["listed_at"], r["listing_title"], r["article_title"]) for r in found] == [
        (HEADLINE, T2, OLD_TITLE, NEW_TITLE)
    ]
    assert found[0]["version"] == 2


@pytest.mark.parametrize(
    "path",
    [
        f"/wire/version_diff?{urlencode({'url': HEADLINE, 'a': 1, 'b': 2})}",
        "/wire/gone_and_delisted",
        "/wire/listing_headlines",
    ],
)
def test_history_pages_answer_html(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


def test_export_all_versions(history: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "store", "export", str(history), "--all-versions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 14
    assert all(list(record) == [*EXPORT_KEYS, "change"] for record in records)
    ghana = [r for r in records if r["url"] == PARAGRAPHS]
    assert [(r["version"], r["versions"]) for r in ghana] == [(1, 3), (2, 3), (3, 3)]
    assert ghana[0]["change"] is None
    assert ghana[1]["change"]["fields"] == ["body", "modified_at"]
    assert ghana[2]["change"]["body"]["rewritten"] == 1
    assert ghana[1]["provenance"]["fetched_at"] == T2
    assert len(ghana[1]["body"]) == 4


def test_recheck_none_fetches_only_what_is_listed(tmp_path: Path) -> None:
    store = tmp_path / "none.db"
    replay_moment(store, "t1")
    replay_moment(store, "t2", "-a", "recheck=none")
    db = Database(store)
    fetched = {
        r["requested_url"]
        for r in db.query("SELECT requested_url FROM fetches WHERE kind = 'article'")
    }
    t2_fetched = {
        r["requested_url"]
        for r in db.query(
            "SELECT requested_url FROM fetches WHERE kind = 'article' AND fetched_at = ?", [T2]
        )
    }
    assert DELETED in fetched and DELETED not in t2_fetched  # not listed at t2, not rechecked
    assert t2_fetched == {NEW1, NEW2, HEADLINE, PARAGRAPHS, CAPTION, MODIFIED, MARKUP}
    # not asked again, so not gone: off the listing while its last answer (t1) was a page
    assert [r["kind"] for r in db.query("SELECT kind FROM article_events")] == ["delisted"] * 3
    (crawl,) = db.query("SELECT arguments FROM crawls ORDER BY rowid DESC LIMIT 1")
    assert json.loads(crawl["arguments"])["recheck"] == "none"


def test_bad_recheck_argument_is_a_one_line_error() -> None:
    run = run_crawl("-a", "recheck=sometimes")
    assert run.returncode != 0
    assert "recheck must be one of schedule, all, none, not 'sometimes'" in run.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "RECHECK_SCHEDULE=7d:1d,1d:every",
            "error: RECHECK_SCHEDULE=7d:1d,1d:every: rule '1d:every': ages must grow",
        ),
        ("RECHECK_NOW=yesterday", "error: RECHECK_NOW=yesterday: not an ISO 8601 time"),
    ],
)
def test_bad_recheck_settings_stop_the_crawl_before_it_starts(
    tmp_path: Path, setting: str, message: str
) -> None:
    run = run_crawl("-s", setting, "-s", f"STORE_PATH={tmp_path / 'w.db'}")
    assert run.returncode != 0
    assert message in run.stderr
    assert not (tmp_path / "w.db").exists()


def test_the_summary_counts_the_events(history: Path) -> None:
    with Store(history) as store:
        assert store.summary()["events"] == {"gone": 2, "live": 1, "delisted": 1, "relisted": 0}


def test_a_real_redirect_to_the_section_page_marks_a_known_article_gone(tmp_path: Path) -> None:
    """Over HTTP: a 302 with a relative Location, followed by Scrapy's RedirectMiddleware."""
    site = tmp_path / "site"
    shutil.copytree(SETS["t1"], site)
    sidecar = site / "article-1106600107.http.json"
    recorded = json.loads(sidecar.read_text(encoding="utf-8"))
    recorded.update(status=302, headers={"Location": "/africa/"})
    sidecar.write_text(json.dumps(recorded), encoding="utf-8")
    store_path = tmp_path / "wire.db"
    with serve_fixture_set(site) as port:
        known = make_article(f"http://127.0.0.1:{port}{urlsplit(REDIRECT).path}")
        with Store(store_path) as store:
            store.begin_crawl(make_crawl("earlier", T1))
            store.save_article(article_fetch(known, "earlier", T1), known)
            store.finish_crawl("earlier", T1, "finished", {})
        run = run_scrapy(
            "runspider", LOCAL_SPIDER, "-a", f"section_url=http://127.0.0.1:{port}/africa/",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", f"STORE_PATH={store_path}",
            "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    db = Database(store_path)
    (fetch,) = db.query(
        "SELECT * FROM fetches WHERE requested_url = ? AND crawl_id != 'earlier'", [known.url]
    )
    assert (fetch["outcome"], fetch["status"], fetch["redirect_status"]) == (
        "redirected_away",
        200,
        302,
    )
    assert fetch["final_url"] == f"http://127.0.0.1:{port}/africa/"
    assert events(db) == [(known.url, "gone", fetch["fetched_at"], 302)]


def test_recheck_modes_read_from_the_store(history: Path, tmp_path: Path) -> None:
    base = {"STORE_PATH": str(history), "RECHECK_SCHEDULE": RECHECK_SCHEDULE}
    weekly_due = Settings({**base, "RECHECK_NOW": "2023-02-07T17:00:00Z"})
    assert set(recheck_urls(weekly_due, "africa", "schedule")) == {
        HEADLINE,
        PARAGRAPHS,
        CAPTION,
        NEW1,
        NEW2,
    }
    assert len(recheck_urls(weekly_due, "africa", "all")) == 10
    assert recheck_urls(weekly_due, "africa", "none") == []
    long_after = Settings({**base, "RECHECK_NOW": "2024-01-01T00:00:00Z"})
    assert recheck_urls(long_after, "africa", "schedule") == []
    assert len(recheck_urls(long_after, "africa", "all")) == 10
    no_store = Settings({**base, "STORE_PATH": str(tmp_path / "new.db")})
    assert recheck_urls(no_store, "africa", "all") == []
    assert not (tmp_path / "new.db").exists()
