"""Whether a store file can be used, checked when it is opened and before anything is done.

Two faults are found here rather than half-way through a command: a file SQLite can no longer
read whole (bad pages in the middle: ``PRAGMA quick_check``, which reads every page and checks
its structure in about a second per 100 MB, without the slower index-to-table cross-checks of
``integrity_check``), and a file or folder that cannot be written (a store in WAL mode writes
its ``-wal`` and ``-shm`` files beside it). A writing command refuses either with one line; a
reading command opens a read-only store read-only (:func:`read_only_uri`).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from store.errors import StoreError


class DamagedStore(StoreError):
    """The store file is damaged: SQLite cannot read it whole."""


def read_only_reason(path: Path) -> str | None:
    """Why the store at ``path`` (existing or to be made) cannot be written, or None.

    Asked of the system (``access``), so a read-only mount and an immutable file count for
    every user, and file modes for anyone but root.
    """
    folder = path.parent
    if path.exists():
        if not os.access(path, os.W_OK):
            return f"{path} is read-only"
    else:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is read-only (SQLite writes its journal beside the file)"
    return None


def read_only_uri(path: Path) -> str:
    """The URI that opens the store at ``path`` for reading only: ``mode=ro`` where its folder
    can hold SQLite's shared-memory file, ``immutable=1`` (nothing else writes a store on
    read-only media) where it cannot."""
    folder_writable = os.access(path.parent, os.W_OK | os.X_OK)
    return f"{path.resolve().as_uri()}?{'mode=ro' if folder_writable else 'immutable=1'}"


def quick_check(conn: sqlite3.Connection, path: Path | None) -> None:
    """Raise :class:`DamagedStore`, with SQLite's first complaint, unless the file is whole."""
    try:
        row = conn.execute("PRAGMA quick_check(1)").fetchone()
        verdict = str(row[0]) if row else "no answer"
    except sqlite3.DatabaseError as error:
        verdict = str(error)
    if verdict != "ok":
        raise damaged(path, verdict)


def damaged(path: Path | None, verdict: str) -> DamagedStore:
    """The error of a damaged store, with SQLite's first complaint and what to do."""
    name = path or "the store"
    return DamagedStore(
        f"{name} is damaged ({verdict.splitlines()[0]}): restore it from a backup, or save "
        f"what is left with `sqlite3 {name} .recover`"
    )
