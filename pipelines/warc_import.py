"""Import web-archive captures: WARC, WARC.gz and WACZ files through the crawl's article chain
(issue 13, part 3).

Every ``response`` record (and every ``revisit``, resolved to the payload it repeats) is read
as the crawl reads a response — :func:`crawler.fetching.read_page` (HTML? complete? which
encoding?) and then :func:`pipelines.chain.read_article` (the site parsers of
:func:`crawler.sites.parse_article`, the split, the hashes) — and kept by the store as a fetch
of the import's own crawl row (``spider = 'import'``), at the capture's ``WARC-Date``, with the
file and record it came from in ``warc_records``. An older capture takes its place in time in
the article's history (:mod:`store.backdating`). The records are read by ``warcio``.

What is not kept, counted by reason: a payload this URL already has in the store
(``duplicate``), a status other than 200, a page that is not HTML, cut short or undecodable (the
crawl's outcomes ``not_html``, ``data_loss``, ``unparseable``), a page no parser reads as an
article (``not_an_article``: listings, pages of unknown design), a revisit whose original is not
found, a record whose payload fails its digest, a record cut off by the end of its file, and
the rest of a file warcio cannot read on.
``python -m store import STORE_PATH FILE…`` runs :func:`import_files` and prints its summary.

As a crawl parses in one process and stores in another, an import reads the files and stores
in this process while worker processes read the pages (:func:`read_capture`); readings are
stored in file order, so counts, versions and their order are those of a reading in one process.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import multiprocessing
import os
import secrets
import sys
import zipfile
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any, TextIO

from scrapy.http import Headers, Request
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from crawler.fetching import META_KIND, META_RECORDED_AT, read_page
from crawler.sites import UnparseablePage, parse_capture
from domain.hashing import sha256_hex
from domain.records import ArticleRecord, CrawlRecord, FetchRecord, WarcSource
from domain.times import iso_z, parse_iso, utc_now
from pipelines.chain import ParseArticle, read_article
from store import Store

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 500
CAPTURE_TYPES = frozenset({"response", "revisit"})
CONCURRENT = "warc-concurrent-to"
MAX_REQUESTS = 10_000  # request records remembered for their Referer (files pair them closely)
# The payload is read decoded (warcio undoes chunking and content coding), as Scrapy hands a
# crawl its body: these headers describe the bytes on the wire, not the stored body.
WIRE_HEADERS = frozenset({b"content-encoding", b"transfer-encoding"})


@dataclass
class ImportCounts:
    """What an import did."""

    records: int = 0  # response and revisit records read
    articles: int = 0  # records stored as article pages
    new_versions: int = 0  # of those, texts the article did not have
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> records


@dataclass(frozen=True)
class Capture:
    """One captured HTTP response, its payload decoded."""

    url: str
    fetched_at: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    source: WarcSource
    digest: str | None = None  # a response's WARC-Payload-Digest, as the file writes it
    concurrent: tuple[str, ...] = ()  # its WARC-Concurrent-To ids
    sha256: str | None = None  # of ``body``, where known already
    referer: str | None = None  # from its request record


# A capture read: its fetch and article record, or the reason it gives none.
Reading = tuple[FetchRecord, ArticleRecord] | str


@dataclass
class Original:
    """What a revisit record may repeat: a payload read earlier in this import."""

    sha256: str
    status: int
    headers: list[tuple[str, str]]
    skipped: str | None = None  # why it was not kept, if it was not


def format_counts(counts: ImportCounts) -> str:
    """``"12 records: 8 articles, 7 new versions, 4 skipped (2 duplicate, 2 status 404)"``."""
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.skipped.items()))
    skipped = sum(counts.skipped.values())
    return (
        f"{counts.records} records: {counts.articles} articles, {counts.new_versions} new "
        f"versions, {skipped} skipped" + (f" ({reasons})" if reasons else "")
    )


@contextmanager
def _open(path: Path) -> Iterator[list[tuple[str, IO[bytes]]]]:
    """The WARC streams of a file: itself, or each WARC member of a WACZ (``archive/``)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as package:
            names = sorted(
                name
                for name in package.namelist()
                if name.startswith("archive/") and name.endswith((".warc", ".warc.gz"))
            )
            streams = [(f"{path}#{name}", package.open(name)) for name in names]
            try:
                yield streams
            finally:
                for _, stream in streams:
                    stream.close()
    else:
        with path.open("rb") as stream:
            yield [(str(path), stream)]


