"""A crawl worker of a distributed crawl: ``scrapy crawl africa -s FRONTIER_URL=redis://…``.

With ``FRONTIER_URL`` set, :class:`FrontierAddon` puts the crawl on scrapy-redis: its
``Scheduler`` keeps the request queue in that Redis and its duplicate filter the fingerprints
(:class:`RedisRedirectAwareDupeFilter`, the project's fingerprints and redirect rule), so any
number of workers share one frontier. The queue (``SCHEDULER_QUEUE_CLASS``) is the leased
queue of :mod:`crawler.frontier`. The worker's store calls go to a Redis Stream
(:mod:`store.stream`, by ``pipelines.storage``) and it opens no SQLite file: its seeds come
from ``python -m store schedule`` (:class:`FrontierSpider`), its coverage check is left to
``python -m store health`` (``crawler.health`` is off).

Without ``FRONTIER_URL`` nothing here is used: the crawl runs in one process, as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.misc import load_object
from scrapy_redis.dupefilter import RFPDupeFilter as RedisRFPDupeFilter
from scrapy_redis.spiders import RedisMixin
from twisted.internet.task import LoopingCall

from crawler.fetching import META_KIND
from crawler.frontier import FrontierAddon as LeasedFrontier
from domain.frontier import DUPEFILTER_KEY, FINGERPRINT_META, QUEUE_KEY, SEEDS_KEY, STATS_KEY
from store.seeds import Seed, decode_seed
from store.stream import retrying

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

SCHEDULER = "scrapy_redis.scheduler.Scheduler"
DUPEFILTER = "crawler.distributed.RedisRedirectAwareDupeFilter"
STATS = "crawler.distributed.FrontierStats"
STATS_FLUSH = 1.0  # seconds between the counters' flushes into the round's hash
IDLE_CLOSE = 10  # MAX_IDLE_TIME_BEFORE_CLOSE of a worker, unless set
QUEUE_POLL = 0.5  # seconds between a worker's looks at the shared queue when it has room
STAT_SEEDS = "wire/frontier/seeds"
STAT_BAD_SEEDS = "wire/frontier/bad_seeds"


def frontier_url(settings: BaseSettings) -> str | None:
    """The ``FRONTIER_URL`` setting: the Redis of a distributed crawl, or None."""
    value = settings.get("FRONTIER_URL")
    return str(value) if value else None


class FrontierAddon:
    """Puts a crawl with ``FRONTIER_URL`` on scrapy-redis's scheduler and duplicate filter."""

    def update_settings(self, settings: BaseSettings) -> None:
        """The scrapy-redis settings of a worker (nothing without ``FRONTIER_URL``)."""
        url = frontier_url(settings)
        if url is None:
            return
        for key, value in (
            ("SCHEDULER", SCHEDULER),
            ("DUPEFILTER_CLASS", DUPEFILTER),
            ("REDIS_URL", url),
            # workers come and go: none may clear the queue the others still crawl
            ("SCHEDULER_PERSIST", True),
            ("SCHEDULER_QUEUE_KEY", QUEUE_KEY),
            ("SCHEDULER_DUPEFILTER_KEY", DUPEFILTER_KEY),
            ("REDIS_START_URLS_KEY", SEEDS_KEY),
            ("REDIS_PARAMS", retrying(asynchronous=False)),
            # JSON, not scrapy-redis's pickle: a request read from a shared Redis runs no code
            ("SCHEDULER_SERIALIZER", "crawler.request_json"),
            ("STATS_CLASS", STATS),
        ):
            settings.set(key, value, priority="project")
        # scrapy-redis's own setting, unless given: a worker ends once the frontier has been
        # idle this many seconds (0: it waits for seeds for ever)
        settings.set("MAX_IDLE_TIME_BEFORE_CLOSE", IDLE_CLOSE, priority="default")
        extensions = settings.getdict("EXTENSIONS")
        extensions["crawler.health.CoverageCheck"] = None  # it reads the store: the writer's
        settings.set("EXTENSIONS", extensions, priority="project")
        # leases (a killed worker's requests come back), the heartbeat and the per-host pace
        # shared by every worker
        LeasedFrontier().update_settings(settings)


