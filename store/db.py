"""The store: the one place that writes to the SQLite file.

:class:`Store` takes the plain records of :mod:`store.records` and writes each fetch together
with what came of it (an article version, a listing, or nothing) in a single transaction.
Raw bodies are kept zlib-compressed, once per SHA-256; an article keeps one row and one
version per distinct normalized text. Reads for export and summaries live in
:mod:`store.export` and :mod:`store.summary`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from store import export, summary
from store.errors import StoreError
from store.records import (
    ArticleRecord,
    CrawlRecord,
    FetchRecord,
    ListingRecord,
)
from store.schema import migrate

COMPRESSION = "zlib"
# zlib's default level: on article pages it compresses within 1% of level 9, 25% faster.
ZLIB_LEVEL = 6

SELECT_CRAWL = "SELECT id FROM crawls WHERE id = :id"
SELECT_BODY = "SELECT sha256 FROM bodies WHERE sha256 = :sha256"
SELECT_BODY_DATA = "SELECT compression, data FROM bodies WHERE sha256 = :sha256"
SELECT_ARTICLE = "SELECT id, last_seen FROM articles WHERE url = :url"
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
MARK_ARTICLE_GONE = """
UPDATE articles SET status = 'gone'
WHERE url IN (:requested_url, :final_url) AND last_seen <= :seen
"""

ARTICLE_KINDS = frozenset({"article"})
LISTING_KINDS = frozenset({"section", "listing"})


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
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def sha256_hex(data: bytes) -> str:
    """The lowercase hex SHA-256 of some bytes: the key of a stored body."""
    return hashlib.sha256(data).hexdigest()


def compress(data: bytes) -> bytes:
    """Compress raw bytes for the ``bodies`` table."""
    return zlib.compress(data, ZLIB_LEVEL)


def decompress(data: bytes, compression: str) -> bytes:
    """Undo :func:`compress`."""
    if compression != COMPRESSION:
        raise StoreError(f"unknown body compression {compression!r}")
    return zlib.decompress(data)


def body_hash(fetch: FetchRecord) -> str | None:
    """The SHA-256 the fetch's body is stored under, checked against the one it claims."""
    if fetch.body is None:
        return fetch.body_sha256
    digest = sha256_hex(fetch.body)
    if fetch.body_sha256 is not None and fetch.body_sha256 != digest:
        raise StoreError(
            f"body_sha256 {fetch.body_sha256} does not match the body ({digest}) "
            f"of {fetch.requested_url}"
        )
    return digest


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
    digest = body_hash(fetch)
    if digest is None:
        raise StoreError(f"the fetch of {article.url} needs its body (or body_sha256)")
    if article.raw_sha256 != digest:
        raise StoreError(
            f"raw_sha256 {article.raw_sha256} of {article.url} is not the fetched body's {digest}"
        )


