"""Stored HTTP exchanges out as an archivist's file: WARC 1.1 or WACZ (issue 13, part 2).

Every fetch that got an HTTP answer is written from the store — also for crawls that ran
without capture — as a ``response`` record (the stored headers and raw body) and a ``request``
record (what is known of the request: ``GET``, the URL, the crawl's User-Agent, the Referer),
with one ``warcinfo`` record naming the store, the crawls and the software. The records are made
by ``warcio``, the WACZ package by the ``wacz`` tool; nothing here writes WARC syntax by hand.

What the store does not keep cannot be exported as it was: the request's own headers (only the
ones above are known), the status line's protocol and reason phrase (``HTTP/1.1`` and the
standard phrase), and the content and transfer codings — the body is stored decoded, so
``Content-Encoding`` and ``Transfer-Encoding`` are left out and ``Content-Length`` is the
stored body's. The payload digest is therefore the SHA-256 of the stored body, ``raw_sha256``.
"""

from __future__ import annotations

import base64
import contextlib
import http
import io
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urlsplit

from sqlite_utils import Database
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from store.repository import decompress

WarcFormat = Literal["warc", "wacz"]
WARC_VERSION = "1.1"
# Headers that describe the bytes on the wire, not the decoded body the store keeps.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
# Every fetch that got an HTTP answer: its crawl's User-Agent, its body (if any), in time order.
SELECT_EXCHANGES = """
SELECT f.id, f.crawl_id, f.requested_url, f.final_url, f.status, f.fetched_at, f.referer,
  f.headers, f.body_sha256, json_extract(c.settings, '$.USER_AGENT') AS user_agent,
  row_number() OVER (
    PARTITION BY coalesce(f.final_url, f.requested_url) ORDER BY f.fetched_at DESC, f.id DESC
  ) AS recency
FROM fetches AS f JOIN crawls AS c ON c.id = f.crawl_id
WHERE f.status IS NOT NULL AND f.fetched_at >= :since
"""
SELECT_CRAWLS = """
SELECT id, spider, started_at, finished_at, settings, software FROM crawls
WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY started_at, id
"""
SELECT_BODY = "SELECT compression, data FROM bodies WHERE sha256 = :sha256"


@dataclass(frozen=True)
class Selection:
    """Which stored exchanges an export writes."""

    urls: tuple[str, ...] = ()  # only these URLs (requested or final); empty: every URL
    since: str = ""  # only fetches at or after this ISO 8601 UTC time
    all_versions: bool = False  # every exchange, not only the newest of each URL


@dataclass
class ExportCounts:
    """What an export wrote."""

    responses: int = 0  # response records (each with its request record)
    revisits: int = 0  # revisit records: a payload already written, by digest
    crawls: list[str] = field(default_factory=list)
    pages: list[dict[str, str]] = field(default_factory=list)  # HTML 200 answers: url, ts


@dataclass(frozen=True)
class Exchange:
    """One stored fetch with an HTTP answer, as the export reads it."""

    fetch_id: int
    crawl_id: str
    url: str
    status: int
    fetched_at: str
    referer: str | None
    headers: dict[str, str]
    body_sha256: str | None
    user_agent: str | None


def iter_exchanges(db: Database, selection: Selection) -> Iterator[Exchange]:
    """The chosen exchanges, oldest first."""
    sql = f"SELECT * FROM ({SELECT_EXCHANGES}) WHERE 1"
    params: dict[str, Any] = {"since": selection.since}
    if not selection.all_versions:
        sql += " AND recency = 1"
    if selection.urls:
        sql += (
            " AND (final_url IN (SELECT value FROM json_each(:urls))"
            " OR requested_url IN (SELECT value FROM json_each(:urls)))"
        )
        params["urls"] = json.dumps(list(selection.urls))
    sql += " ORDER BY fetched_at, id"
    return (exchange_of(row) for row in db.query(sql, params))


def exchanges_of_fetches(db: Database, fetch_ids: Sequence[int]) -> list[Exchange]:
    """These fetches' exchanges (those that got an HTTP answer), oldest first."""
    sql = (
        f"SELECT * FROM ({SELECT_EXCHANGES}) WHERE id IN (SELECT value FROM json_each(:ids))"
        " ORDER BY fetched_at, id"
    )
    rows = db.query(sql, {"since": "", "ids": json.dumps(list(fetch_ids))})
    return [exchange_of(row) for row in rows]


