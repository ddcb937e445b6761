"""Summaries kept by triggers (migration 20), for the pages that would otherwise read every row.

Three questions the archive's pages ask are about rare rows among millions, or about the whole
store at once; answered from the rows themselves they read every observation or sighting (at
a million versions: seconds, past Datasette's time limit). Each is kept up to date as rows go
in, by a trigger — in the one transaction of the write, whatever process writes (a crawl, the
distributed store writer, an import), as ``crawl_readings`` is (store/schema.py):

* ``modified_only_readings``: the crawl readings that showed the same version as the reading
  of the article before them, with another claimed modification time (the ``modified_only``
  view). A reading stored late (an earlier ``observed_at`` than one already stored: a
  distributed crawl) is fitted in between, and the reading after it is judged again.
* ``article_sources`` and ``source_coverage``: every (URL, discovery source) pair sighted —
  the section's listings (``section``) and the other sources (``discoveries``) — whether the
  URL was put forward by that source alone (``sole``), and per source how many stored
  articles it found and how many of them no other source did (``discovery_coverage`` of every
  crawl). A pair counts once its URL is a stored article, whichever came first.
* ``headline_differences``: the listing entries whose title differs from the article's own in
  the version current when the listing was read — the version the same crawl fetched, else the
  latest fetched before (``listing_headlines``). Judged when the entry is stored, and again
  for the URL's entries of that crawl (or read after it) when a reading of the article is.

Observations, listings, discoveries and articles are only ever inserted, never updated or
deleted (the store's history is append-only), so insert triggers keep these exact.
:func:`refill` fills the tables from the rows already stored and :func:`create_triggers`
keeps them from then on (migration 20 does both); a bulk copy (benchmarks/store_size.py)
drops the triggers (:func:`drop_triggers`) and fills the tables once after its rows are in.
"""

from __future__ import annotations

from typing import Any, Protocol


class Executes(Protocol):
    """A sqlite3 connection or a sqlite-utils Database: anything that runs SQL."""

    def execute(self, sql: str, *args: Any) -> Any: ...


# The reading of an article before (or after) the one of id ``{o}``: readings of a crawl only
# (a reparse's are not a fetch), in the order the modified_only view's window had them.
READING_NEXT_TO = """
SELECT n.id, n.version_id, n.modified_at FROM observations AS n
WHERE n.article_id = {o}.article_id AND n.reparse_id IS NULL
  AND (n.observed_at, n.fetch_id) {cmp} ({o}.observed_at, {o}.fetch_id)
ORDER BY n.observed_at {order}, n.fetch_id {order}
LIMIT 1
"""


def reading_before(o: str) -> str:
    """SQL: the reading of the same article just before reading ``o``."""
    return READING_NEXT_TO.format(o=o, cmp="<", order="DESC")


def reading_after(o: str) -> str:
    """SQL: the reading of the same article just after reading ``o``."""
    return READING_NEXT_TO.format(o=o, cmp=">", order="ASC")


MODIFIED_ONLY_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS modified_only_readings_add AFTER INSERT ON observations
WHEN NEW.reparse_id IS NULL
BEGIN
  INSERT INTO modified_only_readings (observation_id, previous_observation_id)
  SELECT NEW.id, p.id FROM ({reading_before("NEW")}) AS p
  WHERE p.version_id = NEW.version_id AND p.modified_at IS NOT NEW.modified_at;
  -- a reading stored late: the one after it follows it now
  DELETE FROM modified_only_readings
  WHERE observation_id = (SELECT x.id FROM ({reading_after("NEW")}) AS x);
  INSERT INTO modified_only_readings (observation_id, previous_observation_id)
  SELECT x.id, NEW.id FROM ({reading_after("NEW")}) AS x
  WHERE x.version_id = NEW.version_id AND x.modified_at IS NOT NEW.modified_at;
END
"""
FILL_MODIFIED_ONLY = """
INSERT INTO modified_only_readings (observation_id, previous_observation_id)
SELECT id, previous_id FROM (
  SELECT o.id, o.version_id, o.modified_at,
    lag(o.id) OVER w AS previous_id,
    lag(o.version_id) OVER w AS previous_version_id,
    lag(o.modified_at) OVER w AS previous_modified_at
  FROM observations AS o
  WHERE o.reparse_id IS NULL
  WINDOW w AS (PARTITION BY o.article_id ORDER BY o.observed_at, o.fetch_id)
)
WHERE version_id = previous_version_id AND modified_at IS NOT previous_modified_at
"""

# A new (URL, source) pair: the URL's other pair, if it was the only one, is no longer sole;
# the counts of its source and of this one, if the URL is a stored article.
PAIR_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS article_sources_add AFTER INSERT ON article_sources
BEGIN
  UPDATE source_coverage SET only_here = only_here - 1
  WHERE source IN (
    SELECT s.source FROM article_sources AS s
    WHERE s.url = NEW.url AND s.source != NEW.source AND s.sole = 1
  ) AND EXISTS (SELECT 1 FROM articles WHERE url = NEW.url);
  UPDATE article_sources SET sole = 0
  WHERE url = NEW.url AND source != NEW.source AND sole = 1;
  INSERT INTO source_coverage (source, articles, only_here)
  SELECT NEW.source, 1, NEW.sole WHERE EXISTS (SELECT 1 FROM articles WHERE url = NEW.url)
  ON CONFLICT (source) DO UPDATE SET
    articles = articles + 1, only_here = only_here + excluded.only_here;
END
"""
# The sightings of each kind, as (url, source) pairs: the discovered view's two halves.
SIGHTING_TRIGGERS = {
    "listings": "'section'",
    "discoveries": "NEW.source",
}
SIGHTING_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS {table}_sources AFTER INSERT ON {table}
BEGIN
  INSERT OR IGNORE INTO article_sources (url, source, sole)
  SELECT NEW.url, {source},
    NOT EXISTS (SELECT 1 FROM article_sources WHERE url = NEW.url AND source != {source});
