"""Delisting: at the end of a normally finished crawl, which articles its listings dropped.

Delisted: a live article the previous finished crawl of a section listed, within this crawl's
reach (the whole listing when this crawl read it to the end, else down to the oldest time it
listed), that this crawl's listing pages did not show. Relisted: an article shown again after
being delisted. Both are dated when this crawl first read the section's listing. The rules are
the SQL below; the rows are written through :class:`store.repository.Repository`.
"""

from __future__ import annotations

from typing import Any

from store.history import Event, insert_event
from store.repository import Repository

LISTED_SECTIONS = "SELECT DISTINCT section FROM listing_pages WHERE crawl_id = :crawl_id"
PREVIOUS_LISTING_CRAWL = """
SELECT c.id FROM crawls AS c
WHERE c.id != :crawl_id AND c.finish_reason = 'finished'
  AND c.started_at <= (SELECT started_at FROM crawls WHERE id = :crawl_id)
  AND EXISTS (
    SELECT 1 FROM listing_pages AS lp WHERE lp.crawl_id = c.id AND lp.section = :section
  )
ORDER BY c.started_at DESC, c.rowid DESC
LIMIT 1
"""
# How far this crawl read the section's listing: its oldest listed time, whether a page had no
# "load more" (the end of the listing), when and by which fetch the listing was first read.
LISTING_REACH = """
SELECT
  (SELECT min(l.listed_at) FROM listings AS l
   WHERE l.crawl_id = :crawl_id AND l.section = :section) AS oldest,
  (SELECT count(*) FROM listings AS l
   WHERE l.crawl_id = :crawl_id AND l.section = :section) AS entries,
  coalesce(max(lp.next_url IS NULL), 0) AS reached_end,
  min(f.fetched_at) AS read_at,
  min(lp.fetch_id) AS fetch_id
FROM listing_pages AS lp
JOIN fetches AS f ON f.id = lp.fetch_id
WHERE lp.crawl_id = :crawl_id AND lp.section = :section
"""
# Live articles the previous crawl listed, within this crawl's reach, that this crawl did not list.
DELISTED_CANDIDATES = """
SELECT a.id, a.url, min(p.position) AS position, min(p.listing_url) AS listing_url
FROM listings AS p
JOIN articles AS a ON a.url = p.url
WHERE p.crawl_id = :previous AND p.section = :section AND a.status = 'live'
  AND p.url NOT IN (
    SELECT url FROM listings WHERE crawl_id = :crawl_id AND section = :section
  )
  AND (:reached_end OR p.listed_at >= :oldest)
GROUP BY a.id
ORDER BY a.url
"""
# Articles this crawl listed whose latest delisted/relisted event is "delisted": the relisted
# ones (filtered here, not in Python: a crawl of 20,000 listed articles would otherwise load
# them all at its end).
RELISTED_ARTICLES = """
SELECT a.id, a.url, l.fetch_id, l.position, l.listing_url, f.status
FROM listings AS l
JOIN articles AS a ON a.url = l.url
JOIN fetches AS f ON f.id = l.fetch_id
WHERE l.id IN (
  SELECT min(id) FROM listings WHERE crawl_id = :crawl_id AND section = :section GROUP BY url
)
AND (
  SELECT e.kind FROM article_events AS e
  WHERE e.article_id = a.id AND e.kind IN ('delisted', 'relisted')
  ORDER BY e.at DESC, e.id DESC LIMIT 1
) = 'delisted'
ORDER BY a.url
"""
LAST_LISTING_EVENT = """
SELECT kind FROM article_events
WHERE article_id = :article_id AND kind IN ('delisted', 'relisted')
ORDER BY at DESC, id DESC LIMIT 1
"""
LAST_ANSWER = """
SELECT f.id, f.status, f.fetched_at FROM observations AS o
JOIN fetches AS f ON f.id = o.fetch_id
WHERE o.article_id = :article_id AND o.reparse_id IS NULL
ORDER BY o.observed_at DESC, o.fetch_id DESC LIMIT 1
"""


def record_listing_events(repo: Repository, crawl_id: str) -> None:
    """Delisted and relisted articles of every section this crawl read the listing of."""
    for row in repo.all(LISTED_SECTIONS, {"crawl_id": crawl_id}):
        _section_events(repo, crawl_id, row["section"])


def _section_events(repo: Repository, crawl_id: str, section: str) -> None:
    """Delisted and relisted articles of one section, against the previous listing crawl."""
    params: dict[str, Any] = {"crawl_id": crawl_id, "section": section}
    reach = repo.one(LISTING_REACH, params)
    assert reach is not None  # an aggregate answers one row
    at = reach["read_at"]
    previous = repo.one(PREVIOUS_LISTING_CRAWL, params)
    if previous is not None:
        params.update(
            previous=previous["id"], reached_end=reach["reached_end"], oldest=reach["oldest"] or ""
        )
        extent = "to its end" if reach["reached_end"] else f"down to {reach['oldest']}"
        for row in repo.all(DELISTED_CANDIDATES, params):
            if _last_listing_event(repo, int(row["id"])) == "delisted":
                continue
            answer = repo.one(LAST_ANSWER, {"article_id": row["id"]})
            evidence = (
                f"listed by crawl {previous['id']} at position {row['position']} of "
                f"{row['listing_url']}; not among the {reach['entries']} entries crawl "
                f"{crawl_id} read of the {section} listing, {extent}"
            )
            if answer is not None:
                evidence += f"; the page answered {answer['status']} at {answer['fetched_at']}"
            fetch_id, status = (answer["id"], answer["status"]) if answer else (None, None)
            event = Event("delisted", at, crawl_id, fetch_id, status, evidence)
            insert_event(repo, int(row["id"]), event)
    for row in repo.all(RELISTED_ARTICLES, params):
        evidence = f"listed again at position {row['position']} of {row['listing_url']}"
        event = Event("relisted", at, crawl_id, row["fetch_id"], row["status"], evidence)
        insert_event(repo, int(row["id"]), event)


def _last_listing_event(repo: Repository, article_pk: int) -> str | None:
    """The kind of the article's latest delisted/relisted event, if any."""
    row = repo.one(LAST_LISTING_EVENT, {"article_id": article_pk})
    return None if row is None else str(row["kind"])
