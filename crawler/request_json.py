"""The frontier's request serializer: JSON, where scrapy-redis's default is pickle.

A distributed crawl's Redis may be shared; a request read back from it with ``pickle`` could
run any code on every worker. scrapy-redis takes a serializer module with ``dumps`` and
``loads`` (``SCHEDULER_SERIALIZER``; :class:`crawler.distributed.FrontierAddon` names this one)
and hands it the dict of :func:`scrapy.utils.request.request_to_dict`, whose values are JSON's
own but for bytes (headers, body), tuples and dicts keyed by bytes (headers): those are tagged
here. Anything else in a request (an object in its ``meta``) is a :class:`TypeError` naming
it, never a pickle.
"""

from __future__ import annotations

import base64
import json
from typing import Any

TAGS = ("__bytes__", "__tuple__", "__pairs__")


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(item) for item in value]}
    if isinstance(value, dict):
        if all(isinstance(key, str) and key not in TAGS for key in value):
            return {key: _encode(item) for key, item in value.items()}
        return {"__pairs__": [[_encode(key), _encode(item)] for key, item in value.items()]}
    raise TypeError(f"a request holds a {type(value).__qualname__}, which the frontier cannot keep")


def _decode(data: Any) -> Any:
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if "__bytes__" in data:
        return base64.b64decode(data["__bytes__"], validate=True)
    if "__tuple__" in data:
        return tuple(_decode(item) for item in data["__tuple__"])
    if "__pairs__" in data:
        return {_decode(key): _decode(item) for key, item in data["__pairs__"]}
    return {key: _decode(item) for key, item in data.items()}


def dumps(request: dict[str, Any]) -> str:
    """A request's dict as JSON text."""
    return json.dumps(_encode(request), separators=(",", ":"))


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict :func:`dumps` wrote."""
    request = _decode(json.loads(data))
    if not isinstance(request, dict):
        raise ValueError("not a request")
    return request
