"""Capture during a crawl: every HTTP exchange the store saves, also written as WARC 1.1 records
(issue 13, part 1; ``-s WARC_DIR=DIR``, off by default).

The store's writer saves each fetch in one transaction; with capture on, that transaction also
appends the fetch's ``response`` and ``request`` records (made by ``warcio``, as
:mod:`store.warc_export` makes them: gzip per record, ``WARC-Payload-Digest`` the SHA-256 of
the stored body) to the crawl's current WARC file and keeps the file, the offset and the
``WARC-Record-ID`` in ``warc_records``. Files are named ``CRAWL_ID-NNNNN.warc.gz``, each opened
with a ``warcinfo`` record naming the crawl, the software and its settings, and a new one is
begun once one reaches ``WARC_MAX_SIZE`` bytes.

Each record is its own gzip member, compressed at level :data:`GZIP_LEVEL` (warcio's writer
compresses at level 9, which cost a crawl a fifth of its speed: :class:`CaptureWriter`).
A record pair is built in memory and appended with one ``write`` call (to the system, no
buffer of ours) before the transaction commits: never a row pointing at bytes not written. A
killed crawl leaves whole pairs, as its writer process finishes the request it runs; only a
SIGKILL of the writer itself during an append can leave a cut last record, referenced by no
row. A failed write (a full disk) is cut off the file again before the error goes up, so no
reader finds a truncated record. Records of a transaction that then fails stay in the
file, unreferenced: a WARC may hold an exchange the store has not.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warcio.warcwriter import WARCWriter

from domain.records import CrawlRecord, FetchRecord, WarcSource
from store.warc_export import WARC_VERSION, Exchange, software, write_exchange

DEFAULT_MAX_SIZE = 1_000_000_000  # bytes per WARC file before the next one is begun
# zlib level of each record's gzip member. On the benchmark's pages (130 kB of HTML), per fetch
# pair: level 9 (warcio's) 21.7 ms and 2.1 MB per 100 pages, level 6 12.0 ms and 2.1 MB,
# level 3 4.3 ms and 2.3 MB, level 1 4.9 ms and 2.4 MB, measured with warcio 1.7).
GZIP_LEVEL = 3


class CaptureWriter(WARCWriter):
    """warcio's WARC writer, each record a gzip member of its own at :data:`GZIP_LEVEL`.

    warcio writes a record through its own gzip wrapper at a fixed level 9; here warcio writes
    the record uncompressed (every header, digest and length its own) and the stdlib's
    :func:`gzip.compress` makes the member — the same per-record gzip any WARC reader reads.
    """

    def __init__(self, out: io.BytesIO) -> None:
        super().__init__(out, gzip=False, warc_version=WARC_VERSION)

    def _write_warc_record(self, out: Any, record: Any) -> None:
        plain = io.BytesIO()
        super()._write_warc_record(plain, record)
        out.write(gzip.compress(plain.getvalue(), compresslevel=GZIP_LEVEL, mtime=0))


class WarcCapture:
    """The WARC files of one crawl, appended to record by record."""

    def __init__(self, directory: Path, crawl: CrawlRecord, max_size: int) -> None:
        self.directory = directory
        self.crawl = crawl
        self.max_size = max_size if max_size > 0 else DEFAULT_MAX_SIZE
        self.number = 0
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0
        directory.mkdir(parents=True, exist_ok=True)
        self.buffer = io.BytesIO()
        self.writer = CaptureWriter(self.buffer)  # one for the crawl: it looks up the host name

    def _records(self, write: Callable[[WARCWriter], object]) -> bytes:
        """The bytes of what ``write(writer)`` writes, gzip per record."""
        self.buffer.seek(0)
        self.buffer.truncate()
        write(self.writer)
        return self.buffer.getvalue()

    def _append(self, data: bytes) -> int:
        """Append bytes in one write; their offset. On failure the file is cut back."""
        assert self.fd is not None
        offset = self.size
        try:
            written = os.write(self.fd, data)
            while written < len(data):  # a regular file takes it whole unless the disk is full
                written += os.write(self.fd, data[written:])
        except OSError:
            os.ftruncate(self.fd, offset)
            raise
        self.size += len(data)
        return offset

    def _open_next(self) -> None:
        """Close the current file and begin the next, with its ``warcinfo`` record."""
        self.close()
        self.number += 1
        self.path = self.directory / f"{self.crawl.id}-{self.number:05d}.warc.gz"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self.size = 0
        info = {
            "software": software(),
            "format": f"WARC File Format {WARC_VERSION}",
            "description": f"crawl {self.crawl.id} of spider {self.crawl.spider}",
            "wirearchive-crawl": json.dumps(
                {
                    "id": self.crawl.id,
                    "spider": self.crawl.spider,
                    "started_at": self.crawl.started_at,
                    "arguments": self.crawl.arguments,
                    "settings": self.crawl.settings,
                    "software": self.crawl.software,
                },
                ensure_ascii=False,
                default=str,
            ),
        }
        name = self.path.name
        self._append(self._records(lambda w: w.write_record(w.create_warcinfo_record(name, info))))

    def write(self, fetch: FetchRecord) -> WarcSource | None:
        """Append a fetch's exchange; where it is. None for a fetch that got no HTTP answer."""
        if fetch.status is None:
            return None
        if self.fd is None or self.size >= self.max_size:
            self._open_next()
        exchange = Exchange(
            fetch_id=0,
            crawl_id=fetch.crawl_id,
            url=fetch.final_url or fetch.requested_url,
            status=fetch.status,
            fetched_at=fetch.fetched_at,
            referer=fetch.referer,
            headers=fetch.headers,
            body_sha256=fetch.body_sha256,
            user_agent=self.crawl.settings.get("USER_AGENT"),
        )
        ids: list[str] = []
        data = self._records(lambda w: ids.append(write_exchange(w, exchange, fetch.body or b"")))
        offset = self._append(data)
        assert self.path is not None
        return WarcSource(str(self.path), offset, ids[0])

    def close(self) -> None:
        """Close the current file, if one is open."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
