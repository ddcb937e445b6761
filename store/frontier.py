"""``python -m store frontier redis://HOST:PORT/DB``: the state of a distributed crawl's shared
frontier, read from Redis (the keys of :mod:`domain.frontier`), for whoever runs it.

It shows each request queue's depth per host, its leases (how many, the oldest's age, how
many expired and not yet queued again, by worker), the lag of the store's stream, the
workers heard from within :data:`domain.frontier.WORKER_TTL` seconds, and the hosts whose
shared pace holds requests now (a pause, a Crawl-delay). Only reads.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.exceptions import RedisError

from domain.frontier import (
    HOST_PREFIX,
    INFLIGHT_PREFIX,
    STREAM_GROUP,
    STREAM_KEY,
    WORKER_PREFIX,
    WORKER_TTL,
    is_queue_key,
    lease_keys,
)


class FrontierError(Exception):
    """Redis cannot be read (the message is the command's one-line error)."""


@dataclass
class QueueState:
    """One request queue and its leases."""

    key: str
    queued: int
    by_host: dict[str, int]
    leased: int = 0
    expired: int = 0
    oldest_ms: int | None = None  # the age of the oldest lease
    by_worker: dict[str, int] = field(default_factory=dict)


@dataclass
class FrontierState:
    """What ``python -m store frontier`` shows."""

    queues: list[QueueState]
    stream: dict[str, Any] | None  # length and groups of STREAM_KEY, or None
    workers: list[dict[str, Any]]  # heartbeats, with ``age`` in seconds
    hosts: dict[str, dict[str, float]]  # host -> seconds of pause / floor still in force


def connect(url: str) -> redis.Redis:
    """A client of ``url`` that answers, or a FrontierError saying why not."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise FrontierError(f"{url} is not a Redis URL (redis://HOST:PORT/DB)")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
        client.ping()
    except (RedisError, ValueError, OSError) as error:
        raise FrontierError(f"cannot reach {url}: {error}") from error
    return client


def now_ms(client: redis.Redis) -> int:
    """Redis's clock, the one every deadline in it is on."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def queue_state(client: redis.Redis, key: str, now: int) -> QueueState | None:
    """The state of the queue ``key`` (None when it is not a queue scrapy-redis writes)."""
    kind = text(client.type(key))
    if kind not in ("zset", "list"):
        return None
    keys = lease_keys(key)
    queued = int(client.zcard(key) if kind == "zset" else client.llen(key))
    by_host = {text(h): int(n) for h, n in client.hgetall(keys["hosts"]).items() if int(n) > 0}
    unknown = queued - sum(by_host.values())
    if unknown > 0:  # requests queued by a queue class that counts no hosts
        by_host["(host not counted)"] = unknown
    state = QueueState(key, queued, by_host)
    state.leased = int(client.zcard(keys["leases"]))
    if state.leased:
        state.expired = int(client.zcount(keys["leases"], "-inf", now))
        workers: Counter[str] = Counter()
        oldest: int | None = None
        for about in client.hvals(keys["info"]):
            lease = json.loads(about)
            workers[str(lease.get("worker"))] += 1
            taken = int(lease.get("taken", now))
            oldest = taken if oldest is None else min(oldest, taken)
        state.by_worker = dict(workers.most_common())
        state.oldest_ms = None if oldest is None else now - oldest
    return state


def stream_state(client: redis.Redis) -> dict[str, Any] | None:
    """Length and consumer groups (with their lag and pending entries) of the items stream."""
    if not client.exists(STREAM_KEY):
        return None
    groups = []
    for group in client.xinfo_groups(STREAM_KEY):
        name = text(group["name"])
        groups.append({"name": name, "lag": group.get("lag"), "pending": group.get("pending")})
    return {"key": STREAM_KEY, "length": int(client.xlen(STREAM_KEY)), "groups": groups}


def read_state(client: redis.Redis) -> FrontierState:
    """Everything the command shows, read from ``client``."""
    now = now_ms(client)
    queues = []
    for key in sorted(text(k) for k in client.scan_iter(match="*:requests", count=1000)):
        if is_queue_key(key) and (state := queue_state(client, key, now)) is not None:
            queues.append(state)
    workers = []
    for key in sorted(text(k) for k in client.scan_iter(match=f"{WORKER_PREFIX}*", count=1000)):
        beat = client.get(key)
        if beat is None:
            continue
        info: dict[str, Any] = json.loads(beat)
        info["age"] = max(now / 1000 - float(info.get("time", now / 1000)), 0.0)
        workers.append(info)
    hosts: dict[str, dict[str, float]] = {}
    for key in sorted(text(k) for k in client.scan_iter(match=f"{HOST_PREFIX}*", count=1000)):
        pace = {text(k): float(v) for k, v in client.hgetall(key).items()}
        shown = {}
        if pace.get("pause", 0) > now:
            shown["pause"] = (pace["pause"] - now) / 1000
        if pace.get("floor", 0) > 0:
            shown["crawl_delay"] = pace["floor"] / 1000
        if pace.get("next", 0) > now:
            shown["next_in"] = (pace["next"] - now) / 1000
        if shown:
            hosts[key.removeprefix(HOST_PREFIX)] = shown
    for key in sorted(text(k) for k in client.scan_iter(match=f"{INFLIGHT_PREFIX}*", count=1000)):
        in_flight = int(client.zcount(key, now, "+inf"))  # slots not past their deadline
        if in_flight:
            hosts.setdefault(key.removeprefix(INFLIGHT_PREFIX), {})["in_flight"] = in_flight
    return FrontierState(queues, stream_state(client), workers, hosts)


def frontier_state(url: str) -> FrontierState:
    """The frontier's state at ``url``, or a FrontierError."""
    client = connect(url)
    try:
        return read_state(client)
    except RedisError as error:
        raise FrontierError(f"cannot read {url}: {error}") from error


def seconds(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def format_state(state: FrontierState, url: str) -> list[str]:
    """The report's lines."""
    lines = [f"frontier at {url}"]
    if not state.queues:
        lines.append("queues: none")
    for queue in state.queues:
        lines.append(f"queue {queue.key}: {queue.queued} queued, {queue.leased} leased")
        for host, count in sorted(queue.by_host.items(), key=lambda pair: (-pair[1], pair[0])):
            lines.append(f"  {count:>8}  {host}")
        if queue.leased:
            lines.append(
                f"  leases: oldest taken {seconds(queue.oldest_ms)} ago, "
                f"{queue.expired} expired (queued again at the next pop)"
            )
            for worker, count in queue.by_worker.items():
                lines.append(f"  {count:>8}  leased to {worker}")
    if state.stream is None:
        lines.append(f"stream {STREAM_KEY}: none")
    else:
        stream = state.stream
        lines.append(f"stream {stream['key']}: {stream['length']} entries")
        if not any(group["name"] == STREAM_GROUP for group in stream["groups"]):
            lines.append(f"  no group {STREAM_GROUP!r}: no writer has read it yet")
        for group in stream["groups"]:
            lag = "unknown" if group["lag"] is None else group["lag"]
            lines.append(
                f"  group {group['name']}: lag {lag} (not yet read), "
                f"{group['pending']} read and not acknowledged"
            )
    lines.append(f"workers seen in the last {WORKER_TTL} s: {len(state.workers)}")
    for heard in state.workers:
        name = str(heard.get("worker"))
        leases = sum(queue.by_worker.get(name, 0) for queue in state.queues)
        lines.append(
            f"  {name}  spider {heard.get('spider')}, {leases} leases now, "
            f"last heard {heard['age']:.0f} s ago"
        )
    for host, pace in state.hosts.items():
        parts = []
        if "pause" in pace:
            parts.append(f"paused {pace['pause']:.1f} s more (Retry-After)")
        if "crawl_delay" in pace:
            parts.append(f"Crawl-delay {pace['crawl_delay']:g} s")
        if "next_in" in pace:
            parts.append(f"next request in {pace['next_in']:.1f} s")
        if "in_flight" in pace:
            parts.append(f"{pace['in_flight']:.0f} request(s) in flight")
        lines.append(f"host {host}: {', '.join(parts)}")
    return lines