def concurrent(record: Any) -> tuple[str, ...]:
    """A record's ``WARC-Concurrent-To`` ids (the field may repeat)."""
    return tuple(value for key, value in record.rec_headers.headers if key.lower() == CONCURRENT)


def linked_ids(record: Any) -> set[str]:
    """A record's own id and the ids it names concurrent to it."""
    own = record.rec_headers.get_header("WARC-Record-ID")
    return {own, *concurrent(record)} - {None}


def linked_ids_of(capture: Capture) -> set[str]:
    """A capture's record id and the ids its record names concurrent to it."""
    return {capture.source.record_id, *capture.concurrent}


def digest_sha256(digest: str | None) -> str | None:
    """A ``sha256:`` payload digest as hex (base32 as warcio writes it, or base16), or None."""
    if not digest or not digest.lower().startswith("sha256:"):
        return None
    value = digest.split(":", 1)[1]
    try:
        if len(value) == 64:
            return bytes.fromhex(value).hex()
        return base64.b32decode(value.upper()).hex()
    except ValueError:
        return None


def body_sha256(record: Any, digest: str | None, pairs: list[tuple[str, str]], body: bytes) -> str:
    """The SHA-256 of a response's decoded payload: its ``WARC-Payload-Digest`` where that is
    a SHA-256 warcio checked the payload against and no coding lies between the two (the
    digest is of the bytes on the wire), else computed (hashing a page costs as much as a
    tenth of its import)."""
    coded = any(name.lower().encode() in WIRE_HEADERS for name, _ in pairs)
    if record.digest_checker.passed and not coded:
        known = digest_sha256(digest)
        if known is not None:
            return known
    return sha256_hex(body)


