"""``scrapy crawl``, with the spider's arguments checked first and an honest end.

Differences from Scrapy's own command: a misspelt ``-a`` argument, a bad value of one (or of
any project setting, :mod:`crawler.config`), a place where no store can be (``STORE_PATH``)
and a live crawl without a real ``CONTACT`` are a one-line usage error (``error: …``, exit
status 2, Scrapy's), before Scrapy starts; ``--help`` lists the spiders' arguments; a crawl
that could not reach its section page (no network, DNS failure) ends with a short error that
says how to replay the recorded site instead; tracebacks of expected network failures are not
printed. The last line says how the crawl ended and how long it took, and the exit status says
it to a scheduler: :data:`EXIT_CODES`, 0 only for a crawl that finished normally.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader

from crawler.config import (
    add_arguments_help,
    check_project_settings,
    check_spider_arguments,
    usage_error,
    warn_unknown_settings,
)
from crawler.history import parse_recheck
from crawler.spiders.section import STAT_SECTION_ERROR, STAT_SECTION_REACHED, parse_arguments
from store import Store, StoreError
from store.writer import ASYNCIO_REACTOR

if TYPE_CHECKING:
    import argparse

NETWORK_ERRORS = (
    "CannotResolveHostError",
    "DownloadConnectionRefusedError",
    "DownloadTimeoutError",
    "DownloadFailedError",
    "DNSLookupError",
    "ConnectionRefusedError",
    "TCPTimedOutError",
    "TimeoutError",
    "ConnectError",
    "NoRouteError",
    "ConnectionLost",
    "ResponseNeverReceived",
)

EXIT_UNREACHABLE = 1
EXIT_OTHER = 7
# The exit status of each way a crawl can end (the crawl's finish reason); README *Exit codes*.
EXIT_CODES: dict[str, int] = {
    "finished": 0,  # the crawl read what it set out to read
    "unreachable": EXIT_UNREACHABLE,  # the section page could not be fetched (network)
    # 2: Scrapy's own exit status for a usage error (bad argument or setting), before crawling
    "shutdown": 3,  # stopped by Ctrl-C / SIGTERM: resume it with JOBDIR
    "store_full": 4,  # the disk or STORE_MAX_PAGES is full: earlier items are kept
    "store_error": 5,  # any other failed write to the store
    "layout_unrecognized": 6,  # the section page showed no article the parser recognizes
    "store_timeout": 8,  # the store's writer did not answer within STORE_WRITER_TIMEOUT
    "coverage_dropped": 9,  # recognized articles or field coverage far below recent crawls
    # 7 (EXIT_OTHER): any other finish reason (a Scrapy CLOSESPIDER_* limit, a cancelled crawl)
}


def exit_code(reason: str) -> int:
    """The exit status of a crawl that ended for ``reason``."""
    return EXIT_CODES.get(reason, EXIT_OTHER)


def ending_line(stats: dict[str, object], reason: str, status: int) -> str:
    """``Crawl ended: finished after 12.3 s (exit status 0)``."""
    elapsed = stats.get("elapsed_time_seconds")
    took = f" after {elapsed:.1f} s" if isinstance(elapsed, int | float) else ""
    return f"Crawl ended: {reason}{took} (exit status {status})"


# Where Scrapy logs failed downloads with a traceback.
QUIETED_LOGGERS = (
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.core.scraper",
    "scrapy.core.engine",
)


class QuietNetworkErrors(logging.Filter):
    """Drops the traceback (not the message) of log records about expected network failures."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record; strip its traceback when it is a network failure."""
        failure_type = record.exc_info[0] if record.exc_info else None
        if failure_type is not None and failure_type.__name__ in NETWORK_ERRORS:
            record.exc_info = None
            record.exc_text = None
        return True


def check_store(path: str, quick_check: bool = True) -> None:
    """Open (create, migrate) the store at ``path`` once before crawling — checked with
    ``PRAGMA quick_check`` unless not ``quick_check`` — so that a path that cannot hold one (a
    folder, a read-only file or folder, a damaged file) is a one-line error now rather than
    tracebacks from the writer process."""
    if Path(path).is_dir():
        raise UsageError(f"STORE_PATH={path}: is a folder; name a file, e.g. {path}/wire.db")
    try:
        Store(path, check=quick_check).close()
    except (OSError, sqlite3.Error, StoreError) as error:
        raise UsageError(f"STORE_PATH={path}: cannot open a store there: {error}") from None


def check_frontier(url: str) -> None:
    """Reach the Redis of a distributed crawl once before crawling: one line where it cannot
    be reached, rather than tracebacks from the scheduler."""
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        with Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5) as redis:
            redis.ping()
    except RedisError as error:
        raise UsageError(f"FRONTIER_URL={url}: cannot reach Redis there: {error}") from None


class Command(ScrapyCrawl):
    """Run a spider of the project, by name."""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Scrapy's options; ``--help`` ends with each spider's ``-a`` arguments."""
        super().add_options(parser)
        assert self.settings is not None
        add_arguments_help(parser, self.settings)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's options, then every check: a usage error (a bad argument or setting) is one
        line, ``error: …``, and exit status 2, before Scrapy starts (or logs) anything."""
        super().process_options(args, opts)
        try:
            self.check(args, opts)
        except UsageError as error:
            sys.exit(usage_error(error))
        warn_unknown_settings(opts)

    def check(self, args: list[str], opts: argparse.Namespace) -> None:
        """Refuse a bad spider name, ``-a`` argument or setting, and a place no store can be."""
        if len(args) != 1:
            raise UsageError("name one spider, e.g. scrapy crawl africa")
        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        try:
            spidercls = loader.load(args[0])
        except KeyError:
            names = ", ".join(sorted(loader.list()))
            raise UsageError(f"no spider {args[0]!r}; the project has: {names}") from None
        check_spider_arguments(spidercls, opts.spargs)
        parse_arguments(opts.spargs.get("since"), opts.spargs.get("max_pages"))
        parse_recheck(opts.spargs.get("recheck"))
        reactor = self.settings.get("TWISTED_REACTOR")
        if reactor != ASYNCIO_REACTOR:
            raise UsageError(
                f"TWISTED_REACTOR must stay {ASYNCIO_REACTOR}, not {reactor!r}: the store's "
                "writer process talks to the crawl through asyncio"
            )
        check_project_settings(self.settings)
        frontier = self.settings.get("FRONTIER_URL")
        if frontier:  # a worker of a distributed crawl: no store here, its Redis instead
            check_frontier(str(frontier))
        else:
            check_store(self.settings.get("STORE_PATH"), self.settings.getbool("STORE_QUICK_CHECK"))

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Crawl (the arguments are checked), and turn an unreachable site into a clear error."""
        assert self.crawler_process is not None
        quiet = QuietNetworkErrors()
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).addFilter(quiet)
        crawler = self.crawler_process.create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        reason = str(stats.get("finish_reason", "unknown"))
        if reason == "finished" and not stats.get(STAT_SECTION_REACHED):
            # the section page was requested and failed (a resumed JOBDIR crawl may not
            # request it at all: that is no failure)
            error = stats.get(STAT_SECTION_ERROR)
            if error is not None:
                reason = "unreachable"
                print(
                    f"error: could not fetch the section page ({error}).\n"
                    "The live site cannot be reached from here. To replay the recorded site:\n"
                    f"  scrapy crawl {args[0]} -s FIXTURES_REPLAY=fixtures/sputnikglobe-africa",
                    file=sys.stderr,
                )
        self.exitcode = exit_code(reason)
        print(ending_line(stats, reason, self.exitcode), flush=True)
