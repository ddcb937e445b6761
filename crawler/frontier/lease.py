"""Leases: a request popped from the shared queue is not gone until its worker is done with it.

scrapy-redis's queues pop a request and delete it: a worker killed mid-crawl loses what it
had popped. :class:`LeasedPriorityQueue` (scrapy-redis's ``PriorityQueue``, same keys and
encoding) moves the popped request into a lease instead, in the same Lua script: a deadline
``LEASE_SECONDS`` ahead (Redis's clock) and the worker's id. Every pop first puts the
expired leases' requests back in the queue, so another worker fetches them.

A lease ends (:meth:`LeasedPriorityQueue.release`) when its request is *done*: the response
(or the failure) has been through the spider, and every item the spider made of it has been
through the item pipelines. Scrapy has no signal for that moment, so :class:`LeaseBook`
counts it from these hooks:

* the spider's output of a response: :class:`LeaseMiddleware` as the spider middleware
  nearest the engine (``process_spider_output`` sees the output last, an errback's output
  for a response a spider middleware refused included) — the output ended when its
  generator ends, normally or by an exception;
* the errback's output of a download failure, which Scrapy hands to no spider middleware:
  the same class as the downloader middleware nearest the engine wraps the errback of each
  leased request in ``process_request`` (before any other middleware can fail it; the
  wrapper re-raises the failure where the request had no errback, as Scrapy does), so its
  output is watched the same way; the queue puts the spider's errback back before it
  encodes a request made again from it (a retry, a redirect);
* each item the output held: ``item_scraped``, ``item_dropped`` or ``item_error`` (sent
  after the item pipelines finished with it);
* ``spider_error``: a callback that raised before it made any output;
* ``request_dropped``: a request the scheduler refused (a redirect to a URL already seen).

A request made again from the leased one — a retry, a redirect — ends its lease when the new
request enters the queue, in the same script (:data:`crawler.frontier.scripts.PUSH`). A new
request the spider makes from a response never carries its lease (the meta key is removed).

A worker renews its leases (:class:`crawler.frontier.worker.FrontierWorker`, every third of
``LEASE_SECONDS``): a slow download or a long wait for a polite host keeps its lease while the
worker lives; only a worker that stopped answering loses its leases, ``LEASE_SECONDS`` after
its last renewal. A worker that closes hands back the leases it did not finish.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from weakref import WeakKeyDictionary

from scrapy import Request
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import arg_to_iter
from scrapy_redis import defaults
from scrapy_redis.queue import PriorityQueue
from twisted.python.failure import Failure

from crawler.frontier.scripts import LEASE_KEY_ROLES, POP, PUSH, RELEASE, RENEW, REQUEUE
from crawler.settings import LEASE_SECONDS
from domain.frontier import FINGERPRINT_META, LEASE_META, lease_keys, worker_name

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

ERRBACK_ATTR = "frontier_errback"  # the spider's own errback, on the watching wrapper


def lease_of(source: Response | Failure | Request | None) -> int | None:
    """The lease id carried by a request, or by the request of a response or failure."""
    if isinstance(source, Failure):
        source = getattr(source, "request", None)
    if source is None:
        return None
    try:
        meta = source.meta
    except AttributeError:  # a response built without a request
        return None
    lease = meta.get(LEASE_META)
    return int(lease) if lease is not None else None


@dataclass
class Lease:
    """What a worker is still doing for one of its leases."""

    items: int = 0  # items of its output not through the item pipelines yet
    output_ended: bool = False
    # its errback ran and watches the output, which (for a response a spider middleware
    # refused, e.g. a 404) then also passes LeaseMiddleware: counted once, by the errback
    errback_ran: bool = False


class LeaseBook:
    """The leases this worker holds and what is left to do for each (one per crawler)."""

    books: ClassVar[WeakKeyDictionary[Crawler, LeaseBook]] = WeakKeyDictionary()

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.worker = worker_name(crawler.settings.get("WORKER_NAME"))
        self.held: dict[int, Lease] = {}
        self.queue: LeasedPriorityQueue | None = None

    @classmethod
    def of(cls, crawler: Crawler) -> LeaseBook:
        """The book of ``crawler`` (made on first use)."""
        book = cls.books.get(crawler)
        if book is None:
            book = cls.books[crawler] = cls(crawler)
        return book

    @property
    def lease_ms(self) -> int:
        """``LEASE_SECONDS`` in milliseconds."""
        return int(1000 * self.crawler.settings.getfloat("LEASE_SECONDS", LEASE_SECONDS))

    def taken(self, lease: int) -> None:
        """The queue leased a request to this worker."""
        self.held[lease] = Lease()

    def forget(self, lease: int | None) -> None:
        """The lease ended in Redis by other means (a push released it)."""
        if lease is not None:
            self.held.pop(lease, None)

    def item_started(self, lease: int | None) -> None:
        if lease in self.held:
            self.held[lease].items += 1

    def item_finished(self, lease: int | None) -> None:
        if lease in self.held:
            self.held[lease].items -= 1
            self.settle(lease)

    def output_ended(self, lease: int | None) -> None:
        if lease in self.held:
            self.held[lease].output_ended = True
            self.settle(lease)

    def settle(self, lease: int) -> None:
        """End the lease in Redis when its output ended and its items are through."""
        state = self.held[lease]
        if state.output_ended and state.items <= 0:
            del self.held[lease]
            if self.queue is not None:
                self.queue.release([lease])

    def release_dropped(self, lease: int | None) -> None:
        """A request made from a leased one was refused by the scheduler: done."""
        if lease is not None:
            self.held.pop(lease, None)
            if self.queue is not None:
                self.queue.release([lease])

    def child(self, output: Any, lease: int | None) -> Any:
        """Count one thing of a leased output: an item (until the pipelines are through
        with it) or a new request, which carries no lease (a spider that passes meta on
        would pass the lease; a copy without it is made, the request itself may be the
        one whose response is being read)."""
        if isinstance(output, Request):
            if LEASE_META in output.meta:
                meta = {k: v for k, v in output.meta.items() if k != LEASE_META}
                output = output.replace(meta=meta)
        elif output is not None:
            self.item_started(lease)
        return output

    def watch_sync(self, output: Iterable[Any], lease: int | None) -> Iterable[Any]:
        """``output``, counted; the lease's output ends with it."""
        try:
            for thing in output:
                yield self.child(thing, lease)
        finally:
            self.output_ended(lease)

    async def watch_async(
        self, output: AsyncIterator[Any], lease: int | None
    ) -> AsyncIterator[Any]:
        """``output``, counted; the lease's output ends with it."""
        try:
            async for thing in output:
                yield self.child(thing, lease)
        finally:
            self.output_ended(lease)

    def watched_errback(self, errback: Callable[..., Any] | None, lease: int) -> Callable[..., Any]:
        """``errback`` (or none), whose output is watched like a callback's."""

        def watched(failure: Failure) -> Any:
            if lease in self.held:
                self.held[lease].errback_ran = True
            try:
                output = failure if errback is None else errback(failure)
            except BaseException:
                self.output_ended(lease)
                raise
            return self.watch_output(output, lease)

        setattr(watched, ERRBACK_ATTR, errback)
        return watched

    def watch_output(self, output: Any, lease: int) -> Any:
        """Any output a callback or errback may return, watched."""
        if output is None or isinstance(output, Failure):
            self.output_ended(lease)
            return output
        if isinstance(output, AsyncIterator):
            return self.watch_async(output, lease)
        if inspect.isawaitable(output):

            async def awaited() -> Any:
                try:
                    result = await output
                except BaseException:
                    self.output_ended(lease)
                    raise
                return self.watch_output(result, lease)

            return awaited()
        return self.watch_sync(arg_to_iter(output), lease)


