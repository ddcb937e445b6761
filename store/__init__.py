"""The provenance store: the only code that writes the SQLite file, and its Datasette face.

Use :class:`Store` to write crawl results and read them back; ``python -m store`` exports,
summarizes and serves a store (see :mod:`store.__main__`).
"""

from __future__ import annotations

from store.db import SaveResult, Store
from store.errors import StoreError
from store.export import EXPORT_KEYS, PROVENANCE_KEYS
from store.metadata import load_metadata
from store.schema import SCHEMA_VERSION
from store.summary import browse_command, format_summary

__all__ = [
    "EXPORT_KEYS",
    "PROVENANCE_KEYS",
    "SCHEMA_VERSION",
    "SaveResult",
    "Store",
    "StoreError",
    "browse_command",
    "format_summary",
    "load_metadata",
]
