"""The store: the one place that writes to the SQLite file.

:class:`Store` takes the plain records of :mod:`domain.records` and writes each fetch together
with what came of it (an article version, a listing, or nothing) in a single transaction.
Raw bodies are kept zlib-compressed, once per SHA-256; an article keeps one row and one
version per distinct normalized text. Reads for export and summaries live in
:mod:`store.export` and :mod:`store.summary`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from domain.pages import Block, ListingPage
from domain.records import ArticleRecord, CrawlRecord, EventKind, FetchRecord, PlacedBlock
from domain.times import iso_z
from store import blockdata, export, summary
from store.diff import VersionDiff, VersionText, diff_versions
from store.errors import StoreError
from store.schedule import Schedule, due
from store.schema import migrate

COMPRESSION = "zlib"
# zlib's default level: on article pages it compresses within 1% of level 9, 25% faster.
ZLIB_LEVEL = 6
# How long a write waits for another writer's lock (a reader never blocks it in WAL mode).
BUSY_TIMEOUT_MS = 30_000

SELECT_CRAWL = "SELECT id FROM crawls WHERE id = :id"
SELECT_BODY = "SELECT sha256 FROM bodies WHERE sha256 = :sha256"
SELECT_BODY_DATA = "SELECT compression, data FROM bodies WHERE sha256 = :sha256"
SELECT_ARTICLE = "SELECT id, last_seen, status, current_version_id FROM articles WHERE url = :url"
SELECT_VERSION_BY_TEXT = (
    "SELECT id, version FROM versions WHERE article_id = :article_id AND text_sha256 = :text_sha256"
)
SELECT_NEXT_VERSION = (
    "SELECT coalesce(max(version), 0) + 1 AS next FROM versions WHERE article_id = :article_id"
)
FINISH_CRAWL = """
UPDATE crawls SET finished_at = :finished_at, finish_reason = :reason, stats = :stats
WHERE id = :id
"""
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
SELECT id, article_id, version, title, lead, dateline, body, published_at, modified_at, created_at
FROM versions WHERE id = :id
"""
SELECT_VERSION_CAPTIONS = (
    "SELECT caption, credit FROM captions WHERE version_id = :id ORDER BY position, idx"
)
SELECT_VERSION_LINKS = (
    "SELECT title, url FROM related_links WHERE version_id = :id ORDER BY position, rowid"
)
SELECT_VERSION_TAGS = "SELECT name FROM tags WHERE version_id = :id ORDER BY idx"
SELECT_VERSION_BLOCKS = """
SELECT position, kind, destination, text, sha256, data FROM blocks
WHERE version_id = :id ORDER BY position
"""
# The versions a new one is compared with, item by item: version 1 and the DIFF_WINDOW before it
# (a live blog with hundreds of versions must not store every pair).
DIFF_WINDOW = 20
SELECT_OTHER_VERSIONS = """
SELECT id FROM versions
WHERE article_id = :article_id AND id != :id
  AND (version = 1 OR version >= (SELECT version FROM versions WHERE id = :id) - :window)
ORDER BY version
"""
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
SELECT_REPARSE_SOURCES = """
SELECT id FROM fetches
WHERE kind = 'article' AND body_sha256 IS NOT NULL AND status BETWEEN 200 AND 299
  AND outcome IN ('ok', 'unparseable')
ORDER BY fetched_at, id
"""
SELECT_FETCH = "SELECT * FROM fetches WHERE id = :id"
FINISH_REPARSE = """
UPDATE reparses SET finished_at = :finished_at, parser = :parser,
  parser_version = :parser_version, pages = :pages, unchanged = :unchanged, changed = :changed,
  failed = :failed
WHERE id = :id
"""
# Known articles listed in a section (or all), with the time they count their age from and the
# time they were last checked: the last fetch of the article's URL that got an answer.
RECHECK_CANDIDATES = """
SELECT
  a.url,
  coalesce(v.published_at, a.first_seen) AS born,
  max(
    a.last_seen,
    coalesce(
      (SELECT max(f.fetched_at) FROM fetches AS f
       WHERE f.requested_url = a.url AND f.kind = 'article' AND f.status IS NOT NULL),
      ''
    )
  ) AS last_checked
FROM articles AS a
LEFT JOIN versions AS v ON v.id = a.current_version_id
WHERE (:section IS NULL OR a.url IN (SELECT url FROM listings WHERE section = :section))
  AND coalesce(v.published_at, a.first_seen) >= :born_after
ORDER BY born DESC, a.url
"""
LISTED_SECTIONS = "SELECT DISTINCT section FROM listing_pages WHERE crawl_id = :crawl_id"
PREVIOUS_LISTING_CRAWL = """
SELECT c.id FROM crawls AS c
WHERE c.id != :crawl_id AND c.finish_reason = 'finished'
  AND c.started_at <= (SELECT started_at FROM crawls WHERE id = :crawl_id)
  AND EXISTS (
    SELECT 1 FROM listing_pages AS lp WHERE lp.crawl_id = c.id AND lp.section = :section
  )
ORDER BY c.started_at DESC, c.rowid DESC
LIMIT 1
"""
# How far this crawl read the section's listing: its oldest listed time, whether a page had no
# "load more" (the end of the listing), when and by which fetch the listing was first read.
LISTING_REACH = """
SELECT
  (SELECT min(l.listed_at) FROM listings AS l
   WHERE l.crawl_id = :crawl_id AND l.section = :section) AS oldest,
  (SELECT count(*) FROM listings AS l
   WHERE l.crawl_id = :crawl_id AND l.section = :section) AS entries,
  coalesce(max(lp.next_url IS NULL), 0) AS reached_end,
  min(f.fetched_at) AS read_at,
  min(lp.fetch_id) AS fetch_id
FROM listing_pages AS lp
JOIN fetches AS f ON f.id = lp.fetch_id
WHERE lp.crawl_id = :crawl_id AND lp.section = :section
"""
# Live articles the previous crawl listed, within this crawl's reach, that this crawl did not list.
DELISTED_CANDIDATES = """
SELECT a.id, a.url, min(p.position) AS position, min(p.listing_url) AS listing_url
FROM listings AS p
JOIN articles AS a ON a.url = p.url
WHERE p.crawl_id = :previous AND p.section = :section AND a.status = 'live'
  AND p.url NOT IN (
    SELECT url FROM listings WHERE crawl_id = :crawl_id AND section = :section
  )
  AND (:reached_end OR p.listed_at >= :oldest)
GROUP BY a.id
ORDER BY a.url
"""
# Articles this crawl listed whose latest delisted/relisted event is "delisted": the relisted
# ones (filtered here, not in Python: a crawl of 20,000 listed articles would otherwise load
# them all at its end).
RELISTED_ARTICLES = """
SELECT a.id, a.url, l.fetch_id, l.position, l.listing_url, f.status
FROM listings AS l
JOIN articles AS a ON a.url = l.url
JOIN fetches AS f ON f.id = l.fetch_id
WHERE l.id IN (
  SELECT min(id) FROM listings WHERE crawl_id = :crawl_id AND section = :section GROUP BY url
)
AND (
  SELECT e.kind FROM article_events AS e
  WHERE e.article_id = a.id AND e.kind IN ('delisted', 'relisted')
  ORDER BY e.at DESC, e.id DESC LIMIT 1
) = 'delisted'
ORDER BY a.url
"""
LAST_LISTING_EVENT = """
SELECT kind FROM article_events
WHERE article_id = :article_id AND kind IN ('delisted', 'relisted')
ORDER BY at DESC, id DESC LIMIT 1
"""
LAST_ANSWER = """
SELECT f.id, f.status, f.fetched_at FROM observations AS o
JOIN fetches AS f ON f.id = o.fetch_id
WHERE o.article_id = :article_id AND o.reparse_id IS NULL
ORDER BY o.observed_at DESC, o.fetch_id DESC LIMIT 1
"""

