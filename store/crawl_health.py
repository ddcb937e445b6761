"""Crawl health: a crawl's coverage against the crawls before it.

The figures are the view ``crawl_health`` (:mod:`store.views`): per crawl, the share of the
article pages it read that a platform parser recognized, and the share of the articles read
with each field. A crawl's coverage *dropped* when one of those shares is below
:data:`DROP_RATIO` of its mean over the last ``window`` crawls of the same spider that read
enough pages to judge (:data:`MIN_ARTICLE_PAGES`) and did not end with ``coverage_dropped``
themselves — the same rule for ``python -m store health`` and for a crawl that checks itself
before it ends (``crawler/health.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

# The shares compared, with the name a report prints.
MEASURES: dict[str, str] = {
    "recognized_share": "recognized",
    "title_share": "title",
    "date_share": "date",
    "body_share": "body",
    "dateline_share": "dateline",
    "captions_share": "captions",
    "tags_share": "tags",
}
DROP_RATIO = 0.5  # a share below half its recent mean is a drop, not noise
MIN_ARTICLE_PAGES = 5  # fewer article pages than this is too little to judge a crawl by
DEFAULT_WINDOW = 5

SELECT_HEALTH = "SELECT * FROM crawl_health WHERE crawl_id = :crawl_id"
SELECT_BASELINE = """
SELECT * FROM crawl_health
WHERE spider = :spider AND crawl_id != :crawl_id AND started_at <= :started_at
  AND article_pages >= :min_pages AND coalesce(finish_reason, '') != 'coverage_dropped'
ORDER BY started_at DESC, crawl_id DESC
LIMIT :window
"""
SELECT_LATEST = "SELECT crawl_id FROM crawl_health ORDER BY started_at DESC, crawl_id DESC LIMIT 1"


@dataclass(frozen=True)
class Drop:
    """One share that fell: its name, this crawl's value and the recent mean."""

    measure: str
    value: float
    baseline: float

    def __str__(self) -> str:
        return f"{self.measure} {self.value:.0%} (recent crawls: {self.baseline:.0%})"


@dataclass(frozen=True)
class HealthReport:
    """A crawl's health row, the rows it was compared with, and what dropped."""

    crawl: dict[str, Any]
    baseline: list[dict[str, Any]]
    drops: list[Drop]
    judged: bool  # False: too few article pages, or no earlier crawl to compare with

    @property
    def dropped(self) -> bool:
        """Whether any share fell far below the recent crawls."""
        return bool(self.drops)


def health_report(db: Database, crawl_id: str, window: int = DEFAULT_WINDOW) -> HealthReport:
    """Compare crawl ``crawl_id`` with the ``window`` crawls of its spider before it."""
    rows = list(db.query(SELECT_HEALTH, {"crawl_id": crawl_id}))
    if not rows:
        raise LookupError(f"no crawl {crawl_id} in the store")
    crawl = rows[0]
    baseline = list(
        db.query(
            SELECT_BASELINE,
            {
                "spider": crawl["spider"],
                "crawl_id": crawl_id,
                "started_at": crawl["started_at"],
                "min_pages": MIN_ARTICLE_PAGES,
                "window": window,
            },
        )
    )
    judged = bool(baseline) and crawl["article_pages"] >= MIN_ARTICLE_PAGES
    drops: list[Drop] = []
    if judged:
        for column, name in MEASURES.items():
            values = [row[column] for row in baseline if row[column] is not None]
            if not values:
                continue
            mean = sum(values) / len(values)
            value = crawl[column] or 0.0
            if mean > 0 and value < mean * DROP_RATIO:
                drops.append(Drop(name, value, mean))
    return HealthReport(crawl, baseline, drops, judged)


def latest_crawl(db: Database) -> str | None:
    """The id of the store's latest crawl, if any."""
    row = next(db.query(SELECT_LATEST), None)
    return None if row is None else str(row["crawl_id"])


def _share(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_health(report: HealthReport) -> str:
    """The report as ``python -m store health`` prints it: one line per crawl, then the verdict."""
    header = ["crawl", "started", "ended", "pages", "read", *MEASURES.values()]
    rows = [header]
    for row in [report.crawl, *report.baseline]:
        rows.append(
            [
                row["crawl_id"],
                (row["started_at"] or "")[:19],
                row["finish_reason"] or "-",
                str(row["article_pages"]),
                str(row["articles_read"]),
                *(_share(row[column]) for column in MEASURES),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
             for r in rows]  # fmt: skip
    lines.insert(2, "")  # the crawl judged, then the crawls it is compared with
    if report.dropped:
        lines.append(f"coverage dropped: {'; '.join(map(str, report.drops))}")
    elif not report.judged:
        lines.append(
            "coverage not judged: no earlier crawl to compare with, or fewer than "
            f"{MIN_ARTICLE_PAGES} article pages"
        )
    else:
        lines.append(f"coverage ok against the last {len(report.baseline)} crawls")
    return "\n".join(lines)
