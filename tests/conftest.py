"""Shared test helpers: where the project, its fixtures and ../shared are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AFRICA = FIXTURES / "sputnik-africa"
SHARED = ROOT.parent / "shared"
REFERENCE_PAGE = SHARED / "reference" / "pages" / "ria.ru-20220611-ekonomika-1794720292.html"


@pytest.fixture
def reference_html() -> str:
    """The real saved ria.ru page beside the project (skips where ../shared is absent)."""
    if not REFERENCE_PAGE.is_file():
        pytest.skip("../shared/reference/pages is not beside the project")
    return REFERENCE_PAGE.read_text(encoding="utf-8")
