"""The worker's side of the shared frontier: its heartbeat, its leases' upkeep, their ends.

:class:`FrontierWorker` (an extension) every third of ``LEASE_SECONDS`` (at most every 10 s)
writes the worker's heartbeat (``frontier:worker:ID``, expiring after
:data:`domain.frontier.WORKER_TTL` seconds, read by ``python -m store frontier``) and renews
the leases it holds; it hears the signals that end a lease (see :mod:`crawler.frontier.lease`)
and, when the spider closes, hands back the leases it did not finish.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from scrapy import signals
from scrapy_redis.connection import get_redis_from_settings
from twisted.internet.task import LoopingCall

from crawler.frontier.lease import LeaseBook, lease_of
from domain.frontier import WORKER_TTL, heartbeat, worker_key

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

HEARTBEAT_MAX = 10.0  # seconds between heartbeats at most


class FrontierWorker:
    """Heartbeat, lease renewal and lease ends of one worker (an extension)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.book = LeaseBook.of(crawler)
        self.server = get_redis_from_settings(crawler.settings)
        self.every = min(self.book.lease_ms / 3000, HEARTBEAT_MAX)
        self.beat = LoopingCall(self.say_alive)
        self.spider_name = ""
        connect = crawler.signals.connect
        connect(self.opened, signal=signals.spider_opened)
        connect(self.closed, signal=signals.spider_closed)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            connect(self.item_done, signal=signal)
        connect(self.spider_error, signal=signals.spider_error)
        connect(self.request_dropped, signal=signals.request_dropped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierWorker:
        """Built by Scrapy."""
        return cls(crawler)

    def opened(self, spider: Spider) -> None:
        self.spider_name = spider.name
        self.beat.start(self.every, now=True)

    def say_alive(self) -> None:
        """Say this worker lives; renew its leases."""
        beat = heartbeat(self.book.worker, self.spider_name, time.time())
        try:
            self.server.set(worker_key(self.book.worker), beat, ex=WORKER_TTL)
            queue = self.book.queue
            if queue is not None:
                queue.renew(list(self.book.held))
        except RedisError as error:  # the next beat tries again; leases last LEASE_SECONDS
            logger.warning("frontier heartbeat failed: %s", error)

    def closed(self, spider: Spider, reason: str) -> None:
        """Stop beating; hand back the leases not finished; leave the list of workers."""
        if self.beat.running:
            self.beat.stop()
        unfinished = list(self.book.held)
        self.book.held.clear()
        try:
            if unfinished and self.book.queue is not None:
                self.book.queue.requeue(unfinished)
                logger.info("handed back %d unfinished lease(s)", len(unfinished))
            self.server.delete(worker_key(self.book.worker))
        except RedisError as error:
            logger.warning("frontier: could not hand back leases (they expire): %s", error)

    def item_done(self, item: Any, response: Response | Failure | None, **_: Any) -> None:
        """An item is through the item pipelines (scraped, dropped or failed)."""
        self.book.item_finished(lease_of(response))

    def spider_error(self, failure: Failure, response: Response | Failure, **_: Any) -> None:
        """A callback raised: its output (if any began) is over."""
        self.book.output_ended(lease_of(response))

    def request_dropped(self, request: Request, **_: Any) -> None:
        """The scheduler refused a request made from a leased one: that lease is done."""
        self.book.release_dropped(lease_of(request))
