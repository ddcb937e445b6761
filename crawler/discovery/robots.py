"""robots.txt as rules and as evidence.

:class:`EvidenceRobotsTxtMiddleware` is Scrapy's ``RobotsTxtMiddleware`` (the rules are its and
Protego's) plus two things it does not do:

* a request refused by robots.txt is counted per discovery source and per the rule's path
  (``robotstxt/forbidden/<source><path>``, e.g. ``robotstxt/forbidden/section/services/``),
  and the refusal names that path, so the fetch the spider records (outcome ``refused``) says
  which rule refused it;
* the robots.txt response itself is handed to the spider (``robots_fetched``), which records
  it as a fetch like any other and reads the sitemaps it names.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urljoin, urlsplit, urlunsplit

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.discovery.sitemaps import SitemapDiscovery
from crawler.fetching import META_SOURCE, fetch_from_response
from crawler.items import DiscoveryItem, FetchItem
from domain.pages import ListingPage

if TYPE_CHECKING:
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

ROBOTS_PATH = "/robots.txt"
SOURCE = "robots"
STAT_FORBIDDEN = "robotstxt/forbidden"
FORBIDDEN_MESSAGE = "Forbidden by robots.txt"


@runtime_checkable
class RobotsListener(Protocol):
    """A spider that records robots.txt responses."""

    def robots_fetched(self, response: Response) -> None:
        """Take a robots.txt response the middleware fetched."""


def disallowed_path(rp: RobotParser, url: str, useragent: str | bytes) -> str:
    """The shortest path prefix of ``url`` that robots.txt disallows, folder by folder
    (``/services/`` for ``/services/africa/more.html?…``), or the URL's whole path where no
    folder is disallowed (a pattern such as ``*-print.html``).

    Protego answers only allowed or not, never which rule matched: the prefixes are asked in
    turn through its public ``allowed`` call.
    """
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for depth in range(1, len(segments)):
        prefix = "/" + "/".join(segments[:depth]) + "/"
        if not rp.allowed(urlunsplit((parts.scheme, parts.netloc, prefix, "", "")), useragent):
            return prefix
    return parts.path or "/"


class EvidenceRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware; refusals counted per source and rule, its fetch kept."""

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        """Refuse a request robots.txt disallows, as Scrapy does, naming the rule's path."""
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            assert rp is not None
            settings = self.crawler.settings
            useragent = settings.get("ROBOTSTXT_USER_AGENT") or request.headers.get(
                b"User-Agent", settings.get("USER_AGENT")
            )
            path = disallowed_path(rp, request.url, useragent or "*")
            source = request.meta.get(META_SOURCE) or "unknown"
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(f"{STAT_FORBIDDEN}/{source}{path}")
            logger.info(
                "Not requesting %s (%s): robots.txt disallows %s", request.url, source, path
            )
            raise IgnoreRequest(f"{FORBIDDEN_MESSAGE}: {path}") from None

    def process_response(self, request: Request, response: Response) -> Response:
        """Hand the robots.txt responses this middleware asked for to the spider."""
        if (
            request.meta.get("dont_obey_robotstxt")
            and urlsplit(request.url).path == ROBOTS_PATH
            and META_SOURCE not in request.meta  # the middleware's own request, not a spider's
        ):
            spider = self.crawler.spider
            if isinstance(spider, RobotsListener):
                # the HTTP handler's response does not carry its request yet at this point
                kept = (
                    response if response.request is not None else response.replace(request=request)
                )
                try:
                    spider.robots_fetched(kept)
                except Exception:  # recording must never cost the rules: they still apply
                    logger.exception("Could not record the robots.txt fetch %s", request.url)
        return response


class RobotsDiscovery(SitemapDiscovery):
    """Records each robots.txt fetch and reads the article sitemaps it names."""

    def robots_fetched(self, response: Response) -> None:
        """A robots.txt response the middleware fetched: its items wait for the next callback
        (Scrapy's middleware fetches it before the first request to the host, whose callback
        comes after)."""
        self.pending_items.extend(self.robots_items(response))

    def parse_robots(self, response: Response) -> Iterator[Any]:
        """robots.txt requested by the spider itself (when ``ROBOTSTXT_OBEY`` is off)."""
        yield from self.pending()
        yield from self.robots_items(response)

    def robots_request(self) -> Request:
        """The spider's own request of robots.txt, for its sitemaps."""
        url = urljoin(self.section_url, ROBOTS_PATH)
        return self.request(url, "robots", SOURCE, self.parse_robots, dont_obey_robotstxt=True)

    def robots_items(self, response: Response) -> list[Any]:
        """The robots.txt fetch as an item, and a request per article sitemap it names."""
        self.crawler.stats.inc_value("wire/robots/fetched")
        if not 200 <= response.status < 300:
            fetch = fetch_from_response(response, self.run)
            return [FetchItem(dataclasses.replace(fetch, kind="robots", source=SOURCE))]
        fetch = dataclasses.replace(self.document_fetch(response), kind="robots", source=SOURCE)
        page = ListingPage(response.url, [], None, "robots", "1.0")
        items: list[Any] = [DiscoveryItem(fetch, page, SOURCE)]
        if fetch.outcome == "ok" and self.uses("sitemap"):
            items += self.sitemap_requests(response.body, response.url)
        return items
