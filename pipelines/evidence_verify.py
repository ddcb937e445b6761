"""Check an evidence bundle (:mod:`store.evidence`) again: ``python -m store verify FILE.wacz``.

From the bundle alone, every check on one line (``ok: CHECK: …``, ``FAILED: CHECK: …``):

- ``manifest`` — ``datapackage.json`` has the SHA-256 ``datapackage-digest.json`` gives it;
- ``file PATH`` — each file of the package has the SHA-256 and size the manifest lists, and no
  file is there that the manifest does not list (nor one missing that it lists);
- ``signature`` — the Ed25519 signature of the manifest's digest, when there is one (and by the
  key given with ``--key``, which requires one);
- ``raw FETCH`` — each fetch's ``response`` record: its payload matches its
  ``WARC-Payload-Digest`` and is the body the store recorded (``body_sha256``);
- ``re-parse FETCH`` — the page read again from that record with the crawl's own code
  (:func:`pipelines.reparse.read_stored`: the recorded headers' decoding, the site parsers'
  ``recognize`` chain, the split, the hashes) yields the text the store last read from it;
- ``record`` — ``logs/record.json`` hashes to the ``text_sha256`` it names, which is that of
  its version in ``logs/history.json``.

A file that is no bundle is an :class:`NotABundle` (one line, exit status 2 at the command).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from domain.hashing import canonical_text, sha256_hex, text_sha256
from domain.records import FetchRecord
from pipelines.reparse import read_stored
from store import signing
from store.evidence import (
    BUNDLE_FORMAT,
    DIGEST,
    HISTORY,
    MANIFEST,
    PROVENANCE,
    RECORD,
    SIGNATURE_KEY,
    digest_message,
)


class NotABundle(Exception):
    """A file that is not an evidence bundle at all."""


@dataclass(frozen=True)
class Check:
    """One check's result."""

    name: str
    ok: bool | None  # None: not applicable (an unsigned bundle's signature)
    detail: str

    def line(self) -> str:
        """``ok: NAME: DETAIL``, ``FAILED: NAME: DETAIL`` or ``skipped: NAME: DETAIL``."""
        status = "skipped" if self.ok is None else "ok" if self.ok else "FAILED"
        return f"{status}: {self.name}: {self.detail}"


def short(sha: str) -> str:
    """A hash as a line shows it: its first 12 hex digits."""
    return sha.removeprefix("sha256:")[:12]


@dataclass
class Raw:
    """A response record of the bundle, read."""

    url: str
    date: str
    status: int
    headers: dict[str, str]
    body: bytes
    digest_ok: bool | None


class Bundle:
    """An evidence bundle's files, read."""

    def __init__(self, path: Path) -> None:
        if not zipfile.is_zipfile(path):
            raise NotABundle(f"{path} is not an evidence bundle (not a ZIP/WACZ file)")
        with zipfile.ZipFile(path) as package:
            try:
                self.files = {info.filename: package.read(info) for info in package.infolist()}
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise NotABundle(f"{path} cannot be read as a ZIP file ({error})") from error
        for name in (MANIFEST, DIGEST, PROVENANCE):
            if name not in self.files:
                raise NotABundle(f"{path} is not an evidence bundle (it has no {name})")
        # a damaged manifest or digest is a failed check (of its hash), not "no bundle"
        self.manifest = self.json_file(MANIFEST) or {}
        self.digest = self.json_file(DIGEST) or {}
        provenance = self.json_file(PROVENANCE)
        if isinstance(provenance, dict) and provenance.get("format") != BUNDLE_FORMAT:
            raise NotABundle(f"{path} is not an evidence bundle (no {BUNDLE_FORMAT} provenance)")
        # damaged beyond reading: its hash check fails, and no fetch can be checked
        self.provenance: dict[str, Any] = provenance if isinstance(provenance, dict) else {}

    def json_file(self, name: str) -> Any:
        """A JSON file of the bundle (None when missing or not JSON)."""
        try:
            return json.loads(self.files[name])
        except (KeyError, ValueError):
            return None


