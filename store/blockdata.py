"""How ``blocks.data`` keeps a parser block: only what the row's columns and the defaults do not.

A block's data (``Block.to_dict()`` of the site parser) spells out every field, most of them
empty (``"url": null``, ``"images": []``, ...), and repeats ``kind``, ``position`` and ``text``,
which the ``blocks`` row holds in its own columns. :func:`pack` drops both; :func:`unpack`
rebuilds the data exactly (the same keys with the same values, in the parser's field order,
then any other key) from the packed JSON and the row.

Exact for any dict: a field of :data:`FIELD_DEFAULTS` the data did not have at all is listed
under :data:`ABSENT_KEY`, so it is not invented on the way back; a value that differs from its
default or from the row's column is kept as it was. Data stored in full (files written before
schema version 4, which migrates them) unpacks to itself.
"""

from __future__ import annotations

import json
from typing import Any

from store.errors import StoreError

# The parser's block fields (domain.pages.Block) in order, with their default values;
# ``kind``, ``position`` and ``text`` default to the row's columns. A test checks they match.
ROW_FIELDS: tuple[str, ...] = ("kind", "position", "text")
FIELD_DEFAULTS: dict[str, Any] = {
    "dateline": None,
    "items": [],
    "attribution": None,
    "images": [],
    "url": None,
    "title": None,
    "published_raw": None,
    "published_at": None,
    "in_header": False,
}
FIELDS: tuple[str, ...] = (*ROW_FIELDS, *FIELD_DEFAULTS)
# Lists the fields the original data did not have (absent in the common case).
ABSENT_KEY = "-absent"
_NO_DEFAULT = object()  # a key the parser's fields do not know: always kept


def _same(value: Any, default: Any) -> bool:
    """Whether ``value`` is exactly ``default`` (``False`` is not ``0``, ``[]`` is not ``()``)."""
    return type(value) is type(default) and value == default


def pack(kind: str, position: int, text: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data to store for a block whose row holds ``kind``, ``position`` and ``text``."""
    if ABSENT_KEY in data:
        raise StoreError(f"block data cannot have a key {ABSENT_KEY!r}")
    row = {"kind": kind, "position": position, "text": text}
    packed: dict[str, Any] = {}
    for key, value in data.items():
        default = row[key] if key in row else FIELD_DEFAULTS.get(key, _NO_DEFAULT)
        if not _same(value, default):
            packed[key] = value
    absent = [key for key in FIELDS if key not in data]
    if absent:
        packed[ABSENT_KEY] = absent
    return packed


def unpack(kind: str, position: int, text: str, stored: str | dict[str, Any]) -> dict[str, Any]:
    """The block's full data, from its stored ``data`` (JSON text or decoded) and its row."""
    packed: dict[str, Any] = json.loads(stored) if isinstance(stored, str) else dict(stored)
    absent = set(packed.pop(ABSENT_KEY, ()))
    row = {"kind": kind, "position": position, "text": text}
    data: dict[str, Any] = {}
    for key in FIELDS:
        if key in absent:
            continue
        if key in packed:
            data[key] = packed.pop(key)
        elif key in row:
            data[key] = row[key]
        else:
            default = FIELD_DEFAULTS[key]
            data[key] = list(default) if isinstance(default, list) else default
    data.update(packed)
    return data


def repack(kind: str, position: int, text: str, stored: str) -> dict[str, Any]:
    """Stored data (in full, or packed already) packed: what schema version 4 keeps."""
    return pack(kind, position, text, unpack(kind, position, text, stored))
