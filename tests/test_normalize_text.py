"""``normalize_text`` is exactly its definition: NFC, invisibles out, whitespace runs one space."""

from __future__ import annotations

import re
import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from domain.text import normalize_text

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None)
_WHITESPACE = re.compile(r"\s+")


def by_definition(text: str) -> str:
    """The rule as first written: NFC, translate away invisibles, regex whitespace, strip."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _WHITESPACE.sub(" ", text).strip()


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(" \t\n\xa0\u2028\u200b")))
def test_normalize_text_matches_its_definition(text: str) -> None:
    """Any text, spaces and invisibles mixed in, normalizes as the definition says."""
    assert normalize_text(text) == by_definition(text)


def test_every_code_point_splits_as_regex_whitespace() -> None:
    """Each code point between letters is treated as the regex treats it."""
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        text = f"a{chr(code)} b{chr(code)}"
        assert normalize_text(text) == by_definition(text), hex(code)
