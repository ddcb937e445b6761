"""Downloader middlewares of the project: the fetch clock and the address guard."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.fetching import META_RECEIVED_AT
from crawler.run import utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ReceivedAtMiddleware:
    """Stamps each response with the UTC time it arrived (``request.meta['wire_received_at']``)."""

    def process_response(self, request: Request, response: Response) -> Response:
        """Record when the response came in."""
        request.meta[META_RECEIVED_AT] = utc_now()
        return response


def is_private_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or an IP literal in a private, loopback or local range."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
        or address.is_multicast
    )


class AddressGuardMiddleware:
    """Refuses requests to other schemes than http(s) and to private addresses.

    ``ALLOW_PRIVATE_HOSTS`` (a list of hosts) lets tests reach a server on 127.0.0.1.
    """

    def __init__(self, stats: StatsCollector, allowed: set[str]) -> None:
        self.stats = stats
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        """Built by Scrapy from ``ALLOW_PRIVATE_HOSTS``."""
        assert crawler.stats is not None
        return cls(crawler.stats, set(crawler.settings.getlist("ALLOW_PRIVATE_HOSTS")))

    def process_request(self, request: Request) -> None:
        """Let the request through, or raise IgnoreRequest with a reason and a counter."""
        parsed = urlparse_cached(request)
        if parsed.scheme not in ("http", "https"):
            reason = f"scheme {parsed.scheme}"
        elif parsed.hostname and is_private_host(parsed.hostname):
            if parsed.hostname in self.allowed:
                return
            reason = "private address"
        else:
            return
        self.stats.inc_value(f"guard/refused/{reason.split()[0]}")
        logger.warning("Refused %s: %s", request.url, reason)
        raise IgnoreRequest(f"refused: {reason}")