class FrontierStats(MemoryStatsCollector):
    """A worker's stats, its own (its crawl record keeps them), with every counter also added
    to the round's hash in Redis (:data:`domain.frontier.STATS_KEY`): the totals of all the
    round's workers, read with ``HGETALL wirearchive:africa:stats``.

    Not scrapy-redis's ``RedisStatsCollector``: that one keeps a single hash for every worker
    and reads each value back as a whole number, and a worker's stats hold strings (its crawl
    id, the finish reason) and must stay its own. Counters are sent once a second, and at the
    end, in one pipeline; a Redis that fails them costs a warning, never the crawl.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        from redis import Redis

        name = crawler.spidercls.name
        self.key = STATS_KEY % {"spider": name}
        self.redis = Redis.from_url(crawler.settings.get("REDIS_URL"), **retrying(False))
        self.unsent: dict[str, int] = {}
        self.sent_at = time.monotonic()

    def inc_value(self, key: str, count: int = 1, start: int = 0, spider: Any = None) -> None:
        """Count here, and in the round's totals."""
        super().inc_value(key, count, start)
        if isinstance(count, int) and not isinstance(count, bool):
            self.unsent[key] = self.unsent.get(key, 0) + count
            if time.monotonic() - self.sent_at >= STATS_FLUSH:
                self.flush()

    def flush(self) -> None:
        """Add the counters not sent yet to the round's hash."""
        from redis.exceptions import RedisError

        unsent, self.unsent, self.sent_at = self.unsent, {}, time.monotonic()
        if not unsent:
            return
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for key, count in unsent.items():
                    pipe.hincrby(self.key, key, count)
                pipe.execute()
        except RedisError as error:
            logger.warning("Could not add this worker's counters to %s: %s", self.key, error)

    def close_spider(self, spider: Any = None, reason: str | None = None) -> None:
        """Send the last counters, then keep the stats as Scrapy does."""
        self.flush()
        self.redis.close()
        super().close_spider(reason=reason)


class RedisRedirectAwareDupeFilter(RedisRFPDupeFilter):
    """scrapy-redis's shared duplicate filter with the project's request fingerprints
    (``REQUEST_FINGERPRINTER_CLASS``: an article is one request whatever tracking parameters
    its link carries) and its redirect rule (``crawler.history.RedirectAwareDupeFilter``)."""

    fingerprinter: Any = None
    recorded_by_queue = False  # the leased queue records the fingerprints (request_seen)

    @classmethod
    def from_spider(cls, spider: Any) -> RedisRedirectAwareDupeFilter:
        """Built by the scheduler for the spider (keyed by its name)."""
        from crawler.frontier.lease import LeasedPriorityQueue

        dupefilter: RedisRedirectAwareDupeFilter = super().from_spider(spider)
        dupefilter.fingerprinter = spider.crawler.request_fingerprinter
        queue = load_object(spider.crawler.settings.get("SCHEDULER_QUEUE_CLASS"))
        dupefilter.recorded_by_queue = issubclass(queue, LeasedPriorityQueue)
        return dupefilter

    def request_fingerprint(self, request: Request) -> str:
        """The project's fingerprint of ``request``, as hex."""
        return str(self.fingerprinter.fingerprint(request).hex())

    def request_seen(self, request: Request) -> bool:
        """False for a redirected article request; otherwise whether any worker saw it.

        Only reads the set: the fingerprint of a request not seen goes with it in its meta
        to the leased queue's push (:data:`domain.frontier.FINGERPRINT_META`), which records
        it as it queues the request, in one Lua script. scrapy-redis's filter adds the
        fingerprint here and the scheduler pushes the request after, in another command: a
        worker killed between the two, or a Redis restart that loses the reply of the add
        (retried, it answers "seen"), left a request seen by every worker and queued by none.
        With another queue class than the leased one, scrapy-redis's way.
        """
        if request.meta.get("redirect_urls") and request.meta.get(META_KIND) == "article":
            return False
        if not self.recorded_by_queue:
            return bool(super().request_seen(request))
        fingerprint = self.request_fingerprint(request)
        if self.server.sismember(self.key, fingerprint):
            return True
        request.meta[FINGERPRINT_META] = fingerprint
        return False


