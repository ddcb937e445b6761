"""The archive's Datasette face: a front page, a label for replayed data, lists and links.

Registered as its own ``datasette`` entry point (``wirearchive-front``, ``pyproject.toml``), so
``python -m store serve`` and plain ``datasette STORE -m metadata.json`` load it alike; the
templates it fills (``store/web/templates``: ``index.html``, ``base.html``, ``database.html``)
come with the package ``store.web``, registered as the entry point ``wirearchive-templates``
(Datasette adds a plugin package's ``templates/`` folder to its template path).

* ``extra_template_vars``: on every page, the label of the stores replayed from fixture sets
  (:mod:`store.web.provenance`); on the front page (``/``), the latest articles, changes,
  silent edits, gone and delisted articles and two SVG charts (:mod:`store.web.frontpage`); on
  a database's page, the reader's tables and queries first.
* ``register_routes``: the front page at ``/`` itself, rendering ``index.html`` (Datasette's
  index view checks the permission of every table and query first, each check merging a copy
  of the whole metadata: ~0.2-0.4 s on an idle machine whatever the store's size, more than
  the page's budget; ``/.json`` stays Datasette's). A server with no store gets Datasette's.
* ``handle_exception``: a 4xx error page rendered like any other page (Datasette's own
  handler renders ``error.html`` without the plugins' template variables, so without the label).
* ``render_cell``: JSON lists as HTML lists and URLs as links, crawled text always escaped
  (:mod:`store.web.cells`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from datasette import Response, hookimpl
from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Request
from datasette.views.base import DatasetteError
from datasette.views.index import IndexView
from markupsafe import Markup

from store.web import cells
from store.web.frontpage import WINDOW_DAYS, front_page
from store.web.provenance import (
    CRAWL_ORIGINS_SQL,
    CRAWLS_SIGNATURE_SQL,
    label,
    origins,
)

# What a reader looks at first, in this order; the rest (crawls, fetches, the internal tables)
# follows in Datasette's own lists.
READER_TABLES = ("current_articles", "article_tags", "changes", "article_events")
READER_QUERIES = (
    "latest_articles",
    "search",
    "article",
    "version_history",
    "version_diff",
    "changes_in_period",
    "silent_edits",
    "gone_and_delisted",
    "caption_search",
    "related_graph",
    "listing_headlines",
)
OPERATOR_QUERIES = (
    "crawl_log",
    "health_by_crawl",
    "discovery_coverage",
    "robots_refusals",
)
# What the front page's template calls to link and list (each escapes what it is given).
TEMPLATE_FUNCTIONS: dict[str, Any] = {
    "wire_reader_path": cells.reader_path,
    "wire_live_link": cells.live_link,
    "wire_list": cells.list_cell,
    "wire_diff_path": cells.diff_path,
    "wire_time": cells.short_time,
    "wire_window_days": WINDOW_DAYS,
}
STORE_TABLES = ("articles", "versions", "crawls")  # a database holding these is a store

# (file, database name) -> (crawls signature, label): read again when a crawl is added
_labels: dict[tuple[str | None, str], tuple[tuple[Any, ...], Markup | None]] = {}


async def is_store(db: Any) -> bool:
    """Whether a Datasette database is a wirearchive store."""
    names = set(await db.table_names())
    return all(name in names for name in STORE_TABLES)


async def store_label(db: Any, name: str) -> Markup | None:
    """The replayed-data label of one store (None for a store of live crawls only)."""
    signature = tuple((await db.execute(CRAWLS_SIGNATURE_SQL)).rows[0])
    key = (db.path, name)
    cached = _labels.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    found = label(origins(list((await db.execute(CRAWL_ORIGINS_SQL)).rows)))
    _labels[key] = (signature, found)
    return found


async def store_databases(datasette: Any, database: str | None) -> list[tuple[str, Any]]:
    """The stores a page is about: its database, or every store Datasette serves."""
    names = [database] if database else list(datasette.databases)
    found = []
    for name in names:
        if name == "_internal" or name not in datasette.databases:
            continue
        db = datasette.get_database(name)
        if await is_store(db):
            found.append((name, db))
    return found


async def reader_links(datasette: Any, database: str) -> dict[str, list[dict[str, str]]]:
    """The reader's tables and queries of a store, then the operator's, with their titles."""
    tables = datasette.metadata("tables", database=database, fallback=False) or {}
    queries = await datasette.get_canned_queries(database, None)
    base = datasette.urls.database(database)

    def entry(name: str, title: str | None, description: str | None) -> dict[str, str]:
        return {"name": name, "href": f"{base}/{name}", "title": title or name,
                "description": description or ""}  # fmt: skip

    return {
        "tables": [
            entry(name, tables.get(name, {}).get("title"), tables.get(name, {}).get("description"))
            for name in READER_TABLES
        ],
        "queries": [
            entry(name, queries[name].get("title"), queries[name].get("description"))
            for name in READER_QUERIES
            if name in queries
        ],
        "operator": [
            entry(name, queries[name].get("title"), queries[name].get("description"))
            for name in OPERATOR_QUERIES
            if name in queries
        ],
    }


@hookimpl
def extra_template_vars(
    template: str, database: str | None, request: Any, datasette: Any
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """The label on every page; the front page's data on ``/``; the reader's links."""

    async def inner() -> dict[str, Any]:
        stores = await store_databases(datasette, database)
        labels = []
        for name, db in stores:
            text = await store_label(db, name)
            if text is not None:
                labels.append({"database": name, "text": text})
        found: dict[str, Any] = {"wire_labels": labels}
        if template == "index.html":
            found.update(TEMPLATE_FUNCTIONS)
            found["wire_fronts"] = [
                {
                    "page": await front_page(db, name),
                    "links": await reader_links(datasette, name),
                }
                for name, db in stores
            ]
        elif template == "database.html" and stores:
            found["wire_links"] = await reader_links(datasette, stores[0][0])
        return found

    return inner


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str
) -> Markup | None:
    """JSON lists as HTML lists, article URLs linked to the reader, live URLs made safe."""
    return cells.render(row, value, column, table, database)


@hookimpl
def handle_exception(
    datasette: Any, request: Any, exception: Exception
) -> Callable[[], Awaitable[Response]] | None:
    """A 4xx error as an HTML page with the label; JSON errors and 500s are Datasette's."""
    if request.path.endswith(".json") or not isinstance(exception, Base400 | DatasetteError):
        return None

    async def inner() -> Response:
        if isinstance(exception, DatasetteError):
            status, info, title = exception.status, dict(exception.error_dict), exception.title
            message: Any = exception.message
            if exception.message_is_html:
                message = Markup(message)
        else:
            status, info, title = exception.status, {}, None
            message = exception.args[0] if exception.args else ""
        info.update({"ok": False, "error": message, "status": status, "title": title})
        html = await datasette.render_template(
            [f"{status}.html", "error.html"], info, request=request
        )
        headers: dict[str, str] = {}
        if datasette.cors:
            add_cors_headers(headers)
        return Response.html(html, status=status, headers=headers)

    return inner


async def front_page_view(datasette: Any, request: Any) -> Response:
    """``/``: the front page of the stores Datasette serves (Datasette's index without one)."""
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    databases = []
    for name in datasette.databases:
        if name == "_internal":
            continue
        visible, private = await datasette.check_visibility(request.actor, "view-database", name)
        if visible:
            databases.append({"name": name, "private": private})
    if not await store_databases(datasette, None):
        # no store: Datasette's own index page (an internal view, there is no public one),
        # with the URL variables its route would have given it
        scope = dict(request.scope, url_route={"kwargs": {"format": None}})
        response: Response = await IndexView.as_view(datasette)(Request(scope, None), None)
        return response
    html = await datasette.render_template(
        ["index.html"],
        {"databases": databases, "metadata": datasette.metadata()},
        request=request,
        view_name="index",
    )
    return Response.html(html)


@hookimpl
def register_routes() -> list[tuple[str, Callable[..., Awaitable[Response]]]]:
    """The front page at ``/``."""
    return [(r"^/$", front_page_view)]
