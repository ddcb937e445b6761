"""The platform's editions and their clocks, in one table: the zone of times a page prints
without one, and how a page's own clock is found.

A page that carries an absolute time (``analytics:p_ts``, a meta with an offset) and a local
printed time shows its clock itself: :func:`page_clock` derives it from the two, and that wins
over the table. Else the edition's clock from :data:`EDITIONS` is used; a subdomain of a known
edition (``rsport.ria.ru``) uses its edition's clock. A host with no known clock is never
silently read as UTC: its times are read as UTC and every claim so read says ``zone =
"assumed"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta, timezone
from urllib.parse import urlsplit

from domain.times import parse_iso

MOSCOW = timezone(timedelta(hours=3), "MSK")

# Every edition's clock: the zone of the times its pages print without one. ``None``: an
# edition of the platform whose clock is not known (its pages' own times must show it, or the
# zone is recorded as assumed). Sources: "seen" in a real page, "reported" in
# ../shared/reference/platform-markup.md.
EDITIONS: dict[str, timezone | None] = {
    "sputnikglobe.com": UTC,  # reported: "08:02 GMT 20.01.2023"
    "sputniknews.com": UTC,  # the same edition before its 2022 rename
    "en.sputniknews.africa": UTC,  # reported: prints GMT, as sputnikglobe.com
    "arabic.sputniknews.com": UTC,  # seen: "GMT 17:27 17.03.2020", agreeing with p_ts
    "ria.ru": MOSCOW,  # seen: "09:24 11.06.2022" for p_ts 06:24:14 UTC
    # language editions on sputniknews.com subdomains: editions of their own, clocks unknown
    "fr.sputniknews.com": None,
    "de.sputniknews.com": None,
    "mundo.sputniknews.com": None,
    "br.sputniknews.com": None,
    "it.sputniknews.com": None,
    "jp.sputniknews.com": None,
    "tr.sputniknews.com": None,
    "cz.sputniknews.com": None,
    "pl.sputniknews.com": None,
    "fr.sputniknews.africa": None,
}

# How the zone of a claim was known (``DateClaim.zone``).
STATED = "stated"  # the raw value states it: an offset, ``Z``, Unix seconds, "GMT" printed
PAGE = "page"  # derived from the page's own absolute and printed times
EDITION = "edition"  # the edition's clock (EDITIONS)
ASSUMED = "assumed"  # no clock known: read as UTC, and said so

# A printed minute and an absolute second agree within this much, offsets being whole quarters
_QUARTER = timedelta(minutes=15)
_SLACK = timedelta(seconds=90)


@dataclass(frozen=True)
class Site:
    """What the parser must know of one edition: its host and clock (None: not known)."""

    host: str
    timezone: timezone | None


@dataclass(frozen=True)
class Clock:
    """The zone a page's unzoned times are read in, and how it was known."""

    tz: timezone
    basis: str  # PAGE, EDITION or ASSUMED


def site_for(url: str) -> Site:
    """The edition a URL belongs to: its host, or the nearest parent domain in the table."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    labels = host.split(".")
    for start in range(len(labels) - 1):
        edition = ".".join(labels[start:])
        if edition in EDITIONS:
            return Site(host, EDITIONS[edition])
    return Site(host, None)


def offset_between(absolute: str, local: str) -> timezone | None:
    """The UTC offset that makes ``local`` (a printed wall time read as if UTC, ISO Z) the same
    minute as ``absolute`` (ISO Z), in whole quarter hours; None where they do not agree."""
    difference = parse_iso(local) - parse_iso(absolute)
    quarters = round(difference / _QUARTER)
    offset = quarters * _QUARTER
    if abs(offset) > timedelta(hours=14) or abs(difference - offset) > _SLACK:
        return None
    return UTC if not quarters else timezone(offset)


def page_clock(site: Site, absolute: str | None, printed_as_utc: list[str]) -> Clock:
    """The page's clock: derived from its absolute time and the first printed local time that
    agrees with it in whole quarter hours, else the edition's, else UTC assumed."""
    if absolute is not None:
        for local in printed_as_utc:
            offset = offset_between(absolute, local)
            if offset is not None:
                return Clock(offset, PAGE)
    if site.timezone is not None:
        return Clock(site.timezone, EDITION)
    return Clock(UTC, ASSUMED)
