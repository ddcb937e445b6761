"""The Africa spider pointed at the distributed benchmark's site (``benchmarks/distributed.py``).

``scrapy crawl wire-bench -s SPIDER_MODULES=crawler.spiders,benchmarks.distributed_spider
-a site=http://h1.wire.test:PORT``: the project's section spider with its settings and
pipelines; only its section page and the hosts it may crawl (``*.wire.test``, which the
benchmark's resolver maps to 127.0.0.1) differ from ``scrapy crawl africa``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.spiders.section import SectionSpider

NAME = "wire-bench"
DOMAIN = "wire.test"


class WireBenchSpider(SectionSpider):
    """The section spider on the benchmark's site (its section page lists every article)."""

    name = NAME
    section = "africa"
    allowed_domains = (DOMAIN,)
    arguments: ClassVar[dict[str, str]] = {"site": "the benchmark site's first host, http://…"}
    # the site has the section's listing only (no feed, sitemaps or day archives)
    custom_settings: ClassVar[dict[str, Any]] = {"DISCOVERY_SOURCES": ""}

    def __init__(self, site: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section_url = f"{site.rstrip('/')}/africa/"
