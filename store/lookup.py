"""Which stored article a user means: the one place a pasted URL or id is read
(:func:`find_article`).

A user pastes what their browser or a citation shows: the stored URL itself, the same with
``http`` for ``https``, a trailing slash, tracking parameters (``utm_*``, ``?in=t``), a
fragment, upper-case host — or the site's numeric article id. All name one article.
"""

from __future__ import annotations

import contextlib
import json
from urllib.parse import urlsplit

from sqlite_utils import Database

from domain.text import article_identity, strip_tracking

SELECT_BY_URL = """
SELECT id FROM articles WHERE url IN (SELECT value FROM json_each(:urls)) ORDER BY id LIMIT 1
"""
SELECT_BY_ARTICLE_ID = "SELECT id FROM articles WHERE article_id = :id ORDER BY id LIMIT 1"
# a URL the crawl fetched (a redirect's first URL) that led to one of the article's versions
SELECT_BY_FETCH = """
SELECT v.article_id AS id FROM fetches AS f JOIN versions AS v ON v.fetch_id = f.id
WHERE f.requested_url IN (SELECT value FROM json_each(:urls))
   OR f.final_url IN (SELECT value FROM json_each(:urls))
ORDER BY f.fetched_at DESC LIMIT 1
"""


def url_forms(text: str) -> list[str]:
    """The stored forms a pasted URL may have: as pasted, without tracking parameters, as the
    article's identity (no query, no fragment), each with https and http, with and without
    the trailing slash."""
    pasted = text.strip()
    if "://" not in pasted:
        pasted = f"https://{pasted}"
    forms = [pasted]
    with contextlib.suppress(ValueError):  # no URL w3lib can read: the text as pasted
        forms += [strip_tracking(pasted), article_identity(pasted)]
    variants: list[str] = []
    for form in forms:
        parts = urlsplit(form)
        rest = form[len(parts.scheme) + 3 :] if parts.scheme else form
        for scheme in ("https", "http"):
            url = f"{scheme}://{rest}"
            variants += [url, url.rstrip("/") if url.endswith("/") else f"{url}/"]
    return list(dict.fromkeys(variants))


def find_article(db: Database, text: str) -> int | None:
    """The primary key (``articles.id``) of the article ``text`` names — a URL in any form
    :func:`url_forms` reads, or the site's numeric article id — or None when none is stored."""
    text = text.strip()
    if text.isdigit():
        row = next(db.query(SELECT_BY_ARTICLE_ID, {"id": text}), None)
        if row is not None:
            return int(row["id"])
    urls = json.dumps(url_forms(text))
    for sql in (SELECT_BY_URL, SELECT_BY_FETCH):
        row = next(db.query(sql, {"urls": urls}), None)
        if row is not None:
            return int(row["id"])
    return None
