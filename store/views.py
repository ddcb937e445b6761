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
FROM articles AS a
JOIN versions AS v ON v.id = a.current_version_id
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

CHANGES_SQL = """
SELECT
  a.url,
  v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  v.id = a.current_version_id AS is_current,
  v.created_at,
  v.title,
  lag(v.title) OVER article_versions AS previous_title,
  v.published_at,
  v.modified_at,
  json_array_length(t.body) AS paragraphs,
  lag(json_array_length(t.body)) OVER article_versions AS previous_paragraphs,
  v.text_sha256,
  lag(v.text_sha256) OVER article_versions AS previous_text_sha256,
  v.fetch_id,
  v.crawl_id
FROM versions AS v
JOIN version_text AS t ON t.id = v.id
JOIN articles AS a ON a.id = v.article_id
WHERE v.article_id IN (SELECT article_id FROM versions GROUP BY article_id HAVING count(*) > 1)
WINDOW article_versions AS (PARTITION BY v.article_id ORDER BY v.version)
""".strip()

# A crawl fetch that showed the same version as the fetch before it, with another claimed
# modification time: the page says it was modified, its text says otherwise.
MODIFIED_ONLY_SQL = """
SELECT
  a.url,
  v.version,
  o.observed_at,
  o.previous_observed_at,
  o.modified_at,
  o.previous_modified_at,
  o.fetch_id,
  o.previous_fetch_id,
  f.crawl_id
FROM (
  SELECT
    obs.*,
    lag(obs.version_id) OVER article_fetches AS previous_version_id,
    lag(obs.modified_at) OVER article_fetches AS previous_modified_at,
    lag(obs.observed_at) OVER article_fetches AS previous_observed_at,
    lag(obs.fetch_id) OVER article_fetches AS previous_fetch_id
  FROM observations AS obs
  WHERE obs.reparse_id IS NULL
  WINDOW article_fetches AS (PARTITION BY obs.article_id ORDER BY obs.observed_at, obs.fetch_id)
) AS o
JOIN articles AS a ON a.id = o.article_id
JOIN versions AS v ON v.id = o.version_id
JOIN fetches AS f ON f.id = o.fetch_id
WHERE o.version_id = o.previous_version_id AND o.modified_at IS NOT o.previous_modified_at
""".strip()

# Every article candidate a discovery source put forward, one row per sighting: the section's
# listing pages (``listings``) and the other sources (``discoveries``), with the fetch that
# listed it and when that fetch was made.
DISCOVERED_SQL = """
SELECT l.crawl_id, 'section' AS source, l.fetch_id, l.listing_url, l.position, l.url,
  l.title, l.listed_at, f.fetched_at AS found_at
FROM listings AS l
JOIN fetches AS f ON f.id = l.fetch_id
UNION ALL
SELECT d.crawl_id, d.source, d.fetch_id, d.listing_url, d.position, d.url,
  d.title, d.listed_at, f.fetched_at AS found_at
FROM discoveries AS d
JOIN fetches AS f ON f.id = d.fetch_id
""".strip()

# How and when each stored article was first found: the first sighting (by fetch time, then
# fetch), and every source that has listed it.
ARTICLE_DISCOVERY_SQL = """
SELECT
  first.url,
  first.source AS first_source,
  first.found_at AS first_found_at,
  first.fetch_id AS first_fetch_id,
  first.listing_url,
  first.position,
  first.listed_at,
  first.crawl_id,
  (
    SELECT group_concat(s.source, ', ')
    FROM (SELECT DISTINCT source FROM discovered WHERE url = first.url ORDER BY source) AS s
  ) AS sources
FROM (
  SELECT d.*, row_number() OVER (
    PARTITION BY d.url ORDER BY d.found_at, d.fetch_id, d.position
  ) AS n
  FROM discovered AS d
  WHERE d.url IN (SELECT url FROM articles)
) AS first
WHERE first.n = 1
""".strip()

# Each crawl's health: how many article pages it read, how many a platform parser (not a
# generic extractor) recognized, and the share of the articles read with each field. An
# article page is one that answered a page (``ok`` or ``unparseable``); out-of-section pages
# are not counted. store/crawl_health.py compares a crawl with the crawls before it.
CRAWL_HEALTH_SQL = """
SELECT
  c.id AS crawl_id,
  c.spider,
  c.started_at,
  c.finish_reason,
  coalesce(p.pages, 0) AS article_pages,
  coalesce(o.read, 0) AS articles_read,
  coalesce(o.platform, 0) AS platform_articles,
  o.parsers,
  round(1.0 * coalesce(o.platform, 0) / p.pages, 3) AS recognized_share,
  round(1.0 * o.title / o.read, 3) AS title_share,
  round(1.0 * o.published / o.read, 3) AS date_share,
  round(1.0 * o.body / o.read, 3) AS body_share,
  round(1.0 * o.dateline / o.read, 3) AS dateline_share,
  round(1.0 * o.captions / o.read, 3) AS captions_share,
  round(1.0 * o.tags / o.read, 3) AS tags_share
FROM crawls AS c
LEFT JOIN (
  SELECT crawl_id, count(*) AS pages
  FROM fetches
  WHERE kind = 'article' AND outcome IN ('ok', 'unparseable')
  GROUP BY crawl_id
) AS p ON p.crawl_id = c.id
LEFT JOIN (
  SELECT
    r.crawl_id,
    count(*) AS read,
    sum(r.parser NOT LIKE 'generic%') AS platform,
    (
      SELECT json_group_object(q.parser, q.n) FROM (
        SELECT ob.parser, count(*) AS n FROM observations AS ob
        JOIN fetches AS fx ON fx.id = ob.fetch_id
        WHERE fx.crawl_id = r.crawl_id AND ob.reparse_id IS NULL
        GROUP BY ob.parser ORDER BY ob.parser
      ) AS q
    ) AS parsers,
    sum(coalesce(v.title, '') != '') AS title,
    sum(v.published_at IS NOT NULL) AS published,
    sum(EXISTS (SELECT 1 FROM blocks AS b WHERE b.version_id = v.id AND b.destination = 'body'))
      AS body,
    sum(coalesce(v.dateline, '') != '') AS dateline,
    sum(EXISTS (SELECT 1 FROM captions AS cp WHERE cp.version_id = v.id)) AS captions,
    sum(EXISTS (SELECT 1 FROM tags AS t WHERE t.version_id = v.id)) AS tags
  FROM (
    SELECT f.crawl_id, obs.parser, obs.version_id
    FROM observations AS obs
    JOIN fetches AS f ON f.id = obs.fetch_id
    WHERE obs.reparse_id IS NULL
  ) AS r
  JOIN versions AS v ON v.id = r.version_id
  GROUP BY r.crawl_id
) AS o ON o.crawl_id = c.id
""".strip()

# In creation order: a view is made after the views it reads.
VIEWS: dict[str, str] = {
    "body_paragraphs": BODY_PARAGRAPHS_SQL,
    "version_text": VERSION_TEXT_SQL,
    "current_articles": CURRENT_ARTICLES_SQL,
    "article_tags": ARTICLE_TAGS_SQL,
    "changes": CHANGES_SQL,
    "modified_only": MODIFIED_ONLY_SQL,
    "discovered": DISCOVERED_SQL,
    "article_discovery": ARTICLE_DISCOVERY_SQL,
    "crawl_health": CRAWL_HEALTH_SQL,
}