def exchange_of(row: dict[str, Any]) -> Exchange:
    """A row of :data:`SELECT_EXCHANGES` as an :class:`Exchange`."""
    return Exchange(
        fetch_id=row["id"],
        crawl_id=row["crawl_id"],
        url=row["final_url"] or row["requested_url"],
        status=row["status"],
        fetched_at=row["fetched_at"],
        referer=row["referer"],
        headers=json.loads(row["headers"] or "{}"),
        body_sha256=row["body_sha256"],
        user_agent=row["user_agent"],
    )


def payload_digest(sha256_hex: str) -> str:
    """A SHA-256 as WARC digests are written (``sha256:`` and base32, as warcio writes them)."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def header_name(name: str) -> str:
    """``content-type`` -> ``Content-Type`` (the store keeps names in lower case)."""
    return "-".join(part.capitalize() for part in name.split("-"))


def response_headers(exchange: Exchange, length: int) -> StatusAndHeaders:
    """The response's status line and headers as the body is stored (decoded)."""
    try:
        phrase = http.HTTPStatus(exchange.status).phrase
    except ValueError:
        phrase = ""
    headers = [
        (header_name(name), value)
        for name, value in exchange.headers.items()
        if name.lower() not in WIRE_HEADERS
    ]
    headers.append(("Content-Length", str(length)))
    return StatusAndHeaders(f"{exchange.status} {phrase}".strip(), headers, protocol="HTTP/1.1")


def request_headers(exchange: Exchange) -> StatusAndHeaders:
    """What is known of the request: GET, the URL, the crawl's User-Agent, the Referer."""
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    if exchange.user_agent:
        headers.append(("User-Agent", exchange.user_agent))
    if exchange.referer:
        headers.append(("Referer", exchange.referer))
    return StatusAndHeaders(f"GET {target}", headers, protocol="HTTP/1.1", is_http_request=True)


def software() -> str:
    """The software that wrote the file, as ``warcinfo`` names it."""
    names = []
    for package in ("wirearchive", "warcio"):
        try:
            names.append(f"{package}/{version(package)}")
        except PackageNotFoundError:
            continue
    return " ".join(names)


def write_exchange(writer: WARCWriter, exchange: Exchange, body: bytes) -> str:
    """Write one exchange as a ``response`` and its ``request`` record; the response's
    ``WARC-Record-ID``."""
    warc_headers = {"WARC-Date": exchange.fetched_at}
    if exchange.body_sha256 is not None:
        warc_headers["WARC-Payload-Digest"] = payload_digest(exchange.body_sha256)
    response = writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=response_headers(exchange, len(body)),
        warc_headers_dict=warc_headers,
    )
    request = writer.create_warc_record(
        exchange.url,
        "request",
        http_headers=request_headers(exchange),
        warc_headers_dict={"WARC-Date": exchange.fetched_at},
    )
    writer.write_request_response_pair(request, response)
    return str(response.rec_headers.get_header("WARC-Record-ID"))


