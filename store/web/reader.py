"""The reader's pages, a Datasette plugin: an article as a reader sees it, a diff a reader
understands, and a fetch's stored bytes as downloads.

Routes (``register_routes``), each on the first database Datasette serves (``?db=NAME`` for
another):

* ``/article?url=TEXT`` (or ``?id=N``; ``&version=N`` for an earlier version): one version of
  an article — header, times, body, captions, related links, tags — with its version timeline
  and provenance. ``TEXT`` is any form of the URL a reader pastes (:mod:`store.lookup`);
  an article the store does not have answers 404 with a link to the search.
* ``/diff?url=TEXT&from=N&to=M``: two versions side by side, word by word
  (:mod:`store.web.compare`); by default the current version against the one before it.
* ``/raw/{fetch_id}``: the fetch's stored body, decompressed, as ``text/plain`` and an
  attachment with ``X-Content-Type-Options: nosniff`` — never HTML a browser would render.
* ``/warc/{fetch_id}``: the fetch's ``response`` and ``request`` WARC records
  (:mod:`store.web.downloads`), ``application/warc``, an attachment.

It also adds the SQL function ``wire_article_id(text)`` (the same lookup, for the canned
queries of ``store/metadata.yml``) and, in the ``fetches`` table, links to both downloads
beside each body's hash.

The pages are Jinja templates in ``store/web/templates`` rendered by Datasette's own
environment, which escapes every value (autoescape): crawled text is never marked safe. A
crawled URL is a link only when it is ``http`` or ``https`` (:func:`web_href`); anything else
(``javascript:``, ``data:``) is shown as text. Images are never loaded from the live site: an
image URL is a link.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Request, Response
from markupsafe import Markup, escape

from store.lookup import find_article
from store.web import data
from store.web.compare import MAX_ROWS as MAX_DIFF_ROWS
from store.web.compare import compare
from store.web.downloads import Download, raw_body, warc_records

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff"}
# The pages load no image, plugin or frame from elsewhere, whatever a crawled text holds.
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": "img-src 'self' data:; object-src 'none'; frame-src 'none'; "
    "base-uri 'none'; form-action 'self'",
}


def web_href(url: Any) -> str | None:
    """A crawled URL fit to be a link (``http``/``https`` with a host), or None."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def wire_article_id(conn: sqlite3.Connection) -> Callable[[Any], int | None]:
    """The SQL function ``wire_article_id(text)`` on one connection."""

    def lookup(text: Any) -> int | None:
        try:
            return find_article(conn, None if text is None else str(text))
        except sqlite3.Error:  # a database without the store's tables (Datasette's own)
            return None

    return lookup


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Add ``wire_article_id(text)``: the row id of the article a pasted URL or id names."""
    conn.create_function("wire_article_id", 1, wire_article_id(conn))


def page_url(datasette: Any, path: str, db: str | None = None, **params: Any) -> str:
    """A path of this plugin with its query (empty parameters left out; ``db`` only for a
    database other than the first)."""
    if db and db != default_database(datasette):
        params["db"] = db
    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return datasette.urls.path(path + (f"?{query}" if query else ""))


def default_database(datasette: Any) -> str | None:
    """The name of the database the pages read without ``?db=``."""
    try:
        return str(datasette.get_database().name)
    except IndexError:
        return None


def database_of(datasette: Any, request: Request) -> Any:
    """The database a request reads: ``?db=NAME``, else the first one served."""
    name = request.args.get("db")
    if name == "_internal":  # Datasette's own, never a store
        return None
    try:
        return datasette.get_database(name or None)
    except (KeyError, IndexError):
        return None


async def read_store(database: Any, read: Callable[[sqlite3.Connection], Any]) -> Any:
    """``read(conn)`` on the database's connection; :class:`NotAStore` when it lacks the
    store's tables."""
    try:
        return await database.execute_fn(read)
    except sqlite3.OperationalError as error:
        raise NotAStore(str(error)) from error


class NotAStore(Exception):
    """The database served is not a wirearchive store (no articles, fetches...)."""


def int_arg(request: Request, name: str) -> int | None:
    """A whole-number query parameter, or None (absent or not a number)."""
    text = (request.args.get(name) or "").strip()
    return int(text) if text.isdecimal() and text.isascii() and len(text) < 12 else None


async def render(
    datasette: Any, request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """A page of this plugin, rendered by Datasette's Jinja environment (autoescape on)."""
    context = {
        **context,
        "web_href": web_href,
        "page_url": lambda path, **params: page_url(
            datasette, path, request.args.get("db"), **params
        ),
    }
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html, status=status, headers=PAGE_HEADERS)


async def not_found(
    datasette: Any, request: Request, database: Any, text: str, reason: str
) -> Response:
    """The 404 page: what was asked for, why there is nothing, and a link to the search."""
    search = None
    if database is not None:
        search = datasette.urls.database(database.name) + "/search?" + urlencode({"q": text})
    context = {"asked": text, "reason": reason, "search_url": search}
    return await render(datasette, request, "wire_not_found.html", context, status=404)


def asked_for(request: Request) -> str:
    """What the reader asked for: ``url`` or ``id``."""
    return (request.args.get("url") or request.args.get("id") or "").strip()


