"""The store: the one place that writes to the SQLite file.

:class:`Store` takes the plain records of :mod:`domain.records` and writes each fetch together
with what came of it (an article version, a listing, or nothing) in a single transaction. It
is a thin facade: the tables are :class:`store.repository.Repository`'s, the history rules
:mod:`store.history`'s (with :mod:`store.delisting` and :mod:`store.rechecks`), the reads for
export and summaries :mod:`store.export`'s and :mod:`store.summary`'s. It implements
:class:`store.protocol.StoreWriter`, the interface a crawl writes through.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from domain.pages import Block, ListingPage
from domain.records import ArticleRecord, CrawlRecord, FetchRecord, PlacedBlock, WarcSource
from store import blockdata, export, summary
from store.delisting import record_listing_events
from store.errors import StoreError
from store.health import damaged, quick_check, read_only_reason, read_only_uri
from store.history import History, Reading, SaveResult
from store.rechecks import due_for_recheck, recheck_candidates
from store.repository import Repository, block_rows, open_database, to_json
from store.schedule import Schedule
from store.schema import SCHEMA_VERSION, migrate, schema_version
from store.warc_capture import WarcCapture

__all__ = ["SaveResult", "Store"]

ARTICLE_KINDS = frozenset({"article"})
# Outcomes of an article fetch that mean the article is gone (404/410, redirect to the section).
GONE_OUTCOMES = frozenset({"not_found", "redirected_away"})
LISTING_KINDS = frozenset({"section", "listing"})
DISCOVERY_KINDS = frozenset({"robots", "sitemap", "feed", "archive"})

SELECT_VERSION_BLOCKS = """
SELECT position, kind, destination, text, sha256, data FROM blocks
WHERE version_id = :id ORDER BY position
"""
SELECT_REPARSE_SOURCES = """
SELECT id FROM fetches
WHERE kind = 'article' AND body_sha256 IS NOT NULL AND status BETWEEN 200 AND 299
  AND outcome IN ('ok', 'unparseable')
