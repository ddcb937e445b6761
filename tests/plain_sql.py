"""The SQL the pages of a big store replaced, kept as the references the rewrites are tested
against (tests/test_page_speed.py, tests/test_summaries.py): each reads every row it needs
plainly (windows over every version, reading or sighting), so its answer is the one to match."""

# The views as they were before migration 17: windows over every version and sighting.
OLD_CHANGES = """
SELECT
  a.url, v.version,
  (SELECT count(*) FROM versions AS vv WHERE vv.article_id = a.id) AS versions,
  v.id = a.current_version_id AS is_current,
  v.created_at, v.title, lag(v.title) OVER article_versions AS previous_title,
  v.published_at, v.modified_at,
  json_array_length(t.body) AS paragraphs,
  lag(json_array_length(t.body)) OVER article_versions AS previous_paragraphs,
  v.text_sha256, lag(v.text_sha256) OVER article_versions AS previous_text_sha256,
  v.fetch_id, v.crawl_id
FROM versions AS v
JOIN version_text AS t ON t.id = v.id
JOIN articles AS a ON a.id = v.article_id
WHERE v.article_id IN (SELECT article_id FROM versions GROUP BY article_id HAVING count(*) > 1)
WINDOW article_versions AS (PARTITION BY v.article_id ORDER BY v.version)
"""
OLD_ARTICLE_DISCOVERY = """
SELECT
  first.url, first.source AS first_source, first.found_at AS first_found_at,
  first.fetch_id AS first_fetch_id, first.listing_url, first.position, first.listed_at,
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
"""
# The canned queries as they were: an OR across two tables, the snippet of every hit, the
# whole discovered view filtered by an OR with the parameter (search in the orders it has
# now: the versions stored last first, or by rank with ties in the order stored; each of them
# now 100 rows to a page).
OLD_QUERIES = {
    "related_graph": """
SELECT a.url AS source_url, v.title AS source_title, r.position, r.url AS target_url,
  tv.title AS target_title, r.title AS link_title, r.published_at AS link_published_at,
  ta.id IS NOT NULL AS target_in_store
FROM articles AS a
JOIN versions AS v ON v.id = a.current_version_id
JOIN related_links AS r ON r.version_id = v.id
LEFT JOIN articles AS ta ON ta.url = r.url
LEFT JOIN versions AS tv ON tv.id = ta.current_version_id
WHERE :url = '' OR a.url = :url OR r.url = :url
ORDER BY v.published_at DESC, a.url, r.position, r.rowid
""",
    "search": """
SELECT a.url, v.title, v.published_at, v.version, v.id = a.current_version_id AS is_current,
  wire_snippet(:q, versions_fts.title, versions_fts.lead, versions_fts.body_text) AS snippet
FROM versions_fts
JOIN versions AS v ON v.id = versions_fts.rowid
JOIN articles AS a ON a.id = v.article_id
WHERE :q != '' AND versions_fts MATCH coalesce(nullif(escape_fts(:q), ''), '"."')
ORDER BY CASE WHEN :order = 'relevance' THEN versions_fts.rank ELSE -v.id END, v.id
""",
    "discovery_coverage": """
WITH found AS (
  SELECT DISTINCT d.source, d.url FROM discovered AS d
  WHERE d.url IN (SELECT url FROM articles) AND (:crawl = '' OR d.crawl_id = :crawl)
)
SELECT f.source, count(*) AS articles,
  sum(NOT EXISTS (
    SELECT 1 FROM found AS o WHERE o.url = f.url AND o.source != f.source
  )) AS only_this_source,
  group_concat(CASE WHEN NOT EXISTS (
    SELECT 1 FROM found AS o WHERE o.url = f.url AND o.source != f.source
  ) THEN f.url END, ' ') AS found_only_here
FROM found AS f GROUP BY f.source ORDER BY f.source
""",
}

# discovery_coverage of every crawl as migration 20 answers it: the old query, with the URLs a
# source found alone listed in URL order (the new one lists the first 100 by URL).
PLAIN_COVERAGE = OLD_QUERIES["discovery_coverage"].replace(
    "FROM found AS f GROUP BY", "FROM (SELECT * FROM found ORDER BY url) AS f GROUP BY"
)
assert OLD_QUERIES["discovery_coverage"] != PLAIN_COVERAGE  # the replace found its text

# The modified_only view before migration 20: a window over every reading.
PLAIN_MODIFIED_ONLY = """
SELECT a.url, v.version, o.observed_at, o.previous_observed_at, o.modified_at,
  o.previous_modified_at, o.fetch_id, o.previous_fetch_id, f.crawl_id
FROM (
  SELECT obs.*,
    lag(obs.version_id) OVER w AS previous_version_id,
    lag(obs.modified_at) OVER w AS previous_modified_at,
    lag(obs.observed_at) OVER w AS previous_observed_at,
    lag(obs.fetch_id) OVER w AS previous_fetch_id
  FROM observations AS obs
  WHERE obs.reparse_id IS NULL
  WINDOW w AS (PARTITION BY obs.article_id ORDER BY obs.observed_at, obs.fetch_id)
) AS o
JOIN articles AS a ON a.id = o.article_id
JOIN versions AS v ON v.id = o.version_id
JOIN fetches AS f ON f.id = o.fetch_id
WHERE o.version_id = o.previous_version_id AND o.modified_at IS NOT o.previous_modified_at
"""
# listing_headlines before migration 20: every listing entry judged.
PLAIN_HEADLINES = """
WITH listed AS (
  SELECT l.url, l.title AS listing_title, l.crawl_id, l.listing_url, l.position, f.fetched_at,
    (
      SELECT o.version_id FROM observations AS o
      JOIN fetches AS af ON af.id = o.fetch_id
      JOIN articles AS oa ON oa.id = o.article_id
      WHERE oa.url = l.url AND o.reparse_id IS NULL
        AND (af.crawl_id = l.crawl_id OR o.observed_at <= f.fetched_at)
      ORDER BY o.observed_at DESC, o.id DESC
      LIMIT 1
    ) AS version_id
  FROM listings AS l
  JOIN fetches AS f ON f.id = l.fetch_id
  WHERE l.title IS NOT NULL
)
SELECT listed.fetched_at AS listed_at, listed.url, listed.listing_title, v.title AS article_title,
  v.version, listed.crawl_id, listed.listing_url, listed.position
FROM listed
JOIN versions AS v ON v.id = listed.version_id
WHERE listed.listing_title IS NOT v.title
ORDER BY listed.fetched_at, listed.url
"""
