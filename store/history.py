"""The history policy: what a reading of an article page means for the article's history.

One algorithm serves a crawl's fetch and a re-parse of a stored page alike (:meth:`History.
observe`): the article is found or added, the text's version found or added (numbered per
article, compared with the version it replaced and with earlier ones), the reading kept as an
observation, and the newest page's version made current. The cause (``crawl`` or ``reparse``)
changes three things only: a crawl reading is a fetch, so it moves the article's first/last
seen and brings a gone article back to life; a re-parse compares a new text with what the same
page read as before; a re-parse's change is never a silent edit. Gone articles
(:meth:`History.mark_gone`) are here too; delisting lives in :mod:`store.delisting`, rechecks
in :mod:`store.rechecks`. The rows are written by :class:`store.repository.Repository`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from domain.records import ArticleRecord, EventKind, FetchRecord
from store.backdating import make_room, neighbours
from store.diff import AlignBudget, VersionText, diff_versions
from store.repository import BlockRow, Repository, to_json

Cause = Literal["crawl", "reparse"]

SELECT_ARTICLE = "SELECT id, last_seen, status, current_version_id FROM articles WHERE url = :url"
SELECT_VERSION_BY_TEXT = (
    "SELECT id, version FROM versions WHERE article_id = :article_id AND text_sha256 = :text_sha256"
)
SELECT_NEXT_VERSION = (
    "SELECT coalesce(max(version), 0) + 1 AS next FROM versions WHERE article_id = :article_id"
)
# SQLite evaluates every SET expression against the row as it was before the UPDATE.
TOUCH_ARTICLE = """
UPDATE articles SET
  first_seen = min(first_seen, :seen),
  last_seen = max(last_seen, :seen),
  status = CASE WHEN :seen >= last_seen THEN 'live' ELSE status END
WHERE id = :id
"""
SET_CURRENT_VERSION = """
UPDATE articles SET
  current_version_id = :version_id, article_id = :article_id, site = :site, section = :section
WHERE id = :id
"""
SELECT_GONE_CANDIDATE = """
SELECT id, last_seen, status FROM articles
WHERE url IN (:requested_url, :final_url) AND last_seen <= :seen
ORDER BY id LIMIT 1
"""
SET_STATUS = "UPDATE articles SET status = :status WHERE id = :id"
SELECT_VERSION_ROW = """
SELECT v.id, v.version, v.title, v.lead, v.dateline, t.body, v.published_at, v.modified_at,
  v.created_at, v.parser, v.parser_version
FROM versions AS v JOIN version_text AS t ON t.id = v.id
WHERE v.id = :id
"""
SELECT_VERSION_CAPTIONS = (
    "SELECT caption, credit FROM captions WHERE version_id = :id ORDER BY position, idx"
)
SELECT_VERSION_LINKS = (
    "SELECT title, url FROM related_links WHERE version_id = :id ORDER BY position, rowid"
)
SELECT_VERSION_TAGS = "SELECT name FROM tags WHERE version_id = :id ORDER BY idx"
# The versions a new one is compared with, item by item: version 1 and the DIFF_WINDOW before it
# (a live blog with hundreds of versions must not store every pair).
DIFF_WINDOW = 20
SELECT_OTHER_VERSIONS = """
SELECT id FROM versions
WHERE article_id = :article_id AND id != :id
  AND (version = 1 OR version >= (SELECT version FROM versions WHERE id = :id) - :window)
ORDER BY version
"""
SELECT_CHANGE_CAUSE = "SELECT cause FROM version_changes WHERE version_id = :id"
DELETE_CHANGE = "DELETE FROM version_changes WHERE version_id = :id"
SELECT_LAST_READING = """
SELECT version_id, text_sha256 FROM observations WHERE fetch_id = :fetch_id
ORDER BY id DESC LIMIT 1
"""
# The modification time a version's page claimed at its latest crawl fetch up to a time.
LAST_CLAIMED_MODIFIED = """
SELECT modified_at FROM observations
WHERE version_id = :version_id AND reparse_id IS NULL AND observed_at <= :at
ORDER BY observed_at DESC, id DESC LIMIT 1
"""


@dataclass(frozen=True)
class Event:
    """A change of an article's standing, as ``article_events`` keeps it."""

    kind: EventKind
    at: str
    crawl_id: str
    fetch_id: int | None  # the fetch that shows it
    status: int | None
    evidence: str


@dataclass(frozen=True)
class Reading:
    """One parser's reading of one stored fetch of an article page."""

    fetch_id: int
    fetch: FetchRecord
    article: ArticleRecord
    cause: Cause  # crawl: the page was just fetched; reparse: a stored page read again
    reparse_id: int | None = None
    read_at: str | None = None  # when the parser read it (the fetch's time for a crawl)
    blocks: list[BlockRow] | None = None  # repository.block_rows, made before the lock


@dataclass(frozen=True)
class SaveResult:
    """What observing a reading did."""

    fetch_id: int
    article_id: int  # the row id in ``articles`` (not the site's own article id)
    version_id: int  # the row id in ``versions``
    version: int  # the version number, 1-based
    new_version: bool  # False when the text was already stored for this article
    changed: bool = True  # False when this page read as this text before (a re-parse)


