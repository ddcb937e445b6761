"""One article's proof as a WACZ file: ``python -m store evidence STORE_PATH URL -o FILE.wacz``.

The bundle holds, for each version of the article (or only ``--version N``), the raw HTTP
exchange of every fetch that showed it — WARC 1.1 ``response`` and ``request`` records, made by
``warcio`` as :mod:`store.warc_export` makes them, each payload whole (no ``revisit``), so that
every page can be read again from the bundle alone — and what the store made of them:

- ``logs/record.json`` — the extracted record of the version (current, or ``--version N``): the
  article export's keys (:mod:`store.export`) and its change from the version before;
- ``logs/history.json`` — the article row, every version's record, the change summaries, the
  paragraph diffs and the article's events (removals, restorations);
- ``logs/provenance.json`` — each fetch in the bundle (its row, the ``WARC-Record-ID`` of its
  response here, where the store kept it as WARC, and every reading of it: version, text hash,
  parser and version), the crawls they belong to (settings, software), and the discovery rows
  that led to the article (section listings, RSS, sitemaps, day archives).

The ``wacz`` tool packages the WARC, its index and page list, and these files (its
``--log-directory`` is the one place it takes files of one's own: hence ``logs/``) and writes
``datapackage.json`` — every file's SHA-256 — and ``datapackage-digest.json``, the SHA-256 of
that manifest. With a key (:mod:`store.signing`) the digest is signed: the signature is added to
``datapackage-digest.json`` under ``wirearchiveSignature``. ``python -m store verify``
(:mod:`pipelines.evidence_verify`) checks all of it again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from domain.times import utc_now
from store import signing
from store.export import VERSION_LINES
from store.warc_export import (
    HTML_TYPES,
    Exporter,
    Selection,
    exchanges_of_fetches,
    make_wacz,
    write_exchange,
)

RECORD = "logs/record.json"
HISTORY = "logs/history.json"
PROVENANCE = "logs/provenance.json"
MANIFEST = "datapackage.json"
DIGEST = "datapackage-digest.json"
SIGNATURE_KEY = "wirearchiveSignature"
BUNDLE_FORMAT = "wirearchive-evidence-1"

SELECT_ARTICLE = "SELECT * FROM articles WHERE id = :id"
SELECT_VERSIONS = """
SELECT id, version, text_sha256, raw_sha256, fetch_id, crawl_id, created_at, parser,
  parser_version
FROM versions WHERE article_id = :id ORDER BY version
"""
SELECT_OBSERVATIONS = """
SELECT o.id, o.fetch_id, o.version_id, v.version, o.text_sha256, o.modified_at, o.parser,
  o.parser_version, o.observed_at, o.read_at, o.reparse_id
FROM observations AS o JOIN versions AS v ON v.id = o.version_id
WHERE o.article_id = :id ORDER BY o.read_at, o.id
"""
SELECT_CHANGES = "SELECT * FROM version_changes WHERE article_id = :id ORDER BY version"
SELECT_DIFFS = """
SELECT * FROM version_diffs WHERE article_id = :id ORDER BY from_version, to_version, row
"""
SELECT_EVENTS = "SELECT * FROM article_events WHERE article_id = :id ORDER BY at, id"
SELECT_FETCHES = """
SELECT f.*, w.file AS warc_file, w.offset AS warc_offset, w.record_id AS warc_record_id
FROM fetches AS f LEFT JOIN warc_records AS w ON w.fetch_id = f.id
WHERE f.id IN (SELECT value FROM json_each(:ids)) ORDER BY f.fetched_at, f.id
"""
SELECT_CRAWLS = """
SELECT id, spider, started_at, finished_at, finish_reason, arguments, settings, software
FROM crawls WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY started_at, id
"""
# What put the article forward: the section listings and the other sources (RSS, sitemaps,
# day archives) that named one of its URLs, with the fetch of the page that listed it.
SELECT_LISTINGS = """
SELECT l.*, f.fetched_at FROM listings AS l JOIN fetches AS f ON f.id = l.fetch_id
WHERE l.url IN (SELECT value FROM json_each(:urls)) ORDER BY f.fetched_at, l.id
"""
SELECT_DISCOVERIES = """
SELECT d.*, f.fetched_at FROM discoveries AS d JOIN fetches AS f ON f.id = d.fetch_id
WHERE d.url IN (SELECT value FROM json_each(:urls)) ORDER BY f.fetched_at, d.id
"""
# The columns that hold JSON text: written into the bundle as JSON, not as strings of it.
JSON_COLUMNS = frozenset(
    {"headers", "arguments", "settings", "software", "stats", "summary", "fields", "evidence"}
)


class EvidenceError(Exception):
    """A bundle that cannot be made (no such version)."""


@dataclass
class BundleCounts:
    """What a bundle holds."""

    versions: list[int] = field(default_factory=list)
    fetches: int = 0
    signed_by: str | None = None


def rows(db: Database, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a query, JSON columns decoded."""
    result = []
    for row in db.query(sql, params):
        for column in JSON_COLUMNS & row.keys():
            if isinstance(row[column], str):
                row[column] = json.loads(row[column])
        result.append(row)
    return result


