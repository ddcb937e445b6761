"""The Africa spider pointed at a local server: ``-a section_url=http://127.0.0.1:PORT/africa/``."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.spiders.section import SectionSpider


class LocalSectionSpider(SectionSpider):
    """A SectionSpider for tests against tests.mockserver."""

    name = "local-africa"
    section = "africa"
    allowed_domains = ("127.0.0.1",)
    # the served set (fixtures/sputnik-africa) has no feed, sitemaps or day archives: these
    # tests are about the section's listing and faults
    custom_settings: ClassVar[dict[str, Any]] = {"DISCOVERY_SOURCES": ""}