class Store:
    """A provenance store in one SQLite file (WAL mode), built on sqlite-utils.

    ``store.db`` is the underlying :class:`sqlite_utils.Database`, for reading; every write
    goes through the methods below.
    """

    def __init__(self, path: str | Path) -> None:
        """Open the store at ``path``, creating the file (and its folders) or migrating it."""
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        self._open(Database(file), file)

    @classmethod
    def memory(cls) -> Store:
        """An in-memory store, for tests."""
        store = cls.__new__(cls)
        store._open(Database(memory=True), None)
        return store

    def _open(self, db: Database, path: Path | None) -> None:
        """Switch on foreign keys and WAL, and bring the schema up to date."""
        self.db = db
        self.path = path
        self.db.execute("PRAGMA foreign_keys = ON")
        if path is not None:
            self.db.enable_wal()
            # In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a crash of the
            # crawler loses nothing, a power cut may lose the last commits, never consistency.
            self.db.execute("PRAGMA synchronous = NORMAL")
        migrate(self.db)

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
            self.db.table("crawls").insert(
                {
                    "id": crawl.id,
                    "spider": crawl.spider,
                    "started_at": crawl.started_at,
                    "arguments": to_json(crawl.arguments),
                    "settings": to_json(crawl.settings),
                    "software": to_json(crawl.software),
                }
            )

    def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """Record how and when a crawl run ended, with its final stats."""
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

    # Fetches and what came of them

    def save_fetch(self, fetch: FetchRecord) -> int:
        """Save a fetch that produced no article or listing (404, error, failure, unparseable)."""
        check_fetch(fetch, kinds=None, ok=False)
        with self.db.atomic():
            fetch_id = self._insert_fetch(fetch)
            if fetch.kind in ARTICLE_KINDS and fetch.outcome == "not_found":
                self.db.execute(
                    MARK_ARTICLE_GONE,
                    {
                        "requested_url": fetch.requested_url,
                        "final_url": fetch.final_url,
                        "seen": fetch.fetched_at,
                    },
                )
        return fetch_id

    def save_listing(self, fetch: FetchRecord, listing: ListingRecord) -> int:
        """Save a section page or "load more" chunk and the entries it showed."""
        check_fetch(fetch, kinds=LISTING_KINDS, ok=True)
        with self.db.atomic():
            fetch_id = self._insert_fetch(fetch)
            self.db.table("listing_pages").insert(
                {
                    "fetch_id": fetch_id,
                    "crawl_id": fetch.crawl_id,
                    "listing_url": listing.listing_url,
                    "section": listing.section,
                    "entries": len(listing.entries),
                    "next_url": listing.next_url,
                    "parser": listing.parser,
                    "parser_version": listing.parser_version,
                }
            )
            self._insert_rows(
                "listings",
                (
                    {
                        "fetch_id": fetch_id,
                        "crawl_id": fetch.crawl_id,
                        "listing_url": listing.listing_url,
                        "section": listing.section,
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

    def body(self, sha256: str) -> bytes | None:
        """The raw bytes stored under this SHA-256, or None."""
        row = next(self.db.query(SELECT_BODY_DATA, {"sha256": sha256}), None)
        return None if row is None else decompress(row["data"], row["compression"])

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
        self.db.table("bodies").insert(
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
        digest = body_hash(fetch)
        if fetch.body is not None and digest is not None:
            self._insert_body(fetch.body, digest)
        elif digest is not None and not self._body_exists(digest):
            raise StoreError(f"body {digest} of {fetch.requested_url} is neither given nor stored")
        table = self.db.table("fetches")
        table.insert(
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
            }
        )
        return _last_rowid(table.last_rowid)

    def _save_version(
        self, fetch_id: int, fetch: FetchRecord, article: ArticleRecord
    ) -> SaveResult:
        """Find or add the article and the version for its text; make it current if newest."""
        seen = fetch.fetched_at
        row = next(self.db.query(SELECT_ARTICLE, {"url": article.url}), None)
        if row is None:
            article_pk = self._insert_article(article, seen)
            newest = True
        else:
            article_pk = int(row["id"])
            newest = seen >= row["last_seen"]
            self.db.execute(TOUCH_ARTICLE, {"id": article_pk, "seen": seen})
        existing = next(
            self.db.query(
                SELECT_VERSION_BY_TEXT,
                {"article_id": article_pk, "text_sha256": article.text_sha256},
            ),
            None,
        )
        if existing is None:
            number = int(
                next(self.db.query(SELECT_NEXT_VERSION, {"article_id": article_pk}))["next"]
            )
            version_id = self._insert_version(article_pk, number, fetch_id, fetch, article)
            self._insert_children(version_id, article)
        else:
            version_id, number = int(existing["id"]), int(existing["version"])
        if newest:
            self.db.execute(
                SET_CURRENT_VERSION,
                {
                    "id": article_pk,
                    "version_id": version_id,
                    "article_id": article.article_id,
                    "site": article.site,
                    "section": article.section,
                },
            )
        return SaveResult(
            fetch_id=fetch_id,
            article_id=article_pk,
            version_id=version_id,
            version=number,
            new_version=existing is None,
        )

    def _insert_article(self, article: ArticleRecord, seen: str) -> int:
        """Insert a new article row (its current version is set once the version exists)."""
        table = self.db.table("articles")
        table.insert(
            {
                "url": article.url,
                "article_id": article.article_id,
                "site": article.site,
                "section": article.section,
                "first_seen": seen,
                "last_seen": seen,
                "current_version_id": None,
                "status": "live",
            }
        )
        return _last_rowid(table.last_rowid)

    def _insert_version(
        self,
        article_pk: int,
        number: int,
        fetch_id: int,
        fetch: FetchRecord,
        article: ArticleRecord,
    ) -> int:
        """Insert one version of an article; return its id."""
        table = self.db.table("versions")
        table.insert(
            {
                "article_id": article_pk,
                "version": number,
                "title": article.title,
                "lead": article.lead,
                "dateline": article.dateline,
                "published_at": article.published_at,
                "modified_at": article.modified_at,
                "authors": to_json(article.authors),
                "language": article.language,
                "canonical_url": article.canonical_url,
                "dates": to_json([asdict(date) for date in article.dates]),
                "body_text": "\n\n".join(article.body),
                "body": to_json(article.body),
                "dropped": to_json(article.dropped),
                "text_sha256": article.text_sha256,
                "raw_sha256": article.raw_sha256,
                "parser": article.parser,
                "parser_version": article.parser_version,
                "created_at": fetch.fetched_at,
                "fetch_id": fetch_id,
                "crawl_id": fetch.crawl_id,
            }
        )
        return _last_rowid(table.last_rowid)

    def _insert_children(self, version_id: int, article: ArticleRecord) -> None:
        """Insert a new version's blocks, captions, related links and tags."""
        self._insert_rows(
            "blocks",
            (
                {
                    "version_id": version_id,
                    "position": block.position,
                    "kind": block.kind,
                    "destination": block.destination,
                    "text": block.text,
                    "sha256": block.sha256,
                    "data": to_json(block.data),
                }
                for block in article.blocks
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
                for caption in article.captions
            ),
        )
        self._insert_rows(
            "related_links",
            ({"version_id": version_id, **asdict(link)} for link in article.related_links),
        )
        self._insert_rows(
            "tags",
            (
                {"version_id": version_id, "idx": tag.index, "name": tag.name, "url": tag.url}
                for tag in article.tags
            ),
        )

    def _insert_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Insert rows (all with the same keys) into an existing table with one prepared
        ``INSERT``; a missing column is an error, never added."""
        batch = list(rows)
        if not batch:
            return
        columns = list(batch[0])
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            quote_identifier(table),
            ", ".join(quote_identifier(column) for column in columns),
            ", ".join("?" for _ in columns),
        )
        self.db.conn.executemany(sql, [[row[column] for column in columns] for row in batch])


def _last_rowid(rowid: int | None) -> int:
    """The rowid of the row just inserted (sqlite-utils reports it after a single insert)."""
    if rowid is None:
        raise RuntimeError("sqlite-utils did not report the inserted row id")
    return int(rowid)
