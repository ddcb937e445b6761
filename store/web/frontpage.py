"""What the archive's front page shows of a store, read with a few cheap queries.

Each query reads a bounded number of rows through an index: the latest rows by an indexed
time (``ORDER BY ... DESC LIMIT``), and the day counts of the charts over a window of
:data:`WINDOW_DAYS` days (a range of an indexed time), so the page costs the same on a store
of a thousand versions or of millions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from store.web.charts import bar_chart, day_window, series

ROWS = 10  # rows in each list of the front page
WINDOW_DAYS = 30  # days in each chart

# The newest articles by the time their current version claims (index on versions.published_at,
# then articles.current_version_id to keep current versions only).
LATEST_ARTICLES_SQL = """
SELECT v.published_at, a.url, v.title, a.site, a.section, v.version, a.status
FROM versions AS v
JOIN articles AS a ON a.current_version_id = v.id
ORDER BY v.published_at DESC, v.id DESC
LIMIT :rows
"""
# The newest changes (index on version_changes.created_at); silent ones only for the second.
CHANGES_SQL = """
SELECT vc.created_at, a.url, vc.previous_version, vc.version, vc.cause, vc.fields,
  vc.silent_edit, v.title
FROM version_changes AS vc
JOIN articles AS a ON a.id = vc.article_id
JOIN versions AS v ON v.id = vc.version_id
{where}
ORDER BY vc.created_at DESC
LIMIT :rows
"""
LATEST_CHANGES_SQL = CHANGES_SQL.format(where="")
SILENT_EDITS_SQL = CHANGES_SQL.format(where="WHERE vc.silent_edit = 1")
# The newest events of each kind (index on article_events(kind, at)), newest first.
EVENTS_SQL = """
SELECT e.at, a.url, v.title, e.kind, e.status, e.evidence, a.status AS current_status
FROM (
  {kinds}
) AS e
JOIN articles AS a ON a.id = e.article_id
LEFT JOIN versions AS v ON v.id = a.current_version_id
ORDER BY e.at DESC, e.id DESC
LIMIT :rows
""".format(
    kinds="\n  UNION ALL\n  ".join(
        f"SELECT * FROM (SELECT * FROM article_events WHERE kind = '{kind}' "
        "ORDER BY at DESC LIMIT :rows)"
        for kind in ("gone", "delisted", "live", "relisted")
    )
)
# The last day of the charts: the latest publication time no later than the latest fetch
# (a page may claim a time in the future), or the latest change, whichever is later.
LATEST_FETCH_SQL = "SELECT fetched_at FROM fetches ORDER BY id DESC LIMIT 1"
LATEST_PUBLISHED_SQL = """
SELECT published_at FROM versions
WHERE published_at <= :bound
ORDER BY published_at DESC
LIMIT 1
"""
LATEST_CHANGE_SQL = "SELECT created_at FROM version_changes ORDER BY created_at DESC LIMIT 1"
# Articles per day of publication (each counted once, by its first version's claim; index on
# versions(version, published_at)) and new versions per day (index on
# version_changes(created_at)): one range count per day of the window (a JSON array of days),
# each read from the index alone; a GROUP BY over the window would sort every row of it.
DAYS_SQL = """
WITH days AS (
  SELECT value AS day, date(value, '+1 day') AS next FROM json_each(:days)
)
SELECT day, ({count}) AS n FROM days ORDER BY day
"""
ARTICLES_PER_DAY_SQL = DAYS_SQL.format(
    count="SELECT count(*) FROM versions "
    "WHERE version = 1 AND published_at >= days.day AND published_at < days.next"
)
CHANGES_PER_DAY_SQL = DAYS_SQL.format(
    count="SELECT count(*) FROM version_changes "
    "WHERE created_at >= days.day AND created_at < days.next"
)


@dataclass(frozen=True)
class FrontPage:
    """What the front page shows of one store."""

    database: str
    latest_articles: list[dict[str, Any]]
    latest_changes: list[dict[str, Any]]
    silent_edits: list[dict[str, Any]]
    events: list[dict[str, Any]]
    articles_chart: Markup
    changes_chart: Markup
    window: tuple[str, str]


async def rows(db: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of a query as dictionaries."""
    result = await db.execute(sql, params)
    return [dict(row) for row in result.rows]


async def first(db: Any, sql: str, **params: Any) -> Any:
    """The first column of the first row, or None."""
    result = await db.execute(sql, params)
    return result.rows[0][0] if result.rows else None


def iso_day(value: Any) -> str | None:
    """The date part of an ISO 8601 time, or None where it is not one."""
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


async def last_day(db: Any) -> str:
    """The last day the charts show (today, UTC, for a store with nothing dated)."""
    fetched = await first(db, LATEST_FETCH_SQL)
    bound = f"{iso_day(fetched)}T23:59:59Z" if iso_day(fetched) else "9999"
    candidates = [
        iso_day(await first(db, LATEST_PUBLISHED_SQL, bound=bound)),
        iso_day(await first(db, LATEST_CHANGE_SQL)),
    ]
    found = [day for day in candidates if day]
    return max(found) if found else dt.datetime.now(dt.UTC).date().isoformat()


async def per_day(db: Any, sql: str, window: tuple[str, ...]) -> dict[str, int]:
    """Counts per day over the window, from a query of a JSON array of ``:days``."""
    return {row["day"]: row["n"] for row in await rows(db, sql, days=json.dumps(window))}


async def front_page(db: Any, database: str) -> FrontPage:
    """Read what the front page shows of a store."""
    window = day_window(await last_day(db), WINDOW_DAYS)
    articles = series(window, await per_day(db, ARTICLES_PER_DAY_SQL, window))
    changes = series(window, await per_day(db, CHANGES_PER_DAY_SQL, window))
    return FrontPage(
        database=database,
        latest_articles=await rows(db, LATEST_ARTICLES_SQL, rows=ROWS),
        latest_changes=await rows(db, LATEST_CHANGES_SQL, rows=ROWS),
        silent_edits=await rows(db, SILENT_EDITS_SQL, rows=ROWS),
        events=await rows(db, EVENTS_SQL, rows=ROWS),
        articles_chart=bar_chart(
            articles, f"Articles per day of publication: {articles.total:,}", "articles"
        ),
        changes_chart=bar_chart(changes, f"New versions per day: {changes.total:,}", "changes"),
        window=(window[0], window[-1]),
    )