def check_manifest(bundle: Bundle) -> Iterator[Check]:
    """The manifest against its digest, then every file against the manifest."""
    actual = "sha256:" + hashlib.sha256(bundle.files[MANIFEST]).hexdigest()
    stated = str(bundle.digest.get("hash", "")) if isinstance(bundle.digest, dict) else ""
    if actual == stated:
        yield Check("manifest", True, f"{MANIFEST} has the SHA-256 {DIGEST} gives: {short(actual)}")
    else:
        yield Check(
            "manifest",
            False,
            f"{MANIFEST} has SHA-256 {short(actual)}, {DIGEST} says {short(stated) or 'none'}",
        )
    resources = bundle.manifest.get("resources", []) if isinstance(bundle.manifest, dict) else []
    listed: set[str] = set()
    for resource in resources:
        path, stated = str(resource.get("path")), str(resource.get("hash", ""))
        listed.add(path)
        data = bundle.files.get(path)
        if data is None:
            yield Check(f"file {path}", False, "listed in the manifest, missing from the bundle")
            continue
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != stated or resource.get("bytes") != len(data):
            yield Check(
                f"file {path}",
                False,
                f"SHA-256 {short(actual)} ({len(data)} bytes), the manifest lists "
                f"{short(stated) or 'none'} ({resource.get('bytes')} bytes)",
            )
        else:
            yield Check(f"file {path}", True, f"SHA-256 {short(actual)} as listed")
    for path in sorted(set(bundle.files) - listed - {MANIFEST, DIGEST}):
        yield Check(f"file {path}", False, "in the bundle but not listed in the manifest")


def check_signature(bundle: Bundle, key: signing.Ed25519PublicKey | None) -> Check:
    """The digest's signature (required when ``key`` is given)."""
    signature = bundle.digest.get(SIGNATURE_KEY) if isinstance(bundle.digest, dict) else None
    if signature is None:
        if key is not None:
            return Check("signature", False, "the bundle is not signed, and --key requires it")
        return Check("signature", None, "the bundle is not signed")
    try:
        signer = signing.check(signature, digest_message(bundle.digest), key)
    except (ValueError, KeyError) as error:
        return Check("signature", False, str(error))
    return Check("signature", True, f"Ed25519, by key {signer}, over the manifest's digest")


def read_raw(bundle: Bundle) -> tuple[dict[str, Raw], list[Check]]:
    """Every response record of the bundle's WARCs by ``WARC-Record-ID``; a failed check for
    each WARC that cannot be read to its end."""
    records: dict[str, Raw] = {}
    failures = []
    for name in sorted(n for n in bundle.files if n.startswith("archive/")):
        try:
            for record in ArchiveIterator(BytesIO(bundle.files[name]), check_digests=True):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                body = record.content_stream().read()
                http = record.http_headers
                records[record.rec_headers.get_header("WARC-Record-ID")] = Raw(
                    url=record.rec_headers.get_header("WARC-Target-URI"),
                    date=record.rec_headers.get_header("WARC-Date"),
                    status=int(http.get_statuscode()),
                    headers={k.lower(): v for k, v in http.headers},
                    body=body,
                    digest_ok=record.digest_checker.passed,
                )
        except Exception as error:  # warcio's errors on a damaged file have no common base
            failures.append(Check(f"warc {name}", False, f"cannot be read to its end ({error})"))
    return records, failures


def check_fetches(bundle: Bundle) -> Iterator[Check]:
    """Each fetch's raw record, then the page read again from it."""
    records, failures = read_raw(bundle)
    yield from failures
    if not bundle.provenance:
        yield Check("provenance", False, f"{PROVENANCE} cannot be read: no fetch can be checked")
    for fetch in bundle.provenance.get("fetches", []):
        fetch_id, record_id = fetch.get("id"), fetch.get("bundle_record_id")
        raw = records.get(record_id) if record_id else None
        if raw is None:
            yield Check(f"raw fetch {fetch_id}", False, f"its record {record_id} is not there")
            continue
        where = f"{raw.url} at {raw.date}"
        body_sha = sha256_hex(raw.body)
        if raw.digest_ok is False:
            yield Check(
                f"raw fetch {fetch_id}", False, f"{where}: payload fails its WARC-Payload-Digest"
            )
            continue
        if body_sha != fetch.get("body_sha256"):
            yield Check(
                f"raw fetch {fetch_id}",
                False,
                f"{where}: payload SHA-256 {short(body_sha)}, the store recorded "
                f"{short(str(fetch.get('body_sha256')))}",
            )
            continue
        yield Check(f"raw fetch {fetch_id}", True, f"{where}: payload SHA-256 {short(body_sha)}")
        readings = fetch.get("readings") or []
        if readings:
            yield reparse_check(fetch_id, fetch, raw, readings[-1])