def version_records(db: Database, version_ids: Sequence[int]) -> dict[int, Any]:
    """Each version's record as the article export writes it (with ``change``)."""
    cursor = db.execute(VERSION_LINES, {"ids": json.dumps(list(version_ids))})
    return {version_id: json.loads(line) for version_id, line in cursor.fetchall()}


def dump(path: Path, value: Any) -> None:
    """Write a bundle file: JSON, UTF-8, keys in their order, indented for a reader."""
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


class Evidence:
    """What a bundle of one article holds, read from the store."""

    def __init__(self, db: Database, article_pk: int, version: int | None = None) -> None:
        self.db = db
        params = {"id": article_pk}
        self.article = rows(db, SELECT_ARTICLE, params)[0]
        self.versions = rows(db, SELECT_VERSIONS, params)
        numbers = [row["version"] for row in self.versions]
        if version is not None and version not in numbers:
            raise EvidenceError(
                f"{self.article['url']} has no version {version} (it has {len(numbers)})"
            )
        current = next(
            (v for v in self.versions if v["id"] == self.article["current_version_id"]),
            self.versions[-1],
        )
        self.chosen = [v for v in self.versions if version is None or v["version"] == version]
        self.record_version = self.chosen[0] if version is not None else current
        self.observations = rows(db, SELECT_OBSERVATIONS, params)
        chosen_ids = {v["id"] for v in self.chosen}
        fetch_ids = {o["fetch_id"] for o in self.observations if o["version_id"] in chosen_ids}
        fetch_ids |= {v["fetch_id"] for v in self.chosen}
        self.fetches = rows(db, SELECT_FETCHES, {"ids": json.dumps(sorted(fetch_ids))})

    def history(self) -> dict[str, Any]:
        """``logs/history.json``: the article, its versions, changes, diffs and events."""
        params = {"id": self.article["id"]}
        records = version_records(self.db, [v["id"] for v in self.versions])
        return {
            "article": self.article,
            "versions": [{**v, "record": records.get(v["id"])} for v in self.versions],
            "changes": rows(self.db, SELECT_CHANGES, params),
            "diffs": rows(self.db, SELECT_DIFFS, params),
            "events": rows(self.db, SELECT_EVENTS, params),
        }

    def provenance(self, record_ids: dict[int, str]) -> dict[str, Any]:
        """``logs/provenance.json``: the fetches (each with its readings and its record in
        this bundle), their crawls and the discovery rows."""
        readings: dict[int, list[dict[str, Any]]] = {}
        for observation in self.observations:
            readings.setdefault(observation["fetch_id"], []).append(observation)
        fetches = [
            {
                **fetch,
                "bundle_record_id": record_ids.get(fetch["id"]),
                "readings": readings.get(fetch["id"], []),
            }
            for fetch in self.fetches
        ]
        crawl_ids = sorted({fetch["crawl_id"] for fetch in self.fetches})
        urls = sorted(
            {self.article["url"]}
            | {fetch["requested_url"] for fetch in self.fetches}
            | {fetch["final_url"] for fetch in self.fetches if fetch["final_url"]}
        )
        return {
            "format": BUNDLE_FORMAT,
            "article": {"id": self.article["id"], "url": self.article["url"]},
            "versions": [v["version"] for v in self.chosen],
            "fetches": fetches,
            "crawls": rows(self.db, SELECT_CRAWLS, {"ids": json.dumps(crawl_ids)}),
            "discovery": {
                "listings": rows(self.db, SELECT_LISTINGS, {"urls": json.dumps(urls)}),
                "discoveries": rows(self.db, SELECT_DISCOVERIES, {"urls": json.dumps(urls)}),
            },
        }

    def write_warc(self, path: Path) -> tuple[dict[int, str], list[dict[str, str]]]:
        """The fetches' exchanges as one WARC (gzip per record), each payload whole; the
        response record id of each fetch, and the page list (HTML pages that answered 200)."""
        exchanges = exchanges_of_fetches(self.db, [fetch["id"] for fetch in self.fetches])
        record_ids: dict[int, str] = {}
        pages: list[dict[str, str]] = []
        with path.open("wb") as out:
            exporter = Exporter(self.db, out)
            selection = Selection(urls=(self.article["url"],), all_versions=True)
            exporter.write_info(path.name, selection, sorted({e.crawl_id for e in exchanges}))
            for exchange in exchanges:
                body = exporter.body(exchange.body_sha256)
                record_ids[exchange.fetch_id] = write_exchange(exporter.writer, exchange, body)
                content_type = exchange.headers.get("content-type", "").split(";")[0].strip()
                if exchange.status == 200 and content_type.lower() in HTML_TYPES:
                    pages.append({"url": exchange.url, "ts": exchange.fetched_at})
        return record_ids, pages


