"""Which stored article a pasted text names: the one lookup the reader's pages, the canned
queries (``wire_article_id(text)`` in SQL, registered by :mod:`store.web.reader`) and
``python -m store evidence`` share.

A reader pastes what the address bar or a link shows: the stored URL, or the same with
``http://`` for ``https://``, a trailing slash more or less, spaces around it, no scheme, a
tracking query (``?in=t``, ``utm_*``) or any query and fragment at all — an article's identity
has none (:func:`domain.text.article_identity`). Digits alone are the article's row id
(``articles.id``), else the site's own id (``articles.article_id``). A URL a fetch requested and
was redirected from names the article it landed on.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

from domain.text import article_identity

# At most a URL's worth: a longer text names no article, and is never read further.
MAX_TEXT = 4096

SELECT_BY_ROW_ID = "SELECT id FROM articles WHERE id = ?"
SELECT_BY_SITE_ID = "SELECT id FROM articles WHERE article_id = ? ORDER BY id LIMIT 1"
SELECT_BY_URLS = """
SELECT id FROM articles WHERE url IN ({marks})
ORDER BY url != ?, id LIMIT 1
"""
# A redirected request: the article its final URL is.
SELECT_BY_REDIRECT = """
SELECT a.id FROM fetches AS f JOIN articles AS a ON a.url = f.final_url
WHERE f.requested_url IN ({marks}) AND f.final_url IS NOT NULL
ORDER BY f.fetched_at DESC, f.id DESC LIMIT 1
"""


def url_candidates(text: str) -> list[str]:
    """The stored URLs a pasted text may stand for, the most likely first (none for a text
    that is no web address)."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT or any(char.isspace() for char in text):
        return []
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return []
        identity = article_identity(text)
    except ValueError:  # a malformed address (a bad port, an unclosed IPv6 bracket)
        return []
    scheme, rest = identity.split("://", 1)
    host, _, path = rest.partition("/")
    hosts = [host, host[4:]] if host.startswith("www.") else [host, "www." + host]
    paths = [path.rstrip("/"), path.rstrip("/") + "/"] if path.rstrip("/") else [path]
    schemes = ["https", "http"] if scheme == "https" else ["http", "https"]
    found: list[str] = [identity]
    for one_host in hosts:
        for one_scheme in schemes:
            for one_path in paths:
                url = f"{one_scheme}://{one_host}/{one_path}"
                if url not in found:
                    found.append(url)
    return found


def find_article(conn: sqlite3.Connection, text: str | int | None) -> int | None:
    """The row id of the article ``text`` names, or None."""
    if text is None:
        return None
    text = str(text).strip()
    if text.isdecimal() and text.isascii():
        for sql in (SELECT_BY_ROW_ID, SELECT_BY_SITE_ID):
            row = conn.execute(sql, (int(text) if sql is SELECT_BY_ROW_ID else text,)).fetchone()
            if row is not None:
                return int(row[0])
        return None
    urls = url_candidates(text)
    if not urls:
        return None
    marks = ", ".join("?" * len(urls))
    row = conn.execute(SELECT_BY_URLS.format(marks=marks), (*urls, urls[0])).fetchone()
    if row is None:
        row = conn.execute(SELECT_BY_REDIRECT.format(marks=marks), urls).fetchone()
    return None if row is None else int(row[0])
