"""The error the store raises when it refuses a record or a request."""

from __future__ import annotations


class StoreError(ValueError):
    """A record that contradicts itself or the store, or a lookup of something not stored."""