ARTICLE_KINDS = frozenset({"article"})
# Outcomes of an article fetch that mean the article is gone (404/410, redirect to the section).
GONE_OUTCOMES = frozenset({"not_found", "redirected_away"})
LISTING_KINDS = frozenset({"section", "listing"})


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
class SaveResult:
    """What :meth:`Store.save_article` did."""

    fetch_id: int
    article_id: int  # the row id in ``articles`` (not the site's own article id)
    version_id: int  # the row id in ``versions``
    version: int  # the version number, 1-based
    new_version: bool  # False when the text was already stored for this article


def to_json(value: Any) -> str:
    """Serialize a value for a JSON column: UTF-8 text kept readable, datetimes as ISO 8601."""
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: object) -> str:
    """Turn the odd non-JSON value (a datetime in crawl stats) into a string."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return iso_z(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def compress(data: bytes) -> bytes:
    """Compress raw bytes for the ``bodies`` table."""
    return zlib.compress(data, ZLIB_LEVEL)


def decompress(data: bytes, compression: str) -> bytes:
    """Undo :func:`compress`."""
    if compression != COMPRESSION:
        raise StoreError(f"unknown body compression {compression!r}")
    return zlib.decompress(data)


def check_fetch(fetch: FetchRecord, kinds: frozenset[str] | None, ok: bool) -> None:
    """Refuse a fetch whose kind or outcome does not fit what is saved with it."""
    if kinds is not None and fetch.kind not in kinds:
        raise StoreError(f"a {fetch.kind!r} fetch cannot be saved this way ({sorted(kinds)})")
    if ok and fetch.outcome != "ok":
        raise StoreError(f"a parsed page needs outcome 'ok', not {fetch.outcome!r}")
    if not ok and fetch.outcome == "ok":
        raise StoreError("an 'ok' fetch is saved with its article or listing")


def check_article(fetch: FetchRecord, article: ArticleRecord) -> None:
    """Refuse an article without its raw body, or whose raw hash is not the body's."""
    digest = fetch.body_sha256  # hashed once, when the fetch record was made
    if digest is None:
        raise StoreError(f"the fetch of {article.url} needs its body (or body_sha256)")
    if article.raw_sha256 != digest:
        raise StoreError(
            f"raw_sha256 {article.raw_sha256} of {article.url} is not the fetched body's {digest}"
        )