END
"""
# A new article: its URL's pairs sighted before it was stored now count.
ARTICLE_SOURCES_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS articles_sources AFTER INSERT ON articles
BEGIN
  INSERT INTO source_coverage (source, articles, only_here)
  SELECT source, 1, sole FROM article_sources WHERE url = NEW.url
  ON CONFLICT (source) DO UPDATE SET
    articles = articles + 1, only_here = only_here + excluded.only_here;
END
"""
FILL_SOURCES = """
INSERT INTO article_sources (url, source, sole)
SELECT url, source, count(*) OVER (PARTITION BY url) = 1
FROM (
  SELECT url, 'section' AS source FROM listings
  UNION
  SELECT url, source FROM discoveries
)
"""
FILL_COVERAGE = """
INSERT INTO source_coverage (source, articles, only_here)
SELECT s.source, count(*), sum(s.sole)
FROM article_sources AS s
WHERE s.url IN (SELECT url FROM articles)
GROUP BY s.source
"""


def version_listed(listing: str, fetched_at: str) -> str:
    """SQL: the version of the article of listing entry ``listing`` current when the listing
    was read at ``fetched_at`` — the one its crawl fetched, else the latest fetched before."""
    return f"""(
    SELECT o.version_id
    FROM articles AS oa
    JOIN observations AS o ON o.article_id = oa.id
    JOIN fetches AS af ON af.id = o.fetch_id
    WHERE oa.url = {listing}.url AND o.reparse_id IS NULL
      AND (af.crawl_id = {listing}.crawl_id OR o.observed_at <= {fetched_at})
    ORDER BY o.observed_at DESC, o.id DESC
    LIMIT 1
  )"""


# Listing entries (alias l, with the fetch f that read them) judged: those whose title differs.
JUDGE_LISTINGS = f"""
INSERT INTO headline_differences (listing_id, version_id, listed_at, url)
SELECT x.id, x.version_id, x.fetched_at, x.url
FROM (
  SELECT l.id, l.url, l.title, f.fetched_at, {version_listed("l", "f.fetched_at")} AS version_id
  FROM listings AS l
  JOIN fetches AS f ON f.id = l.fetch_id
  WHERE l.title IS NOT NULL AND {{where}}
) AS x
JOIN versions AS v ON v.id = x.version_id
WHERE x.title IS NOT v.title
"""
# The URL's entries a new reading may change: of the reading's crawl, or read after it.
LISTINGS_OF_READING = """
SELECT l.id FROM listings AS l JOIN fetches AS f ON f.id = l.fetch_id
WHERE l.url = (SELECT url FROM articles WHERE id = NEW.article_id)
  AND (l.crawl_id = (SELECT crawl_id FROM fetches WHERE id = NEW.fetch_id)
       OR f.fetched_at >= NEW.observed_at)
"""
LISTING_HEADLINE_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS listings_headline AFTER INSERT ON listings
WHEN NEW.title IS NOT NULL
BEGIN
  {JUDGE_LISTINGS.format(where="l.id = NEW.id").strip()};
END
"""
READING_HEADLINE_TRIGGER = f"""
CREATE TRIGGER IF NOT EXISTS observations_headline AFTER INSERT ON observations
WHEN NEW.reparse_id IS NULL
BEGIN
  DELETE FROM headline_differences WHERE listing_id IN ({LISTINGS_OF_READING.strip()});
  {JUDGE_LISTINGS.format(where=f"l.id IN ({LISTINGS_OF_READING.strip()})").strip()};
END
"""
FILL_HEADLINES = JUDGE_LISTINGS.format(where="1")

TRIGGERS: dict[str, str] = {
    "modified_only_readings_add": MODIFIED_ONLY_TRIGGER,
    "article_sources_add": PAIR_TRIGGER,
    **{
        f"{table}_sources": SIGHTING_TRIGGER.format(table=table, source=source)
        for table, source in SIGHTING_TRIGGERS.items()
    },
    "articles_sources": ARTICLE_SOURCES_TRIGGER,
    "listings_headline": LISTING_HEADLINE_TRIGGER,
    "observations_headline": READING_HEADLINE_TRIGGER,
}
# Each summary table and the SQL that fills it from the rows stored, in this order.
FILLS: tuple[tuple[str, str], ...] = (
    ("modified_only_readings", FILL_MODIFIED_ONLY),
    ("article_sources", FILL_SOURCES),
    ("source_coverage", FILL_COVERAGE),
    ("headline_differences", FILL_HEADLINES),
)

TABLES = tuple(table for table, _ in FILLS)


def create_triggers(db: Executes) -> None:
    """The triggers that keep the summaries as rows go in."""
    for sql in TRIGGERS.values():
        db.execute(sql)


def drop_triggers(db: Executes) -> None:
    """Drop the summaries' triggers (a bulk copy fills the tables once, after: :func:`fill`)."""
    for name in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def refill(db: Executes) -> None:
    """Empty the summary tables and fill them again from the rows stored."""
    for table, _ in FILLS:
        db.execute(f"DELETE FROM {table}")
    for _, sql in FILLS:
        db.execute(sql)
