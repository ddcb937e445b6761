"""The pure parts of the history (diffs, schedule) and the store's events, on hand-made records."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_store import (
    SITE,
    T1,
    T2,
    T3,
    article_fetch,
    failed_fetch,
    make_article,
    make_crawl,
    revise,
)

from domain.pages import ListingEntry, ListingPage
from domain.records import FetchRecord
from domain.times import parse_iso
from store import Store
from store import diff as diff_module
from store.diff import (
    LOOKAHEAD,
    AlignBudget,
    DiffRow,
    VersionText,
    align,
    diff_versions,
    similarity,
)
from store.schedule import ScheduleError, parse_duration, parse_schedule

# -- diffs ------------------------------------------------------------------------------------

P = [
    "The ministry announced the plan on Monday.",
    "Critics said it came too late.",
    "The first payments are due in March.",
]


def ops(rows: list[DiffRow]) -> list[tuple[str, int | None, int | None]]:
    return [(r.op, r.left_position, r.right_position) for r in rows]


def test_paragraphs_added_removed_rewritten_and_unchanged() -> None:
    new = [P[0], "The first payments are now due in April.", "A fourth paragraph."]
    rows = align("paragraph", P, new)
    assert ops(rows) == [
        ("unchanged", 0, 0),
        ("removed", 1, None),
        ("rewritten", 2, 1),
        ("added", None, 2),
    ]
    assert 0.5 <= rows[2].similarity < 1


def test_unrelated_paragraphs_are_a_removal_and_an_addition() -> None:
    rows = align("paragraph", ["Alpha beta gamma."], ["Completely different words here."])
    assert ops(rows) == [("removed", 0, None), ("added", None, 0)]


def test_similarity_is_by_words() -> None:
    assert similarity("a b c d", "a b c d") == 1.0
    assert similarity("a b c d", "a b x d") == 0.75
    assert similarity("a b", "c d") == 0.0


def test_a_silent_edit_and_a_modified_only_change() -> None:
    old = VersionText(title="Old", body=P, modified_at="2024-05-01T11:00:00Z")
    edited = dataclasses.replace(old, title="New")
    diff = diff_versions(old, edited)
    assert diff.fields() == ["title"]
    assert (diff.silent_edit, diff.modified_only) == (True, False)
    assert diff.summary()["title"] == {"from": "Old", "to": "New"}
    touched = dataclasses.replace(old, modified_at="2024-05-02T08:00:00Z")
    diff = diff_versions(old, touched)
    assert (diff.fields(), diff.silent_edit, diff.modified_only) == (["modified_at"], False, True)
    both = dataclasses.replace(edited, modified_at="2024-05-02T08:00:00Z")
    assert not diff_versions(old, both).silent_edit


def test_every_field_is_compared() -> None:
    old = VersionText("T", "L", "D", P, ["c | x"], ["r | u"], ["a", "b"], "p1", "m1")
    new = VersionText("T", None, "D2", P, ["c2 | x"], ["r | u"], ["b", "c"], "p2", "m1")
    diff = diff_versions(old, new)
    assert diff.fields() == ["lead", "dateline", "captions", "tags", "published_at"]
    summary = diff.summary()
    assert summary["lead"] == {"from": "L", "to": None}
    assert summary["tags"] == {"added": 1, "removed": 1, "rewritten": 0, "unchanged": 1}


@given(
    st.lists(st.text(st.sampled_from("ab "), max_size=8), max_size=6),
    st.lists(st.text(st.sampled_from("ab "), max_size=8), max_size=6),
)
def test_an_alignment_accounts_for_every_item_once_in_order(
    left: list[str], right: list[str]
) -> None:
    rows = align("paragraph", left, right)
    lefts = [r.left_position for r in rows if r.left_position is not None]
    rights = [r.right_position for r in rows if r.right_position is not None]
    assert lefts == list(range(len(left)))
    assert rights == list(range(len(right)))
    paired = [r for r in rows if r.op in ("unchanged", "rewritten")]
    assert all((r.op == "unchanged") == (r.left_text == r.right_text) for r in paired)


def rewritten_body(count: int) -> tuple[list[str], list[str]]:
    """``count`` paragraphs, and each of them with one word changed (all similar to each other:
    the worst case for pairing)."""
    old = [f"Paragraph {n} on water in the region, officials said on Monday." for n in range(count)]
    return old, [paragraph.replace("Monday", "Tuesday") for paragraph in old]


def test_every_paragraph_rewritten_is_aligned_within_the_budget() -> None:
    old, new = rewritten_body(200)
    diff = diff_versions(VersionText(body=old), VersionText(body=new))
    assert diff.counts("paragraph") == {"added": 0, "removed": 0, "rewritten": 200, "unchanged": 0}
    assert diff.too_large() == []
    assert "too_large_to_align" not in diff.summary()


def test_a_list_over_the_budget_is_one_too_large_row_with_unknown_counts() -> None:
    old, new = rewritten_body(2_000)
    diff = diff_versions(VersionText(title="T", body=old), VersionText(title="T", body=new))
    (row,) = [r for r in diff.rows if r.part == "paragraph"]
    assert (row.op, row.left_position, row.right_position) == ("too_large", 2_000, 2_000)
    assert diff.too_large() == ["body"]
    assert diff.fields() == ["body"]
    assert diff.text_changed
    summary = diff.summary()
    assert summary["too_large_to_align"] == ["body"]
    assert summary["body"] == {"added": None, "removed": None, "rewritten": None, "unchanged": None}


def test_unchanged_lists_of_any_length_cost_nothing() -> None:
    old, _ = rewritten_body(20_000)
    budget = AlignBudget(pairs=0, characters=0)
    rows = align("paragraph", old, list(old), budget)
    assert len(rows) == 20_000 and {r.op for r in rows} == {"unchanged"}


def test_one_paragraph_repeated_costs_its_square_and_is_too_large() -> None:
    old = ["Advertisement"] * 1_000
    rows = align("paragraph", old, [*old, "New"])  # a million equal pairs to look at
    assert [r.op for r in rows] == ["too_large"]
    assert [r.op for r in align("paragraph", old[:100], [*old[:100], "New"])].count("added") == 1


def test_one_budget_serves_every_comparison_of_a_save() -> None:
    old, new = rewritten_body(100)
    budget = AlignBudget()
    assert diff_versions(VersionText(body=old), VersionText(body=new), budget).too_large() == []
    spent = AlignBudget().characters - budget.characters
    assert spent > 0
    # the same lists again in the same save: aligned once, nothing more spent
    assert diff_versions(VersionText(body=old), VersionText(body=new), budget).too_large() == []
    assert AlignBudget().characters - budget.characters == spent
    other = [p.replace("water", "grain") for p in new]
    small = AlignBudget(characters=spent - 1)
    assert diff_versions(VersionText(body=old), VersionText(body=other), small).too_large() == [
        "body"
    ]


def test_an_old_paragraph_is_paired_within_the_lookahead() -> None:
    inserted = [f"Inserted paragraph number {n} about something else." for n in range(LOOKAHEAD)]
    near = align("paragraph", P[:1], [*inserted[:-1], P[0] + " Updated."])
    assert [r.op for r in near] == ["added"] * (LOOKAHEAD - 1) + ["rewritten"]
    far = align("paragraph", P[:1], [*inserted, P[0] + " Updated."])
    assert sorted(r.op for r in far) == ["added"] * (LOOKAHEAD + 1) + ["removed"]


def test_a_save_too_large_to_align_records_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diff_module, "MAX_SIMILARITY_CHARACTERS", 1_000)
    old, new = rewritten_body(50)
    store = Store.memory()
    store.begin_crawl(make_crawl())
    for body, at in ((old, T1), (new, T2)):
        article = make_article(ONE, body=body)
        store.save_article(article_fetch(article, fetched_at=at), article)
    (change,) = store.db.query("SELECT * FROM version_changes")
    counts = [change[f"paragraphs_{op}"] for op in ("added", "removed", "rewritten")]
    assert counts == [None, None, None]
    assert '"too_large_to_align": ["body"]' in change["summary"]
    ops_stored = {
        r["op"] for r in store.db.query("SELECT op FROM version_diffs WHERE part = 'paragraph'")
    }
    assert ops_stored == {"too_large"}
    versions = [json.loads(line) for line in store.export_version_lines()]
    assert versions[1]["change"]["too_large_to_align"] == ["body"]
    assert versions[1]["change"]["body"]["rewritten"] is None


# -- the schedule -----------------------------------------------------------------------------

NOW = datetime(2024, 5, 10, 12, tzinfo=UTC)


def test_schedule_rules_by_age() -> None:
    schedule = parse_schedule("1d:every,7d:1d,30d:7d")
    born = NOW - timedelta(hours=5)
    assert schedule.is_due(born, NOW, NOW)  # under a day: every run, even just checked
    born = NOW - timedelta(days=3)
    assert not schedule.is_due(born, NOW - timedelta(hours=23), NOW)
    assert schedule.is_due(born, NOW - timedelta(hours=24), NOW)
    born = NOW - timedelta(days=20)
    assert not schedule.is_due(born, NOW - timedelta(days=6), NOW)
    assert schedule.is_due(born, NOW - timedelta(days=7), NOW)
    assert not schedule.is_due(NOW - timedelta(days=31), NOW - timedelta(days=300), NOW)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1d", "not MAX_AGE:INTERVAL"),
        ("1x:every", "not a duration"),
        ("7d:1d,1d:every", "ages must grow"),
        ("1d:sometimes", "not a duration"),
    ],
)
def test_bad_schedules_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_schedule(text)


def test_durations_and_times() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    assert parse_schedule("").rules == ()
    assert parse_iso("2024-05-10T14:00:00+02:00") == NOW
    assert parse_iso("2024-05-10T12:00:00") == NOW


# -- events in the store ----------------------------------------------------------------------

ONE, TWO, THREE = (f"{SITE}/2024050{i}/a-{i}.html" for i in (1, 2, 3))


def listing(
    crawl_id: str, fetched_at: str, entries: list[tuple[str, str]], end: bool = True
) -> tuple[FetchRecord, ListingPage, str]:
    """A section page listing (url, listed_at) entries; ``end``: no "load more"."""
    url = f"{SITE}/africa/"
    fetch = FetchRecord(crawl_id, "section", url, url, 200, "ok", fetched_at, body=b"<html/>")
    records = [ListingEntry(u, "T", at, at, i) for i, (u, at) in enumerate(entries)]
    return fetch, ListingPage(url, records, None if end else f"{url}more", "p", "1"), "africa"


def crawl(
    store: Store,
    crawl_id: str,
    at: str,
    listed: list[tuple[str, str]],
    fetched: list[str],
    end: bool = True,
) -> None:
    """One crawl of the section: a listing page, then the article pages fetched."""
    store.begin_crawl(make_crawl(crawl_id, at))
    store.save_listing(*listing(crawl_id, at, listed, end))
    for url in fetched:
        article = make_article(url)
        store.save_article(article_fetch(article, crawl_id, at), article)
    store.finish_crawl(crawl_id, at, "finished", {})


def kinds(store: Store) -> list[tuple[str, str, str]]:
    return [
        (row["url"], row["kind"], row["at"])
        for row in store.db.query(
            "SELECT a.url, e.kind, e.at FROM article_events e "
            "JOIN articles a ON a.id = e.article_id ORDER BY e.id"
        )
    ]


def test_delisted_then_relisted_each_recorded_once() -> None:
    store = Store.memory()
    listed = [(ONE, T1), (TWO, T1)]
    crawl(store, "c1", T1, listed, [ONE, TWO])
    crawl(store, "c2", T2, [(ONE, T1)], [ONE, TWO])
    crawl(store, "c3", T3, [(ONE, T1)], [ONE])
    assert kinds(store) == [(TWO, "delisted", T2)]
    crawl(store, "c4", "2024-05-04T10:00:00Z", listed, [ONE, TWO])
    assert kinds(store)[-1] == (TWO, "relisted", "2024-05-04T10:00:00Z")


def test_no_delisting_beyond_the_reach_of_a_shorter_listing() -> None:
    store = Store.memory()
    crawl(store, "c1", T1, [(ONE, T1), (TWO, "2024-04-20T00:00:00Z")], [ONE, TWO])
    # c2 read one page only (a "load more" left unread), down to T1: TWO is older than that
    crawl(store, "c2", T2, [(ONE, T1)], [ONE], end=False)
    assert kinds(store) == []


def test_an_interrupted_crawl_delists_nothing() -> None:
    store = Store.memory()
    crawl(store, "c1", T1, [(ONE, T1), (TWO, T1)], [ONE, TWO])
    store.begin_crawl(make_crawl("c2", T2))
    store.save_listing(*listing("c2", T2, [(ONE, T1)]))
    store.finish_crawl("c2", T2, "shutdown", {})
    assert kinds(store) == []


def test_gone_is_recorded_once_and_live_again_when_it_answers() -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    article = make_article(THREE)
    store.save_article(article_fetch(article, fetched_at=T1), article)
    for at in (T2, T2):
        gone = dataclasses.replace(failed_fetch(THREE, "not_found"), fetched_at=at)
        store.save_fetch(gone)
    store.save_article(article_fetch(article, fetched_at=T3), article)
    assert kinds(store) == [(THREE, "gone", T2), (THREE, "live", T3)]
    (event,) = store.db.query("SELECT status, evidence FROM article_events WHERE kind = 'gone'")
    assert (event["status"], event["evidence"]) == (404, "not_found error")


def test_an_unknown_url_answering_404_makes_no_event() -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    store.save_fetch(failed_fetch(f"{SITE}/never-seen.html", "not_found"))
    assert kinds(store) == []


def test_a_new_version_is_compared_with_version_1_and_the_20_before_it() -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    for number in range(1, 24):
        article = make_article(ONE, body=[f"Paragraph number {number}."])
        at = (datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=number)).isoformat()
        store.save_article(article_fetch(article, fetched_at=at.replace("+00:00", "Z")), article)
    compared = {
        row["from_version"]
        for row in store.db.query("SELECT from_version FROM version_diffs WHERE to_version = 23")
    }
    assert compared == {1, *range(3, 23)}
    (change,) = store.db.query("SELECT * FROM version_changes WHERE version = 23")
    assert (change["previous_version"], change["paragraphs_rewritten"]) == (22, 1)


def test_a_text_change_under_a_modified_time_claimed_earlier_is_a_silent_edit() -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    first = make_article(ONE, modified_at="2024-05-01T11:00:00Z")
    touched = revise(first, modified_at="2024-05-02T09:00:00Z")
    edited = make_article(ONE, body=["Only this now."], modified_at="2024-05-02T09:00:00Z")
    for record, at in ((first, T1), (touched, T2), (edited, T3)):
        store.save_article(article_fetch(record, fetched_at=at), record)
    (change,) = store.db.query("SELECT * FROM version_changes")
    assert (change["silent_edit"], change["previous_modified_at"]) == (1, "2024-05-02T09:00:00Z")
    (modified,) = store.db.query("SELECT version, observed_at FROM modified_only")
    assert (modified["version"], modified["observed_at"]) == (1, T2)
