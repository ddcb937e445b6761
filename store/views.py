"""The store's views: the derived forms Datasette users and the export read.

Body text is stored once, in ``blocks.text``: a body paragraph is the text of a block the split
put in the body, from ``blocks.body_offset`` on (the paragraph that opened with the dateline
starts after it). :data:`VERSION_TEXT_SQL` derives each version's paragraphs from there, and the
full-text index ``versions_fts`` reads its content from that view.
"""

from __future__ import annotations

# A version's body paragraphs, in order: the text of each block the split put in the body, from
# its body offset on (in UTF-8 bytes: SQLite's substr() of a text stops at a NUL character, of a
# blob it does not). The one place that rule lives: the views below, the export and the history
# read the paragraphs from here.
BODY_PARAGRAPHS_SQL = """
SELECT version_id, position,
  CASE body_offset
    WHEN 0 THEN text
    ELSE coalesce(CAST(substr(CAST(text AS BLOB), body_offset + 1) AS TEXT), '')
  END AS paragraph
FROM blocks
WHERE destination = 'body'
""".strip()

# Each version's searchable text and body, derived from its blocks: ``body`` is the JSON array
# of the paragraphs written as Python's ``json.dumps`` writes it (as the column of schema 1 to 4
# held it), ``body_text`` the paragraphs joined by blank lines (the content versions_fts
# indexes).
VERSION_TEXT_SQL = """
SELECT
  v.id,
  v.title,
  v.lead,
  (
    SELECT '[' || coalesce(group_concat(json_quote(p.paragraph), ', '), '') || ']'
    FROM (SELECT paragraph FROM body_paragraphs WHERE version_id = v.id ORDER BY position) AS p
  ) AS body,
  (
    SELECT coalesce(group_concat(p.paragraph, char(10, 10)), '')
    FROM (SELECT paragraph FROM body_paragraphs WHERE version_id = v.id ORDER BY position) AS p
  ) AS body_text
FROM versions AS v
""".strip()

CURRENT_ARTICLES_SQL = """
SELECT
  a.url,
  v.title,
  v.lead,
  v.dateline,
  v.published_at,
  date(v.published_at) AS day,
  v.modified_at,
  a.site,
  a.section,
  v.language,
  v.authors,
  (
    SELECT json_group_array(t.name)
    FROM (SELECT name FROM tags WHERE tags.version_id = v.id ORDER BY idx) AS t
  ) AS tags,
  v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  a.status,
  a.first_seen,
  a.last_seen,
  a.article_id,
  v.id AS version_id
FROM versions AS v
-- versions first (CROSS JOIN keeps that order): a page newest first reads the index on
-- versions (published_at) and stops at its rows, instead of sorting every article
CROSS JOIN articles AS a ON a.current_version_id = v.id
""".strip()

ARTICLE_TAGS_SQL = """
SELECT
  a.url,
  v.title,
  t.name AS tag,
  t.url AS tag_url,
  date(v.published_at) AS day,
  a.site,
  a.section
FROM articles AS a
JOIN versions AS v ON v.id = a.current_version_id
JOIN tags AS t ON t.version_id = v.id
""".strip()

# Every version of an article that has more than one, with what the version before it (the
# one of the next lower number) had. Each row reads only its own article's rows (the indexes
# on versions (article_id, version) and the blocks' key), never a window over every version:
# a page of it, in URL order, costs the same at a million versions as at a thousand.
# paragraphs: the version's body paragraphs (its body blocks, as body_paragraphs has them).
CHANGES_SQL = """
SELECT
  a.url,
  v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  v.id = a.current_version_id AS is_current,
  v.created_at,
  v.title,
  p.title AS previous_title,
  v.published_at,
  v.modified_at,
  (SELECT count(*) FROM blocks AS b WHERE b.version_id = v.id AND b.destination = 'body')
    AS paragraphs,
  CASE WHEN p.id IS NOT NULL THEN (
    SELECT count(*) FROM blocks AS b WHERE b.version_id = p.id AND b.destination = 'body'
  ) END AS previous_paragraphs,
  v.text_sha256,
  p.text_sha256 AS previous_text_sha256,
  v.fetch_id,
  v.crawl_id
FROM articles AS a
CROSS JOIN versions AS v ON v.article_id = a.id  -- article by article (in URL order if asked)
LEFT JOIN versions AS p ON p.article_id = v.article_id AND p.version = (
  SELECT max(pv.version) FROM versions AS pv
  WHERE pv.article_id = v.article_id AND pv.version < v.version
)
WHERE EXISTS (SELECT 1 FROM versions AS o WHERE o.article_id = a.id AND o.id != v.id)
""".strip()

