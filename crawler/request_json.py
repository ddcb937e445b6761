"""The frontier's request serializer: JSON, where scrapy-redis's default is pickle.

A distributed crawl's Redis may be shared; a request read back from it with ``pickle`` could
run any code on every worker. scrapy-redis takes a serializer module with ``dumps`` and
``loads`` (``SCHEDULER_SERIALIZER``; :class:`crawler.distributed.FrontierAddon` names this one)
and hands it the dict of :func:`scrapy.utils.request.request_to_dict`, whose values are JSON's
own but for bytes (headers, body), tuples and dicts keyed by bytes (headers): those are tagged
by the project's codec (:mod:`domain.tagged_json`, which the store's stream uses too). Anything
else in a request (an object in its ``meta``) is a :class:`TypeError` naming it, never a pickle.
"""

from __future__ import annotations

import json
from typing import Any

from domain import tagged_json


def dumps(request: dict[str, Any]) -> str:
    """A request's dict as JSON text."""
    try:
        data = tagged_json.encode(request)
    except tagged_json.Unencodable as error:
        raise TypeError(f"a request holds a {error.kind}, which the frontier cannot keep") from None
    return json.dumps(data, separators=(",", ":"))


def loads(data: bytes | str) -> dict[str, Any]:
    """The request dict :func:`dumps` wrote."""
    request = tagged_json.decode(json.loads(data))
    if not isinstance(request, dict):
        raise ValueError("not a request")
    return request
