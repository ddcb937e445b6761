"""Times as the store keeps them: ISO 8601 UTC, whole seconds, ending in ``Z`` — one format,
one formatter, one parser."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(moment: datetime) -> str:
    """A timezone-aware datetime as ISO 8601 UTC with a trailing Z (whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; naive means UTC) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_now() -> str:
    """The current time as the store writes times."""
    return iso_z(datetime.now(UTC))