def write_bundle(
    db: Database,
    article_pk: int,
    output: Path,
    version: int | None = None,
    key: signing.Ed25519PrivateKey | None = None,
) -> BundleCounts:
    """Write the evidence bundle of one article (of one version of it) to ``output``."""
    evidence = Evidence(db, article_pk, version)
    url = evidence.article["url"]
    with tempfile.TemporaryDirectory(prefix="evidence-") as folder:
        root = Path(folder)
        files = root / "logs"
        files.mkdir()
        warc = root / "evidence.warc.gz"
        record_ids, pages = evidence.write_warc(warc)
        records = version_records(db, [evidence.record_version["id"]])
        dump(files / "record.json", records[evidence.record_version["id"]])
        dump(files / "history.json", evidence.history())
        dump(files / "provenance.json", evidence.provenance(record_ids))
        page_list = root / "pages.jsonl"
        header = {"format": "json-pages-1.0", "id": "pages", "title": "Pages"}
        lines = [json.dumps(line) for line in (header, *pages)]
        page_list.write_text("\n".join(lines) + "\n", encoding="utf-8")
        chosen = ", ".join(str(v["version"]) for v in evidence.chosen)
        desc = f"Evidence of {url} (versions {chosen}), made {utc_now()} by wirearchive"
        packed = root / "bundle.wacz"
        make_wacz(warc, page_list, packed, f"evidence: {url}", files=files, desc=desc)
        counts = BundleCounts([v["version"] for v in evidence.chosen], len(evidence.fetches))
        if key is not None:
            counts.signed_by = add_signature(packed, key)
        shutil.move(packed, output)  # the whole file or none at its place
    return counts


def digest_message(digest: dict[str, Any]) -> bytes:
    """What a bundle's signature signs: the manifest's SHA-256 as the digest file writes it
    (``sha256:HEX``), which names every file's SHA-256 in turn."""
    return str(digest["hash"]).encode("ascii")


def add_signature(path: Path, key: signing.Ed25519PrivateKey) -> str:
    """Sign a WACZ's manifest digest: the signature goes in ``datapackage-digest.json``; the
    signer's fingerprint. The ``wacz`` tool signs only through a remote signing server, and a
    zip member cannot be rewritten in place: the package is copied, member by member, with the
    digest file replaced."""
    signed = path.with_name(path.name + ".signed")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(signed, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == DIGEST:
                digest = json.loads(data)
                digest[SIGNATURE_KEY] = signing.sign(key, digest_message(digest))
                data = json.dumps(digest, indent=2).encode("utf-8")
            target.writestr(info, data)
    signed.replace(path)
    return signing.fingerprint(signing.raw_public(key.public_key()))
