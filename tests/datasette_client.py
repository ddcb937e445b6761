"""A synchronous client for Datasette in-process (``datasette.client``), for tests."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import httpx
from datasette.app import Datasette


class Client:
    """A synchronous wrapper around ``datasette.client`` with its own event loop."""

    def __init__(self, datasette: Datasette) -> None:
        """Start Datasette on a fresh event loop."""
        self.datasette = datasette
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(datasette.invoke_startup())

    def get(self, path: str, **params: str) -> httpx.Response:
        """GET a path (with query parameters) and return the response."""
        if params:
            path = f"{path}?{urlencode(params)}"
        response: httpx.Response = self.loop.run_until_complete(self.datasette.client.get(path))
        return response

    def rows(self, path: str, **params: str) -> list[dict[str, Any]]:
        """The rows of a JSON table, view or query, as a list of objects."""
        response = self.get(f"{path}.json", _shape="array", **params)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows

    def close(self) -> None:
        """Close the event loop."""
        self.loop.close()
