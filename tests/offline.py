"""A DNS resolver for tests: every name fails, as on a machine without network access.

``-s TWISTED_DNS_RESOLVER=tests.offline.NoNetworkResolver`` makes a live crawl meet the same
``DNSLookupError`` it meets offline, without any packet leaving the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer


@implementer(IResolverSimple)
class NoNetworkResolver:
    """Fails every lookup with DNSLookupError."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> NoNetworkResolver:
        """Built by Scrapy."""
        return cls(reactor)

    def install_on_reactor(self) -> None:
        """Become the reactor's resolver."""
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        """Fail, as DNS does without network."""
        return defer.fail(DNSLookupError(name))