def reparse_check(fetch_id: Any, fetch: dict[str, Any], raw: Raw, reading: Any) -> Check:
    """The page read again yields the text of the store's last reading of it."""
    name = f"re-parse fetch {fetch_id}"
    record = FetchRecord(
        crawl_id=str(fetch.get("crawl_id")),
        kind="article",
        requested_url=str(fetch.get("requested_url") or raw.url),
        final_url=fetch.get("final_url") or raw.url,
        status=raw.status,
        outcome="ok",
        fetched_at=raw.date,
        headers=raw.headers,
        body=raw.body,
    )
    try:
        article = read_stored(record)
    except Exception as error:  # a parser that refuses or crashes on the page: the check fails
        return Check(name, False, f"the page no longer reads as an article ({error})")
    expected = str(reading.get("text_sha256"))
    parser = f"{article.page.parser} {article.page.parser_version}"
    recorded = f"{reading.get('parser')} {reading.get('parser_version')}"
    version = reading.get("version")
    if article.text_sha256 != expected:
        return Check(
            name,
            False,
            f"text SHA-256 {short(article.text_sha256)} ({parser}), version {version} recorded "
            f"{short(expected)} ({recorded})",
        )
    return Check(name, True, f"text SHA-256 {short(expected)} of version {version} ({parser})")


def record_text_sha256(record: dict[str, Any]) -> str:
    """The ``text_sha256`` of an exported record's text (:func:`domain.hashing.canonical_text`
    of its parts, as the article chain hashes them)."""
    return text_sha256(
        canonical_text(
            title=record.get("title"),
            lead=record.get("lead"),
            dateline=record.get("dateline"),
            body=record.get("body") or [],
            captions=[SimpleNamespace(**c) for c in record.get("captions") or []],
            related_links=[SimpleNamespace(**r) for r in record.get("related_links") or []],
            tags=record.get("tags") or [],
        )
    )


def check_record(bundle: Bundle) -> Check:
    """``logs/record.json``: its text hashes to its recorded hash, that of its version."""
    record, history = bundle.json_file(RECORD), bundle.json_file(HISTORY)
    if not isinstance(record, dict) or not isinstance(history, dict):
        return Check("record", False, f"{RECORD} or {HISTORY} is missing or not JSON")
    try:
        stated = record["provenance"]["text_sha256"]
        actual = record_text_sha256(record)
    except (KeyError, TypeError) as error:
        return Check("record", False, f"{RECORD} lacks a part of an article record ({error})")
    versions = {v.get("version"): v for v in history.get("versions", [])}
    version = versions.get(record.get("version"), {})
    if actual != stated:
        return Check(
            "record", False, f"{RECORD}'s text hashes to {short(actual)}, it states {short(stated)}"
        )
    if version.get("text_sha256") != stated:
        return Check(
            "record",
            False,
            f"{RECORD} (version {record.get('version')}) states {short(stated)}, "
            f"{HISTORY} has {short(str(version.get('text_sha256')))} for that version",
        )
    return Check("record", True, f"version {record.get('version')}, text SHA-256 {short(actual)}")


def verify_bundle(path: Path, key: signing.Ed25519PublicKey | None = None) -> list[Check]:
    """Every check of a bundle, in order; :class:`NotABundle` for a file that is none."""
    bundle = Bundle(path)
    checks = list(check_manifest(bundle))
    checks.append(check_signature(bundle, key))
    checks += check_fetches(bundle)
    checks.append(check_record(bundle))
    return checks