# A crawl fetch that showed the same version as the fetch before it, with another claimed
# modification time: the page says it was modified, its text says otherwise. The pairs are
# kept as readings are stored (``modified_only_readings``, store/summaries.py): they are rare,
# and finding them among every reading took a window over all of them. (The CROSS JOIN keeps
# the summary the outer loop: SQLite otherwise read every observation for an empty summary.)
MODIFIED_ONLY_SQL = """
SELECT
  a.url,
  v.version,
  o.observed_at,
  p.observed_at AS previous_observed_at,
  o.modified_at,
  p.modified_at AS previous_modified_at,
  o.fetch_id,
  p.fetch_id AS previous_fetch_id,
  f.crawl_id
FROM modified_only_readings AS m
CROSS JOIN observations AS o ON o.id = m.observation_id
JOIN observations AS p ON p.id = m.previous_observation_id
JOIN articles AS a ON a.id = o.article_id
JOIN versions AS v ON v.id = o.version_id
JOIN fetches AS f ON f.id = o.fetch_id
""".strip()

# Every article candidate a discovery source put forward, one row per sighting: the section's
# listing pages (``listings``) and the other sources (``discoveries``), with the fetch that
# listed it and when that fetch was made.
DISCOVERED_SQL = """
SELECT l.crawl_id, 'section' AS source, l.fetch_id, l.listing_url, l.position, l.url,
  l.title, l.listed_at, f.fetched_at AS found_at
FROM listings AS l
JOIN fetches AS f ON f.id = l.fetch_id
{listings_where}
UNION ALL
SELECT d.crawl_id, d.source, d.fetch_id, d.listing_url, d.position, d.url,
  d.title, d.listed_at, f.fetched_at AS found_at
FROM discoveries AS d
JOIN fetches AS f ON f.id = d.fetch_id
{discoveries_where}
"""


def sightings(url: str | None = None) -> str:
    """The sightings of the discovered view: every one, or those of the URL ``url`` (an SQL
    expression; each half then filtered on its own, from its index on url — SQLite does not
    push a correlated condition down into a UNION ALL view)."""
    return (
        DISCOVERED_SQL.format(
            listings_where=f"WHERE l.url = {url}" if url else "",
            discoveries_where=f"WHERE d.url = {url}" if url else "",
        )
        .strip()
        .replace("\n\n", "\n")
    )


# How and when each stored article was first found: the first sighting (by fetch time, then
# fetch, then position), and every source that has listed it. Each article's sightings are
# read from the indexes on listings (url) and discoveries (url), article by article in URL
# order (no window over every sighting: a page costs the same at any size); the first one's
# columns come as one JSON array, taken apart here.
ARTICLE_DISCOVERY_SQL = f"""
SELECT
  first.url,
  json_extract(first.sighting, '$[0]') AS first_source,
  json_extract(first.sighting, '$[1]') AS first_found_at,
  json_extract(first.sighting, '$[2]') AS first_fetch_id,
  json_extract(first.sighting, '$[3]') AS listing_url,
  json_extract(first.sighting, '$[4]') AS position,
  json_extract(first.sighting, '$[5]') AS listed_at,
  json_extract(first.sighting, '$[6]') AS crawl_id,
  (
    SELECT group_concat(s.source, ', ')
    FROM (
      SELECT 'section' AS source FROM listings WHERE url = first.url
      UNION
      SELECT source FROM discoveries WHERE url = first.url
      ORDER BY source
    ) AS s
  ) AS sources
FROM (
  SELECT
    a.url,
    (
      SELECT json_array(
        d.source, d.found_at, d.fetch_id, d.listing_url, d.position, d.listed_at, d.crawl_id
      )
      FROM ({sightings("a.url")}) AS d
      ORDER BY d.found_at, d.fetch_id, d.position
      LIMIT 1
    ) AS sighting
  FROM articles AS a
  ORDER BY a.url
  LIMIT -1  -- kept a subquery of its own: each article's first sighting read once
) AS first
WHERE first.sighting IS NOT NULL
""".strip()

