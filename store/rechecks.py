"""Rechecks: which known articles are due for another fetch, under a schedule.

The candidates (each with the time its age counts from and when it was last checked) are read
here; :mod:`store.schedule` (pure) decides which of them are due.
"""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from domain.times import iso_z
from store.schedule import Schedule, due

# Known articles listed in a section (or all), with the time they count their age from and the
# time they were last checked: the last fetch of the article's URL that got an answer.
RECHECK_CANDIDATES = """
SELECT
  a.url,
  coalesce(v.published_at, a.first_seen) AS born,
  max(
    a.last_seen,
    coalesce(
      (SELECT max(f.fetched_at) FROM fetches AS f
       WHERE f.requested_url = a.url AND f.kind = 'article' AND f.status IS NOT NULL),
      ''
    )
  ) AS last_checked
FROM articles AS a
LEFT JOIN versions AS v ON v.id = a.current_version_id
WHERE (:section IS NULL OR a.url IN (SELECT url FROM listings WHERE section = :section))
  AND coalesce(v.published_at, a.first_seen) >= :born_after
ORDER BY born DESC, a.url
"""


def recheck_candidates(
    db: Database, section: str | None = None, born_after: str = ""
) -> list[tuple[str, str, str]]:
    """Known articles (listed in ``section``, if given) born at or after ``born_after``.

    Each as ``(url, born, last_checked)``: ``born`` is the claimed publication time (else the
    first fetch), ``last_checked`` the last fetch of its URL that got any answer.
    """
    params = {"section": section, "born_after": born_after}
    return [
        (row["url"], row["born"], row["last_checked"])
        for row in db.query(RECHECK_CANDIDATES, params)
    ]


def due_for_recheck(
    db: Database, now: dt.datetime, schedule: Schedule, section: str | None = None
) -> list[str]:
    """The URLs of known articles due for a recheck at ``now`` under ``schedule``."""
    if not schedule.rules:
        return []
    born_after = iso_z(now - schedule.oldest)
    return due(recheck_candidates(db, section, born_after), schedule, now)
