"""Every edition's clock in one table; a page's own clock derived from its absolute and printed
times; an unknown clock never silently read as UTC: its claims say the zone was assumed."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from crawler.sites import parse_article
from crawler.sites.dates import parse_visible, states_zone
from crawler.sites.editions import (
    ASSUMED,
    EDITION,
    EDITIONS,
    MOSCOW,
    PAGE,
    Site,
    offset_between,
    page_clock,
    site_for,
)

PAGE_HTML = """<html><head>{metas}</head><body>
<div class="article" data-article-id="1794720292"><div class="article__header">
<div class="article__info-date"><a href="/20220611/">09:24 11.06.2022</a></div>
<h1 class="article__title">A title</h1></div>
<div class="article__body"><div class="article__block" data-type="text">
<div class="article__text">A paragraph.</div></div></div></div></body></html>"""
P_TS = '<meta name="analytics:p_ts" content="1654928654">'  # 2022-06-11 06:24:14 UTC


def visible(url: str, metas: str = "") -> tuple[str | None, str | None]:
    page = parse_article(url, PAGE_HTML.format(metas=metas))
    (claim,) = [c for c in page.dates if c.source == "visible"]
    return claim.value, claim.zone


@pytest.mark.parametrize(
    ("url", "zone"),
    [
        ("https://ria.ru/20220611/x-1.html", MOSCOW),
        ("https://rsport.ria.ru/20220611/x-1.html", MOSCOW),  # a subdomain: its edition's clock
        ("https://www.sputnikglobe.com/20230120/x-1.html", UTC),
        ("https://arabic.sputniknews.com/arab_world/x/", UTC),
        ("https://fr.sputniknews.com/afrique/x/", None),  # an edition of its own, clock unknown
        ("https://sputnik.example.org/x/", None),
    ],
)
def test_the_table_gives_each_edition_its_clock(url: str, zone: timezone | None) -> None:
    assert site_for(url).timezone == zone


def test_every_edition_in_the_table_is_a_host() -> None:
    assert all(host == host.lower() and "." in host for host in EDITIONS)


@pytest.mark.parametrize(
    ("absolute", "local", "offset"),
    [
        ("2022-06-11T06:24:14Z", "2022-06-11T09:24:00Z", timedelta(hours=3)),
        ("2020-03-17T17:27:41Z", "2020-03-17T17:27:00Z", timedelta(0)),
        ("2019-01-15T13:05:37Z", "2019-01-15T14:05:00Z", timedelta(hours=1)),
        ("2021-02-01T04:00:10Z", "2021-02-01T09:30:00Z", timedelta(hours=5, minutes=30)),
        ("2021-02-01T12:00:00Z", "2021-02-01T06:00:00Z", timedelta(hours=-6)),
    ],
)
def test_offset_between_an_absolute_and_a_printed_time(
    absolute: str, local: str, offset: timedelta
) -> None:
    found = offset_between(absolute, local)
    assert found is not None and found.utcoffset(None) == offset


@pytest.mark.parametrize(
    ("absolute", "local"),
    [
        ("2022-06-11T06:24:14Z", "2022-06-11T09:31:00Z"),  # 7 minutes off a quarter hour
        ("2022-06-11T06:24:14Z", "2022-06-12T09:24:00Z"),  # more than 14 hours apart
    ],
)
def test_times_that_do_not_agree_give_no_offset(absolute: str, local: str) -> None:
    assert offset_between(absolute, local) is None


def test_page_clock_prefers_the_page_then_the_edition_then_assumes() -> None:
    known = Site("ria.ru", MOSCOW)
    unknown = Site("sputnik.example.org", None)
    derived = page_clock(unknown, "2022-06-11T06:24:14Z", ["2022-06-11T09:24:00Z"])
    assert (derived.tz.utcoffset(None), derived.basis) == (timedelta(hours=3), PAGE)
    assert (page_clock(known, None, []).tz, page_clock(known, None, []).basis) == (MOSCOW, EDITION)
    disagreeing = page_clock(known, "2022-06-11T06:24:14Z", ["2022-06-11T09:31:00Z"])
    assert disagreeing.basis == EDITION
    assert (page_clock(unknown, None, []).tz, page_clock(unknown, None, []).basis) == (
        UTC,
        ASSUMED,
    )


def test_a_page_with_p_ts_shows_its_own_clock_on_any_host() -> None:
    assert visible("https://sputnik.example.org/20220611/x-1794720292.html", P_TS) == (
        "2022-06-11T06:24:00Z",
        PAGE,
    )


def test_a_subdomain_of_a_known_edition_uses_its_clock() -> None:
    assert visible("https://rsport.ria.ru/20220611/x-1794720292.html") == (
        "2022-06-11T06:24:00Z",
        EDITION,
    )


def test_an_unknown_clock_is_read_as_utc_and_said_to_be_assumed() -> None:
    assert visible("https://sputnik.example.org/20220611/x-1794720292.html") == (
        "2022-06-11T09:24:00Z",
        ASSUMED,
    )


def test_an_absolute_time_states_its_zone() -> None:
    page = parse_article(
        "https://sputnik.example.org/20220611/x-1794720292.html", PAGE_HTML.format(metas=P_TS)
    )
    (p_ts,) = [c for c in page.dates if c.source == "meta:analytics:p_ts"]
    assert (p_ts.value, p_ts.zone) == ("2022-06-11T06:24:14Z", "stated")
    assert page.published_at == "2022-06-11T06:24:14Z"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("08:02 GMT 20.01.2023", "2023-01-20T08:02:00Z"),
        ("GMT 17:27 17.03.2020", "2020-03-17T17:27:00Z"),
        ("(محدثة GMT ١٠:٢٠ ٠٤.١١.٢٠٢٠)", "2020-11-04T10:20:00Z"),  # Arabic-Indic digits
        ("13:42 GMT+3 10.05.2019", "2019-05-10T10:42:00Z"),  # an offset printed with GMT
        ("UTC-04:30 10:00 01.02.2021", "2021-02-01T14:30:00Z"),
    ],
)
def test_printed_gmt_is_stated_before_or_after_the_time(raw: str, value: str) -> None:
    assert states_zone(raw)
    assert parse_visible(raw, MOSCOW) == value  # GMT said: the edition's clock does not apply


def test_a_time_printed_day_first_is_read_in_the_clock_given() -> None:
    assert not states_zone("10.05.2019 13:42")
    assert parse_visible("10.05.2019 13:42", MOSCOW) == "2019-05-10T10:42:00Z"
