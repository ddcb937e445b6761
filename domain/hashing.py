"""The hash rules of the store, each written once.

* ``raw_sha256``: SHA-256 of the page's body bytes as received (content coding removed).
* ``block_sha256``: SHA-256 of a block's normalized text (``domain.text.normalize_text``).
* ``text_sha256``: SHA-256 of the article's *canonical text* — the normalized title, lead,
  dateline, body paragraphs, captions and credits, related-link titles and URLs, and tags, one
  per line under a label. Two fetches with the same canonical text are the same version;
  markup, whitespace and the claimed dates do not count as text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

from domain.text import normalize_text


class Captioned(Protocol):
    """A photo as the canonical text counts it (``domain.records.CaptionRecord``)."""

    @property
    def caption(self) -> str | None: ...
    @property
    def credit(self) -> str | None: ...


class Linked(Protocol):
    """A related link as the canonical text counts it (``domain.records.RelatedLinkRecord``)."""

    @property
    def title(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def block_sha256(text: str) -> str:
    """The hex SHA-256 of a block's normalized text."""
    return sha256_hex(normalize_text(text).encode("utf-8"))


def canonical_text(
    *,
    title: str | None,
    lead: str | None,
    dateline: str | None,
    body: Iterable[str],
    captions: Iterable[Captioned],
    related_links: Iterable[Linked],
    tags: Iterable[str],
) -> str:
    """The article's text as one string: what ``text_sha256`` hashes."""
    lines = [f"title: {title or ''}", f"lead: {lead or ''}", f"dateline: {dateline or ''}"]
    lines += [f"p: {paragraph}" for paragraph in body]
    lines += [f"caption: {c.caption or ''} | {c.credit or ''}" for c in captions]
    lines += [f"related: {r.title or ''} | {r.url or ''}" for r in related_links]
    lines += [f"tag: {tag}" for tag in tags]
    return "\n".join(normalize_text(line) for line in lines)


def text_sha256(canonical: str) -> str:
    """The hex SHA-256 of a canonical text."""
    return sha256_hex(canonical.encode("utf-8"))
