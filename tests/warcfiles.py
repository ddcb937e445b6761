"""WARC files for the import tests, written with warcio from the recorded sets' pages.

Nothing here is a capture of the real site: every payload is a page of a project fixture set
(hand-written, see each set's README), sometimes with one sentence changed by the test to make
an earlier text. The files imitate how other tools write: a Browsertrix-style file (hex
``sha256:`` digests, request records after their responses, revisit records, a gzip content
coding), a wget-style file (request before response), a file cut off in the middle of a record.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parent.parent
REFERER = "https://sputnikglobe.com/africa/"


@dataclass(frozen=True)
class Page:
    """One page to write as a capture."""

    url: str
    body: bytes
    date: str  # WARC-Date
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    gzip_coding: bool = False  # sent with Content-Encoding: gzip
    claimed_digest: str | None = None  # a WARC-Payload-Digest other than the payload's


def recorded(fixture_set: str, name: str) -> tuple[str, bytes]:
    """A recorded page's URL and body bytes (``name`` without extension)."""
    folder = ROOT / "fixtures" / fixture_set
    sidecar = json.loads((folder / f"{name}.http.json").read_text(encoding="utf-8"))
    return sidecar["url"], (folder / sidecar["body"]).read_bytes()


def hex_digest(body: bytes) -> str:
    """A payload digest as Browsertrix writes it: ``sha256:`` and hex."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def write_response(writer: WARCWriter, page: Page, request_first: bool = False) -> str:
    """A response record (and its request record); the response's WARC-Record-ID."""
    payload = gzip.compress(page.body) if page.gzip_coding else page.body
    headers = [("Content-Type", page.content_type), ("Content-Length", str(len(payload)))]
    if page.gzip_coding:
        headers.append(("Content-Encoding", "gzip"))
    http = StatusAndHeaders(f"{page.status} X", headers, protocol="HTTP/1.1")
    response = writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(payload),
        length=len(payload),
        http_headers=http,
        # the digest of the payload as sent (content-coded), as the WARC standard has it
        warc_headers_dict={
            "WARC-Date": page.date,
            "WARC-Payload-Digest": page.claimed_digest or hex_digest(payload),
        },
    )
    request = writer.create_warc_record(
        page.url,
        "request",
        http_headers=StatusAndHeaders(
            "GET / HTTP/1.1", [("Referer", REFERER)], is_http_request=True
        ),
    )
    if request_first:  # as wget writes them: request, then the response concurrent to it
        request.rec_headers.replace_header("WARC-Date", page.date)
        response.rec_headers.add_header(
            "WARC-Concurrent-To", request.rec_headers.get_header("WARC-Record-ID")
        )
        writer.write_record(request)
        writer.write_record(response)
    else:
        writer.write_request_response_pair(request, response)
    return str(response.rec_headers.get_header("WARC-Record-ID"))


def write_revisit(writer: WARCWriter, url: str, body: bytes, date: str, original: Page) -> None:
    """A revisit record: ``url`` at ``date`` answered the payload ``original`` holds."""
    http = StatusAndHeaders("200 OK", [("Content-Type", original.content_type)], "HTTP/1.1")
    writer.write_record(
        writer.create_revisit_record(
            url,
            hex_digest(body),
            original.url,
            original.date,
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
    )


def write_warc(path: Path, pages: list[Page], request_first: bool = False) -> None:
    """A gzip-per-record WARC 1.1 with a warcinfo record and these pages."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        info = {"software": "tests/warcfiles.py (warcio)", "format": "WARC File Format 1.1"}
        writer.write_record(writer.create_warcinfo_record(path.name, info))
        for page in pages:
            write_response(writer, page, request_first)
