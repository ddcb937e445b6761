"""A section spider without ``allowed_domains`` (as ``SectionSpider`` itself), for the guard's
tests: ``-a section_url=http://NAME:PORT/africa/``. Only the address guard stands between it
and any host."""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.spiders.section import SectionSpider


class OpenSectionSpider(SectionSpider):
    """A SectionSpider with no ``allowed_domains``."""

    name = "open-africa"
    section = "africa"
    # the served set (fixtures/sputnik-africa) has no feed, sitemaps or day archives: these
    # tests are about the section's listing and faults
    custom_settings: ClassVar[dict[str, Any]] = {"DISCOVERY_SOURCES": ""}
