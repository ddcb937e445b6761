"""The names of the distributed crawl's keys in Redis, in one place.

The crawler's frontier components (``crawler/frontier/``) write these keys and ``python -m
store frontier`` reads them; both import the names from here. Pure functions, no Redis.

A worker with ``FRONTIER_URL`` keeps a spider's scrapy-redis keys under ``wirearchive:SPIDER:``
(:data:`QUEUE_KEY`, :data:`DUPEFILTER_KEY`, :data:`SEEDS_KEY`, :data:`STATS_KEY`;
``crawler.distributed`` sets them as scrapy-redis's settings, ``python -m store schedule``
writes the seeds). The leases and the per-host counts of a queue ``Q`` are kept beside it,
under the queue's key with a suffix:

=============================  ===========  ==================================================
key                            type         what it holds
=============================  ===========  ==================================================
``Q``                          sorted set   the queued requests (scrapy-redis's encoding),
                                            scored by ``-priority``
``Q:leases``                   sorted set   lease id -> deadline (Redis time, milliseconds)
``Q:lease-data``               hash         lease id -> the leased request, encoded as queued
``Q:lease-info``               hash         lease id -> JSON ``{worker, host, score, taken}``
``Q:lease-seq``                string       the last lease id given
``Q:hosts``                    hash         host -> how many of its requests are queued
``Q:host-of``                  hash         SHA-1 of a queued request -> its host
``frontier:worker:ID``         string       a worker's heartbeat (JSON), expires after
                                            ``WORKER_TTL`` seconds
``frontier:host:HOST``         hash         a host's shared pace: ``next`` (when the next
                                            request may start), ``floor`` (its Crawl-delay),
                                            ``pause`` (its Retry-After), all milliseconds
``frontier:inflight:HOST``     sorted set   the host's requests in flight, all workers:
                                            slot token -> deadline (Redis time, ms)
=============================  ===========  ==================================================
"""

from __future__ import annotations

import json
import os
import socket

# A spider's scrapy-redis keys (SCHEDULER_QUEUE_KEY, SCHEDULER_DUPEFILTER_KEY,
# REDIS_START_URLS_KEY) and the round's counters, summed over its workers.
QUEUE_KEY = "wirearchive:%(spider)s:requests"
DUPEFILTER_KEY = "wirearchive:%(spider)s:dupefilter"
SEEDS_KEY = "wirearchive:%(name)s:start_urls"
STATS_KEY = "wirearchive:%(spider)s:stats"

# The Redis Stream the workers write the store's items to and the group of the store's writer
# (the store path, python -m store.writer --from redis://): ``frontier`` shows its lag.
STREAM_KEY = "wirearchive:store"
STREAM_GROUP = "writer"

WORKER_PREFIX = "frontier:worker:"
HOST_PREFIX = "frontier:host:"
INFLIGHT_PREFIX = "frontier:inflight:"
WORKER_TTL = 60  # seconds: a worker not heard from for this long is no longer listed

# The request.meta key that carries the id of the lease a worker holds on the request.
LEASE_META = "frontier_lease"
# The request.meta key that carries a request's fingerprint from the shared duplicate filter,
# which only reads the set, to the queue's push, which records it with the request queued.
FINGERPRINT_META = "frontier_fingerprint"


def worker_name(configured: str | None = None) -> str:
    """The name of this crawl process (``WORKER_NAME``), else ``HOST:PID``: the worker of its
    heartbeat and leases in Redis, and of its crawl record in the store."""
    return configured or f"{socket.gethostname()}:{os.getpid()}"


def queue_key(spider: str) -> str:
    """The request queue of ``spider``."""
    return QUEUE_KEY % {"spider": spider}


def lease_keys(queue: str) -> dict[str, str]:
    """The keys kept beside the queue ``queue``, by role (see the module's table)."""
    return {
        "queue": queue,
        "leases": f"{queue}:leases",
        "data": f"{queue}:lease-data",
        "info": f"{queue}:lease-info",
        "seq": f"{queue}:lease-seq",
        "hosts": f"{queue}:hosts",
        "host_of": f"{queue}:host-of",
    }


def worker_key(worker: str) -> str:
    """The heartbeat key of the worker ``worker``."""
    return f"{WORKER_PREFIX}{worker}"


def host_key(host: str) -> str:
    """The shared pace of requests to ``host``."""
    return f"{HOST_PREFIX}{host.lower()}"


def inflight_key(host: str) -> str:
    """The requests to ``host`` in flight now, from every worker (its shared in-flight cap)."""
    return f"{INFLIGHT_PREFIX}{host.lower()}"


def is_queue_key(key: str) -> bool:
    """Whether ``key`` names a request queue (``SPIDER:requests``), not one of the keys
    kept beside it."""
    return key.endswith(":requests")


def heartbeat(worker: str, spider: str, at: float) -> str:
    """The value of a worker's heartbeat key: who, crawling what, when (Unix seconds)."""
    return json.dumps({"worker": worker, "spider": spider, "time": at})
