"""Python values as JSON data and back, the kinds JSON lacks tagged: the one codec of the two
places a distributed crawl keeps Python values in a shared Redis — the frontier's queued
requests (:mod:`crawler.request_json`) and the store calls on the stream (:mod:`store.stream`).
Never pickle there: a value read back with pickle could run any code on every worker.

* ``bytes`` → ``{"__bytes__": BASE64}``; a ``tuple`` → ``{"__tuple__": [...]}``;
* a ``dict`` whose keys are not all strings → ``{"__pairs__": [[KEY, VALUE], ...]}``; one whose
  string keys include a tag's spelling → ``{"__dict__": {...}}``;
* with ``classes`` (class name → dataclass), an instance of one of them →
  ``{"__type__": NAME, "fields": {...}}``, rebuilt on the way back only for those names (no
  other class is ever made from the data); without ``classes`` there is no ``__type__`` tag.

Anything else is :class:`Unencodable`; data that is no such encoding, :class:`Undecodable`.
Both spellings of a dict are read whichever way it was written (the stream wrote ``__dict__``,
the frontier ``__pairs__`` for a key like a tag), so entries written before this module still
read back.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping
from typing import Any

BASE_TAGS = ("__bytes__", "__tuple__", "__dict__", "__pairs__")
TYPE_TAG = "__type__"


class Unencodable(TypeError):
    """A value of a kind the codec does not write; ``kind`` names its type."""

    def __init__(self, kind: str, why: str = "") -> None:
        super().__init__(f"cannot encode a {kind}{why}")
        self.kind = kind


class Undecodable(ValueError):
    """Data that is not an encoding this codec writes."""


def tags(classes: Mapping[str, type[Any]] | None) -> tuple[str, ...]:
    """The tags in force: the dataclass tag only with classes to rebuild."""
    return (*BASE_TAGS, TYPE_TAG) if classes is not None else BASE_TAGS


def encode(value: Any, classes: Mapping[str, type[Any]] | None = None) -> Any:
    """``value`` as JSON-ready data (see the module's text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [encode(item, classes) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item, classes) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            pairs = [[encode(key, classes), encode(item, classes)] for key, item in value.items()]
            return {"__pairs__": pairs}
        data = {key: encode(item, classes) for key, item in value.items()}
        return {"__dict__": data} if any(key in tags(classes) for key in data) else data
    if classes is not None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if classes.get(name) is not type(value):
            raise Unencodable(type(value).__qualname__)
        fields = {
            f.name: encode(getattr(value, f.name), classes) for f in dataclasses.fields(value)
        }
        return {TYPE_TAG: name, "fields": fields}
    raise Unencodable(type(value).__qualname__)


def decode(data: Any, classes: Mapping[str, type[Any]] | None = None) -> Any:
    """What :func:`encode` encoded, rebuilt."""
    if isinstance(data, list):
        return [decode(item, classes) for item in data]
    if not isinstance(data, dict):
        return data
    try:
        if "__bytes__" in data:
            return base64.b64decode(data["__bytes__"], validate=True)
        if "__tuple__" in data:
            return tuple(decode(item, classes) for item in data["__tuple__"])
        if "__dict__" in data:
            return {key: decode(item, classes) for key, item in data["__dict__"].items()}
        if "__pairs__" in data:
            return {decode(key, classes): decode(item, classes) for key, item in data["__pairs__"]}
    except (binascii.Error, AttributeError, TypeError, ValueError) as error:
        raise Undecodable(f"bad tagged value: {error}") from None
    if classes is not None and TYPE_TAG in data:
        cls = classes.get(data[TYPE_TAG]) if isinstance(data[TYPE_TAG], str) else None
        if cls is None:
            raise Undecodable(f"unknown type {str(data[TYPE_TAG])[:80]!r}")
        fields = data.get("fields")
        if not isinstance(fields, dict):
            raise Undecodable(f"{cls.__name__}: no fields")
        try:
            return cls(**{key: decode(item, classes) for key, item in fields.items()})
        except TypeError as error:
            raise Undecodable(f"{cls.__name__}: {error}") from None
    return {key: decode(item, classes) for key, item in data.items()}
