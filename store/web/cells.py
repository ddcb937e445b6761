"""How a cell of a table or canned query shows in HTML: JSON lists as lists, URLs as links.

Every piece of crawled text is escaped (``markupsafe.escape``): a cell never carries markup
from a page. An article's URL links first inside the archive (the reader page,
``/article?url=``), then to the live page as a secondary link — only an ``http`` or ``https``
URL becomes a live link (a ``javascript:`` URL stays text), and that link carries
``rel="noopener noreferrer nofollow"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from markupsafe import Markup

# Columns that hold a JSON array of strings: authors, tags, changed fields, body paragraphs.
LIST_COLUMNS = frozenset({"authors", "tags", "fields", "body"})
# Columns whose URL is an article's (the reader page can show it).
ARTICLE_URL_COLUMNS = frozenset({"url", "source_url", "target_url"})
# Tables whose ``url`` column is not an article's (a tag's page).
NON_ARTICLE_URL_TABLES = frozenset({"tags"})
# Rows of the ``article`` query whose ``url`` is not an article's: a photo's, a tag's page.
NON_ARTICLE_PARTS = frozenset({"caption", "tag"})
# URL columns that name the page a fetch got: the raw page of that fetch is in the archive.
FETCHED_URL_COLUMNS = frozenset({"requested_url", "final_url", "listing_url"})
OTHER_URL_COLUMNS = frozenset({"referer", "example"})  # and every column named *_url
LIVE_SCHEMES = frozenset({"http", "https"})
REL = "noopener noreferrer nofollow"


def reader_path(url: str) -> str:
    """The reader page of an article (``/article?url=...``, the URL percent-encoded)."""
    return "/article?url=" + quote(url, safe="")


def raw_path(fetch_id: int | str) -> str:
    """The raw page a fetch received."""
    return f"/raw/{quote(str(fetch_id), safe='')}"


def warc_path(fetch_id: int | str) -> str:
    """The WARC record of a fetch's exchange."""
    return f"/warc/{quote(str(fetch_id), safe='')}"


def diff_path(database: str, url: str, a: int | str, b: int | str) -> str:
    """The side-by-side diff of two versions of an article (the ``version_diff`` query)."""
    query = urlencode({"url": url, "a": a, "b": b})
    return f"/{quote(database, safe='')}/version_diff?{query}"


def list_cell(value: str | None) -> Markup:
    """A JSON list of strings as an HTML list; any other value as text."""
    items = json_list(value or "")
    return Markup("{}").format(value or "") if items is None else html_list(items)


def short_time(value: str | None) -> str:
    """An ISO 8601 UTC time to the minute, for a list (``2023-01-20 11:50``)."""
    if not value:
        return ""
    return value[:16].replace("T", " ") if len(value) >= 16 and value[10] == "T" else value


def is_live_url(value: str) -> bool:
    """Whether a URL may become a link off the archive: http or https, with a host."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in LIVE_SCHEMES and bool(parts.netloc)


def looks_like_url(value: str) -> bool:
    """What Datasette would show as a link (without ``rel``): an http(s) URL alone in a cell."""
    return value.startswith(("http://", "https://")) and not any(c.isspace() for c in value)


def live_link(url: str, label: str | None = None) -> Markup:
    """An external link to a live URL, or the URL as text when it is not http(s)."""
    if not is_live_url(url):
        return Markup("{}").format(url if label is None else label)
    return Markup('<a class="wire-live" href="{}" rel="{}">{}</a>').format(
        url.strip(), REL, url if label is None else label
    )


def article_link(url: str) -> Markup:
    """An article's URL: its reader page first, the live page second."""
    inside = Markup('<a class="wire-inside" href="{}">{}</a>').format(reader_path(url), url)
    if not is_live_url(url):
        return inside
    return inside + Markup(" ") + live_link(url, "site ↗")


def fetched_link(url: str, fetch_id: int | str) -> Markup:
    """A fetched URL: the raw page the archive kept first, the live page second."""
    inside = Markup('<a class="wire-inside" href="{}">{}</a>').format(raw_path(fetch_id), url)
    if not is_live_url(url):
        return inside
    return inside + Markup(" ") + live_link(url, "site ↗")


def json_list(value: str) -> list[str] | None:
    """The strings of a JSON array of strings, or None for any other value."""
    if not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return None
    return items


def html_list(items: list[str]) -> Markup:
    """A list of strings as an HTML list, each item escaped."""
    if not items:
        return Markup('<span class="wire-empty">(none)</span>')
    return Markup('<ul class="wire-list">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(item) for item in items)
    )


def row_value(row: Any, key: str) -> Any:
    """A column of a row (``sqlite3.Row`` or mapping), or None where it has none."""
    keys = row.keys() if hasattr(row, "keys") else ()
    return row[key] if key in keys else None


def fetch_links(database: str, fetch_id: int) -> Markup:
    """A fetch id in a query's rows: the fetch's row, its raw page and its WARC record."""
    return Markup(
        '<a href="/{}/fetches/{}">{}</a> <span class="wire-fetch">'
        '(<a href="{}">raw</a>, <a href="{}">WARC</a>)</span>'
    ).format(quote(database, safe=""), fetch_id, fetch_id, raw_path(fetch_id), warc_path(fetch_id))


def render(
    row: Mapping[str, Any] | Any, value: Any, column: str, table: str | None, database: str
) -> Markup | None:
    """The HTML of a cell, or None to leave it to Datasette (which escapes it)."""
    if isinstance(value, int) and column == "fetch_id" and table is None:
        return fetch_links(database, value)
    if not isinstance(value, str) or not value:
        return None
    if column in LIST_COLUMNS:
        items = json_list(value)
        return None if items is None else html_list(items)
    if column in ARTICLE_URL_COLUMNS:
        if table in NON_ARTICLE_URL_TABLES or row_value(row, "part") in NON_ARTICLE_PARTS:
            return live_link(value)
        return article_link(value)
    if column in FETCHED_URL_COLUMNS:
        fetch_id = row_value(row, "id") if table == "fetches" else row_value(row, "fetch_id")
        return live_link(value) if fetch_id is None else fetched_link(value, fetch_id)
    if column in OTHER_URL_COLUMNS or column.endswith("_url") or looks_like_url(value):
        return live_link(value)
    return None
