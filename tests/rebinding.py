"""A DNS resolver for the guard's tests, that never asks real DNS.

``-s TWISTED_DNS_RESOLVER=tests.rebinding.RebindingResolver``: every made-up name under
``.test`` (``rebind.test``) resolves to 127.0.0.1, as a hostile name would after rebinding; a
numeric loopback host resolves to itself; every other name fails as offline. It overrides
only the lookup, so the guard's check of the answer is the real one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet import defer
from twisted.internet.error import DNSLookupError

from crawler.guard import GuardedResolver, numeric_address

if TYPE_CHECKING:
    from collections.abc import Sequence


class RebindingResolver(GuardedResolver):
    """Answers 127.0.0.1 for ``*.test``; never leaves the machine."""

    def lookup(self, name: str, timeout: Sequence[int]) -> defer.Deferred[str]:
        """127.0.0.1 for a ``.test`` name, a loopback literal itself, else a DNS failure."""
        if name.lower().endswith(".test"):
            return defer.succeed("127.0.0.1")
        address = numeric_address(name)
        if address is not None and address.is_loopback:
            return defer.succeed(str(address))
        return defer.fail(DNSLookupError(name))
