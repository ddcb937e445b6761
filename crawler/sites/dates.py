"""Every date format the platform prints, parsed to UTC in one place.

Each function takes the raw string exactly as the page has it and returns an ISO 8601 UTC
string ending in ``Z``, or ``None`` when the string does not parse (the raw string is always
kept by the caller, so nothing is lost and nothing is invented).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from domain.times import iso_z, parse_iso

MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    # Russian, genitive ("10 июня") and the short forms of datelines ("11 июн")
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
    "янв": 1, "фев": 2, "мар": 3, "апр": 4, "май": 5, "июн": 6, "июл": 7, "авг": 8,
    "сен": 9, "окт": 10, "ноя": 11, "дек": 12,
}  # fmt: skip

_META = re.compile(
    r"^(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})T(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
# a printed zone: "GMT", "UTC", or with an offset ("GMT+3", "UTC+03:00")
_ZONE = r"(?:GMT|UTC)(?:[+-]\d{1,2}(?::?\d{2})?)?"
_CLOCK = r"(?P<H>\d{1,2}):(?P<M>\d{2})"
_DAY = r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})"
# "08:02 GMT 20.01.2023", "GMT 17:27 17.03.2020", "09:24 11.06.2022", and the day first,
# "10.05.2019 13:42"
_VISIBLE = (
    re.compile(rf"(?P<zone_before>{_ZONE})?\s*{_CLOCK}\s*(?P<zone>{_ZONE})?\s*{_DAY}"),
    re.compile(rf"(?P<zone_before>{_ZONE})?\s*{_DAY},?\s*{_CLOCK}\s*(?P<zone>{_ZONE})?"),
)
_PRINTED_ZONE = re.compile(rf"\b{_ZONE}")
_DAY_MONTH = re.compile(
    r"^(?P<d>\d{1,2})\s+(?P<month>[^\W\d_]+),?\s+(?P<H>\d{1,2}):(?P<M>\d{2})\s*(?P<gmt>GMT|UTC)?$"
)


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _printed_offset(zone: str) -> timezone:
    """``GMT`` -> UTC, ``GMT+3`` -> UTC+03:00, ``UTC-04:30`` -> UTC-04:30."""
    rest = zone[3:]
    if not rest:
        return UTC
    sign = -1 if rest[0] == "-" else 1
    hours, _, minutes = rest[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def meta_has_offset(raw: str) -> bool:
    """Whether a meta/microdata timestamp states its own UTC offset."""
    match = _META.match(raw.strip())
    return bool(match and match.group("tz"))


def parse_meta(raw: str, site_tz: timezone) -> str | None:
    """``2023-01-20T08:02+0000``, ``20220611T0924`` (site time), ``2022-06-11T09:24``."""
    match = _META.match(raw.strip())
    if not match:
        return None
    tz = _offset(match.group("tz")) if match.group("tz") else site_tz
    try:
        moment = datetime(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            int(match.group("H")), int(match.group("M")), int(match.group("S") or 0), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None
    return iso_z(moment)


def parse_epoch(raw: str) -> str | None:
    """Unix seconds, as in ``analytics:p_ts`` and ``data-unixtime``."""
    raw = raw.strip()
    if not raw.isdigit():
        return None
    try:
        return iso_z(datetime.fromtimestamp(int(raw), tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def states_zone(raw: str) -> bool:
    """Whether a raw date states its own zone: an offset or ``Z``, Unix seconds, or "GMT"/"UTC"
    printed beside the time."""
    raw = raw.strip()
    return raw.isdigit() or meta_has_offset(raw) or bool(_PRINTED_ZONE.search(raw))


def parse_visible(raw: str, site_tz: timezone) -> str | None:
    """``08:02 GMT 20.01.2023``, ``GMT 17:27 17.03.2020``, ``13:42 GMT+3 10.05.2019`` (zone
    said) or ``09:24 11.06.2022``, ``10.05.2019 13:42`` (site time), found in ``raw``; digits
    of any script (``١٧:٢٧``) read as digits."""
    match = next((found for pattern in _VISIBLE if (found := pattern.search(raw))), None)
    if not match:
        return None
    printed = match.group("zone") or match.group("zone_before")
    tz = _printed_offset(printed) if printed else site_tz
    try:
        moment = datetime(
            int(match.group("y")), int(match.group("m")), int(match.group("d")),
            int(match.group("H")), int(match.group("M")), tzinfo=tz,
        )  # fmt: skip
    except ValueError:
        return None
    return iso_z(moment)


def parse_day_month(raw: str, site_tz: timezone, context: str | None) -> str | None:
    """``12 January, 17:57 GMT`` or ``10 июня, 23:43``: no year printed.

    The year is taken from ``context`` (the article's own publication time, ISO Z): the same
    year, or the year before where that would put the item after the article.
    """
    match = _DAY_MONTH.match(raw.strip())
    if not match or context is None:
        return None
    month = MONTHS.get(match.group("month").lower())
    if month is None:
        return None
    tz = UTC if match.group("gmt") else site_tz
    reference = parse_iso(context)
    for year in (reference.year, reference.year - 1):
        try:
            moment = datetime(
                year, month, int(match.group("d")), int(match.group("H")), int(match.group("M")),
                tzinfo=tz,
            )  # fmt: skip
        except ValueError:
            continue
        if moment <= reference + timedelta(days=1):
            return iso_z(moment)
    return None
