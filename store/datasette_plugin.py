"""The project's Datasette plugin: a snippet function with a bounded cost, and no POST.

Registered by the package's ``datasette`` entry point (``pyproject.toml``), so ``datasette`` and
``python -m store serve`` load it alike. It adds no page and writes nothing.

* ``wire_snippet(q, text, ...)``: the words of the search ``q`` shown in context, marked
  ``[`` ``]``, from the first text that holds one. FTS5's own ``snippet()`` and ``highlight()``
  take time that grows faster than the document, in C: on one article of 20,000 paragraphs
  with the word in each they took 21 s and 13 s, and Datasette's time limit cannot stop
  them: the limit is a progress handler, which SQLite calls between virtual-machine steps, and
  an FTS5 auxiliary function runs as one step (measured: 320 calls in 20 s, all while the row
  was read). So no query Datasette runs may call them — a canned query or SQL a visitor writes:
  an authorizer on every connection denies the two functions, and such a query fails at once
  with "not authorized" instead of running past the time limit. This one finds the first
  match with one regular-expression scan (linear in the text; written here because SQLite and
  Datasette have none that is bounded) and reads no more than it shows.
  Every query of the project's metadata is then bounded by Datasette's own progress handler
  (``sql_time_limit_ms``, on every query it runs): the SQL work is all in virtual-machine
  steps, and the one function that is not runs in time linear in what a row holds.
* A table or view page counts its rows within :data:`COUNT_TIME_LIMIT_MS`, as Datasette's
  own database and index pages do (``table_counts``, 5 and 10 ms): at a million versions
  ``select count(*)`` of a big table or a view over every article takes seconds, and Datasette
  0.65 gives that count the whole ``sql_time_limit_ms`` and has no setting for it. A count cut
  at the limit is left out of the page (Datasette's own way with an interrupted count: the
  page shows its rows and "next page", without the total); a filtered page, a small table and
  every store of a few thousand versions still show theirs. SQL a visitor writes, canned
  queries, facets (``facet_time_limit_ms``) and the JSON's ``?_nocount`` are untouched.
* A time-limited count of a whole table (the database page's, 5 ms a table, and a table
  page's) is not started on a table of more than :data:`COUNT_MAX_ROWID` rows (its largest
  rowid, read from the end of its b-tree): SQLite counts a whole table in one
  virtual-machine step (``OP_Count``), which the time limit cannot interrupt. At a million
  versions those counts took 450 ms of the database page (``versions_fts_data`` alone
  230 ms, ``blocks`` 72 ms) while each was meant to give up after 5 ms. Such a table shows
  "Many rows", as Datasette shows a count it cut.
* POST answers 405 on every page of a database: the archive is read-only (no writable canned
  query, no write plugin); Datasette 0.65 answered a POST to a canned query, table or view with
  a 500 and a traceback.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# What a snippet shows around the first match, in characters either side.
CONTEXT = 90
ELLIPSIS = " … "
WORD = re.compile(r"\w+")


def search_words(query: str) -> list[str]:
    """The words of a search as typed (Datasette's ``escape_fts`` quotes each of them)."""
    return [word.casefold() for word in WORD.findall(query or "")]


def wire_snippet(query: str | None, *texts: str | None) -> str | None:
    """The first match of any word of ``query`` in ``texts`` (the first text that has one),
    with up to :data:`CONTEXT` characters either side and every word of the query in that
    window marked ``[word]``; the start of the first text when none matches."""
    words = search_words(query or "")
    pattern = (
        re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        if words
        else None
    )
    fallback = next((text for text in texts if text), None)
    for text in texts:
        if not text or pattern is None:
            continue
        found = pattern.search(text)
        if found is None:
            continue
        start, end = max(0, found.start() - CONTEXT), min(len(text), found.end() + CONTEXT)
        window = pattern.sub(lambda m: f"[{m.group(0)}]", text[start:end])
        return f"{ELLIPSIS if start else ''}{window}{ELLIPSIS if end < len(text) else ''}"
    if fallback is None:
        return None
    return fallback[: 2 * CONTEXT] + (ELLIPSIS if len(fallback) > 2 * CONTEXT else "")


# FTS5's auxiliary functions the progress handler cannot interrupt (see the module's text).
UNBOUNDED_FUNCTIONS = frozenset({"snippet", "highlight"})


def deny_unbounded(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    """SQLite's authorizer: refuse a call of an FTS5 function that no time limit can stop."""
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in UNBOUNDED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Add ``wire_snippet`` to every connection Datasette opens, and deny ``snippet()`` and
    ``highlight()``, which Datasette's time limit cannot stop."""
    conn.create_function("wire_snippet", -1, wire_snippet, deterministic=True)
    conn.set_authorizer(deny_unbounded)


# How long a table or view page may count its rows (see the module's text).
COUNT_TIME_LIMIT_MS = 50
# The SQL of a table or view page's count, as Datasette 0.65's table view writes it.
TABLE_COUNT_SQL = "select count(*) from "
# A count of every row of one table, as Datasette's database page and an unfiltered table
# page write it ("select count(*) from [blocks]", "select count(*) from blocks ").
WHOLE_TABLE_COUNT = re.compile(r"select count\(\*\) from \[?(\w+)\]?\s*$")
# Tables above this many rows are not counted whole under a time limit (see the module's
# text): SQLite's count of 1.4 million fetches took 23 ms, of 13 million blocks 72 ms.
COUNT_MAX_ROWID = 500_000
# Whether the request being answered is a table or view page (/DB/NAME, any format).
_table_page: ContextVar[bool] = ContextVar("wire_table_page", default=False)


def is_table_page(path: str) -> bool:
    """Whether ``path`` is a table's or view's page (or a canned query's: same shape), as
    opposed to a database's page, where SQL a visitor writes runs, or a row's."""
    parts = path.strip("/").split("/")
    return len(parts) == 2 and not parts[0].startswith("-") and all(parts)


def bound_counts(db: Any) -> None:
    """Give the row count of a table or view page :data:`COUNT_TIME_LIMIT_MS` on ``db``.

    Datasette 0.65 has no hook or setting for that count, so the database's ``execute`` is
    wrapped: a count Datasette asks for on a table page without a time limit of its own gets
    this one, every other query is passed on unchanged."""
    execute = db.execute
    if getattr(execute, "wire_bounded", False):
        return

    async def bounded(
        sql: str,
        params: Any = None,
        truncate: bool = False,
        custom_time_limit: Any = None,
        page_size: Any = None,
        log_sql_errors: bool = True,
    ) -> Any:
        if custom_time_limit is None and _table_page.get() and sql.startswith(TABLE_COUNT_SQL):
            custom_time_limit = COUNT_TIME_LIMIT_MS
        whole = WHOLE_TABLE_COUNT.match(sql) if custom_time_limit is not None else None
        if whole and await too_big_to_count(execute, whole.group(1)):
            raise QueryInterrupted(sqlite3.OperationalError("interrupted"), sql, params)
        return await execute(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)

    bounded.wire_bounded = True  # type: ignore[attr-defined]
    db.execute = bounded


async def too_big_to_count(execute: Callable[..., Awaitable[Any]], table: str) -> bool:
    """Whether ``table`` is an ordinary table whose largest rowid passes
    :data:`COUNT_MAX_ROWID` (a view, a virtual table or a table without rowid: no; their counts
    are loops the time limit interrupts)."""
    kind = await execute("select sql from sqlite_master where type = 'table' and name = ?", [table])
    create = " ".join(str(kind.rows[0][0] or "").upper().split()) if kind.rows else ""
    if not create or create.startswith("CREATE VIRTUAL") or "WITHOUT ROWID" in create:
        return False
    try:
        largest = await execute(f"select max(rowid) from [{table}]", log_sql_errors=False)
    except (QueryInterrupted, sqlite3.DatabaseError):
        return False
    return (largest.rows[0][0] or 0) > COUNT_MAX_ROWID


@hookimpl
def startup(datasette: Any) -> None:
    """Bound the row counts of table and view pages on every database served."""
    for db in datasette.databases.values():
        bound_counts(db)


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[App], App]:
    """Answer 405 to a POST anywhere but Datasette's own ``/-/`` pages; mark a table page's
    request (its count is bounded, :func:`bound_counts`)."""

    def wrap(app: App) -> App:
        async def read_only(scope: Scope, receive: Receive, send: Send) -> None:
            path = str(scope.get("path", ""))
            _table_page.set(is_table_page(path))
            if (
                scope.get("type") == "http"
                and scope.get("method") == "POST"
                and not path.startswith("/-/")
            ):
                body = b"405 Method Not Allowed: this archive is read-only\n"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 405,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"allow", b"GET, HEAD"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            await app(scope, receive, send)

        return read_only

    return wrap