def insert_event(repo: Repository, article_pk: int, event: Event) -> None:
    """Record a change of an article's standing (gone, live, delisted, relisted)."""
    repo.insert_row("article_events", {"article_id": article_pk, **asdict(event)})


class History:
    """The history rules, applied through a :class:`Repository` inside its caller's transaction."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._texts: dict[int, tuple[dict[str, Any], VersionText]] = {}  # of one save

    def observe(self, reading: Reading) -> SaveResult:
        """Keep a reading: its article, its text's version (new if the text is), what changed
        from the version it replaced, the observation, and the current version if newest."""
        repo, fetch, article = self.repo, reading.fetch, reading.article
        seen = fetch.fetched_at
        # a fetch saved just now has no earlier reading; a stored page may have several
        last = None
        if reading.cause == "reparse":
            last = repo.one(SELECT_LAST_READING, {"fetch_id": reading.fetch_id})
        row = repo.one(SELECT_ARTICLE, {"url": article.url})
        if row is None:
            article_pk, newest, previous_id = repo.insert_article(article, seen), True, None
        else:
            article_pk, newest = int(row["id"]), seen >= row["last_seen"]
            previous_id = last["version_id"] if last else row["current_version_id"]
            if reading.cause == "crawl":
                self._touch(article_pk, row, reading)
        version_id, number, new, backdated = self._version_for(article_pk, reading)
        if new:
            # one budget bounds every comparison of this save (the write lock is held)
            budget = AlignBudget()
            self._texts.clear()
            try:
                if backdated:
                    self._rechain(article_pk, version_id, number, reading.cause, budget)
                elif previous_id is not None:
                    self._record_change(
                        article_pk, version_id, int(previous_id), reading.cause, budget
                    )
                self._insert_diffs(article_pk, version_id, budget)
            finally:
                self._texts.clear()
        repo.insert_row(
            "observations",
            {
                "fetch_id": reading.fetch_id,
                "article_id": article_pk,
                "version_id": version_id,
                "text_sha256": article.text_sha256,
                "modified_at": article.page.modified_at,
                "parser": article.page.parser,
                "parser_version": article.page.parser_version,
                "observed_at": seen,
                "read_at": reading.read_at or seen,
                "reparse_id": reading.reparse_id,
            },
        )
        if newest:
            repo.db.execute(
                SET_CURRENT_VERSION,
                {
                    "id": article_pk,
                    "version_id": version_id,
                    "article_id": article.page.article_id,
                    "site": article.page.site,
                    "section": article.page.section,
                },
            )
        changed = last is None or last["text_sha256"] != article.text_sha256
        return SaveResult(reading.fetch_id, article_pk, version_id, number, new, changed)

    def mark_gone(self, fetch_id: int, fetch: FetchRecord) -> None:
        """A known live article answered 404/410 or redirected away: mark it gone, once."""
        params = {
            "requested_url": fetch.requested_url,
            "final_url": fetch.final_url,
            "seen": fetch.fetched_at,
        }
        row = self.repo.one(SELECT_GONE_CANDIDATE, params)
        if row is None or row["status"] == "gone":
            return
        self.repo.db.execute(SET_STATUS, {"id": row["id"], "status": "gone"})
        status = fetch.redirect_status or fetch.status
        evidence = fetch.error or f"HTTP {status}"
        event = Event("gone", fetch.fetched_at, fetch.crawl_id, fetch_id, status, evidence)
        insert_event(self.repo, int(row["id"]), event)

    def _touch(self, article_pk: int, row: dict[str, Any], reading: Reading) -> None:
        """A fetch saw the article: move its first/last seen; a gone one answering is live."""
        fetch = reading.fetch
        seen = fetch.fetched_at
        self.repo.db.execute(TOUCH_ARTICLE, {"id": article_pk, "seen": seen})
        if seen >= row["last_seen"] and row["status"] == "gone":
            evidence = f"the page answered again ({fetch.status})"
            event = Event("live", seen, fetch.crawl_id, reading.fetch_id, fetch.status, evidence)
            insert_event(self.repo, article_pk, event)

    def _version_for(self, article_pk: int, reading: Reading) -> tuple[int, int, bool, bool]:
        """The version with this reading's text, added if new: (id, number, whether new,
        whether it was placed before versions first seen later — an imported old capture)."""
        article = reading.article
        params = {"article_id": article_pk, "text_sha256": article.text_sha256}
        existing = self.repo.one(SELECT_VERSION_BY_TEXT, params)
        if existing is not None:
            return int(existing["id"]), int(existing["version"]), False, False
        found = self.repo.one(SELECT_NEXT_VERSION, {"article_id": article_pk})
        number = int(found["next"]) if found else 1
        if reading.cause == "crawl":  # a fetch takes its place in time (store/backdating.py)
            number = make_room(self.repo, article_pk, reading.fetch.fetched_at)
        backdated = number < (int(found["next"]) if found else 1)
        version_id = self.repo.insert_version(
            article_pk, number, reading.fetch_id, reading.fetch, article, reading.blocks
        )
        return version_id, number, True, backdated

    def _rechain(
        self, article_pk: int, version_id: int, number: int, cause: Cause, budget: AlignBudget
    ) -> None:
        """A version placed between older and newer ones: its change from the one before, and
        the next one's change computed again, from it (keeping that change's cause)."""
        before, after = neighbours(self.repo, article_pk, number)
        if before is not None:
            self._record_change(article_pk, version_id, before, cause, budget)
        if after is not None:
            old = self.repo.one(SELECT_CHANGE_CAUSE, {"id": after})
            self.repo.db.execute(DELETE_CHANGE, {"id": after})
            self._record_change(
                article_pk, after, version_id, old["cause"] if old else cause, budget
            )

    def _version_text(self, version_id: int) -> tuple[dict[str, Any], VersionText]:
        """A stored version's row and its comparable text (read once per save)."""
        if version_id not in self._texts:
            self._texts[version_id] = self._read_version_text(version_id)
        return self._texts[version_id]

    def _read_version_text(self, version_id: int) -> tuple[dict[str, Any], VersionText]:
        repo, ids = self.repo, {"id": version_id}
        row = repo.one(SELECT_VERSION_ROW, ids)
        if row is None:
            raise LookupError(f"no version {version_id}")
        text = VersionText(
            title=row["title"],
            lead=row["lead"],
            dateline=row["dateline"],
            body=json.loads(row["body"]),
            captions=[
                f"{c['caption'] or ''} | {c['credit'] or ''}"
                for c in repo.all(SELECT_VERSION_CAPTIONS, ids)
            ],
            related_links=[
                f"{r['title'] or ''} | {r['url'] or ''}"
                for r in repo.all(SELECT_VERSION_LINKS, ids)
            ],
            tags=[t["name"] for t in repo.all(SELECT_VERSION_TAGS, ids)],
            published_at=row["published_at"],
            modified_at=row["modified_at"],
        )
        return row, text

    def _insert_diffs(self, article_pk: int, version_id: int, budget: AlignBudget) -> None:
        """Compare a new version item by item with version 1 and the DIFF_WINDOW before it."""
        params = {"article_id": article_pk, "id": version_id, "window": DIFF_WINDOW}
        for other in self.repo.all(SELECT_OTHER_VERSIONS, params):
            new_row, new_text = self._version_text(version_id)
            old_row, old_text = self._version_text(int(other["id"]))
            diff = diff_versions(old_text, new_text, budget)
            self.repo.insert_rows(
                "version_diffs",
                (
                    {
                        "article_id": article_pk,
                        "from_version_id": old_row["id"],
                        "to_version_id": version_id,
                        "from_version": old_row["version"],
                        "to_version": new_row["version"],
                        "row": index,
                        **row,
                    }
                    for index, row in enumerate(diff.to_dicts())
                ),
            )

    def _record_change(
        self, article_pk: int, version_id: int, previous_id: int, cause: Cause, budget: AlignBudget
    ) -> None:
        """Keep what changed from the version a new one replaced.

        The old side's claimed modification time is the one its latest crawl fetch before the
        new text showed (a page may claim a new time without a new text): a text change under
        that same time is a silent edit — never so for a re-parse, which is no edit at all, nor
        for a crawl read by another parser version than the replaced version was.
        """
        old_row, old_text = self._version_text(previous_id)
        new_row, new_text = self._version_text(version_id)
        at = {"version_id": previous_id, "at": new_row["created_at"]}
        last = self.repo.one(LAST_CLAIMED_MODIFIED, at)
        if last is not None:
            old_text = dataclasses.replace(old_text, modified_at=last["modified_at"])
        diff = diff_versions(old_text, new_text, budget)
        # a crawl whose parser differs from the one that read the replaced version may see a
        # new reading, not a new text: never called a silent edit (re-parse first to tell)
        same_parser = (old_row["parser"], old_row["parser_version"]) == (
            new_row["parser"],
            new_row["parser_version"],
        )
        silent = diff.silent_edit and cause == "crawl" and same_parser
        paragraphs = diff.counts("paragraph")
        summary = {
            "previous_version": old_row["version"],
            "cause": cause,
            **diff.summary(),
            "silent_edit": silent,
        }
        self.repo.insert_row(
            "version_changes",
            {
                "version_id": version_id,
                "article_id": article_pk,
                "version": new_row["version"],
                "previous_version_id": previous_id,
                "previous_version": old_row["version"],
                "cause": cause,
                "created_at": new_row["created_at"],
                "fields": to_json(diff.fields()),
                "paragraphs_added": paragraphs["added"],
                "paragraphs_removed": paragraphs["removed"],
                "paragraphs_rewritten": paragraphs["rewritten"],
                "silent_edit": int(silent),
                "modified_at": new_row["modified_at"],
                "previous_modified_at": old_text.modified_at,
                "summary": to_json(summary),
            },
        )
