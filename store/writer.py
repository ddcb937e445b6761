"""The store's writer process: a crawl's writes run in a process of their own.

A crawl parses on Scrapy's reactor thread; storing a page costs about as much again (zlib,
SQLite, building rows). In a thread of the crawl process that work fights the reactor for the
GIL: the writer gives the GIL up in every zlib and SQLite call (about 40 per article) and each
time waits for the busy reactor thread to hand it back, so the writes fell behind and held the
crawl back (``benchmarks/README.md``, round 4). In a process of its own the writes run on the
other core with no GIL to share; the crawl only pickles each record and writes it to a pipe.

The protocol is private to this module: frames of a 4-byte big-endian length and a pickle,
on the child's stdin (requests) and stdout (replies), one reply per request, in order.

* request: a :data:`store.protocol.Request` (one dataclass per store call), or
  :class:`store.protocol.OpenStore` with the store's path (always first).
* reply: ``("ok", result)`` or ``("error", kind, message)``; the crawl raises the error again
  as :class:`StoreError`, the same :mod:`sqlite3` error class, or :class:`WriterError`.

The child ignores SIGINT (Ctrl-C stops the crawl, which then finishes its writes and closes
the pipe) and ends when its stdin closes — also when the crawl process is killed, after the
request it is running (each write is one transaction, so a killed crawl leaves whole items).
A request the child does not answer within the client's ``timeout`` (a lock held elsewhere for
longer, a hung process) raises :class:`WriterTimeout`; the child is then killed, which rolls
its open transaction back whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pickle
import signal
import sqlite3
import struct
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from domain.pages import ListingPage
from domain.records import ArticleRecord, CrawlRecord, FetchRecord
from store.db import Store
from store.errors import StoreError
from store.history import SaveResult
from store.protocol import (
    REQUESTS,
    BeginCrawl,
    FinishCrawl,
    LimitPages,
    OpenStore,
    Request,
    SaveArticle,
    SaveDiscovery,
    SaveFetch,
    SaveListing,
    Summary,
)

T = TypeVar("T")

HEADER = struct.Struct(">I")
# The Twisted reactor a crawl must run on: the client uses its asyncio loop.
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


# A pipe holds 64 kB by default, less than one article's page: the crawl's loop would then
# pass each request on in several turns while the writer waits. Linux lets a process widen its
# pipes to /proc/sys/fs/pipe-max-size (1 MB unless changed): several articles then fit.
PIPE_SIZE = 1 << 20


def widen_pipe(fd: int, size: int = PIPE_SIZE) -> int:
    """Ask for a pipe buffer of ``size`` bytes on ``fd``; the size it has (unchanged where the
    system refuses or has no such setting)."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    getter = getattr(fcntl, "F_GETPIPE_SZ", None)
    if setter is None or getter is None:
        return 0
    with contextlib.suppress(OSError):  # refused: the pipe keeps its size, which works
        fcntl.fcntl(fd, setter, size)
    return int(fcntl.fcntl(fd, getter))


class WriterError(RuntimeError):
    """The writer process failed outside the store's own errors, or is gone."""


class WriterTimeout(WriterError):
    """The writer process did not answer a request in time: it was stopped."""


def frame(message: Any) -> bytes:
    """``message`` pickled, behind its length."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def read_frame(stream: BinaryIO) -> Any | None:
    """The next message on ``stream``; None at its end (a cut-off frame counts as the end)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # frames come only from the crawl that started us


def error_reply(error: BaseException) -> tuple[str, str, str]:
    """The reply that carries ``error`` back to the crawl."""
    if isinstance(error, StoreError):
        return ("error", "StoreError", str(error))
    if isinstance(error, sqlite3.Error):
        return ("error", f"sqlite3.{type(error).__name__}", str(error))
    return ("error", type(error).__name__, str(error))