class Importer:
    """Reads captures into one store, as one import run (one ``crawls`` row)."""

    def __init__(
        self,
        store: Store,
        parse: ParseArticle | None = None,
        pool: ProcessPoolExecutor | None = None,
        window: int = 0,
    ) -> None:
        self.store = store
        self.parse = parse
        self.pool = pool  # worker processes that read pages; None: read here
        self.window = window  # readings that may wait to be stored
        self.pending: deque[tuple[Capture, Future[Reading]]] = deque()
        self.counts = ImportCounts()
        # payload digest as written in the file -> the payload it names (for revisits)
        self.originals: dict[str, Original] = {}
        self.crawl_id = f"import-{utc_now().replace(':', '')}-{secrets.token_hex(3)}"

    def begin(self, paths: Sequence[Path]) -> None:
        """Record the import as a run of its own."""
        software = {"python": sys.version.split()[0]}
        for package in ("wirearchive", "warcio", "scrapy", "lxml"):
            try:
                software[package] = version(package)
            except PackageNotFoundError:
                continue
        self.store.begin_crawl(
            CrawlRecord(
                id=self.crawl_id,
                spider="import",
                arguments={"files": [str(path) for path in paths]},
                started_at=utc_now(),
                software=software,
            )
        )

    def finish(self) -> None:
        """Record the end of the import run with its counts."""
        stats = {
            "records": self.counts.records,
            "articles": self.counts.articles,
            "new_versions": self.counts.new_versions,
            "skipped": dict(self.counts.skipped),
        }
        self.store.finish_crawl(self.crawl_id, utc_now(), "imported", stats)

    def captures(self, name: str, stream: IO[bytes]) -> Iterator[Capture | str]:
        """Each capture of a WARC stream, or the reason a record gives none.

        A capture's Referer is its request record's (the one concurrent to it, just before or
        just after it): a response is handed on once the record after it is read.
        """
        records = ArchiveIterator(stream, check_digests=True)
        pending: Capture | None = None
        requests: dict[str, str | None] = {}  # request record ids (and theirs) -> Referer
        try:
            for record in records:
                if record.rec_type == "request":
                    http = record.http_headers
                    referer = http.get_header("Referer") if http else None
                    ids = linked_ids(record)
                    if pending is not None and ids & linked_ids_of(pending):
                        pending = dataclasses.replace(pending, referer=referer)
                    if len(requests) > MAX_REQUESTS:
                        requests.clear()
                    requests.update(dict.fromkeys(ids, referer))
                    continue
                if record.rec_type not in CAPTURE_TYPES:
                    continue
                if pending is not None:
                    yield pending
                    pending = None
                self.counts.records += 1
                item = self.capture(name, records, record)
                if isinstance(item, str):
                    yield item
                    continue
                known = [requests[i] for i in linked_ids_of(item) if i in requests]
                pending = dataclasses.replace(item, referer=known[0] if known else None)
        except Exception as error:  # warcio's errors on a cut-off file have no common base
            logger.warning("%s: stopped reading (%s)", name, error)
            if pending is not None:
                yield pending
                pending = None
            yield "file cut off"
        if pending is not None:
            yield pending

    def capture(self, name: str, records: ArchiveIterator, record: Any) -> Capture | str:
        """A record as a capture: its payload (a revisit's original's), status and headers."""
        headers = record.rec_headers
        body = record.content_stream().read() if record.rec_type == "response" else b""
        # warcio knows the offset once the record is read to its end (it reads it)
        offset = records.get_record_offset()
        # warcio reads a record cut off by the end of the file without an error (and checks no
        # digest then): the bytes its length promised and it could not read are the sign
        if getattr(record.raw_stream, "limit", 0) > 0:
            return "record cut off"
        source = WarcSource(name, offset, headers.get_header("WARC-Record-ID") or "")
        url = headers.get_header("WARC-Target-URI") or ""
        fetched_at = iso_z(parse_iso(headers.get_header("WARC-Date")))
        digest = headers.get_header("WARC-Payload-Digest")
        http = record.http_headers
        if record.rec_type == "revisit":
            self.flush()  # its original may be waiting to be stored
            original = self.originals.get(digest or "")
            sha = original.sha256 if original else digest_sha256(digest)
            body = self.store.body(sha) if sha else None
            if body is None:  # not in the store: skipped as its original was, or never read
                skipped = original.skipped if original else None
                return skipped or "revisit without its original"
            status = int(http.get_statuscode()) if http else original.status if original else 200
            pairs = list(http.headers) if http else original.headers if original else []
            return Capture(
                url, fetched_at, status, pairs, body, source, None, concurrent(record), sha
            )
        if http is None:
            return "no HTTP response"
        if record.digest_checker.passed is False:
            return "digest mismatch"
        status = int(http.get_statuscode())
        pairs = list(http.headers)
        sha = body_sha256(record, digest, pairs, body)
        if digest:
            self.originals[digest] = Original(sha, status, pairs)
        return Capture(
            url, fetched_at, status, pairs, body, source, digest, concurrent(record), sha
        )

    def precheck(self, capture: Capture) -> str | None:
        """Why a capture is not read at all: a status other than 200, a payload stored."""
        if capture.status != 200:
            return f"status {capture.status}"
        if self.store.has_capture(capture.url, capture.sha256 or sha256_hex(capture.body)):
            return "duplicate"
        return None

    def submit(self, capture: Capture) -> None:
        """Have a capture read (by a worker process, if there is a pool); the readings are
        stored in the order the captures came, at most :attr:`window` of them waiting."""
        if self.pool is None:
            future: Future[Reading] = Future()
            try:
                future.set_result(read_capture(capture, self.crawl_id, self.parse))
            except Exception as error:
                future.set_exception(error)
        else:
            future = self.pool.submit(read_capture, capture, self.crawl_id, self.parse)
        self.pending.append((capture, future))
        while len(self.pending) > self.window:
            self.settle_next()

    def settle_next(self) -> None:
        """Store the oldest reading (or count why there is none)."""
        capture, future = self.pending.popleft()
        try:
            reading = future.result()
            reason = reading if isinstance(reading, str) else self.store_reading(capture, reading)
        except Exception as error:  # a parser bug on one old page must not stop the others
            logger.warning("Could not import %s (%s): %s", capture.url, capture.source, error)
            reason = "failed"
        self.count(capture, reason)

    def flush(self) -> None:
        """Store every reading still waiting."""
        while self.pending:
            self.settle_next()

    def store_reading(
        self, capture: Capture, reading: tuple[FetchRecord, ArticleRecord]
    ) -> str | None:
        """Keep a capture's reading; "duplicate" for a payload stored since it was submitted
        (an earlier copy in the same import)."""
        fetch, record = reading
        assert fetch.body_sha256 is not None
        if self.store.has_capture(capture.url, fetch.body_sha256):
            return "duplicate"
        result = self.store.save_imported_article(fetch, record, capture.source)
        self.counts.articles += 1
        self.counts.new_versions += result.new_version
        return None

    def count(self, item: Capture | str, reason: str | None) -> None:
        """Count a record not kept by its reason (and remember it for revisits of it)."""
        if reason is None:
            return
        self.counts.skipped[reason] += 1
        if isinstance(item, Capture) and item.digest in self.originals:
            self.originals[item.digest].skipped = reason

    def import_file(self, path: Path, progress: TextIO, progress_every: int) -> None:
        """Every capture of one file (every WARC of a WACZ)."""
        with _open(path) as streams:
            for name, stream in streams:
                for item in self.captures(name, stream):
                    if isinstance(item, str):
                        self.count(item, item)
                    elif (reason := self.precheck(item)) is not None:
                        self.count(item, reason)
                    else:
                        self.submit(item)
                    if progress_every and self.counts.records % progress_every == 0:
                        self.flush()  # the counts of every record read so far
                        print(f"import: {format_counts(self.counts)}", file=progress, flush=True)
        self.flush()