# Each crawl's health: how many article pages it read, how many a platform parser (not a
# generic extractor) recognized, and the share of the articles read with each field. An
# article page is one that answered a page (``ok`` or ``unparseable``); out-of-section pages
# are not counted. store/crawl_health.py compares a crawl with the crawls before it.
# The readings are added up as they are stored, per crawl and parser, in ``crawl_readings``
# (a trigger, store/schema.py): each figure is a subquery on one crawl's few rows there, so a
# page of crawls, newest first, or a count of them reads only those crawls however many
# readings the store holds. Over no reading a share is NULL (and the parsers too).
CRAWL_ARTICLE_PAGES = """(
    SELECT count(*) FROM fetches AS f
    WHERE f.crawl_id = c.id AND f.kind = 'article' AND f.outcome IN ('ok', 'unparseable')
  )"""
CRAWL_PLATFORM = """(
    SELECT coalesce(sum(r.readings), 0) FROM crawl_readings AS r
    WHERE r.crawl_id = c.id AND r.parser NOT LIKE 'generic%'
  )"""


def _share(column: str) -> str:
    """The share of a crawl's readings counted in ``column`` of crawl_readings, to 3 places."""
    return (
        f"(SELECT round(1.0 * sum(r.{column}) / sum(r.readings), 3) FROM crawl_readings AS r "
        "WHERE r.crawl_id = c.id)"
    )


CRAWL_HEALTH_SQL = f"""
SELECT
  c.id AS crawl_id,
  c.spider,
  c.started_at,
  c.finish_reason,
  {CRAWL_ARTICLE_PAGES} AS article_pages,
  (
    SELECT coalesce(sum(r.readings), 0) FROM crawl_readings AS r WHERE r.crawl_id = c.id
  ) AS articles_read,
  {CRAWL_PLATFORM} AS platform_articles,
  (
    SELECT CASE WHEN count(*) THEN json_group_object(q.parser, q.readings) END FROM (
      SELECT r.parser, r.readings FROM crawl_readings AS r
      WHERE r.crawl_id = c.id
      ORDER BY r.parser
    ) AS q
  ) AS parsers,
  round(1.0 * {CRAWL_PLATFORM} / {CRAWL_ARTICLE_PAGES}, 3) AS recognized_share,
  {_share("title")} AS title_share,
  {_share("published")} AS date_share,
  {_share("body")} AS body_share,
  {_share("dateline")} AS dateline_share,
  {_share("captions")} AS captions_share,
  {_share("tags")} AS tags_share
FROM crawls AS c
""".strip()

# In creation order: a view is made after the views it reads.
VIEWS: dict[str, str] = {
    "body_paragraphs": BODY_PARAGRAPHS_SQL,
    "version_text": VERSION_TEXT_SQL,
    "current_articles": CURRENT_ARTICLES_SQL,
    "article_tags": ARTICLE_TAGS_SQL,
    "changes": CHANGES_SQL,
    "modified_only": MODIFIED_ONLY_SQL,
    "discovered": sightings(),
    "article_discovery": ARTICLE_DISCOVERY_SQL,
    "crawl_health": CRAWL_HEALTH_SQL,
}
