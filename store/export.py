"""The article export: one JSON object per article, as its current version has it (or per version).

The keys of an exported article are :data:`EXPORT_KEYS` (and of its nested parts the other
``*_KEYS`` constants); tests and documentation take them from here. SQLite writes each line
(:data:`ARTICLE_JSON`), splicing in the JSON the store holds; the plain dicts are those lines
decoded. Articles are read in batches, so an export of any size streams in bounded memory.
Absent values are ``None`` or ``[]``, never invented.
"""

from __future__ import annotations

import json
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
DATE_KEYS: tuple[str, ...] = ("kind", "value", "raw", "source", "zone")  # no zone before 1.1
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
VERSION_ORDER = """
SELECT v.id AS version_id FROM versions AS v JOIN articles AS a ON a.id = v.article_id
ORDER BY a.url, v.version
"""
# One version's exported record as JSON text, keys in the order of EXPORT_KEYS, built by SQLite
# from the row and the JSON the store already holds (``dates``, ``authors``), which is written
# into the line as it is, never decoded into Python objects and encoded again. ``body`` is the
# JSON array of the version's paragraphs, read from the view ``body_paragraphs`` (the one place
# the offset rule lives) and aggregated here with ``json_group_array``: going through
# ``version_text.body`` instead quoted each paragraph with ``json_quote``, joined them with
# ``', '`` for ``json()`` to parse and write once more, and cost the export about a fifth of its
# time. A subquery's result loses its JSON subtype, hence the ``json()`` around each one.
ARTICLE_JSON = """
json_object(
  'url', a.url, 'article_id', a.article_id, 'site', a.site, 'section', a.section,
  'title', v.title, 'lead', v.lead, 'dateline', v.dateline, 'published_at', v.published_at,
  'modified_at', v.modified_at, 'dates', json(v.dates), 'authors', json(v.authors),
  'language', v.language,
  'tags', json((
    SELECT json_group_array(t.name)
    FROM (SELECT name FROM tags WHERE version_id = v.id ORDER BY idx) AS t
  )),
  'body', json((
    SELECT json_group_array(p.paragraph)
    FROM (SELECT paragraph FROM body_paragraphs WHERE version_id = v.id ORDER BY position) AS p
  )),
  'captions', json((
    SELECT json_group_array(json_object(
      'position', c.position, 'image_url', c.image_url, 'caption', c.caption,
      'credit', c.credit
    ))
    FROM (
      SELECT position, image_url, caption, credit FROM captions
      WHERE version_id = v.id ORDER BY position, idx
    ) AS c
  )),
  'related_links', json((
    SELECT json_group_array(json_object(
      'position', r.position, 'title', r.title, 'url', r.url,
      'published_at', r.published_at, 'published_raw', r.published_raw
    ))
    FROM (
      SELECT position, title, url, published_at, published_raw FROM related_links
      WHERE version_id = v.id ORDER BY position, rowid
    ) AS r
  )),
  'version', v.version,
  'versions', (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id),
  'provenance', json_object(
    'crawl_id', f.crawl_id, 'fetch_id', f.id, 'fetched_at', f.fetched_at,
    'status', f.status, 'requested_url', f.requested_url, 'final_url', f.final_url,
    'referer', f.referer, 'raw_sha256', v.raw_sha256, 'text_sha256', v.text_sha256,
    'parser', v.parser, 'parser_version', v.parser_version
  )
)
"""
# :ids is a JSON array of version ids; a version no longer current is left out.
CURRENT_LINES = f"""
SELECT v.id AS version_id, {ARTICLE_JSON} AS line
FROM versions AS v
JOIN articles AS a ON a.id = v.article_id AND a.current_version_id = v.id
JOIN fetches AS f ON f.id = v.fetch_id
WHERE v.id IN (SELECT value FROM json_each(:ids))
"""
# :ids is a JSON array of version ids (any version, current or not); ``change`` comes last.
VERSION_LINES = f"""
SELECT v.id AS version_id, json_set({ARTICLE_JSON}, '$.change', json(vc.summary)) AS line
FROM versions AS v
JOIN articles AS a ON a.id = v.article_id
JOIN fetches AS f ON f.id = v.fetch_id
LEFT JOIN version_changes AS vc ON vc.version_id = v.id
WHERE v.id IN (SELECT value FROM json_each(:ids))
"""


def iter_article_lines(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """Every article's current version as one line of JSON (keys :data:`EXPORT_KEYS`), newest
    published first, then by URL: what ``python -m store export`` writes."""
    ids = [row["version_id"] for row in db.query(ARTICLE_ORDER)]
    return _lines(db, ids, CURRENT_LINES, batch_size)


def iter_version_lines(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[str]:
    """Every version of every article as one line of JSON, by URL then version number.

    Keys are :data:`VERSION_EXPORT_KEYS`: the article export's, and ``change`` — the summary of
    what changed from the version it replaced (``null`` for a first version).
    """
    ids = [row["version_id"] for row in db.query(VERSION_ORDER)]
    return _lines(db, ids, VERSION_LINES, batch_size)


def iter_articles(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Yield every article's export dict: :func:`iter_article_lines`, decoded."""
    return (json.loads(line) for line in iter_article_lines(db, batch_size))


def iter_versions(db: Database, batch_size: int = BATCH_SIZE) -> Iterator[dict[str, Any]]:
    """Yield every version's export dict: :func:`iter_version_lines`, decoded."""
    return (json.loads(line) for line in iter_version_lines(db, batch_size))


def _lines(db: Database, ids: Sequence[int], sql: str, batch_size: int) -> Iterator[str]:
    """The lines of these versions, in this order, read a batch at a time."""
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        cursor = db.execute(sql, {"ids": json.dumps(list(batch))})
        lines: dict[int, str] = dict(cursor.fetchall())
        for version_id in batch:
            line = lines.get(version_id)
            if line is None:  # no longer current: a writer saved a newer text since
                continue
            yield line