async def article_page(datasette: Any, request: Request) -> Response:
    """``/article?url=…``: one version of an article as a reader sees it."""
    database = database_of(datasette, request)
    text = asked_for(request)
    if database is None:
        return await not_found(datasette, request, None, text, "no database is served")
    if not text:
        return await not_found(datasette, request, database, text, "no URL or id was given")
    number = int_arg(request, "version")

    def read(conn: sqlite3.Connection) -> tuple[dict[str, Any] | None, data.ArticleView | None]:
        found = data.article(conn, text)
        return found, None if found is None else data.article_view(conn, found, number)

    try:
        found, view = await read_store(database, read)
    except NotAStore:
        return await not_found(datasette, request, database, text, "that database is no store")
    if found is None:
        return await not_found(
            datasette, request, database, text, "the archive has no such article"
        )
    if view is None:
        reason = f"the article has no version {request.args.get('version')}"
        return await not_found(datasette, request, database, text, reason)
    context = {
        "view": view,
        "article": view.article,
        "version": view.version,
        "database": database.name,
        "max_rows": data.MAX_ROWS,
    }
    return await render(datasette, request, "wire_article.html", context)


async def diff_page(datasette: Any, request: Request) -> Response:
    """``/diff?url=…&from=N&to=M``: two versions side by side, word by word."""
    database = database_of(datasette, request)
    text = asked_for(request)
    if database is None or not text:
        reason = "no database is served" if database is None else "no URL or id was given"
        return await not_found(datasette, request, database, text, reason)
    low, high = int_arg(request, "from"), int_arg(request, "to")

    def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
        found = data.article(conn, text)
        if found is None:
            return None
        to = found["current_version"] if high is None else high
        start = to - 1 if low is None else low
        older, newer = min(start, to), max(start, to)
        return {
            "article": found,
            "older": older,
            "newer": newer,
            "old": data.version_text(conn, found["id"], older),
            "new": data.version_text(conn, found["id"], newer),
            "changes": data.changes_between(conn, found["id"], older, newer),
            "timeline": data.rows(
                conn, data.SELECT_TIMELINE, article=found["id"], limit=data.MAX_ROWS
            ),
        }

    try:
        read_result = await read_store(database, read)
    except NotAStore:
        return await not_found(datasette, request, database, text, "that database is no store")
    if read_result is None:
        return await not_found(
            datasette, request, database, text, "the archive has no such article"
        )
    found = read_result["article"]
    if found["versions"] < 2 and low is None and high is None:
        context = {**read_result, "comparison": None, "database": database.name, "max_rows": 0}
        return await render(datasette, request, "wire_diff.html", context)
    if read_result["old"] is None or read_result["new"] is None:
        missing = read_result["older"] if read_result["old"] is None else read_result["newer"]
        reason = f"the article has no version {missing}"
        return await not_found(datasette, request, database, text, reason)
    comparison = compare(read_result["old"], read_result["new"])
    context = {
        **read_result,
        "comparison": comparison,
        "database": database.name,
        "max_rows": MAX_DIFF_ROWS,
    }
    return await render(datasette, request, "wire_diff.html", context)


def attachment(download: Download, content_type: str) -> Response:
    """Bytes sent as a file to save, never a page to render."""
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{download.filename}"',
    }
    if download.origin is not None:
        headers["X-Wirearchive-Warc-Origin"] = download.origin
    return Response(download.data, content_type=content_type, headers=headers)


def fetch_id_of(request: Request) -> int | None:
    """The ``{fetch_id}`` of a download's path."""
    text = str(request.url_vars.get("fetch_id", ""))
    return int(text) if text.isdecimal() and len(text) < 19 else None


async def text_not_found(message: str) -> Response:
    """A download that is not there: a plain-text 404."""
    return Response.text(message + "\n", status=404, headers=SECURITY_HEADERS)


async def fetch_download(
    datasette: Any,
    request: Request,
    read: Callable[[sqlite3.Connection, int], Download | None],
    content_type: str,
    missing: str,
) -> Response:
    """A fetch's download (``read(conn, fetch_id)``) as an attachment, or a plain-text 404
    saying ``missing`` (with ``{fetch_id}``) when the fetch has none."""
    database, fetch_id = database_of(datasette, request), fetch_id_of(request)
    if database is None or fetch_id is None:
        return await text_not_found("no such fetch")
    try:
        download = await read_store(database, lambda conn: read(conn, fetch_id))
    except NotAStore:
        download = None
    if download is None:
        return await text_not_found(missing.format(fetch_id=fetch_id))
    return attachment(download, content_type)


async def raw_download(datasette: Any, request: Request) -> Response:
    """``/raw/{fetch_id}``: the stored body, decompressed, as plain text to save."""
    return await fetch_download(
        datasette, request, raw_body, "text/plain; charset=utf-8", "fetch {fetch_id} kept no body"
    )


async def warc_download(datasette: Any, request: Request) -> Response:
    """``/warc/{fetch_id}``: the fetch's WARC records, to save."""
    return await fetch_download(
        datasette,
        request,
        warc_records,
        "application/warc",
        "fetch {fetch_id} got no HTTP answer: it has no WARC record",
    )


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Any]]]:
    """The reader's pages and downloads."""
    return [
        (r"^/article$", article_page),
        (r"^/diff$", diff_page),
        (r"^/raw/(?P<fetch_id>[0-9]+)$", raw_download),
        (r"^/warc/(?P<fetch_id>[0-9]+)$", warc_download),
    ]


def fetch_links(datasette: Any, database: str, value: Any, row: Any) -> Markup | None:
    """A fetch's body hash with links to its raw page and WARC records."""
    fetch_id = row["id"] if "id" in row.keys() else None  # noqa: SIM118 (an sqlite3.Row)
    if value is None or not isinstance(fetch_id, int):
        return None
    raw = page_url(datasette, f"/raw/{fetch_id}", db=database)
    warc = page_url(datasette, f"/warc/{fetch_id}", db=database)
    return Markup('{} <a href="{}">raw</a> <a href="{}">WARC</a>').format(
        escape(str(value)), raw, warc
    )


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    """In the ``fetches`` table only, the ``body_sha256`` cell: the hash and the downloads."""
    if table == "fetches" and column == "body_sha256":
        return fetch_links(datasette, database, value, row)
    return None
