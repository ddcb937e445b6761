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
* POST answers 405 on every page of a database: the archive is read-only (no writable canned
  query, no write plugin); Datasette 0.65 answered a POST to a canned query, table or view with
  a 500 and a traceback.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from datasette import hookimpl

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


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[App], App]:
    """Answer 405 to a POST anywhere but Datasette's own ``/-/`` pages."""

    def wrap(app: App) -> App:
        async def read_only(scope: Scope, receive: Receive, send: Send) -> None:
            path = str(scope.get("path", ""))
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