class Exporter:
    """Writes chosen exchanges of one store to one WARC stream."""

    def __init__(self, db: Database, out: BinaryIO, gzip: bool = True) -> None:
        self.db = db
        self.writer = WARCWriter(out, gzip=gzip, warc_version=WARC_VERSION)
        # digest -> (URL, WARC-Date) of the response record that holds the payload
        self.written: dict[str, tuple[str, str]] = {}
        self.counts = ExportCounts()

    def body(self, sha256: str | None) -> bytes:
        """A stored body's raw bytes (empty when the fetch kept none)."""
        if sha256 is None:
            return b""
        row = next(self.db.query(SELECT_BODY, {"sha256": sha256}), None)
        return b"" if row is None else decompress(row["data"], row["compression"])

    def write_info(self, filename: str, selection: Selection, crawl_ids: Sequence[str]) -> None:
        """The ``warcinfo`` record: the software, the selection and the crawls it comes from."""
        crawls = [
            {
                "id": row["id"],
                "spider": row["spider"],
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "settings": json.loads(row["settings"] or "{}"),
                "software": json.loads(row["software"] or "{}"),
            }
            for row in self.db.query(SELECT_CRAWLS, {"ids": json.dumps(list(crawl_ids))})
        ]
        info = {
            "software": software(),
            "format": f"WARC File Format {WARC_VERSION}",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            "description": "HTTP exchanges exported from a wirearchive store; request records "
            "hold only the method, URL, User-Agent and Referer, response bodies are stored "
            "decoded (no Content-Encoding)",
            "wirearchive-selection": json.dumps(
                {
                    "urls": list(selection.urls),
                    "since": selection.since or None,
                    "all_versions": selection.all_versions,
                }
            ),
            "wirearchive-crawls": json.dumps(crawls, ensure_ascii=False),
        }
        self.writer.write_record(self.writer.create_warcinfo_record(filename, info))

    def write(self, exchange: Exchange) -> None:
        """One exchange: a response and its request, or a revisit of a payload written before."""
        body = self.body(exchange.body_sha256)
        digest = exchange.body_sha256
        http_headers = response_headers(exchange, len(body))
        first = self.written.get(digest) if digest and body else None
        if first is not None:
            revisit = self.writer.create_revisit_record(
                exchange.url,
                payload_digest(digest),  # type: ignore[arg-type]
                first[0],
                first[1],
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": exchange.fetched_at},
            )
            self.writer.write_record(revisit)
            self.counts.revisits += 1
            return
        write_exchange(self.writer, exchange, body)
        if digest and body:
            self.written[digest] = (exchange.url, exchange.fetched_at)
        self.counts.responses += 1
        content_type = exchange.headers.get("content-type", "").split(";")[0].strip().lower()
        if exchange.status == 200 and content_type in HTML_TYPES:
            self.counts.pages.append({"url": exchange.url, "ts": exchange.fetched_at})


def write_warc(
    db: Database, out: BinaryIO, selection: Selection, filename: str, gzip: bool = True
) -> ExportCounts:
    """Write the chosen exchanges as one WARC file (gzip per record unless ``gzip`` is off)."""
    exchanges = list(iter_exchanges(db, selection))
    crawl_ids = sorted({exchange.crawl_id for exchange in exchanges})
    exporter = Exporter(db, out, gzip)
    exporter.write_info(filename, selection, crawl_ids)
    for exchange in exchanges:
        exporter.write(exchange)
    exporter.counts.crawls = crawl_ids
    return exporter.counts


def export_file(
    db: Database, path: Path, file_format: WarcFormat, selection: Selection, title: str
) -> ExportCounts:
    """Write the chosen exchanges to ``path``: a WARC (gzip per record unless the name ends in
    ``.warc``) or a WACZ made by the ``wacz`` tool from one such WARC, with its page list."""
    if file_format == "warc":
        with path.open("wb") as out:
            return write_warc(db, out, selection, path.name, gzip=path.suffix != ".warc")
    with tempfile.TemporaryDirectory(prefix="wacz-") as folder:
        warc = Path(folder) / f"{path.stem}.warc.gz"
        with warc.open("wb") as out:
            counts = write_warc(db, out, selection, warc.name)
        pages = Path(folder) / "pages.jsonl"
        header = {"format": "json-pages-1.0", "id": "pages", "title": "Pages"}
        lines = [json.dumps(line) for line in (header, *counts.pages)]
        pages.write_text("\n".join(lines) + "\n", encoding="utf-8")
        make_wacz(warc, pages, path, title)
    return counts


def make_wacz(
    warc: Path, pages: Path, path: Path, title: str, files: Path | None = None, desc: str = ""
) -> None:
    """Package one WARC as a WACZ with the ``wacz`` tool, with its page list (every HTML page
    that answered 200) and SHA-256 hashes; the tool's chatter goes to stderr. The files of the
    folder ``files``, if given, go in too, under ``logs/`` (the one folder of files of one's
    own the tool takes: its ``--log-directory``), listed and hashed like the others."""
    from wacz.main import main as wacz_main  # the wacz tool loads frictionless: only when used

    arguments = ["create", "-o", str(path), str(warc), "--pages", str(pages)]
    if files is not None:
        arguments += ["--log-directory", str(files)]
    if desc:
        arguments += ["--desc", desc]
    with contextlib.redirect_stdout(sys.stderr):
        status = wacz_main([*arguments, "--hash-type", "sha256", "--title", title])
    if status:
        raise RuntimeError(f"the wacz tool could not package {warc.name} (status {status})")