class ImmediateDatabase(Database):
    """A sqlite-utils Database whose transactions take the write lock when they begin.

    ``atomic()`` starts with ``BEGIN IMMEDIATE`` instead of ``BEGIN``: a write transaction
    that read first would otherwise fail at once with "database is locked" while another
    writer holds the lock; this way it waits for it (``busy_timeout``).
    """

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction that holds the write lock from its start (a savepoint when nested)."""
        if self.conn.in_transaction:
            with super().atomic() as db:
                yield db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


class Store:
    """A provenance store in one SQLite file (WAL mode), built on sqlite-utils.

    ``store.db`` is the underlying :class:`sqlite_utils.Database`, for reading; every write
    goes through the methods below.
    """

    def __init__(self, path: str | Path) -> None:
        """Open the store at ``path``, creating the file (and its folders) or migrating it."""
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        self._open(ImmediateDatabase(file), file)

    @classmethod
    def memory(cls) -> Store:
        """An in-memory store, for tests."""
        store = cls.__new__(cls)
        store._open(ImmediateDatabase(memory=True), None)
        return store

    def _open(self, db: Database, path: Path | None) -> None:
        """Switch on foreign keys and WAL, and bring the schema up to date."""
        self.db = db
        self.path = path
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path is not None:
            self.db.enable_wal()
            # In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a crash of the
            # crawler loses nothing, a power cut may lose the last commits, never consistency.
            self.db.execute("PRAGMA synchronous = NORMAL")
        migrate(self.db)

    def limit_pages(self, pages: int) -> None:
        """Let the file grow to at most ``pages`` pages on this connection (a full disk)."""
        self.db.execute(f"PRAGMA max_page_count = {int(pages)}")

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def __enter__(self) -> Store:
        """Use the store as a context manager that closes it."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    # Crawls

    def begin_crawl(self, crawl: CrawlRecord) -> None:
        """Record the start of a crawl run; its id must be new."""
        with self.db.atomic():
            if self._crawl_exists(crawl.id):
                raise StoreError(f"crawl {crawl.id} is already in the store")
            self._insert_row(
                "crawls",
                {
                    "id": crawl.id,
                    "spider": crawl.spider,
                    "started_at": crawl.started_at,
                    "arguments": to_json(crawl.arguments),
                    "settings": to_json(crawl.settings),
                    "software": to_json(crawl.software),
                },
            )

    def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """Record how and when a crawl run ended, with its final stats.

        A crawl that finished normally (``reason == "finished"``) also records which articles
        its section listings dropped (``delisted``) or showed again (``relisted``).
        """
        with self.db.atomic():
            cursor = self.db.execute(
                FINISH_CRAWL,
                {
                    "id": crawl_id,
                    "finished_at": finished_at,
                    "reason": reason,
                    "stats": to_json(stats),
                },
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no crawl {crawl_id} in the store")
            if reason == "finished":
                for row in list(self.db.query(LISTED_SECTIONS, {"crawl_id": crawl_id})):
                    self._record_listing_events(crawl_id, row["section"])

    # Fetches and what came of them

    def save_fetch(self, fetch: FetchRecord) -> int:
        """Save a fetch that produced no article or listing (404, error, failure, unparseable)."""
        check_fetch(fetch, kinds=None, ok=False)
        with self.db.atomic():
            fetch_id = self._insert_fetch(fetch)
            if fetch.kind in ARTICLE_KINDS and fetch.outcome in GONE_OUTCOMES:
                self._mark_gone(fetch_id, fetch)
        return fetch_id

    def save_listing(self, fetch: FetchRecord, listing: ListingPage, section: str) -> int:
        """Save a section page or "load more" chunk and the entries it showed."""
        check_fetch(fetch, kinds=LISTING_KINDS, ok=True)
        with self.db.atomic():
            fetch_id = self._insert_fetch(fetch)
            self._insert_row(
                "listing_pages",
                {
                    "fetch_id": fetch_id,
                    "crawl_id": fetch.crawl_id,
                    "listing_url": listing.url,
                    "section": section,
                    "entries": len(listing.entries),
                    "next_url": listing.next_url,
                    "parser": listing.parser,
                    "parser_version": listing.parser_version,
                },
            )
            self._insert_rows(
                "listings",
                (
                    {
                        "fetch_id": fetch_id,
                        "crawl_id": fetch.crawl_id,
                        "listing_url": listing.url,
                        "section": section,
                        "position": entry.position,
                        "url": entry.url,
                        "title": entry.title,
                        "listed_at": entry.listed_at,
                        "listed_raw": entry.listed_raw,
                    }
                    for entry in listing.entries
                ),
            )
        return fetch_id

    def save_article(self, fetch: FetchRecord, article: ArticleRecord) -> SaveResult:
        """Save an article page: its fetch, and a new version if its text is new."""
        check_fetch(fetch, kinds=ARTICLE_KINDS, ok=True)
        check_article(fetch, article)
        with self.db.atomic():
            fetch_id = self._insert_fetch(fetch)
            return self._save_version(fetch_id, fetch, article)

    # Reads

    def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """Counts of what the store holds, and fetches by outcome (of one crawl if given)."""
        if crawl_id is not None and not self._crawl_exists(crawl_id):
            raise StoreError(f"no crawl {crawl_id} in the store")
        return summary.read_summary(self.db, crawl_id)

    def export_articles(self) -> Iterator[dict[str, Any]]:
        """One dict per article (its current version), keys :data:`store.export.EXPORT_KEYS`."""
        return export.iter_articles(self.db)

    def export_versions(self) -> Iterator[dict[str, Any]]:
        """One dict per version of every article, keys :data:`store.export.VERSION_EXPORT_KEYS`."""
        return export.iter_versions(self.db)

    def export_article_lines(self) -> Iterator[str]:
        """:meth:`export_articles` as lines of JSON text, as the store writes them."""
        return export.iter_article_lines(self.db)

    def export_version_lines(self) -> Iterator[str]:
        """:meth:`export_versions` as lines of JSON text, as the store writes them."""
        return export.iter_version_lines(self.db)

    def blocks(self, version_id: int) -> list[PlacedBlock]:
        """A version's blocks in page order, each as the parser made it, with its placement."""
        return [
            PlacedBlock(
                block=Block.from_dict(
                    blockdata.unpack(row["kind"], row["position"], row["text"], row["data"])
                ),
                destination=row["destination"],
                sha256=row["sha256"],
            )
            for row in self.db.query(SELECT_VERSION_BLOCKS, {"id": version_id})
        ]

    def body(self, sha256: str) -> bytes | None:
        """The raw bytes stored under this SHA-256, or None."""
        row = next(self.db.query(SELECT_BODY_DATA, {"sha256": sha256}), None)
        return None if row is None else decompress(row["data"], row["compression"])

    def recheck_candidates(
        self, section: str | None = None, born_after: str = ""
    ) -> list[tuple[str, str, str]]:
        """Known articles (listed in ``section``, if given) born at or after ``born_after``.

        Each as ``(url, born, last_checked)``: ``born`` is the claimed publication time (else
        the first fetch), ``last_checked`` the last fetch of its URL that got any answer.
        """
        params = {"section": section, "born_after": born_after}
        return [
            (row["url"], row["born"], row["last_checked"])
            for row in self.db.query(RECHECK_CANDIDATES, params)
        ]

    def due_for_recheck(
        self, now: dt.datetime, schedule: Schedule, section: str | None = None
    ) -> list[str]:
        """The URLs of known articles due for a recheck at ``now`` under ``schedule``."""
        if not schedule.rules:
            return []
        born_after = iso_z(now - schedule.oldest)
        return due(self.recheck_candidates(section, born_after), schedule, now)

    # Re-parsing stored pages

    def begin_reparse(self, started_at: str) -> int:
        """Record the start of a re-parse of stored pages; return its id."""
        with self.db.atomic():
            return self._insert_row("reparses", {"started_at": started_at})

    def reparse_sources(self) -> Iterator[tuple[int, FetchRecord]]:
        """Every stored article page a parser can read again, oldest fetch first, with its body."""
        ids = [int(row["id"]) for row in self.db.query(SELECT_REPARSE_SOURCES)]
        for fetch_id in ids:
            row = next(self.db.query(SELECT_FETCH, {"id": fetch_id}))
            body = self.body(row["body_sha256"])
            yield (
                fetch_id,
                FetchRecord(
                    crawl_id=row["crawl_id"],
                    kind=row["kind"],
                    requested_url=row["requested_url"],
                    final_url=row["final_url"],
                    status=row["status"],
                    outcome=row["outcome"],
                    fetched_at=row["fetched_at"],
                    error=row["error"],
                    elapsed_ms=row["elapsed_ms"],
                    referer=row["referer"],
                    headers=json.loads(row["headers"] or "{}"),
                    body=body,
                    body_sha256=row["body_sha256"],
                    redirect_status=row["redirect_status"],
                ),
            )

    def save_reparse(
        self, reparse_id: int, fetch_id: int, fetch: FetchRecord, article: ArticleRecord, at: str
    ) -> bool:
        """Keep what the current parser read from a stored page; True when it differs.

        Every reading becomes an observation (which parser version produced which text); a
        new version is added only for a text the article never had, with its change against
        what this page read as before. The newest page of an article sets its current version.
        """
        check_article(fetch, article)
        with self.db.atomic():
            last = next(self.db.query(SELECT_LAST_READING, {"fetch_id": fetch_id}), None)
            row = next(self.db.query(SELECT_ARTICLE, {"url": article.url}), None)
            if row is None:
                article_pk = self._insert_article(article, fetch.fetched_at)
                newest, previous_id = True, None
            else:
                article_pk = int(row["id"])
                newest = fetch.fetched_at >= row["last_seen"]
                previous_id = last["version_id"] if last else row["current_version_id"]
            version_id, _, new = self._version_for(article_pk, fetch_id, fetch, article)
            if new and previous_id is not None:
                self._record_change(article_pk, version_id, int(previous_id), "reparse")
            self._insert_observation(
                fetch_id, article_pk, version_id, fetch, article, reparse_id, at
            )
            if newest:
                self._set_current_version(article_pk, version_id, article)
        return last is None or last["text_sha256"] != article.text_sha256

    def _set_current_version(
        self, article_pk: int, version_id: int, article: ArticleRecord
    ) -> None:
        """Make ``version_id`` the article's current version, with the page's identity fields."""
        self.db.execute(
            SET_CURRENT_VERSION,
            {
                "id": article_pk,
                "version_id": version_id,
                "article_id": article.page.article_id,
                "site": article.page.site,
                "section": article.page.section,
            },
        )

    def finish_reparse(
        self,
        reparse_id: int,
        finished_at: str,
        counts: dict[str, int],
        parser: str | None,
        parser_version: str | None,
    ) -> None:
        """Record the end of a re-parse: its counts and the parser (versions) that read pages."""
        params = {"pages": 0, "unchanged": 0, "changed": 0, "failed": 0, **counts}
        with self.db.atomic():
            self.db.execute(
                FINISH_REPARSE,
                {
                    "id": reparse_id,
                    "finished_at": finished_at,
                    "parser": parser,
                    "parser_version": parser_version,
                    **params,
                },
            )

    # Internals, each called inside a transaction

    def _crawl_exists(self, crawl_id: str) -> bool:
        """Whether the crawl has been begun."""
        return next(self.db.query(SELECT_CRAWL, {"id": crawl_id}), None) is not None

    def _body_exists(self, sha256: str) -> bool:
        """Whether a body with this hash is stored."""
        return next(self.db.query(SELECT_BODY, {"sha256": sha256}), None) is not None

    def _insert_body(self, body: bytes, sha256: str) -> None:
        """Store a raw body compressed, unless one with the same hash is stored already."""
        if self._body_exists(sha256):
            return
        self._insert_row(
            "bodies",
            {
                "sha256": sha256,
                "size": len(body),
                "compression": COMPRESSION,
                "data": compress(body),
            },
            ignore=True,
        )

    def _insert_fetch(self, fetch: FetchRecord) -> int:
        """Insert the fetch row (and its body); return its id."""
        if not self._crawl_exists(fetch.crawl_id):
            raise StoreError(f"unknown crawl {fetch.crawl_id}: call begin_crawl() first")
        digest = fetch.body_sha256  # hashed once, when the fetch record was made
        if fetch.body is not None and digest is not None:
            self._insert_body(fetch.body, digest)
        elif digest is not None and not self._body_exists(digest):
            raise StoreError(f"body {digest} of {fetch.requested_url} is neither given nor stored")
        return self._insert_row(
            "fetches",
            {
                "crawl_id": fetch.crawl_id,
                "kind": fetch.kind,
                "requested_url": fetch.requested_url,
                "final_url": fetch.final_url,
                "status": fetch.status,
                "outcome": fetch.outcome,
                "error": fetch.error,
                "fetched_at": fetch.fetched_at,
                "elapsed_ms": fetch.elapsed_ms,
                "referer": fetch.referer,
                "headers": to_json(fetch.headers),
                "body_sha256": digest,
                "redirect_status": fetch.redirect_status,
                "encoding": fetch.encoding,
            },
        )

    def _save_version(
        self, fetch_id: int, fetch: FetchRecord, article: ArticleRecord
    ) -> SaveResult:
        """Find or add the article and the version for its text; make it current if newest."""
        seen = fetch.fetched_at
        row = next(self.db.query(SELECT_ARTICLE, {"url": article.url}), None)
        if row is None:
            article_pk = self._insert_article(article, seen)
            newest = True
            previous_id = None
        else:
            article_pk = int(row["id"])
            newest = seen >= row["last_seen"]
            previous_id = row["current_version_id"]
            self.db.execute(TOUCH_ARTICLE, {"id": article_pk, "seen": seen})
            if newest and row["status"] == "gone":
                evidence = f"the page answered again ({fetch.status})"
                self._insert_event(
                    article_pk,
                    Event("live", seen, fetch.crawl_id, fetch_id, fetch.status, evidence),
                )
        version_id, number, new = self._version_for(article_pk, fetch_id, fetch, article)
        if new and previous_id is not None:
            self._record_change(article_pk, version_id, int(previous_id), "crawl")
        self._insert_observation(fetch_id, article_pk, version_id, fetch, article, None)
        if newest:
            self._set_current_version(article_pk, version_id, article)
        return SaveResult(
            fetch_id=fetch_id,
            article_id=article_pk,
            version_id=version_id,
            version=number,
            new_version=new,
        )

    def _version_for(
        self, article_pk: int, fetch_id: int, fetch: FetchRecord, article: ArticleRecord
    ) -> tuple[int, int, bool]:
        """The version with this article's text, added if new: (id, number, whether new)."""
        existing = next(
            self.db.query(
                SELECT_VERSION_BY_TEXT,
                {"article_id": article_pk, "text_sha256": article.text_sha256},
            ),
            None,
        )
        if existing is not None:
            return int(existing["id"]), int(existing["version"]), False
        number = int(next(self.db.query(SELECT_NEXT_VERSION, {"article_id": article_pk}))["next"])
        version_id = self._insert_version(article_pk, number, fetch_id, fetch, article)
        self._insert_children(version_id, article)
        self._insert_diffs(article_pk, version_id)
        return version_id, number, True

    def _version_text(self, version_id: int) -> tuple[dict[str, Any], VersionText]:
        """A stored version's row and its comparable text."""
        row = next(self.db.query(SELECT_VERSION_ROW, {"id": version_id}))
        ids = {"id": version_id}
        text = VersionText(
            title=row["title"],
            lead=row["lead"],
            dateline=row["dateline"],
            body=json.loads(row["body"]),
            captions=[
                f"{c['caption'] or ''} | {c['credit'] or ''}"
                for c in self.db.query(SELECT_VERSION_CAPTIONS, ids)
            ],
            related_links=[
                f"{r['title'] or ''} | {r['url'] or ''}"
                for r in self.db.query(SELECT_VERSION_LINKS, ids)
            ],
            tags=[t["name"] for t in self.db.query(SELECT_VERSION_TAGS, ids)],
            published_at=row["published_at"],
            modified_at=row["modified_at"],
        )
        return row, text

    def _insert_diffs(self, article_pk: int, version_id: int) -> None:
        """Compare a new version item by item with version 1 and the DIFF_WINDOW before it."""
        new_row, new_text = self._version_text(version_id)
        others = self.db.query(
            SELECT_OTHER_VERSIONS,
            {"article_id": article_pk, "id": version_id, "window": DIFF_WINDOW},
        )
        for other in list(others):
            old_row, old_text = self._version_text(int(other["id"]))
            diff = diff_versions(old_text, new_text)
            self._insert_rows(
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
        self, article_pk: int, version_id: int, previous_id: int, cause: str
    ) -> None:
        """Keep what changed from the version a new one replaced (``cause``: crawl or reparse).

        The old side's claimed modification time is the one its latest crawl fetch before the
        new text showed (a page may claim a new time without a new text): a text change under
        that same time is a silent edit.
        """
        old_row, old_text = self._version_text(previous_id)
        new_row, new_text = self._version_text(version_id)
        last = next(
            self.db.query(
                LAST_CLAIMED_MODIFIED, {"version_id": previous_id, "at": new_row["created_at"]}
            ),
            None,
        )
        if last is not None:
            old_text = dataclasses.replace(old_text, modified_at=last["modified_at"])
        diff: VersionDiff = diff_versions(old_text, new_text)
        silent = diff.silent_edit and cause == "crawl"  # a parser change is no edit at all
        paragraphs = diff.counts("paragraph")
        summary = {
            "previous_version": old_row["version"],
            "cause": cause,
            **diff.summary(),
            "silent_edit": silent,
        }
        self._insert_row(
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

    def _insert_observation(
        self,
        fetch_id: int,
        article_pk: int,
        version_id: int,
        fetch: FetchRecord,
        article: ArticleRecord,
        reparse_id: int | None,
        read_at: str | None = None,
    ) -> None:
        """Record that a parser read this fetch's page as this version."""
        self._insert_row(
            "observations",
            {
                "fetch_id": fetch_id,
                "article_id": article_pk,
                "version_id": version_id,
                "text_sha256": article.text_sha256,
                "modified_at": article.page.modified_at,
                "parser": article.page.parser,
                "parser_version": article.page.parser_version,
                "observed_at": fetch.fetched_at,
                "read_at": read_at or fetch.fetched_at,
                "reparse_id": reparse_id,
            },
        )

    def _insert_event(self, article_pk: int, event: Event) -> None:
        """Record a change of an article's standing (gone, live, delisted, relisted)."""
        self._insert_row("article_events", {"article_id": article_pk, **asdict(event)})

    def _mark_gone(self, fetch_id: int, fetch: FetchRecord) -> None:
        """A known live article answered 404/410 or redirected away: mark it gone, once."""
        row = next(
            self.db.query(
                SELECT_GONE_CANDIDATE,
                {
                    "requested_url": fetch.requested_url,
                    "final_url": fetch.final_url,
                    "seen": fetch.fetched_at,
                },
            ),
            None,
        )
        if row is None or row["status"] == "gone":
            return
        self.db.execute(SET_STATUS, {"id": row["id"], "status": "gone"})
        status = fetch.redirect_status or fetch.status
        evidence = fetch.error or f"HTTP {status}"
        self._insert_event(
            int(row["id"]),
            Event("gone", fetch.fetched_at, fetch.crawl_id, fetch_id, status, evidence),
        )

    def _record_listing_events(self, crawl_id: str, section: str) -> None:
        """Delisted and relisted articles of one section, against the previous listing crawl.

        Delisted: a live article the previous finished crawl of this section listed, within
        this crawl's reach (the whole listing when this crawl read it to the end, else down to
        the oldest time it listed), that this crawl's listing pages did not show. Relisted: an
        article shown again after being delisted. Both are dated when this crawl first read
        the section's listing.
        """
        params: dict[str, Any] = {"crawl_id": crawl_id, "section": section}
        reach = next(self.db.query(LISTING_REACH, params))
        at = reach["read_at"]
        previous = next(self.db.query(PREVIOUS_LISTING_CRAWL, params), None)
        if previous is not None:
            params.update(
                previous=previous["id"],
                reached_end=reach["reached_end"],
                oldest=reach["oldest"] or "",
            )
            extent = "to its end" if reach["reached_end"] else f"down to {reach['oldest']}"
            for row in list(self.db.query(DELISTED_CANDIDATES, params)):
                if self._last_listing_event(int(row["id"])) == "delisted":
                    continue
                answer = next(self.db.query(LAST_ANSWER, {"article_id": row["id"]}), None)
                evidence = (
                    f"listed by crawl {previous['id']} at position {row['position']} of "
                    f"{row['listing_url']}; not among the {reach['entries']} entries crawl "
                    f"{crawl_id} read of the {section} listing, {extent}"
                )
                if answer is not None:
                    evidence += f"; the page answered {answer['status']} at {answer['fetched_at']}"
                fetch_id, status = (answer["id"], answer["status"]) if answer else (None, None)
                self._insert_event(
                    int(row["id"]), Event("delisted", at, crawl_id, fetch_id, status, evidence)
                )
        for row in list(self.db.query(RELISTED_ARTICLES, params)):
            evidence = f"listed again at position {row['position']} of {row['listing_url']}"
            event = Event("relisted", at, crawl_id, row["fetch_id"], row["status"], evidence)
            self._insert_event(int(row["id"]), event)

    def _last_listing_event(self, article_pk: int) -> str | None:
        """The kind of the article's latest delisted/relisted event, if any."""
        row = next(self.db.query(LAST_LISTING_EVENT, {"article_id": article_pk}), None)
        return None if row is None else str(row["kind"])

    def _insert_article(self, article: ArticleRecord, seen: str) -> int:
        """Insert a new article row (its current version is set once the version exists)."""
        return self._insert_row(
            "articles",
            {
                "url": article.url,
                "article_id": article.page.article_id,
                "site": article.page.site,
                "section": article.page.section,
                "first_seen": seen,
                "last_seen": seen,
                "current_version_id": None,
                "status": "live",
            },
        )

    def _insert_version(
        self,
        article_pk: int,
        number: int,
        fetch_id: int,
        fetch: FetchRecord,
        article: ArticleRecord,
    ) -> int:
        """Insert one version of an article; return its id."""
        return self._insert_row(
            "versions",
            {
                "article_id": article_pk,
                "version": number,
                "title": article.page.title,
                "lead": article.page.lead,
                "dateline": article.split.dateline,
                "published_at": article.page.published_at,
                "modified_at": article.page.modified_at,
                "authors": to_json(article.page.authors),
                "language": article.page.language,
                "canonical_url": article.page.canonical_url,
                "dates": to_json([asdict(date) for date in article.page.dates]),
                "body_text": "\n\n".join(article.split.body),
                "body": to_json(article.split.body),
                "dropped": to_json(article.split.dropped),
                "text_sha256": article.text_sha256,
                "raw_sha256": article.raw_sha256,
                "parser": article.page.parser,
                "parser_version": article.page.parser_version,
                "created_at": fetch.fetched_at,
                "fetch_id": fetch_id,
                "crawl_id": fetch.crawl_id,
            },
        )

    def _insert_children(self, version_id: int, article: ArticleRecord) -> None:
        """Insert a new version's blocks, captions, related links and tags."""
        self._insert_rows(
            "blocks",
            (
                {
                    "version_id": version_id,
                    "position": placed.block.position,
                    "kind": placed.block.kind,
                    "destination": placed.destination,
                    "text": placed.block.text,
                    "sha256": placed.sha256,
                    "data": to_json(
                        blockdata.pack(
                            placed.block.kind,
                            placed.block.position,
                            placed.block.text,
                            placed.block.to_dict(),
                        )
                    ),
                }
                for placed in article.placed_blocks()
            ),
        )
        self._insert_rows(
            "captions",
            (
                {
                    "version_id": version_id,
                    "position": caption.position,
                    "idx": caption.index,
                    "image_url": caption.image_url,
                    "caption": caption.caption,
                    "credit": caption.credit,
                }
                for caption in article.split.captions
            ),
        )
        self._insert_rows(
            "related_links",
            ({"version_id": version_id, **asdict(link)} for link in article.split.related_links),
        )
        self._insert_rows(
            "tags",
            (
                {"version_id": version_id, "idx": index, "name": tag.name, "url": tag.url}
                for index, tag in enumerate(article.page.tags)
            ),
        )

    def _insert_row(self, table: str, row: dict[str, Any], ignore: bool = False) -> int:
        """Insert one row into an existing table with a prepared ``INSERT`` (``OR IGNORE`` with
        ``ignore``); return its rowid. A missing column is an error, never added."""
        sql = insert_sql(table, tuple(row), ignore)
        cursor = self.db.conn.execute(sql, list(row.values()))
        if cursor.lastrowid is None:
            raise RuntimeError(f"SQLite did not report the row id inserted into {table}")
        return int(cursor.lastrowid)

    def _insert_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows (all with the same keys) into an existing table with one prepared
        ``INSERT``; a missing column is an error, never added."""
        batch = list(rows)
        if not batch:
            return
        columns = tuple(batch[0])
        self.db.conn.executemany(
            insert_sql(table, columns), [[row[column] for column in columns] for row in batch]
        )


@functools.lru_cache(maxsize=128)
def insert_sql(table: str, columns: tuple[str, ...], ignore: bool = False) -> str:
    """The ``INSERT`` of these columns into a table, with one ``?`` per column."""
    return "INSERT {}INTO {} ({}) VALUES ({})".format(
        "OR IGNORE " if ignore else "",
        quote_identifier(table),
        ", ".join(quote_identifier(column) for column in columns),
        ", ".join("?" for _ in columns),
    )
