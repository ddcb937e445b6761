"""The article export: one plain dict per article, as its current version has it (or per version).

The keys of an exported article are :data:`EXPORT_KEYS` (and of its nested parts the other
``*_KEYS`` constants); tests and documentation take them from here. Articles are read in
batches, so an export of any size streams in bounded memory. Absent values are ``None`` or
``[]``, never invented.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

EXPORT_KEYS: tuple[str, ...] = (
    "url",
    "article_id",
    "site",
    "section",
    "title",
    "lead",
    "dateline",
    "published_at",
    "modified_at",
    "dates",
    "authors",
    "language",
    "tags",
    "body",
    "captions",
    "related_links",
    "version",
    "versions",
    "provenance",
)
# ``--all-versions`` adds the change summary against the version each one replaced.
VERSION_EXPORT_KEYS: tuple[str, ...] = (*EXPORT_KEYS, "change")
DATE_KEYS: tuple[str, ...] = ("kind", "value", "raw", "source")
CAPTION_KEYS: tuple[str, ...] = ("position", "image_url", "caption", "credit")
RELATED_LINK_KEYS: tuple[str, ...] = ("position", "title", "url", "published_at", "published_raw")
PROVENANCE_KEYS: tuple[str, ...] = (
    "crawl_id",
    "fetch_id",
    "fetched_at",
    "status",
    "requested_url",
    "final_url",
    "referer",
    "raw_sha256",
    "text_sha256",
    "parser",
    "parser_version",
)

BATCH_SIZE = 200

# Only the ids, in export order: the rows themselves are read a batch at a time.
ARTICLE_ORDER = """
SELECT version_id FROM current_articles ORDER BY published_at DESC, url
"""
# :ids is a JSON array of current version ids.
CURRENT_VERSIONS = """
SELECT
  c.url, c.article_id, c.site, c.section, c.title, c.lead, c.dateline, c.published_at,
  c.modified_at, c.language, c.version, c.versions, c.version_id,
  v.dates, v.authors, v.body, v.raw_sha256, v.text_sha256, v.parser, v.parser_version,
  f.crawl_id, f.id AS fetch_id, f.fetched_at, f.status, f.requested_url, f.final_url, f.referer
FROM current_articles AS c
JOIN versions AS v ON v.id = c.version_id
JOIN fetches AS f ON f.id = v.fetch_id
WHERE c.version_id IN (SELECT value FROM json_each(:ids))
"""
VERSION_ORDER = """
SELECT v.id AS version_id FROM versions AS v JOIN articles AS a ON a.id = v.article_id
ORDER BY a.url, v.version
"""
# :ids is a JSON array of version ids (any version, current or not).
VERSIONS = """
SELECT
  a.url, a.article_id, a.site, a.section, v.title, v.lead, v.dateline, v.published_at,
  v.modified_at, v.language, v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  v.id AS version_id, v.dates, v.authors, v.body, v.raw_sha256, v.text_sha256, v.parser,
  v.parser_version, f.crawl_id, f.id AS fetch_id, f.fetched_at, f.status, f.requested_url,
  f.final_url, f.referer, vc.summary AS change
FROM versions AS v
JOIN articles AS a ON a.id = v.article_id
JOIN fetches AS f ON f.id = v.fetch_id
LEFT JOIN version_changes AS vc ON vc.version_id = v.id
WHERE v.id IN (SELECT value FROM json_each(:ids))
"""
# :ids is a JSON array of version ids.
TAGS = """
SELECT version_id, name FROM tags
WHERE version_id IN (SELECT value FROM json_each(:ids))
ORDER BY version_id, idx
"""
CAPTIONS = """
SELECT version_id, position, image_url, caption, credit FROM captions
WHERE version_id IN (SELECT value FROM json_each(:ids))
ORDER BY version_id, position, idx
"""
RELATED_LINKS = """
SELECT version_id, position, title, url, published_at, published_raw FROM related_links
WHERE version_id IN (SELECT value FROM json_each(:ids))
ORDER BY version_id, position, rowid
"""


def iter_articles(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Yield every article's export dict, newest published first, then by URL."""
    ids = [row["version_id"] for row in db.query(ARTICLE_ORDER)]
    for start in range(0, len(ids), batch_size):
        yield from _export_batch(db, ids[start : start + batch_size])


def iter_versions(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Yield every version of every article, by URL then version number, with its change.

    Keys are :data:`VERSION_EXPORT_KEYS`: the article export's, and ``change`` — the summary of
    what changed from the version it replaced (``None`` for a first version).
    """
    ids = [row["version_id"] for row in db.query(VERSION_ORDER)]
    for start in range(0, len(ids), batch_size):
        yield from _export_batch(db, ids[start : start + batch_size], VERSIONS)


def _export_batch(
    db: Database, version_ids: Sequence[int], sql: str = CURRENT_VERSIONS
) -> Iterator[dict[str, Any]]:
    """Yield the export dicts of these versions (by default: current ones only), in order."""
    ids = json.dumps(list(version_ids))
    rows = {row["version_id"]: row for row in db.query(sql, {"ids": ids})}
    tags = _grouped(db, TAGS, ids, ("name",))
    captions = _grouped(db, CAPTIONS, ids, CAPTION_KEYS)
    links = _grouped(db, RELATED_LINKS, ids, RELATED_LINK_KEYS)
    for version_id in version_ids:
        row = rows.get(version_id)
        if row is None:  # no longer current: a writer saved a newer text since the ids were read
            continue
        yield _article_dict(
            row,
            tags=[tag["name"] for tag in tags[version_id]],
            captions=captions[version_id],
            related_links=links[version_id],
        )


def _grouped(
    db: Database, sql: str, version_ids: str, keys: Sequence[str]
) -> defaultdict[int, list[dict[str, Any]]]:
    """Read child rows of these versions, grouped by version id, keeping only ``keys``."""
    grouped: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in db.query(sql, {"ids": version_ids}):
        grouped[row["version_id"]].append({key: row[key] for key in keys})
    return grouped


def _article_dict(
    row: dict[str, Any],
    tags: list[str],
    captions: list[dict[str, Any]],
    related_links: list[dict[str, Any]],
) -> dict[str, Any]:
    """Assemble one article's export dict from its current-version row and child rows."""
    article = {
        "url": row["url"],
        "article_id": row["article_id"],
        "site": row["site"],
        "section": row["section"],
        "title": row["title"],
        "lead": row["lead"],
        "dateline": row["dateline"],
        "published_at": row["published_at"],
        "modified_at": row["modified_at"],
        "dates": [{key: date.get(key) for key in DATE_KEYS} for date in json.loads(row["dates"])],
        "authors": json.loads(row["authors"]),
        "language": row["language"],
        "tags": tags,
        "body": json.loads(row["body"]),
        "captions": captions,
        "related_links": related_links,
        "version": row["version"],
        "versions": row["versions"],
        "provenance": {key: row[key] for key in PROVENANCE_KEYS},
    }
    if "change" in row:
        article["change"] = None if row["change"] is None else json.loads(row["change"])
        return {key: article[key] for key in VERSION_EXPORT_KEYS}
    return {key: article[key] for key in EXPORT_KEYS}
