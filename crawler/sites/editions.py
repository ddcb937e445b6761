"""The platform's editions and their clocks: the zone of times a page prints without one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Site:
    """What the parser must know of one edition: its clock."""

    host: str
    timezone: timezone  # the zone of times printed without one


MOSCOW = timezone(timedelta(hours=3), "MSK")
SITES = {
    "sputnikglobe.com": Site("sputnikglobe.com", UTC),
    "sputniknews.com": Site("sputniknews.com", UTC),
    "en.sputniknews.africa": Site("en.sputniknews.africa", UTC),
    "ria.ru": Site("ria.ru", MOSCOW),
}


def site_for(url: str) -> Site:
    """The edition a URL belongs to (an unknown host is read as printing UTC)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return SITES.get(host, Site(host, UTC))
