"""Polite as a whole: one pace per host for all the workers of a distributed crawl together.

Each worker's Scrapy keeps its own pace per host (``DOWNLOAD_DELAY``, AutoThrottle, the
host's Crawl-delay, Retry-After pauses: :mod:`crawler.politeness`); three workers would ask a
host three times as often. :class:`SharedPoliteDownloadHandler` adds a pace shared in Redis
(``frontier:host:HOST``, :func:`domain.frontier.host_key`): before each request a Lua script
(:data:`crawler.frontier.scripts.ACQUIRE`) reserves the host's next start time — the last
reserved one plus the delay, the longest of this worker's delay for the host (its downloader
slot's, which AutoThrottle and Crawl-delay raise) and the host's shared Crawl-delay — and
the request waits until then, without blocking the reactor (an ``asyncio`` sleep), and is
sent only if the host's last request left a delay ago (:data:`~crawler.frontier.scripts.
SEND`: the spacing holds for the requests actually sent, whoever woke late). Any
worker's Retry-After (a 429 or 503) and robots.txt Crawl-delay are written there too and
hold every worker. A shared pause over ``RETRY_AFTER_MAX`` closes the host for this worker
as a local one does.

Each worker's Scrapy also caps the requests in flight to a host (its downloader slot's
concurrency, ``CONCURRENT_REQUESTS_PER_DOMAIN``); three workers would have three times as
many. Before its turn, a request takes one of the host's shared slots
(``frontier:inflight:HOST``, :func:`domain.frontier.inflight_key`; the script
:data:`~crawler.frontier.scripts.TAKE_SLOT`): a sorted set of tokens, at most the cap of them,
each with a deadline, given back when the download ends (answered, failed or cancelled). A
worker killed mid-download gives nothing back: its slots end at their deadline, the
request's ``download_timeout`` (after which Scrapy itself cancels the download) plus
:data:`SLOT_MARGIN` — until its turn a slot is held for ``RETRY_AFTER_MAX`` more, the longest
a shared pause may hold it. A request that finds the host's slots all taken looks again every
:data:`SLOT_POLL` seconds (Redis offers no wait that would not block the reactor: the
client is the blocking one scrapy-redis uses).

Written by hand because none of it exists to reuse: Scrapy's slots, its AutoThrottle and
Crawl-delay are each one process's, and scrapy-redis shares the queue and the duplicate filter
but no pace, pause or in-flight count.

It is a download handler, not a downloader middleware, on purpose: a middleware's
``process_request`` runs before Scrapy's per-slot queue, whose own delay would then come
after the reservation and could bring two workers' requests closer than the delay. Here the
wait is the last thing before the connection (as :class:`~crawler.politeness.
PoliteDownloadHandler`'s pause, which it extends), so requests start at their reserved
times. Redis is asked with the blocking client, as scrapy-redis's scheduler does: one script
call, well under a millisecond on a near Redis.
"""

from __future__ import annotations

import itertools
import logging
import math
from time import monotonic
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from scrapy import signals
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.connection import get_redis_from_settings

from crawler.frontier.scripts import ACQUIRE, RAISE, RENEW_SLOT, SEND, TAKE_SLOT
from crawler.politeness import PoliteDownloadHandler
from domain.frontier import host_key, inflight_key, worker_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

HOST_TTL_MS = 3_600_000  # a host's shared pace is kept an hour past its last use
SLOT_POLL = 0.02  # seconds between two looks for a free slot of a host whose slots are taken
SLOT_MARGIN = 5.0  # seconds a slot outlives its download's timeout (a busy reactor's lag)


