"""The dates a page claims, read alike by every design of the platform: the head's metas,
``analytics:p_ts``, the visible dates and the microdata, each parsed to UTC in the page's
clock (:func:`crawler.sites.editions.page_clock`) and marked with how its zone was known."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC

from crawler.sites import dates
from crawler.sites.editions import STATED, Clock, Site, page_clock
from domain.pages import DateClaim, DateKind

# Head metas that carry a date, as ``meta:<key>`` claims (``pubdate``/``lastmod``: the earlier
# design's, with ``Z``).
META_DATES: tuple[tuple[DateKind, str], ...] = (
    ("published", "article:published_time"),
    ("modified", "article:modified_time"),
    ("published", "pubdate"),
    ("modified", "lastmod"),
)
P_TS = "analytics:p_ts"


def read_date_claims(
    site: Site,
    meta: Callable[[str], str | None],
    visible: Sequence[tuple[DateKind, str]],
    microdata: Sequence[tuple[DateKind, str]],
) -> tuple[list[DateClaim], Clock]:
    """Every date claim of a page and the page's clock. ``meta`` gives a head meta's content;
    ``visible`` and ``microdata`` are the page's printed and ``itemprop`` dates, raw."""
    metas = [(kind, key, raw) for kind, key in META_DATES if (raw := meta(key))]
    p_ts = meta(P_TS)
    absolute = dates.parse_epoch(p_ts) if p_ts else None
    if absolute is None:
        stated = (dates.parse_meta(raw, UTC) for kind, _, raw in metas
                  if kind == "published" and dates.meta_has_offset(raw))  # fmt: skip
        absolute = next((value for value in stated if value), None)
    printed = [dates.parse_visible(raw, UTC) for kind, raw in visible
               if kind == "published" and not dates.states_zone(raw)]  # fmt: skip
    printed += [dates.parse_meta(raw, UTC) for kind, raw in microdata
                if kind == "published" and not dates.states_zone(raw)]  # fmt: skip
    clock = page_clock(site, absolute, [value for value in printed if value])

    def claim(kind: DateKind, value: str | None, raw: str, source: str) -> DateClaim:
        zone = None if value is None else STATED if dates.states_zone(raw) else clock.basis
        return DateClaim(kind, value, raw, source, zone)

    claims = [claim(kind, dates.parse_meta(raw, clock.tz), raw, f"meta:{key}")
              for kind, key, raw in metas]  # fmt: skip
    if p_ts:
        claims.append(claim("published", dates.parse_epoch(p_ts), p_ts, f"meta:{P_TS}"))
    claims += [claim(kind, dates.parse_visible(raw, clock.tz), raw, "visible")
               for kind, raw in visible]  # fmt: skip
    claims += [claim(kind, dates.parse_meta(raw, clock.tz), raw, "microdata")
               for kind, raw in microdata]  # fmt: skip
    return claims, clock


def pick_date(claims: list[DateClaim], kind: str) -> str | None:
    """The date of ``kind`` the page claims most exactly.

    Order: a meta value that states its UTC offset, the Unix-seconds ``analytics:p_ts``, the
    visible text, the microdata, and last a meta value without offset (read in the page's clock).
    """

    def rank(claim: DateClaim) -> int:
        if claim.source == f"meta:{P_TS}":
            return 1
        if claim.source.startswith("meta:"):
            return 0 if dates.meta_has_offset(claim.raw) else 4
        return {"visible": 2, "microdata": 3}.get(claim.source, 5)

    usable = [c for c in claims if c.kind == kind and c.value is not None]
    if not usable:
        return None
    return min(usable, key=rank).value
