"""What a crawl does for the store's history: recheck known articles, and see when one is gone.

* :func:`recheck_urls` — the known articles of a section due for a recheck, read from the store
  at ``STORE_PATH`` under the ``RECHECK_SCHEDULE`` setting (see :mod:`store.schedule`), or all
  or none of them as the spider's ``-a recheck=all|none`` says. ``RECHECK_NOW`` (an ISO time)
  freezes the clock, for tests and for replays of recordings made in the past.
* :func:`redirected_away` — whether an article request landed on the section or home page:
  the site's way of saying the article is gone.
* :class:`RedirectAwareDupeFilter` — a redirected article request is never dropped as a
  duplicate: where it lands (often the section page, already fetched) is the evidence.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from scrapy.dupefilters import RFPDupeFilter
from scrapy.exceptions import UsageError
from scrapy.http import Request, Response

from crawler.fetching import META_KIND
from domain.text import article_identity
from domain.times import parse_iso
from store import Store
from store.schedule import Schedule, ScheduleError, parse_schedule

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

RecheckMode = Literal["schedule", "all", "none"]
RECHECK_MODES: tuple[RecheckMode, ...] = ("schedule", "all", "none")


def parse_recheck(value: str | None) -> RecheckMode:
    """The spider's ``-a recheck=all|none`` (default: the schedule), checked."""
    if not value:
        return "schedule"
    for mode in RECHECK_MODES:
        if value == mode:
            return mode
    raise UsageError(f"recheck must be one of {', '.join(RECHECK_MODES)}, not {value!r}")


def recheck_now(settings: BaseSettings) -> datetime:
    """The time the schedule is judged at: ``RECHECK_NOW`` when set, else the clock."""
    value = settings.get("RECHECK_NOW")
    if not value:
        return datetime.now(UTC)
    try:
        return parse_iso(str(value))
    except ValueError:
        raise UsageError(f"RECHECK_NOW must be an ISO 8601 time, not {value!r}") from None


def recheck_schedule(settings: BaseSettings) -> Schedule:
    """The ``RECHECK_SCHEDULE`` setting, read; a UsageError says what is wrong with it."""
    try:
        return parse_schedule(settings.get("RECHECK_SCHEDULE") or "")
    except ScheduleError as error:
        raise UsageError(f"RECHECK_SCHEDULE: {error}") from None


def check_settings(settings: BaseSettings) -> None:
    """Refuse a bad ``RECHECK_SCHEDULE`` or ``RECHECK_NOW`` before the crawl starts."""
    recheck_schedule(settings)
    recheck_now(settings)


def recheck_urls(settings: BaseSettings, section: str, mode: RecheckMode) -> list[str]:
    """The URLs of the section's known articles to fetch again in this run."""
    path = Path(settings.get("STORE_PATH"))
    if mode == "none" or not path.is_file() or settings.get("FRONTIER_URL"):
        return []
    schedule = recheck_schedule(settings)
    with Store(path) as store:
        if mode == "all":
            return [url for url, _, _ in store.recheck_candidates(section)]
        return store.due_for_recheck(recheck_now(settings), schedule, section)


def known_articles(settings: BaseSettings, urls: list[str]) -> set[str]:
    """Those of ``urls`` already stored as articles in the store at ``STORE_PATH`` (none for a
    worker of a distributed crawl, which never reads the store)."""
    path = Path(settings.get("STORE_PATH"))
    if not urls or not path.is_file() or settings.get("FRONTIER_URL"):
        return set()
    with Store(path) as store:
        return store.known_urls(urls)


def redirected_away(response: Response, section_url: str) -> str | None:
    """Why a redirected article response means the article is gone, or None if it does not."""
    redirects = response.meta.get("redirect_urls") or []
    if not redirects:
        return None
    landed = article_identity(response.url)
    parts = urlsplit(redirects[0])
    home = article_identity(f"{parts.scheme}://{parts.netloc}/")
    if landed == article_identity(section_url):
        where = "the section page"
    elif landed == home:
        where = "the home page"
    else:
        return None
    reasons = response.meta.get("redirect_reasons") or ["redirect"]
    return f"redirected ({reasons[0]}) from {redirects[0]} to {where} {response.url}"


class RedirectAwareDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter, except that a redirected article request always goes through."""

    def request_seen(self, request: Request) -> bool:
        """False for a redirected article request; otherwise as Scrapy decides."""
        if request.meta.get("redirect_urls") and request.meta.get(META_KIND) == "article":
            return False
        return super().request_seen(request)