def reraise(kind: str, message: str) -> BaseException:
    """The exception a reply's error becomes in the crawl."""
    if kind == "StoreError":
        return StoreError(message)
    if kind.startswith("sqlite3."):
        cls = getattr(sqlite3, kind.removeprefix("sqlite3."), sqlite3.Error)
        if isinstance(cls, type) and issubclass(cls, sqlite3.Error):
            return cls(message)
        return sqlite3.Error(message)
    return WriterError(f"store writer: {kind}: {message}")


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until ``requests`` ends, then close the store."""
    store: Store | None = None
    try:
        while (request := read_frame(requests)) is not None:
            try:
                if isinstance(request, OpenStore):
                    if store is not None:
                        raise WriterError("the store is already open")
                    store = Store(request.path, check=request.check)
                    result: Any = None
                elif not isinstance(request, REQUESTS) or store is None:
                    raise WriterError(f"not a store request: {request!r}"[:200])
                else:
                    result = request.apply(store)
                reply: tuple[Any, ...] = ("ok", result)
            except Exception as error:  # every failure goes back to the crawl, which decides
                reply = error_reply(error)
            replies.write(frame(reply))
            replies.flush()
    finally:
        if store is not None:
            store.close()


def main() -> int:
    """``python -m store.writer [PATH]``: serve the crawl that started this process (PATH,
    the store's, only shows in ``ps``; the crawl's first request names the store).

    ``python -m store.writer STORE_PATH --from redis://HOST:PORT/N [--drain]``: be the store
    writer of a distributed crawl instead (:mod:`store.stream_writer`)."""
    if "--from" in sys.argv[1:]:
        from store.stream_writer import main as stream_main

        return stream_main(sys.argv[1:])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies may reach the pipe
    serve(sys.stdin.buffer, stdout)
    return 0


class _Replies(asyncio.Protocol):
    """Reads the child's replies and settles the waiting requests, in order."""

    def __init__(self, client: WriterClient) -> None:
        self.client = client
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self.buffer)
            end = HEADER.size + size
            if len(self.buffer) < end:
                return
            reply = pickle.loads(self.buffer[HEADER.size : end])  # replies of our own child
            del self.buffer[:end]
            self.client._settle(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(exc)


class WriterClient:
    """The crawl's side: starts ``python -m store.writer`` and sends it the store calls.

    It implements :class:`store.protocol.AsyncStoreWriter`. Use it from coroutines on the
    running asyncio loop (Scrapy's asyncio reactor): ``client = await WriterClient.start(path)``,
    ``await client.save_article(fetch, record)``, ``await client.close()``.
    """

    def __init__(self, process: subprocess.Popen[bytes], timeout: float | None = None) -> None:
        self.process = process
        self.timeout = timeout
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.gone: str | None = None
        self.stalled = False
        self.transport: asyncio.WriteTransport | None = None

    @classmethod
    async def start(
        cls, path: str | Path, timeout: float | None = None, check: bool = False
    ) -> WriterClient:
        """Start the writer process and open the store at ``path`` in it (with its
        ``PRAGMA quick_check`` when ``check``). A request not answered within ``timeout``
        seconds raises :class:`WriterTimeout` and stops the process (None: wait for ever)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise WriterError(
                "the store writer needs a running asyncio loop: keep Scrapy's default "
                f"TWISTED_REACTOR ({ASYNCIO_REACTOR})"
            ) from None
        env = dict(os.environ)
        # the child imports this project as the crawl did, wherever it was started from
        roots = [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, roots))
        process = subprocess.Popen(
            # the path is for ``ps`` only: the store is opened by the first request
            [sys.executable, "-m", "store.writer", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        client = cls(process, timeout)
        assert process.stdin is not None and process.stdout is not None
        widen_pipe(process.stdin.fileno())
        client.transport, _ = await loop.connect_write_pipe(asyncio.Protocol, process.stdin)
        await loop.connect_read_pipe(lambda: _Replies(client), process.stdout)
        await client.call(OpenStore(str(path), check))
        return client

    async def limit_pages(self, pages: int) -> None:
        """:meth:`store.Store.limit_pages`, in the writer process."""
        await self.call(LimitPages(pages))

    async def begin_crawl(self, crawl: CrawlRecord) -> None:
        """:meth:`store.Store.begin_crawl`, in the writer process."""
        await self.call(BeginCrawl(crawl))

    async def save_article(self, fetch: FetchRecord, article: ArticleRecord) -> SaveResult:
        """:meth:`store.Store.save_article`, in the writer process."""
        return _typed(SaveResult, await self.call(SaveArticle(fetch, article)))

    async def save_listing(self, fetch: FetchRecord, listing: ListingPage, section: str) -> int:
        """:meth:`store.Store.save_listing`, in the writer process."""
        return _typed(int, await self.call(SaveListing(fetch, listing, section)))

    async def save_fetch(self, fetch: FetchRecord) -> int:
        """:meth:`store.Store.save_fetch`, in the writer process."""
        return _typed(int, await self.call(SaveFetch(fetch)))

    async def save_discovery(self, fetch: FetchRecord, page: ListingPage, source: str) -> int:
        """:meth:`store.Store.save_discovery`, in the writer process."""
        return _typed(int, await self.send(SaveDiscovery(fetch, page, source)))

    async def finish_crawl(
        self, crawl_id: str, finished_at: str, reason: str, stats: dict[str, Any]
    ) -> None:
        """:meth:`store.Store.finish_crawl`, in the writer process."""
        await self.call(FinishCrawl(crawl_id, finished_at, reason, stats))

    async def summary(self, crawl_id: str | None = None) -> dict[str, Any]:
        """:meth:`store.Store.summary`, in the writer process."""
        return _typed(dict, await self.call(Summary(crawl_id)))

    async def call(self, request: Request | OpenStore) -> Any:
        """Send one request and wait for its answer, at most ``timeout`` seconds: a writer
        that does not answer by then (a lock held elsewhere for ever, a stopped or hung
        process) is stopped, and this and every later call fail (:class:`WriterTimeout`).
        Stopping it mid-write is safe: each write is one transaction."""
        future = self.send(request)
        if self.timeout is None:
            return await future
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self.stall()
            raise WriterTimeout(
                f"the store writer did not answer within {self.timeout:g} s (it was stopped)"
            ) from None

    def stall(self) -> None:
        """Give up on a writer that stopped answering: kill it, fail whatever waits."""
        self.stalled = True
        self.gone = f"it did not answer within {self.timeout:g} s"
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        if self.transport is not None:
            self.transport.close()
        self._lost(None)

    def send(self, request: Request | OpenStore) -> asyncio.Future[Any]:
        """Send one request now (requests are answered in order); the future settles with its
        result or raises its error."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.gone is not None or self.transport is None or self.transport.is_closing():
            future.set_exception(WriterError(f"the store writer is gone ({self.gone})"))
            return future
        self.pending.append(future)
        self.transport.write(frame(request))
        return future

    def _settle(self, reply: tuple[Any, ...]) -> None:
        future = self.pending.popleft()
        if future.done():
            return
        if reply[0] == "ok":
            future.set_result(reply[1])
        else:
            future.set_exception(reraise(reply[1], reply[2]))

    def _lost(self, exc: Exception | None) -> None:
        if self.gone is None:
            self.gone = f"it exited with {self.process.poll()}" if exc is None else str(exc)
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(WriterError(f"the store writer is gone ({self.gone})"))

    def peak_rss_kb(self) -> int | None:
        """The writer process's peak resident memory so far (``VmHWM``, Linux), in kB.

        Read from ``/proc`` while it runs: its ``ru_maxrss`` after it exits would count the
        crawl process's pages it shared between ``fork`` and ``exec``."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    async def close(self) -> int:
        """Close the pipe (the child closes the store and exits); its exit status."""
        if self.transport is not None:
            self.transport.close()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.process.wait)


def _typed(kind: type[T], result: object) -> T:
    """A reply's result, checked to be of the type its call returns."""
    if not isinstance(result, kind):
        raise WriterError(f"store writer: expected a {kind.__name__}, got {result!r}"[:200])
    return result


if __name__ == "__main__":
    sys.exit(main())
