"""A fetch's stored bytes as downloads: the raw page (decompressed) and its WARC records.

:func:`raw_body` is the body exactly as the store keeps it (the page's bytes as received,
content coding removed; ``bodies``, zlib). :func:`warc_records` is the fetch's ``response``
and ``request`` records: the bytes the crawl's capture wrote (``warc_records``: file and
offset, checked against the stored ``WARC-Record-ID``) where that file is still readable, else
made from the store by :func:`store.warc_export.write_exchange`, as ``python -m store export
--format warc`` makes them.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.warcwriter import WARCWriter

from store.repository import decompress
from store.warc_export import WARC_VERSION, Exchange, write_exchange

SELECT_FETCH = """
SELECT f.id, f.crawl_id, f.requested_url, f.final_url, f.status, f.fetched_at, f.referer,
  f.headers, f.body_sha256, json_extract(c.settings, '$.USER_AGENT') AS user_agent
FROM fetches AS f JOIN crawls AS c ON c.id = f.crawl_id
WHERE f.id = ?
"""
SELECT_BODY = "SELECT compression, data FROM bodies WHERE sha256 = ?"
SELECT_WARC_RECORD = "SELECT file, offset, record_id FROM warc_records WHERE fetch_id = ?"

WarcOrigin = Literal["capture", "store"]


@dataclass(frozen=True)
class Download:
    """Bytes to send and what they are."""

    data: bytes
    filename: str
    origin: WarcOrigin | None = None  # for WARC records: read from the capture or made


def raw_body(conn: sqlite3.Connection, fetch_id: int) -> Download | None:
    """The fetch's stored body, decompressed; None when the fetch kept none."""
    row = conn.execute(
        "SELECT b.compression, b.data FROM fetches AS f JOIN bodies AS b "
        "ON b.sha256 = f.body_sha256 WHERE f.id = ?",
        (fetch_id,),
    ).fetchone()
    if row is None:
        return None
    return Download(decompress(row[1], row[0]), f"fetch-{fetch_id}.txt")


def captured_records(file: str, offset: int | None, record_id: str) -> bytes | None:
    """The response record ``record_id`` at ``offset`` of a capture's WARC file and the
    request record written with it, as the file holds them; None when the file (or a WACZ
    member, which is not read here) cannot be read there."""
    path = Path(file)
    if offset is None or "#" in file or not path.is_file():
        return None
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            records = ArchiveIterator(stream)
            end = 0
            for number, record in enumerate(records):
                headers = record.rec_headers
                first = number == 0 and headers.get_header("WARC-Record-ID") == record_id
                paired = (
                    number == 1
                    and record.rec_type == "request"
                    and headers.get_header("WARC-Concurrent-To") == record_id
                )
                if not (first or paired):
                    break
                records.read_to_end(record)
                end = records.get_record_offset() + records.get_record_length()
                if number == 1:
                    break
            if end == 0:
                return None
            stream.seek(offset)
            return stream.read(end)
    except (OSError, ArchiveLoadFailed, ValueError):
        return None


def made_records(conn: sqlite3.Connection, fetch_id: int) -> bytes | None:
    """The fetch's response and request records made from the store; None for a fetch that
    got no HTTP answer."""
    row = conn.execute(SELECT_FETCH, (fetch_id,)).fetchone()
    if row is None or row[4] is None:
        return None
    exchange = Exchange(
        fetch_id=row[0],
        crawl_id=row[1],
        url=row[3] or row[2],
        status=row[4],
        fetched_at=row[5],
        referer=row[6],
        headers=json.loads(row[7] or "{}"),
        body_sha256=row[8],
        user_agent=row[9],
    )
    body = b""
    if exchange.body_sha256 is not None:
        stored = conn.execute(SELECT_BODY, (exchange.body_sha256,)).fetchone()
        body = b"" if stored is None else decompress(stored[1], stored[0])
    out = io.BytesIO()
    write_exchange(WARCWriter(out, gzip=True, warc_version=WARC_VERSION), exchange, body)
    return out.getvalue()


def warc_records(conn: sqlite3.Connection, fetch_id: int) -> Download | None:
    """The fetch's WARC records (gzip per record); None for a fetch with no HTTP answer."""
    filename = f"fetch-{fetch_id}.warc.gz"
    kept = conn.execute(SELECT_WARC_RECORD, (fetch_id,)).fetchone()
    if kept is not None:
        data = captured_records(kept[0], kept[1], kept[2])
        if data is not None:
            return Download(data, filename, "capture")
    made = made_records(conn, fetch_id)
    return None if made is None else Download(made, filename, "store")
