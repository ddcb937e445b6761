"""The address guard: which hosts the crawler may connect to, checked twice.

* Before any connection, :func:`refusal` reads the URL's host as written: another scheme than
  http(s), ``localhost``, or an IP literal in a range that is not the public internet — in every
  numeric form the system's resolver would accept (``127.1``, ``0x7f.1``, ``2130706433``,
  ``0177.0.0.1``, ``[::ffff:127.0.0.1]``; see :func:`numeric_address`).
* At connection time, :class:`GuardedResolver` (Scrapy's ``TWISTED_DNS_RESOLVER``) checks the
  address each name resolves to, and fails the lookup when it is not public. Twisted connects
  to the address this resolver answered, with no second lookup, so a name that answers a
  public address to one lookup and ``127.0.0.1`` to the next (DNS rebinding) cannot slip through.

``ALLOW_PRIVATE_HOSTS`` names hosts, as written in the URL, that may be private anyway (the
tests' server on ``127.0.0.1``). ``127.1`` is not ``127.0.0.1`` for the allowlist: another
spelling of an allowed address is refused.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def numeric_address(host: str) -> Address | None:
    """The IP address ``host`` spells in any numeric form, or None for a name.

    IPv6 in or out of brackets (an IPv4-mapped or -compatible one is read as its IPv4
    address); IPv4 as ``inet_aton`` reads it, as resolvers do: dotted with fewer parts
    (``127.1``), octal or hexadecimal parts (``0177.0.0.1``, ``0x7f.1``), one integer
    (``2130706433``).
    """
    host = host.strip("[]").lower().rstrip(".")
    if not host:
        return None
    try:
        address: Address = ipaddress.ip_address(host)
    except ValueError:
        if not all(part.isalnum() for part in host.split(".")):
            return None
        try:
            packed = socket.inet_aton(host)
        except OSError:
            return None
        address = ipaddress.IPv4Address(packed)
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return mapped
        if int(address) >> 32 == 0 and int(address) > 1:  # IPv4-compatible ::a.b.c.d
            return ipaddress.IPv4Address(int(address))
    return address


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet: not private, loopback, link-local,
    reserved, multicast, unspecified or shared (carrier-grade NAT)."""
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def is_private_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or an IP address, in any spelling, that is not public."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = numeric_address(host)
    return address is not None and not is_public(address)


def refusal(url: str, allowed_private: set[str]) -> str | None:
    """Why the crawler must not request ``url`` (another scheme, a private address), or None."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https"):
        return f"scheme {parsed.scheme}"
    host = parsed.hostname
    if host and is_private_host(host) and host not in allowed_private:
        return "private address"
    return None


class PrivateAddressRefused(DNSLookupError):
    """A name resolved to an address the crawler must not connect to."""


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver that refuses to answer an address that is not public.

    A refused name fails its lookup (so nothing connects) and is remembered in
    :attr:`refused` (name -> address), where :class:`crawler.middlewares.ResolverRefusal`
    finds it to record the fetch as ``refused``. Names in ``ALLOW_PRIVATE_HOSTS`` may
    resolve to any address. Tests override :meth:`lookup` alone.
    """

    def __init__(
        self, reactor: ReactorBase, cache_size: int, timeout: float, allowed: set[str]
    ) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.allowed = {host.lower() for host in allowed}
        self.refused: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> GuardedResolver:
        """Built by Scrapy (from the process's settings) with ``ALLOW_PRIVATE_HOSTS``."""
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        allowed = set(settings.getlist("ALLOW_PRIVATE_HOSTS"))
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), allowed)

    def lookup(self, name: str, timeout: Sequence[int]) -> Deferred[str]:
        """The address ``name`` resolves to: Scrapy's cached, threaded lookup."""
        return super().getHostByName(name, timeout)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        """Resolve ``name``, failing when its address is not public (and not allowed).

        The check runs on every answer, cached or fresh.
        """
        return self.lookup(name, timeout).addCallback(self.check, name)

    def check(self, address: Any, name: str) -> str:
        """``address`` if ``name`` may connect to it; else fail the lookup."""
        text = str(address)
        if name.lower() in self.allowed:
            return text
        parsed = numeric_address(text)
        if parsed is not None and is_public(parsed):
            self.refused.pop(name.lower(), None)
            return text
        self.refused[name.lower()] = text
        logger.warning("Refused %s: it resolves to %s, not a public address", name, text)
        raise PrivateAddressRefused(f"{name} resolves to {text}, not a public address")
