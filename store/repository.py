"""The store's table API: rows in, rows out, no history rules.

:class:`Repository` inserts the rows of each table with prepared ``INSERT`` statements and
reads back what the history policy (:mod:`store.history`) and the facade (:mod:`store.db`) ask
for. It decides nothing: which version a reading shows, what changed, or when an article is
gone is :mod:`store.history`'s business. Every method is called inside a transaction its
caller holds.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import islice
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from domain.pages import ListingPage
from domain.records import ArticleRecord, FetchRecord
from domain.times import iso_z
from store import blockdata
from store.errors import StoreError

COMPRESSION = "zlib"
# zlib's default level: on article pages it compresses within 1% of level 9, 25% faster.
ZLIB_LEVEL = 6
# How long a write waits for another writer's lock (a reader never blocks it in WAL mode).
BUSY_TIMEOUT_MS = 30_000

SELECT_CRAWL = "SELECT id FROM crawls WHERE id = :id"
SELECT_BODY = "SELECT sha256 FROM bodies WHERE sha256 = :sha256"
SELECT_BODY_DATA = "SELECT compression, data FROM bodies WHERE sha256 = :sha256"
SELECT_FETCH = "SELECT * FROM fetches WHERE id = :id"
FINISH_CRAWL = """
UPDATE crawls SET finished_at = :finished_at, finish_reason = :reason, stats = :stats
WHERE id = :id
"""
FINISH_REPARSE = """
UPDATE reparses SET finished_at = :finished_at, parser = :parser,
  parser_version = :parser_version, pages = :pages, unchanged = :unchanged, changed = :changed,
  failed = :failed