def read_capture(capture: Capture, crawl_id: str, parse: ParseArticle | None) -> Reading:
    """A capture read as the crawl reads a page — :func:`crawler.fetching.read_page`, then the
    article chain — its fetch and record, or the reason it gives none. No store: it runs in
    a worker process."""
    headers = Headers(
        [(k, v) for k, v in capture.headers if k.lower().encode() not in WIRE_HEADERS]
    )
    request = Request(
        capture.url,
        headers={"Referer": capture.referer} if capture.referer else None,
        meta={META_KIND: "article", META_RECORDED_AT: capture.fetched_at},
    )
    response_class = responsetypes.from_args(headers=headers, url=capture.url, body=capture.body)
    response = response_class(
        url=capture.url, status=200, headers=headers, body=capture.body, request=request
    )
    fetch, page = read_page(response, crawl_id)
    if page is None:
        return fetch.outcome
    try:
        # parse_capture: a section page is refused as a listing before the generic extractor
        # runs (it would take the teasers for an article)
        return fetch, read_article(fetch, page.text, parse or parse_capture)
    except UnparseablePage:  # and ListingNotArticle
        return "not_an_article"


def default_workers() -> int:
    """Worker processes that read pages: one per core but the one that reads the files and
    stores (none on one core)."""
    return max(0, (os.cpu_count() or 1) - 1)


def import_files(
    store: Store,
    paths: Sequence[Path],
    parse: ParseArticle | None = None,
    progress: TextIO = sys.stderr,
    progress_every: int = PROGRESS_EVERY,
    workers: int | None = None,
) -> ImportCounts:
    """Import every capture of these files into the store as one run; its counts.

    Pages are read by ``workers`` processes (default: :func:`default_workers`; 0, or a
    ``parse`` given, in this process) while this one reads the files and stores: the crawl's
    two processes, parse and store, in the other order. The workers are forked: they hold the
    parser's imports already, and touch no store (they end without running finalizers).
    """
    count = 0 if parse is not None else default_workers() if workers is None else workers
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(count, mp_context=context) if count else nullcontext() as pool:
        importer = Importer(store, parse, pool, window=4 * count)
        importer.begin(paths)
        try:
            for path in paths:
                importer.import_file(path, progress, progress_every)
        finally:
            importer.flush()
            importer.finish()
    return importer.counts
