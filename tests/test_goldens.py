"""Golden tests: every fixture article page against its reviewed expected JSON, one per field.

Regenerate with ``python -m crawler.goldens fixtures/sputnik-africa`` and review the diff.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from crawler.goldens import article_fixtures, expected_export, golden_path
from store.export import EXPORT_KEYS
from tests.conftest import AFRICA

PAGES = dict(article_fixtures(AFRICA))


@cache
def produced(name: str) -> dict[str, Any]:
    return expected_export(PAGES[name])


@cache
def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(golden_path(AFRICA, name).read_text(encoding="utf-8"))
    return data


def test_the_set_has_sixteen_article_pages() -> None:
    assert len(PAGES) == 16


def test_every_page_has_a_golden_with_every_key() -> None:
    for name in PAGES:
        assert sorted(golden(name)) == sorted(EXPORT_KEYS), name


@pytest.mark.parametrize("field", EXPORT_KEYS)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_field_matches_golden(name: str, field: str) -> None:
    assert produced(name)[field] == golden(name)[field]
