"""``scrapy crawl``, with the spider's arguments checked first and a clear end.

Differences from Scrapy's own command: a bad ``-a`` argument or setting (``STORE_PATH``
included) is a one-line usage error; a
crawl that could not reach its section page (no network, DNS failure) ends with a short
error that says how to replay the recorded site instead, and exit status 1; tracebacks of
expected network failures are not printed.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from crawler.fixtures import FixtureError, fixture_set_path
from crawler.history import check_settings, parse_recheck
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


def check_store(path: str) -> None:
    """Open (create, migrate) the store at ``path`` once before crawling, so that a path that
    cannot hold one is a one-line error now rather than tracebacks from the writer process."""
    if Path(path).is_dir():
        raise UsageError(f"STORE_PATH: {path} is a folder; name a file, e.g. {path}/wire.db")
    try:
        Store(path).close()
    except (OSError, sqlite3.Error, StoreError) as error:
        raise UsageError(f"STORE_PATH: cannot open a store at {path}: {error}") from None


class Command(ScrapyCrawl):
    """Run a spider of the project, by name."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Check the arguments, crawl, and turn an unreachable site into a clear error."""
        if len(args) != 1:
            raise UsageError("name one spider, e.g. scrapy crawl africa")
        parse_arguments(opts.spargs.get("since"), opts.spargs.get("max_pages"))
        parse_recheck(opts.spargs.get("recheck"))
        assert self.settings is not None
        check_settings(self.settings)
        reactor = self.settings.get("TWISTED_REACTOR")
        if reactor != ASYNCIO_REACTOR:
            raise UsageError(
                f"TWISTED_REACTOR must stay {ASYNCIO_REACTOR}, not {reactor!r}: the store's "
                "writer process talks to the crawl through asyncio"
            )
        quiet = QuietNetworkErrors()
        for name in QUIETED_LOGGERS:
            logging.getLogger(name).addFilter(quiet)
        assert self.crawler_process is not None
        replay = self.settings.get("FIXTURES_REPLAY")
        try:
            if replay:
                fixture_set_path(replay)
        except FixtureError as bad_set:
            raise UsageError(str(bad_set)) from None
        check_store(self.settings.get("STORE_PATH"))
        crawler = self.crawler_process.create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        stats = crawler.stats.get_stats() if crawler.stats else {}
        if not stats.get(STAT_SECTION_REACHED):
            reason = stats.get(STAT_SECTION_ERROR, "no response")
            print(
                f"error: could not fetch the section page ({reason}).\n"
                "The live site cannot be reached from here. To replay the recorded site:\n"
                f"  scrapy crawl {args[0]} -s FIXTURES_REPLAY=fixtures/sputnik-africa",
                file=sys.stderr,
            )
            self.exitcode = 1
