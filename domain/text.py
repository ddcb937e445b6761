"""Text normalization and URL identity: the rules every other module uses, written once.

``normalize_text`` is THE normalization behind every text hash in the store: two strings
that normalize alike are the same text. ``article_identity`` is THE rule that makes two URLs
the same article.
"""

from __future__ import annotations

import re
import unicodedata

from w3lib.url import canonicalize_url, url_query_cleaner

# Zero-width characters that carry no text (ZWNJ/ZWJ are kept: they matter in some scripts).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None)

# The whitespace CSS collapses (the HTML standard's "ASCII whitespace"); NBSP is not in it.
_ASCII_WHITESPACE = re.compile(r"[ \t\n\f\r]+")

# Query parameters that only track where a click came from.
TRACKING_PARAMETERS = ("in", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _visible_characters(text: str) -> str:
    """Unicode NFC with the invisible characters removed."""
    text = unicodedata.normalize("NFC", text)
    if "\u200b" in text or "\u2060" in text or "\ufeff" in text or "\u00ad" in text:
        text = text.translate(_INVISIBLE)  # rare; four scans are far cheaper than translate
    return text


def collapse_whitespace(text: str) -> str:
    """Text as a browser renders one run of inline content (CSS ``white-space: normal``):
    Unicode NFC, invisible characters removed, every run of ASCII whitespace (space, tab, line
    feed, form feed, carriage return) one space, trimmed. NBSP and the other Unicode spaces are
    characters a reader sees and stay as they are."""
    return _ASCII_WHITESPACE.sub(" ", _visible_characters(text)).strip(" ")


def normalize_text(text: str) -> str:
    """Unicode NFC, invisible characters removed, every whitespace run one space, trimmed.

    NBSP and the other Unicode spaces count as whitespace. Case, punctuation and quotes are
    kept as published: a changed quote mark is a changed text.
    """
    text = _visible_characters(text)
    # str.split() splits on exactly the characters regex \s matches in a str pattern (both
    # are Py_UNICODE_ISSPACE): this is re.sub(r"\s+", " ", text).strip(), ~9 × faster
    # (tests/test_normalize_text.py checks it against that definition)
    return " ".join(text.split())


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters (``?in=t``, ``utm_*``) and without its fragment."""
    return url_query_cleaner(url, TRACKING_PARAMETERS, remove=True, keep_fragments=False)


def article_identity(url: str) -> str:
    """The article a URL names: scheme and host lower-cased, no query, no fragment."""
    cleaned = canonicalize_url(url, keep_fragments=False)
    return cleaned.split("?", 1)[0]