WHERE id = :id
"""
# Index a version as soon as its blocks are in: versions_fts reads the view version_text.
INDEX_VERSION = """
INSERT INTO versions_fts (rowid, title, lead, body_text)
SELECT id, title, lead, body_text FROM version_text WHERE id = :id
"""


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


@functools.lru_cache(maxsize=128)
def insert_sql(table: str, columns: tuple[str, ...], ignore: bool = False) -> str:
    """The ``INSERT`` of these columns into a table, with one ``?`` per column."""
    return "INSERT {}INTO {} ({}) VALUES ({})".format(
        "OR IGNORE " if ignore else "",
        quote_identifier(table),
        ", ".join(quote_identifier(column) for column in columns),
        ", ".join("?" for _ in columns),
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


def open_database(path: Path | None, uri: str | None = None) -> ImmediateDatabase:
    """The file at ``path`` (in memory for None) with foreign keys, a busy timeout and WAL;
    opened by ``uri`` instead when given (read-only: the file is left as it is)."""
    if uri is not None:
        db = ImmediateDatabase(sqlite3.connect(uri, uri=True))
    else:
        db = ImmediateDatabase(memory=True) if path is None else ImmediateDatabase(path)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path is not None and uri is None:
        db.enable_wal()
        # In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a crash of the
        # crawler loses nothing, a power cut may lose the last commits, never consistency.
        db.execute("PRAGMA synchronous = NORMAL")
    return db


# The columns of ``blocks`` a version's block rows hold, after ``version_id``.
BLOCK_COLUMNS = ("position", "kind", "destination", "text", "sha256", "data", "body_offset")
BlockRow = tuple[int, str, str, str, str, str, int]


def block_rows(article: ArticleRecord) -> list[BlockRow]:
    """The rows of an article's blocks (:data:`BLOCK_COLUMNS`), without their version: packing
    20,000 blocks takes most of a second, so a save makes them before it takes the lock."""
    paragraphs = iter(article.split.body)
    rows: list[BlockRow] = []
    for placed in article.placed_blocks():
        block = placed.block
        offset = 0
        if placed.destination == "body":  # its paragraph is its text, or the end of it
            paragraph = next(paragraphs, None)
            if paragraph is None or not block.text.endswith(paragraph):
                raise StoreError(f"a body paragraph of {article.url} is not its block's text")
            offset = len(block.text.encode()) - len(paragraph.encode())  # UTF-8 bytes
        data = blockdata.pack(block.kind, block.position, block.text, block.to_dict())
        rows.append(
            (block.position, block.kind, placed.destination, block.text, placed.sha256,
             to_json(data), offset)
        )  # fmt: skip
    if next(paragraphs, None) is not None:
        raise StoreError(f"{article.url} has more body paragraphs than body blocks")
    return rows


class Repository:
    """Inserts and plain reads of the store's tables, on one sqlite-utils Database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def one(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row a query answers, or None."""
        return next(self.db.query(sql, params), None)

    def all(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row a query answers (read in full before the caller writes)."""
        return list(self.db.query(sql, params or {}))

    def insert_row(self, table: str, row: dict[str, Any], ignore: bool = False) -> int:
        """Insert one row into an existing table with a prepared ``INSERT`` (``OR IGNORE`` with
        ``ignore``); return its rowid. A missing column is an error, never added."""
        cursor = self.db.conn.execute(insert_sql(table, tuple(row), ignore), list(row.values()))
        if cursor.lastrowid is None:
            raise RuntimeError(f"SQLite did not report the row id inserted into {table}")
        return int(cursor.lastrowid)

    def insert_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows (all with the same keys) into an existing table with one prepared
        ``INSERT``, 1,000 at a time (a sitemap's 100,000 entries are never one list of rows);
        a missing column is an error, never added."""
        rows = iter(rows)
        while batch := list(islice(rows, 1000)):
            columns = tuple(batch[0])
            self.db.conn.executemany(
                insert_sql(table, columns), [[row[column] for column in columns] for row in batch]
            )

    # Crawls, fetches and bodies

    def crawl_exists(self, crawl_id: str) -> bool:
        """Whether the crawl has been begun."""
        return self.one(SELECT_CRAWL, {"id": crawl_id}) is not None

    def finish_crawl(self, crawl_id: str, finished_at: str, reason: str, stats: str) -> bool:
        """Record a crawl's end; False when there is no such crawl."""
        params = {"id": crawl_id, "finished_at": finished_at, "reason": reason, "stats": stats}
        return self.db.execute(FINISH_CRAWL, params).rowcount == 1

    def finish_reparse(
        self,
        reparse_id: int,
        finished_at: str,
        counts: dict[str, int],
        parser: str | None,
        parser_version: str | None,
    ) -> None:
        """Record a re-parse's end, its counts (0 for those not given) and its parsers."""
        params = {"pages": 0, "unchanged": 0, "changed": 0, "failed": 0, **counts}
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

    def body_exists(self, sha256: str) -> bool:
        """Whether a body with this hash is stored."""
        return self.one(SELECT_BODY, {"sha256": sha256}) is not None

    def body(self, sha256: str) -> bytes | None:
        """The raw bytes stored under this SHA-256, or None."""
        row = self.one(SELECT_BODY_DATA, {"sha256": sha256})
        return None if row is None else decompress(row["data"], row["compression"])

    def compressed_body(self, fetch: FetchRecord) -> bytes | None:
        """The fetch's body compressed, when it is not stored yet: done before a save takes the
        write lock (16 MB take about half a second), and passed to :meth:`insert_fetch`."""
        if fetch.body is None or fetch.body_sha256 is None or self.body_exists(fetch.body_sha256):
            return None
        return compress(fetch.body)

    def insert_body(self, body: bytes, sha256: str, compressed: bytes | None = None) -> None:
        """Store a raw body compressed (``compressed``, or compressed now), unless one with the
        same hash is stored already."""
        if self.body_exists(sha256):
            return
        row = {"sha256": sha256, "size": len(body), "compression": COMPRESSION}
        data = compress(body) if compressed is None else compressed
        self.insert_row("bodies", {**row, "data": data}, ignore=True)

    def insert_fetch(self, fetch: FetchRecord, compressed: bytes | None = None) -> int:
        """Insert the fetch row (and its body, ``compressed`` if given); return its id."""
        if not self.crawl_exists(fetch.crawl_id):
            raise StoreError(f"unknown crawl {fetch.crawl_id}: call begin_crawl() first")
        digest = fetch.body_sha256  # hashed once, when the fetch record was made
        if fetch.body is not None and digest is not None:
            self.insert_body(fetch.body, digest, compressed)
        elif digest is not None and not self.body_exists(digest):
            raise StoreError(f"body {digest} of {fetch.requested_url} is neither given nor stored")
        return self.insert_row(
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
                "encoding_errors": fetch.encoding_errors,
                "source": fetch.source,
            },
        )

    def fetch(self, fetch_id: int) -> FetchRecord:
        """A stored fetch as its record, with its body."""
        row = self.one(SELECT_FETCH, {"id": fetch_id})
        if row is None:
            raise StoreError(f"no fetch {fetch_id} in the store")
        return FetchRecord(
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
            body=self.body(row["body_sha256"]) if row["body_sha256"] else None,
            body_sha256=row["body_sha256"],
            redirect_status=row["redirect_status"],
            encoding=row["encoding"],
            encoding_errors=row["encoding_errors"],
        )

    def insert_listing(
        self, fetch_id: int, fetch: FetchRecord, page: ListingPage, section: str
    ) -> None:
        """Insert a listing page and the entries it showed."""
        where = {"crawl_id": fetch.crawl_id, "listing_url": page.url, "section": section}
        self.insert_row(
            "listing_pages",
            {
                "fetch_id": fetch_id,
                **where,
                "entries": len(page.entries),
                "next_url": page.next_url,
                "parser": page.parser,
                "parser_version": page.parser_version,
            },
        )
        self.insert_rows(
            "listings",
            (
                {
                    "fetch_id": fetch_id,
                    **where,
                    "position": entry.position,
                    "url": entry.url,
                    "title": entry.title,
                    "listed_at": entry.listed_at,
                    "listed_raw": entry.listed_raw,
                }
                for entry in page.entries
            ),
        )

    def insert_discoveries(
        self, fetch_id: int, fetch: FetchRecord, page: ListingPage, source: str
    ) -> None:
        """Insert the article candidates a discovery source (feed, sitemap, day archive) listed."""
        self.insert_rows(
            "discoveries",
            (
                {
                    "fetch_id": fetch_id,
                    "crawl_id": fetch.crawl_id,
                    "source": source,
                    "listing_url": page.url,
                    "position": entry.position,
                    "url": entry.url,
                    "title": entry.title,
                    "listed_at": entry.listed_at,
                    "listed_raw": entry.listed_raw,
                }
                for entry in page.entries
            ),
        )

    # Articles and versions

    def insert_article(self, article: ArticleRecord, seen: str) -> int:
        """Insert a new article row (its current version is set once the version exists)."""
        return self.insert_row(
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

    def insert_version(
        self,
        article_pk: int,
        number: int,
        fetch_id: int,
        fetch: FetchRecord,
        article: ArticleRecord,
        blocks: list[BlockRow] | None = None,
    ) -> int:
        """Insert one version of an article with its blocks (``blocks``: :func:`block_rows`,
        made before the write lock was taken), captions, links and tags, and index its text
        for search; return its id."""
        page, split = article.page, article.split
        version_id = self.insert_row(
            "versions",
            {
                "article_id": article_pk,
                "version": number,
                "title": page.title,
                "lead": page.lead,
                "dateline": split.dateline,
                "published_at": page.published_at,
                "modified_at": page.modified_at,
                "authors": to_json(page.authors),
                "language": page.language,
                "canonical_url": page.canonical_url,
                "dates": to_json([asdict(date) for date in page.dates]),
                "dropped": to_json(split.dropped),
                "text_sha256": article.text_sha256,
                "raw_sha256": article.raw_sha256,
                "parser": page.parser,
                "parser_version": page.parser_version,
                "created_at": fetch.fetched_at,
                "fetch_id": fetch_id,
                "crawl_id": fetch.crawl_id,
            },
        )
        self._insert_parts(version_id, article, blocks)
        self.db.execute(INDEX_VERSION, {"id": version_id})
        return version_id

    def _insert_parts(
        self, version_id: int, article: ArticleRecord, blocks: list[BlockRow] | None
    ) -> None:
        """Insert a new version's blocks (the one copy of its body text; ``blocks`` as
        :func:`block_rows` made them, or made now), captions, related links and tags."""
        rows = block_rows(article) if blocks is None else blocks
        self.db.conn.executemany(
            insert_sql("blocks", ("version_id", *BLOCK_COLUMNS)),
            [(version_id, *row) for row in rows],
        )
        self.insert_rows(
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
        self.insert_rows(
            "related_links",
            ({"version_id": version_id, **asdict(link)} for link in article.split.related_links),
        )
        self.insert_rows(
            "tags",
            (
                {"version_id": version_id, "idx": index, "name": tag.name, "url": tag.url}
                for index, tag in enumerate(article.page.tags)
            ),
        )
