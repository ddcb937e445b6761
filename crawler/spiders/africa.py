"""The Africa section of Sputnik's English service."""

from __future__ import annotations

from crawler.spiders.section import SectionSpider


class AfricaSpider(SectionSpider):
    """``scrapy crawl africa``: Sputnik's Africa section, its chunks and its articles."""

    name = "africa"
    section = "africa"
    section_url = "https://sputnikglobe.com/africa/"
    allowed_domains = ("sputnikglobe.com",)