class FrontierSpider(RedisMixin):
    """A section spider's side of a distributed crawl: its seeds from the frontier, and its end
    once the frontier has been idle for ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds.

    A seed (:mod:`store.seeds`) is ``start`` — the section's start requests, as a crawl of one
    process makes them — or ``recheck`` with a known article's URL. The frontier is idle when
    no seed waits, no request is queued and this worker has fetched nothing for that long (a
    worker busy elsewhere may still add requests: those it finds it crawls on itself).
    """

    last_active: float = 0.0
    queue_poll: LoopingCall

    def setup_frontier(self, crawler: Crawler) -> None:
        """Connect to the frontier (only with ``FRONTIER_URL``)."""
        self.setup_redis(crawler)
        self.last_active = time.monotonic()
        self.queue_key = crawler.settings.get("SCHEDULER_QUEUE_KEY") % {"spider": self.name}
        crawler.signals.connect(self.active, signal=signals.response_received)
        self.queue_poll = LoopingCall(self.look_at_queue)
        self.queue_poll.start(QUEUE_POLL, now=False)
        crawler.signals.connect(self.stop_looking, signal=signals.spider_closed)

    def look_at_queue(self) -> None:
        """A worker with room for more requests asks the shared queue for them now.

        Scrapy asks its scheduler when something happens in the crawl (a response, an item)
        and otherwise at its engine's heartbeat, every 5 s: a worker with nothing in flight
        would take the requests another worker queued up to 5 s late (a worker started
        with the crawl waits that long for the section page's articles). Scrapy has no
        public call for "look at the scheduler now"; this schedules the engine's own next
        step (``_slot.nextcall``, private, as scrapy-redis's idle handling relies on the
        heartbeat) twice a second.
        """
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if engine is not None and slot is not None and not engine.downloader.needs_backout():
            slot.nextcall.schedule()

    def stop_looking(self) -> None:
        if self.queue_poll.running:
            self.queue_poll.stop()

    def active(self) -> None:
        """A response came: the worker is not idle."""
        self.last_active = time.monotonic()

    def start_requests_of_section(self) -> Iterable[Any]:
        """The requests a ``start`` seed stands for (the spider's)."""
        raise NotImplementedError

    def recheck_request(self, url: str) -> Request:
        """The request a ``recheck`` seed stands for (the spider's)."""
        raise NotImplementedError

    def make_request_from_data(self, data: bytes | str) -> list[Any]:
        """The requests of one seed; none (counted, logged) for what is not a seed."""
        try:
            seed: Seed = decode_seed(data)
        except ValueError as error:
            self.crawler.stats.inc_value(STAT_BAD_SEEDS)
            logger.error("Ignoring a frontier entry that is no seed: %s", error)
            return []
        self.crawler.stats.inc_value(STAT_SEEDS)
        if seed.kind == "start":
            return list(self.start_requests_of_section())
        assert seed.url is not None
        return [self.recheck_request(seed.url)]

    def seed_requests(self) -> Iterator[Any]:
        """A batch of seeds' requests, taken from the frontier."""
        for request in self.next_requests():
            self.last_active = time.monotonic()
            yield request

    def frontier_busy(self) -> bool:
        """Whether seeds or requests wait in the frontier."""
        assert self.server is not None
        return bool(self.count_size(self.redis_key) or self.server.exists(self.queue_key))

    def spider_idle(self) -> None:
        """Take the next seeds; keep the worker open while the frontier has work or was busy
        less than ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds ago (0: wait for seeds for ever)."""
        engine = self.crawler.engine
        assert engine is not None
        found = False
        for request in self.seed_requests():
            engine.crawl(request)
            found = True
        if found or self.frontier_busy():
            self.last_active = time.monotonic()
            raise DontCloseSpider
        if not self.max_idle_time or time.monotonic() - self.last_active < self.max_idle_time:
            raise DontCloseSpider
        logger.info("The frontier has been idle for %s s: this worker ends", self.max_idle_time)