def spider_errback(request: Request) -> Callable[..., Any] | None:
    """The spider's own errback of ``request`` (not a watching wrapper)."""
    errback = request.errback
    return getattr(errback, ERRBACK_ATTR, errback)


class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop leases the request (see the module)."""

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None) -> None:
        super().__init__(server, spider, key, serializer)
        self.keys = lease_keys(self.key)
        self.key_list = [self.keys[role] for role in LEASE_KEY_ROLES]
        self.book = LeaseBook.of(spider.crawler)
        self.book.queue = self
        # the set the scheduler's duplicate filter reads (scrapy-redis's default key unless set)
        dupefilter = spider.crawler.settings.get(
            "SCHEDULER_DUPEFILTER_KEY", defaults.SCHEDULER_DUPEFILTER_KEY
        )
        self.dupefilter_key = dupefilter % {"spider": spider.name}
        self._push = server.register_script(PUSH)
        self._pop = server.register_script(POP)
        self._release = server.register_script(RELEASE)
        self._renew = server.register_script(RENEW)
        self._requeue = server.register_script(REQUEUE)

    def __len__(self) -> int:
        """The requests queued and leased: a worker does not stop while leases may return."""
        pipe = self.server.pipeline(transaction=False)
        pipe.zcard(self.keys["queue"]).zcard(self.keys["leases"])
        queued, leased = pipe.execute()
        return int(queued) + int(leased)

    def push(self, request: Request) -> None:
        """Queue ``request`` and record its fingerprint (from the duplicate filter, see
        :class:`crawler.distributed.RedisRedirectAwareDupeFilter`) in one step; a request
        made again from a leased one ends that lease."""
        lease = request.meta.pop(LEASE_META, None)
        fingerprint = request.meta.pop(FINGERPRINT_META, None)
        request.errback = spider_errback(request)
        host = urlparse_cached(request).hostname or ""
        queued = self._push(
            keys=[*self.key_list, self.dupefilter_key],
            args=[self._encode_request(request), -request.priority, host, lease or "",
                  fingerprint or ""],
        )  # fmt: skip
        self.book.forget(lease)
        if not queued:
            logger.debug("Another worker queued %s first", request)

    def pop(self, timeout: int = 0) -> Request | None:
        """Lease the first request to this worker (expired leases are queued again first)."""
        lease, data, requeued = self._pop(
            keys=self.key_list, args=[self.book.worker, self.book.lease_ms]
        )
        if requeued:
            logger.info("%d expired lease(s) of %s queued again", requeued, self.key)
            stats = self.book.crawler.stats
            if stats is not None:
                stats.inc_value("frontier/leases/expired", requeued)
        if not data:
            return None
        request: Request = self._decode_request(data)
        request.meta[LEASE_META] = int(lease)
        self.book.taken(int(lease))
        return request

    def release(self, leases: list[int]) -> None:
        """End ``leases``: their requests are done."""
        self._release(keys=self.key_list, args=leases)

    def renew(self, leases: list[int]) -> int:
        """Push the deadlines of ``leases`` ``LEASE_SECONDS`` from now; how many were held."""
        if not leases:
            return 0
        return int(self._renew(keys=self.key_list, args=[self.book.lease_ms, *leases]))

    def requeue(self, leases: list[int]) -> None:
        """Put the requests of ``leases`` back in the queue now."""
        if leases:
            self._requeue(keys=self.key_list, args=leases)

    def clear(self) -> None:
        """Delete the queue, its leases and counts (scrapy-redis's flush)."""
        self.server.delete(*(key for role, key in self.keys.items() if role != "seq"))


class LeaseMiddleware:
    """Watches what becomes of each leased request (see the module): a spider middleware
    (``SPIDER_MIDDLEWARES``, nearest the engine) and a downloader middleware
    (``DOWNLOADER_MIDDLEWARES``, nearest the engine)."""

    def __init__(self, crawler: Crawler) -> None:
        self.book = LeaseBook.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseMiddleware:
        """Built by Scrapy."""
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        """The spider's output of a response, counted until it ends (unless the errback's
        watcher counts it)."""
        lease = lease_of(response)
        state = self.book.held.get(lease) if lease is not None else None
        if state is not None and state.errback_ran:
            watched = result
        else:
            watched = self.book.watch_async(result, lease)
        async for thing in watched:
            yield thing

    def process_request(self, request: Request) -> None:
        """A leased request on its way to the download: watch its errback's output."""
        lease = lease_of(request)
        if lease is not None and lease in self.book.held:
            request.errback = self.book.watched_errback(spider_errback(request), lease)