class SharedPoliteDownloadHandler(PoliteDownloadHandler):
    """The project's polite HTTP/1.1 handler whose per-host pace and in-flight cap are shared
    in Redis."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.server = get_redis_from_settings(crawler.settings)
        self._acquire = self.server.register_script(ACQUIRE)
        self._raise = self.server.register_script(RAISE)
        self._send = self.server.register_script(SEND)
        self._take_slot = self.server.register_script(TAKE_SLOT)
        self._renew_slot = self.server.register_script(RENEW_SLOT)
        self.tokens = (f"{worker_name()}:{n}" for n in itertools.count(1))
        self.default_concurrency = crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.default_timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        self.default_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.robots_agent: str = (
            crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings["USER_AGENT"]
        )
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    def local_slot(self, request: Request) -> Any:
        """This worker's downloader slot of ``request`` (None before the engine runs)."""
        engine = self.crawler.engine
        if engine is None:
            return None
        downloader = engine.downloader
        return downloader.slots.get(downloader.get_slot_key(request))

    def local_delay(self, request: Request) -> float:
        """This worker's delay for the host of ``request``: its downloader slot's."""
        slot = self.local_slot(request)
        return float(slot.delay) if slot is not None else self.default_delay

    def local_concurrency(self, request: Request) -> int:
        """This worker's cap of requests in flight to the host of ``request``: its
        downloader slot's (``CONCURRENT_REQUESTS_PER_DOMAIN``, or the slot's own setting)."""
        slot = self.local_slot(request)
        return int(slot.concurrency) if slot is not None else self.default_concurrency

    def download_ms(self, request: Request) -> int:
        """How long the download of ``request`` may last at most, plus the margin (ms)."""
        timeout = request.meta.get("download_timeout") or self.default_timeout
        return int((float(timeout) + SLOT_MARGIN) * 1000)

    async def download_request(self, request: Request) -> Response:
        """Take one of the host's shared slots, wait for its shared turn, download as the
        local handler does, and give the slot back."""
        host = urlparse_cached(request).hostname or ""
        token = None
        try:
            while True:
                token = await self.take_slot(request, host)
                await self.take_turn(request, host)
                if token is None or self.renew_slot(host, token, self.download_ms(request)):
                    break
                # the slot ended during a long wait for the turn (over its hold): a new slot
                # and a new turn, so that neither cap is passed
            return await super().download_request(request)
        finally:
            if token is not None:
                self.give_slot(host, token)

    async def take_slot(self, request: Request, host: str) -> str | None:
        """Wait for a free slot of ``host`` among every worker's requests in flight and take
        it; its token, or None when Redis fails (this worker's own cap then holds alone)."""
        token = next(self.tokens)
        key = inflight_key(host)
        hold_ms = self.download_ms(request) + int(self.max_wait * 1000)
        waited = False
        while True:
            try:
                cap = self.local_concurrency(request)
                if self._take_slot(keys=[key], args=[cap, token, hold_ms]):
                    return token
            except RedisError as error:
                logger.warning("shared slots of %s unavailable (%s): own cap only", host, error)
                return None
            if not waited:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("frontier/host_slot_waits")
                waited = True
            await sleep(SLOT_POLL)

    def renew_slot(self, host: str, token: str, hold_ms: int) -> bool:
        """Hold the slot ``token`` ``hold_ms`` from now; False when it ended already."""
        try:
            return bool(self._renew_slot(keys=[inflight_key(host)], args=[token, hold_ms]))
        except RedisError as error:
            logger.warning("could not renew a shared slot of %s (%s)", host, error)
            return True  # it lasts its hold; the download goes on as without Redis

    def give_slot(self, host: str, token: str) -> None:
        """The download ended: its slot is free for any worker."""
        try:
            self.server.zrem(inflight_key(host), token)
        except RedisError as error:  # it ends at its deadline
            logger.warning("could not give back a shared slot of %s (%s)", host, error)

    async def take_turn(self, request: Request, host: str) -> None:
        """Wait for the host's shared turn.

        When the turn comes, the request is sent only if the host's last request (from any
        worker) left a delay ago and no pause (a Retry-After, here or at another worker) began
        meanwhile; else it takes a new turn. A worker that wakes late (a busy process) or a
        pause that voided the turns already given never brings two requests closer than
        the delay, and the requests a pause held do not all go at its end.
        """
        key = host_key(host)
        while True:
            await self.local_pause(host)
            delay_ms = int(self.local_delay(request) * 1000)
            try:
                wait_ms, pause_ms = self._acquire(keys=[key], args=[delay_ms, HOST_TTL_MS])
                if pause_ms / 1000 > self.max_wait:
                    super().pause(host, pause_ms / 1000)  # closes the host, as a local one
                    break
                if wait_ms > 0:
                    assert self.crawler.stats is not None
                    self.crawler.stats.inc_value("frontier/host_waits")
                    await sleep(wait_ms / 1000)
                if await self.turn_taken(host, key, delay_ms):
                    break
            except RedisError as error:
                # Without Redis the crawl goes on at this worker's own pace, as one would.
                logger.warning("shared pace of %s unavailable (%s): own pace only", host, error)
                break

    async def turn_taken(self, host: str, key: str, delay_ms: int) -> bool:
        """Send now if the host's last request left a delay ago, after a short wait if it
        left late; False when a pause began (the request takes a new turn after it)."""
        while not self.is_paused(host):
            wait_ms, paused = self._send(keys=[key], args=[delay_ms, HOST_TTL_MS])
            if wait_ms <= 0:
                return True
            if paused:  # not a late neighbour: take a new turn after the pause
                return False
            await sleep(wait_ms / 1000)
        return False

    async def local_pause(self, host: str) -> None:
        """Wait out this worker's own pause of ``host`` (not a closed host: the local
        handler refuses its requests)."""
        while (wait := self.paused_until.get(host, 0.0) - monotonic()) > 0 and wait < math.inf:
            await sleep(wait)

    def is_paused(self, host: str) -> bool:
        return self.paused_until.get(host, 0.0) > monotonic()

    def pause(self, host: str, seconds: float | None) -> None:
        """A Retry-After: pause the host here and for every worker."""
        super().pause(host, seconds)
        if seconds:
            self.share(host, "pause", seconds)

    def robots_parsed(self, robotparser: RobotParser, request: Request, **_: Any) -> None:
        """The host's robots.txt Crawl-delay for our User-Agent holds every worker."""
        crawl_delay = getattr(robotparser, "crawl_delay", None)
        delay = crawl_delay(self.robots_agent) if callable(crawl_delay) else None
        if delay and delay > 0:
            self.share(urlparse_cached(request).hostname or "", "floor", float(delay))

    def share(self, host: str, field: str, seconds: float) -> None:
        """Raise the host's shared ``floor`` (a delay) or ``pause`` (from now) to ``seconds``."""
        try:
            self._raise(keys=[host_key(host)], args=[field, int(seconds * 1000), HOST_TTL_MS])
        except RedisError as error:
            logger.warning("could not share %s's %s with the other workers: %s", host, field, error)