ORDER BY fetched_at, id
"""


SELECT_CAPTURE = """
SELECT 1 FROM fetches
WHERE body_sha256 = :sha256 AND (final_url = :url OR requested_url = :url) LIMIT 1
"""


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


class Store:
    """A provenance store in one SQLite file (WAL mode), built on sqlite-utils.

    ``store.db`` is the underlying :class:`sqlite_utils.Database`, for reading; every write
    goes through the methods below, each one transaction.
    """

    def __init__(self, path: str | Path, *, check: bool = False, read_only: bool = False) -> None:
        """Open the store at ``path``, creating the file (and its folders) or migrating it.

        ``check`` runs ``PRAGMA quick_check`` first (:class:`store.health.DamagedStore`);
        a file or folder that cannot be written is a :class:`StoreError` at once, unless
        ``read_only``: the file is then opened for reading only, and must be of the current
        schema (it cannot be migrated).
        """
        file = Path(path)
        if read_only:
            if not file.is_file():
                raise StoreError(f"no store at {file}")
            self._open(file, check, uri=read_only_uri(file))
            return
        problem = read_only_reason(file)
        if problem is not None:
            raise StoreError(f"cannot write to the store: {problem}")
        file.parent.mkdir(parents=True, exist_ok=True)
        self._open(file, check)

    @classmethod
    def memory(cls) -> Store:
        """An in-memory store, for tests."""
        store = cls.__new__(cls)
        store._open(None, check=False)
        return store

    def _open(self, path: Path | None, check: bool, uri: str | None = None) -> None:
        """Open the database, check it if asked, and bring its schema up to date (a read-only
        one, opened by ``uri``, must be up to date)."""
        self.path = path
        try:
            self.db = open_database(path, uri)
        except sqlite3.DatabaseError as error:
            # damage where SQLite reads first (the schema's pages); a file that is no database
            # at all (SQLITE_NOTADB), a locked or read-only one are told as they are by the caller
            if error.sqlite_errorname != "SQLITE_CORRUPT":
                raise
            raise damaged(path, str(error)) from None
        try:
            if check:
                quick_check(self.db.conn, path)
            if uri is None:
                migrate(self.db)
            elif (found := schema_version(self.db)) != SCHEMA_VERSION:
                raise StoreError(
                    f"{path} is read-only and has schema version {found}, not "
                    f"{SCHEMA_VERSION}: open it once where it can be written, to migrate it"
                )
        except BaseException:
            self.db.close()
            raise
        self.repo = Repository(self.db)
        self.history = History(self.repo)
        self.capture: WarcCapture | None = None  # a crawl's WARC files (WARC_DIR), when on

    def limit_pages(self, pages: int) -> None:
        """Let the file grow to at most ``pages`` pages on this connection (a full disk)."""
        self.db.execute(f"PRAGMA max_page_count = {int(pages)}")

    def close(self) -> None:
        """Close the file (and a crawl's WARC file)."""
        if self.capture is not None:
            self.capture.close()
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
            if self.repo.crawl_exists(crawl.id):
                raise StoreError(f"crawl {crawl.id} is already in the store")
            self.repo.insert_row(
                "crawls",
                {
                    "id": crawl.id,
                    "spider": crawl.spider,
                    "started_at": crawl.started_at,
                    "arguments": to_json(crawl.arguments),
                    "settings": to_json(crawl.settings),
                    "software": to_json(crawl.software),
                    "worker": crawl.worker,
                },
            )
        directory = crawl.settings.get("WARC_DIR")
        if directory:  # capture: every exchange of this crawl also as WARC records
            max_size = int(crawl.settings.get("WARC_MAX_SIZE") or 0)
            self.capture = WarcCapture(Path(directory), crawl, max_size)

    def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """Record how and when a crawl run ended, with its final stats.

        A crawl that finished normally (``reason == "finished"``) also records which articles
        its section listings dropped (``delisted``) or showed again (``relisted``).
        """
        with self.db.atomic():
            if not self.repo.finish_crawl(crawl_id, finished_at, reason, to_json(stats)):
                raise StoreError(f"no crawl {crawl_id} in the store")
            if reason == "finished":
                record_listing_events(self.repo, crawl_id)
        if self.capture is not None and self.capture.crawl.id == crawl_id:
            self.capture.close()
            self.capture = None

    # Fetches and what came of them

    def save_fetch(self, fetch: FetchRecord) -> int:
        """Save a fetch that produced no article or listing (404, error, failure, unparseable)."""
        check_fetch(fetch, kinds=None, ok=False)
        compressed = self.repo.compressed_body(fetch)  # before the write lock
        with self.db.atomic():
            fetch_id = self.repo.insert_fetch(fetch, compressed)
            self._capture(fetch_id, fetch)
            if fetch.kind in ARTICLE_KINDS and fetch.outcome in GONE_OUTCOMES:
                self.history.mark_gone(fetch_id, fetch)
        return fetch_id

    def save_listing(self, fetch: FetchRecord, listing: ListingPage, section: str) -> int:
        """Save a section page or "load more" chunk and the entries it showed."""
        check_fetch(fetch, kinds=LISTING_KINDS, ok=True)
        compressed = self.repo.compressed_body(fetch)  # before the write lock
        with self.db.atomic():
            fetch_id = self.repo.insert_fetch(fetch, compressed)
            self._capture(fetch_id, fetch)
            self.repo.insert_listing(fetch_id, fetch, listing, section)
        return fetch_id

    def save_discovery(self, fetch: FetchRecord, page: ListingPage, source: str) -> int:
        """Save a discovery source's page (robots.txt, a sitemap, a feed, a day archive) and the
        article candidates it listed (none for robots.txt or a sitemap index)."""
        check_fetch(fetch, kinds=DISCOVERY_KINDS, ok=True)
        compressed = self.repo.compressed_body(fetch)  # before the write lock
        with self.db.atomic():
            fetch_id = self.repo.insert_fetch(fetch, compressed)
            self._capture(fetch_id, fetch)
            self.repo.insert_discoveries(fetch_id, fetch, page, source)
        return fetch_id

    def save_article(self, fetch: FetchRecord, article: ArticleRecord) -> SaveResult:
        """Save an article page: its fetch, and a new version if its text is new."""
        check_fetch(fetch, kinds=ARTICLE_KINDS, ok=True)
        check_article(fetch, article)
        # the slow parts of writing a page are done before the write lock is taken
        compressed, blocks = self.repo.compressed_body(fetch), block_rows(article)
        with self.db.atomic():
            fetch_id = self.repo.insert_fetch(fetch, compressed)
            self._capture(fetch_id, fetch)
            reading = Reading(fetch_id, fetch, article, "crawl", blocks=blocks)
            return self.history.observe(reading)

    def _capture(self, fetch_id: int, fetch: FetchRecord) -> None:
        """With capture on, append the fetch's exchange to the crawl's WARC file and keep
        where it is (inside the caller's transaction: a row only for bytes written)."""
        if self.capture is None or fetch.crawl_id != self.capture.crawl.id:
            return
        source = self.capture.write(fetch)
        if source is not None:
            self.repo.insert_row("warc_records", {"fetch_id": fetch_id, **asdict(source)})

    def save_imported_article(
        self, fetch: FetchRecord, article: ArticleRecord, source: WarcSource
    ) -> SaveResult:
        """Save an article page read from a WARC record (``python -m store import``): its
        fetch, the record it came from, and its version in its place in time."""
        check_fetch(fetch, kinds=ARTICLE_KINDS, ok=True)
        check_article(fetch, article)
        with self.db.atomic():
            fetch_id = self.repo.insert_fetch(fetch)
            self.repo.insert_row("warc_records", {"fetch_id": fetch_id, **asdict(source)})
            return self.history.observe(Reading(fetch_id, fetch, article, "crawl"))

    def has_capture(self, url: str, sha256: str) -> bool:
        """Whether a fetch of this URL with this body is stored already."""
        return self.repo.one(SELECT_CAPTURE, {"url": url, "sha256": sha256}) is not None

    # Reads

    def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """Counts of what the store holds, and fetches by outcome (of one crawl if given)."""
        if crawl_id is not None and not self.repo.crawl_exists(crawl_id):
            raise StoreError(f"no crawl {crawl_id} in the store")
        return summary.read_summary(self.db, crawl_id)

    def export_articles(self) -> Iterator[dict[str, Any]]:
        """One dict per article (its current version), keys :data:`store.export.EXPORT_KEYS`."""
        return export.iter_articles(self.db)

    def export_article_lines(self) -> Iterator[str]:
        """:meth:`export_articles` as lines of JSON text, as the store writes them."""
        return export.iter_article_lines(self.db)

    def export_version_lines(self) -> Iterator[str]:
        """Every version of every article as lines of JSON text, each with its change."""
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
        return self.repo.body(sha256)

    def recheck_candidates(
        self, section: str | None = None, born_after: str = ""
    ) -> list[tuple[str, str, str]]:
        """Known articles (of ``section``) born at or after ``born_after``: see
        :func:`store.rechecks.recheck_candidates`."""
        return recheck_candidates(self.db, section, born_after)

    def sections(self) -> list[str]:
        """The sections the store has listings of, by name."""
        rows = self.db.execute("SELECT DISTINCT section FROM listings ORDER BY section")
        return [str(row[0]) for row in rows.fetchall() if row[0]]

    def known_urls(self, urls: list[str]) -> set[str]:
        """Those of ``urls`` that are stored articles."""
        found: set[str] = set()
        for start in range(0, len(urls), 500):  # SQLite's bound on parameters, with room
            batch = urls[start : start + 500]
            marks = ", ".join("?" * len(batch))
            rows = self.db.execute(f"SELECT url FROM articles WHERE url IN ({marks})", batch)
            found.update(str(row[0]) for row in rows.fetchall())
        return found

    def due_for_recheck(
        self, now: dt.datetime, schedule: Schedule, section: str | None = None
    ) -> list[str]:
        """The URLs of known articles due for a recheck at ``now`` under ``schedule``."""
        return due_for_recheck(self.db, now, schedule, section)

    # Re-parsing stored pages

    def begin_reparse(self, started_at: str) -> int:
        """Record the start of a re-parse of stored pages; return its id."""
        with self.db.atomic():
            return self.repo.insert_row("reparses", {"started_at": started_at})

    def reparse_sources(self) -> Iterator[tuple[int, FetchRecord]]:
        """Every stored article page a parser can read again, oldest fetch first, with its body."""
        ids = [int(row["id"]) for row in self.db.query(SELECT_REPARSE_SOURCES)]
        for fetch_id in ids:
            yield fetch_id, self.repo.fetch(fetch_id)

    def save_reparse(
        self, reparse_id: int, fetch_id: int, fetch: FetchRecord, article: ArticleRecord, at: str
    ) -> bool:
        """Keep what the current parser read from a stored page; True when it differs from
        what the page read as before.

        Every reading becomes an observation (which parser version produced which text); a
        new version is added only for a text the article never had, with its change against
        what this page read as before. The newest page of an article sets its current version.
        """
        check_article(fetch, article)
        reading = Reading(fetch_id, fetch, article, "reparse", reparse_id, at, block_rows(article))
        with self.db.atomic():
            return self.history.observe(reading).changed

    def finish_reparse(
        self,
        reparse_id: int,
        finished_at: str,
        counts: dict[str, int],
        parser: str | None,
        parser_version: str | None,
    ) -> None:
        """Record the end of a re-parse: its counts and the parser (versions) that read pages."""
        with self.db.atomic():
            self.repo.finish_reparse(reparse_id, finished_at, counts, parser, parser_version)
