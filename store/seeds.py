"""What a distributed crawl starts from: ``python -m store schedule STORE_PATH --to URL``.

Workers of a distributed crawl (``FRONTIER_URL``) never open the SQLite file, so what a
single-process crawl reads from it at its start — the known articles due for a recheck
(:mod:`store.rechecks`, :mod:`store.schedule`) — is pushed into the frontier by this command,
with the seed that starts a section (its page, its feed, robots.txt and the sitemaps it names,
as the section's spider starts them). Seeds go to the scrapy-redis start-URLs list of the
section's spider (:data:`domain.frontier.SEEDS_KEY`), as JSON: ``{"seed": "start"}`` and ``{"seed":
"recheck", "url": URL}``; the spider turns each into its requests
(``crawler.distributed.FrontierSpider.make_request_from_data``).

A schedule begins a round: when the frontier's request queue is empty (the last round is
over), the duplicate filter and the counters of the last round are cleared, so its pages are
fetched again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from domain.frontier import DUPEFILTER_KEY, SEEDS_KEY, STATS_KEY, lease_keys, queue_key
from store.db import Store
from store.schedule import Schedule

SeedKind = Literal["start", "recheck"]
SEED_KINDS: tuple[SeedKind, ...] = ("start", "recheck")
RecheckMode = Literal["schedule", "all", "none"]


@dataclass(frozen=True)
class Seed:
    """One seed: a section's start, or a known article to fetch again."""

    kind: SeedKind
    url: str | None = None

    def encode(self) -> str:
        """The seed as JSON, as the spider reads it."""
        return json.dumps({"seed": self.kind, **({"url": self.url} if self.url else {})})


def decode_seed(data: bytes | str) -> Seed:
    """A seed read from the frontier; ValueError for anything that is not one."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a seed (not JSON): {error}") from None
    if not isinstance(value, dict) or value.get("seed") not in SEED_KINDS:
        raise ValueError(f"not a seed: {str(data)[:100]!r}")
    url = value.get("url")
    if value["seed"] == "recheck" and not isinstance(url, str):
        raise ValueError("a recheck seed names no url")
    return Seed(value["seed"], url if isinstance(url, str) else None)


def due_rechecks(
    store: Store | None, section: str, mode: RecheckMode, schedule: Schedule, now: datetime
) -> list[str]:
    """The URLs of the section's known articles to fetch again (none without a store)."""
    if store is None or mode == "none":
        return []
    if mode == "all":
        return [url for url, _, _ in store.recheck_candidates(section)]
    return store.due_for_recheck(now, schedule, section)


@dataclass
class Scheduled:
    """What one schedule pushed."""

    section: str
    rechecks: int
    round_started: bool  # the last round's duplicate filter was cleared


def push_seeds(redis: Any, spider: str, section: str, rechecks: list[str]) -> Scheduled:
    """Push the start seed and the rechecks of ``spider`` (its section ``section``) into the
    frontier at ``redis`` (a :class:`redis.Redis`), in one transaction."""
    # the round is over when nothing is queued and no worker holds a lease on a request
    queue = queue_key(spider)
    idle = not redis.exists(queue, lease_keys(queue)["leases"])
    seeds = [Seed("start"), *(Seed("recheck", url) for url in rechecks)]
    with redis.pipeline() as pipe:  # MULTI/EXEC: workers see all the seeds or none
        if idle:
            pipe.delete(DUPEFILTER_KEY % {"spider": spider}, STATS_KEY % {"spider": spider})
        pipe.rpush(SEEDS_KEY % {"name": spider}, *(seed.encode() for seed in seeds))
        pipe.execute()
    return Scheduled(section, len(rechecks), idle)
