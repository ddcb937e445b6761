"""The store writer of a distributed crawl: ``python -m store.writer STORE_PATH --from URL``.

The only process that writes the SQLite file. It reads the stream of store calls
(:data:`store.stream.STREAM_KEY`) as the consumer :data:`~store.stream.CONSUMER` of the group
:data:`~store.stream.GROUP` (``XREADGROUP``), applies each entry in one transaction and
acknowledges it (``XACK``) only after the commit. So a writer killed at any point loses nothing:
an entry applied but not acknowledged is read again at the restart (its pending entries first,
and any another consumer of the group left, ``XAUTOCLAIM``), and the message id recorded in
``stream_messages`` in the same transaction as the write makes the second delivery a no-op.

An entry that cannot be applied — not a message of this codec, or a write the store refuses
(:class:`store.StoreError`) — is moved to :data:`~store.stream.REJECTED_KEY` with the reason
(and logged): one bad entry does not stop the others. A store that cannot take more (a full
disk, a SQLite error) stops the writer with a one-line error; the entry stays pending and is
applied by the next run. Run one writer per stream: two would apply the entries of one crawl
out of order (each entry would still be stored once).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from domain.times import utc_now
from store.db import Store
from store.errors import StoreError
from store.protocol import Summary
from store.stream import (
    CONSUMER,
    FIELD,
    GROUP,
    REJECTED_KEY,
    REPLY_TTL,
    STREAM_KEY,
    CodecError,
    Message,
    decode,
    encode_value,
    redis_url_problem,
    retrying,
)

BATCH = 100  # entries read at once
BLOCK_MS = 1000  # how long one read waits for new entries (and for a stop to be noticed)
PROGRESS_EVERY = 5.0  # seconds between progress lines

SEEN = "SELECT 1 FROM stream_messages WHERE id = ?"
RECORD = "INSERT INTO stream_messages (id, entry, applied_at) VALUES (?, ?, ?)"


class StopWriter(Exception):
    """The writer cannot go on (a one-line reason)."""


@dataclass
class Counts:
    """What the writer did so far."""

    applied: int = 0
    repeated: int = 0  # delivered again, already stored: acknowledged only
    rejected: int = 0
    answered: int = 0  # summaries

    def line(self) -> str:
        return (
            f"writer: {self.applied} applied, {self.repeated} already stored, "
            f"{self.rejected} rejected, {self.answered} summaries answered"
        )


class StreamWriter:
    """Applies the stream's entries to ``store``; ``redis`` is a (synchronous) client."""

    def __init__(self, store: Store, redis: Any) -> None:
        self.store = store
        self.redis = redis
        self.counts = Counts()
        self.stopping = False

    def create_group(self) -> None:
        """The consumer group, from the stream's start (and the stream), unless it exists."""
        from redis.exceptions import ResponseError

        try:
            self.redis.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def claim_abandoned(self) -> None:
        """Take over the entries another consumer of the group read and never acknowledged."""
        start = "0-0"
        while True:
            reply = self.redis.xautoclaim(
                STREAM_KEY, GROUP, CONSUMER, min_idle_time=0, start_id=start, count=BATCH
            )
            start = _text(reply[0])
            if start == "0-0":
                return

    def read(self, pending: bool) -> list[tuple[str, dict[Any, Any]]]:
        """The next entries: this consumer's pending ones (``pending``), or new ones."""
        reply = self.redis.xreadgroup(
            GROUP, CONSUMER, {STREAM_KEY: "0" if pending else ">"}, count=BATCH,
            block=None if pending else BLOCK_MS,
        )  # fmt: skip
        if not reply:
            return []
        entries = [(_text(entry_id), fields) for entry_id, fields in reply[0][1]]
        gone = [entry_id for entry_id, fields in entries if not fields]
        if gone:  # pending, but deleted from the stream since (XDEL, a trim): nothing to apply
            self.redis.xack(STREAM_KEY, GROUP, *gone)
        return [(entry_id, fields) for entry_id, fields in entries if fields]

    def entries(self, drain: bool) -> Iterator[tuple[str, dict[Any, Any]]]:
        """Every entry to apply: the pending ones first, then the new ones as they come (until
        a stop, or — with ``drain`` — until none is left)."""
        while not self.stopping and (batch := self.read(pending=True)):
            yield from batch
        while not self.stopping:
            batch = self.read(pending=False)
            if not batch and drain:
                return
            yield from batch

    def apply(self, entry_id: str, fields: dict[Any, Any]) -> None:
        """Apply one entry in one transaction, then acknowledge it."""
        raw = fields.get(FIELD.encode()) or fields.get(FIELD)
        try:
            message = decode(raw or b"")
        except CodecError as error:
            self.reject(entry_id, raw, f"not a store message: {error}")
            return
        try:
            if isinstance(message.request, Summary):
                self.answer(message)
            else:
                self.write(entry_id, message)
        except StoreError as error:
            self.reject(entry_id, raw, f"the store refused it: {error}")
            return
        except sqlite3.Error as error:
            raise StopWriter(f"cannot write to the store: {error}") from None
        self.redis.xack(STREAM_KEY, GROUP, entry_id)

    def write(self, entry_id: str, message: Message) -> None:
        """Apply a write and record its message id, in one transaction; a message already
        recorded is not applied again."""
        db = self.store.db
        with db.atomic():
            if next(iter(db.execute(SEEN, [message.id])), None) is not None:
                self.counts.repeated += 1
                return
            db.execute(RECORD, [message.id, entry_id, utc_now()])
            message.request.apply(self.store)
        self.counts.applied += 1

    def answer(self, message: Message) -> None:
        """Answer a summary on the list the worker waits on."""
        assert isinstance(message.request, Summary)
        result = {**message.request.apply(self.store), "store": str(self.store.path)}
        if message.reply_to:
            with self.redis.pipeline() as pipe:
                pipe.rpush(message.reply_to, json.dumps(encode_value(result)))
                pipe.expire(message.reply_to, REPLY_TTL)
                pipe.execute()
        self.counts.answered += 1

    def reject(self, entry_id: str, raw: Any, why: str) -> None:
        """Move an entry that cannot be applied aside, with why, and acknowledge it."""
        print(f"writer: entry {entry_id} rejected: {why}", file=sys.stderr, flush=True)
        with self.redis.pipeline() as pipe:
            pipe.xadd(REJECTED_KEY, {"entry": entry_id, "why": why, FIELD: raw or b""})
            pipe.xack(STREAM_KEY, GROUP, entry_id)
            pipe.execute()
        self.counts.rejected += 1

    def run(self, drain: bool = False) -> None:
        """Apply entries until stopped (or, with ``drain``, until none is left), with a
        progress line on stderr every few seconds."""
        self.create_group()
        self.claim_abandoned()
        shown = time.monotonic()
        for entry_id, fields in self.entries(drain):
            self.apply(entry_id, fields)
            if time.monotonic() - shown >= PROGRESS_EVERY:
                print(self.counts.line(), file=sys.stderr, flush=True)
                shown = time.monotonic()
        print(self.counts.line(), file=sys.stderr, flush=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def serve(path: str, url: str, drain: bool = False, check: bool = True) -> int:
    """``python -m store.writer STORE_PATH --from URL [--drain]``; its exit status."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        store = Store(path, check=check)
    except (OSError, sqlite3.Error, StoreError, RuntimeError) as error:
        print(f"error: cannot open the store at {path}: {error}", file=sys.stderr)
        return 2
    writer = StreamWriter(store, Redis.from_url(url, **retrying(asynchronous=False)))

    def stop(signum: int, frame: FrameType | None) -> None:
        writer.stopping = True  # after the entry being applied: it is one transaction

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        writer.run(drain)
    except StopWriter as error:
        print(f"error: {error} (the entry stays in the stream)", file=sys.stderr)
        return 1
    except RedisError as error:
        print(f"error: Redis at {url}: {error}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.close()
    return 0


def main(argv: list[str]) -> int:
    """The command line of ``python -m store.writer STORE_PATH --from URL``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m store.writer",
        description="Write a distributed crawl's store calls (a Redis Stream) into the store: "
        "the only process that writes STORE_PATH. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    parser.add_argument("store", metavar="STORE_PATH", help="the SQLite store to write")
    parser.add_argument(
        "--from", dest="url", required=True, metavar="URL",
        help="the frontier's Redis, redis://HOST:PORT/N (the crawl's FRONTIER_URL)",
    )  # fmt: skip
    parser.add_argument(
        "--drain", action="store_true",
        help="exit once every entry in the stream is applied instead of waiting for more",
    )  # fmt: skip
    parser.add_argument(
        "--skip-check", dest="check", action="store_false",
        help="do not run PRAGMA quick_check on the store first (it reads the whole file)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    problem = redis_url_problem(args.url)
    if problem is not None:
        parser.exit(2, f"error: --from {args.url}: {problem}\n")
    return serve(args.store, args.url, drain=args.drain, check=args.check)
