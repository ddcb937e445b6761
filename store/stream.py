"""The store calls of a distributed crawl, on a Redis Stream: their JSON codec and the workers'
side.

With ``FRONTIER_URL`` a crawl worker opens no SQLite file: each store call it makes (one
:data:`store.protocol.Request` dataclass) is appended to the stream :data:`STREAM_KEY` by
:class:`StreamWriterClient` (``XADD``), and ``python -m store.writer STORE_PATH --from URL``
(:mod:`store.stream_writer`), the only process that writes the file, applies them in order.

Entries are JSON, never pickle: a Redis may be shared, and a pickle read from it could run any
code. :func:`encode` writes a request as JSON with each dataclass tagged by its class name, and
:func:`decode` rebuilds only the classes of :data:`CLASSES` (the protocol's requests and the
domain records they carry); anything else is a :class:`CodecError`. Each entry carries a
message id made by the worker, which the writer records with what it stored (``stream_messages``,
in the same transaction): an entry delivered twice is stored once.

Replies: a worker needs none of the store's answers while it crawls (the version counts of
``SaveResult`` are the writer's, in the crawl's summary); only :class:`~store.protocol.Summary`
is answered, on the list :data:`REPLY_KEY` the request names, which the worker waits on.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from domain import frontier as frontier_keys
from domain import pages, records, tagged_json
from store import history, protocol
from store.protocol import (
    BeginCrawl,
    FinishCrawl,
    LimitPages,
    Request,
    SaveArticle,
    SaveDiscovery,
    SaveFetch,
    SaveListing,
    Summary,
)
from store.writer import WriterError

# Redis keys and names of the store's stream (the frontier's keys are the frontier's own).
# the stream of store calls (XADD by workers) and the writer's consumer group on it, named
# where python -m store frontier reads them too
STREAM_KEY = frontier_keys.STREAM_KEY
GROUP = frontier_keys.STREAM_GROUP
CONSUMER = "writer"  # the writer's name in the group: a restarted writer reads its pending
REJECTED_KEY = "wirearchive:store:rejected"  # entries the writer could not apply, with why
REPLY_KEY = "wirearchive:store:reply:%(message)s"  # a Summary's answer, a list of one item
REPLY_TTL = 3600  # seconds a reply nobody read stays
FIELD = "message"  # the one field of an entry: the message's JSON
VERSION = 1  # of the message format

# Every dataclass a message may hold, by class name: the protocol's requests, what they carry.
CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for module in (pages, records, history, protocol)
    for cls in vars(module).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
}


def redis_url_problem(url: object) -> str | None:
    """What is wrong with ``url`` as a Redis URL (``redis://[:PASSWORD@]HOST[:PORT][/DB]`` or
    ``rediss://``), or None."""
    example = "name a Redis, e.g. redis://127.0.0.1:6379/0"
    if not isinstance(url, str) or not url.strip():
        return example
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        return f"not a redis:// URL: {example}"
    try:
        parts.port  # noqa: B018 (raises for a port that is no number or out of range)
    except ValueError:
        return f"bad port: {example}"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return f"the database must be a number (/0, /1…): {example}"
    return None


class CodecError(ValueError):
    """A message that is not one this codec writes."""


class StreamError(WriterError):
    """Redis refused or lost a store call (it is not in the stream)."""


def encode_value(value: Any) -> Any:
    """``value`` as JSON-ready data: the dataclasses of :data:`CLASSES`, bytes and tuples
    tagged (:mod:`domain.tagged_json`, the frontier's codec too)."""
    try:
        return tagged_json.encode(value, CLASSES)
    except tagged_json.Unencodable as error:
        raise CodecError(str(error)) from None


def decode_value(data: Any) -> Any:
    """What :func:`encode_value` encoded, rebuilt (only the classes of :data:`CLASSES`)."""
    try:
        return tagged_json.decode(data, CLASSES)
    except tagged_json.Undecodable as error:
        raise CodecError(str(error)) from None


@dataclasses.dataclass(frozen=True)
class Message:
    """One store call on the stream: its request, and the id that makes it stored once."""

    request: Request
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    reply_to: str | None = None  # the list the answer goes to (a Summary's)


def encode(message: Message) -> str:
    """A message as the JSON text of its stream entry."""
    return json.dumps(
        {
            "v": VERSION,
            "id": message.id,
            "reply_to": message.reply_to,
            "request": encode_value(message.request),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(text: str | bytes) -> Message:
    """The message of a stream entry; a :class:`CodecError` for anything else."""
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CodecError(f"not JSON: {error}") from None
    if (
        not isinstance(data, dict)
        or data.get("v") != VERSION
        or not isinstance(data.get("id"), str)
    ):
        raise CodecError(f"not a store message of version {VERSION}")
    try:
        request = decode_value(data.get("request"))
    except (KeyError, TypeError, ValueError) as error:
        raise CodecError(f"bad request: {error}") from None
    if not isinstance(request, protocol.REQUESTS):
        raise CodecError(f"not a store request: {type(request).__name__}")
    reply_to = data.get("reply_to")
    return Message(request, data["id"], reply_to if isinstance(reply_to, str) else None)


class StreamWriterClient:
    """A worker's store: :class:`store.protocol.AsyncStoreWriter` calls appended to the stream.

    The writes return None (``save_*``): their answer is the writer's, later. ``summary``
    waits for the writer's answer at most ``timeout`` seconds (a :class:`StreamError` after).
    Use it from coroutines on Scrapy's asyncio loop: ``client = await
    StreamWriterClient.connect(url)``, ``await client.save_article(fetch, record)``,
    ``await client.close()``.
    """

    def __init__(self, redis: Any, timeout: float | None = None) -> None:
        self.redis = redis
        self.timeout = timeout
        self.sent = 0

    @classmethod
    async def connect(cls, url: str, timeout: float | None = None) -> StreamWriterClient:
        """A client of the Redis at ``url`` (checked with a PING)."""
        from redis.asyncio import Redis  # the crawl's asyncio loop must be running

        client = cls(Redis.from_url(url, **retrying()), timeout)
        await client._redis_call(client.redis.ping())
        return client

    async def _redis_call(self, call: Any) -> Any:
        from redis.exceptions import RedisError

        try:
            return await call
        except RedisError as error:
            raise StreamError(f"Redis: {error}") from None

    async def send(self, request: Request, reply_to: str | None = None) -> Message:
        """Append one store call to the stream."""
        message = Message(request, reply_to=reply_to)
        await self._redis_call(self.redis.xadd(STREAM_KEY, {FIELD: encode(message)}))
        self.sent += 1
        return message

    async def limit_pages(self, pages: int) -> None:
        """:meth:`store.Store.limit_pages`, in the writer (for the file it writes)."""
        await self.send(LimitPages(pages))

    async def begin_crawl(self, crawl: records.CrawlRecord) -> None:
        """:meth:`store.Store.begin_crawl`, by the writer."""
        await self.send(BeginCrawl(crawl))

    async def save_article(
        self, fetch: records.FetchRecord, article: records.ArticleRecord
    ) -> None:
        """:meth:`store.Store.save_article`, by the writer."""
        await self.send(SaveArticle(fetch, article))

    async def save_listing(
        self, fetch: records.FetchRecord, listing: pages.ListingPage, section: str
    ) -> None:
        """:meth:`store.Store.save_listing`, by the writer."""
        await self.send(SaveListing(fetch, listing, section))

    async def save_fetch(self, fetch: records.FetchRecord) -> None:
        """:meth:`store.Store.save_fetch`, by the writer."""
        await self.send(SaveFetch(fetch))

    async def save_discovery(
        self, fetch: records.FetchRecord, page: pages.ListingPage, source: str
    ) -> None:
        """:meth:`store.Store.save_discovery`, by the writer."""
        await self.send(SaveDiscovery(fetch, page, source))

    async def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """:meth:`store.Store.finish_crawl`, by the writer."""
        await self.send(FinishCrawl(crawl_id, finished_at, reason, stats))

    async def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """:meth:`store.Store.summary`, answered by the writer once it has applied every call
        sent before (the stream is in order)."""
        key = REPLY_KEY % {"message": uuid.uuid4().hex}
        await self.send(Summary(crawl_id), reply_to=key)
        wait = 0 if self.timeout is None else max(1, round(self.timeout))
        answer = await self._redis_call(self.redis.blpop([key], timeout=wait))
        if answer is None:
            raise StreamError(
                f"the store writer did not answer within {wait} s (is python -m store.writer "
                "--from running?)"
            )
        result = decode_value(json.loads(answer[1]))
        if not isinstance(result, dict):
            raise StreamError("the store writer's answer is not a summary")
        return result

    async def close(self) -> int:
        """Close the connection; 0 (the writer is not ours to wait for)."""
        await self.redis.aclose()
        return 0


def retrying(asynchronous: bool = True) -> dict[str, Any]:
    """Connection options that ride out a Redis restart of a few seconds: each call retried
    with a growing pause (about 20 s in all) on a lost connection (for a client of
    ``redis.asyncio`` or, not ``asynchronous``, of ``redis``)."""
    from redis.asyncio.retry import Retry as AsyncRetry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import BusyLoadingError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    retry_class = AsyncRetry if asynchronous else Retry
    return {
        "retry": retry_class(ExponentialBackoff(cap=2.0, base=0.1), 14),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError, BusyLoadingError],
        "health_check_interval": 10,
    }
