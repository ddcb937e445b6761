"""Command line for a store: ``python -m store {export,summary,health,serve,metadata,reparse}
STORE_PATH``.

A thin wrapper over :class:`store.Store` and :mod:`store.metadata`. Errors are reported as
``error: ...`` on stderr with exit status 2, never as a traceback. ``reparse`` needs the
crawler's parser: it imports :mod:`pipelines.reparse` when run, so the store itself never does.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlite_utils import Database

from store.db import Store
from store.errors import StoreError
from store.health import DEFAULT_WINDOW, format_health, health_report, latest_crawl
from store.metadata import metadata_json
from store.schema import schema_version
from store.summary import format_summary

EXPORT_FORMATS = ("jsonl",)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001


class CommandError(Exception):
    """A problem to report to the user as ``error: <message>``."""


def open_store(path: str) -> Store:
    """Open an existing store, or explain why it cannot be opened."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no store at {path}")
    try:
        with Database(file) as db:
            version = schema_version(db)
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{path} is not a store: {error}") from error
    if version == 0:
        raise CommandError(f"{path} is not a store (it has no store schema)")
    try:
        return Store(file)
    except (sqlite3.DatabaseError, RuntimeError) as error:
        raise CommandError(f"cannot open {path}: {error}") from error


def write_lines(lines: Iterable[str]) -> None:
    """Write lines to stdout as UTF-8, whatever the terminal's encoding."""
    out = sys.stdout.buffer
    try:
        for line in lines:
            out.write(line.encode("utf-8") + b"\n")
        out.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def command_export(args: argparse.Namespace) -> int:
    """Write every article's current version (or every version) as one JSON object per line."""
    with open_store(args.store) as store:
        lines = store.export_version_lines() if args.all_versions else store.export_article_lines()
        write_lines(lines)
    return 0


def command_summary(args: argparse.Namespace) -> int:
    """Print the store's counts and the command to browse it."""
    with open_store(args.store) as store:
        try:
            summary = store.summary(args.crawl)
        except StoreError as error:
            raise CommandError(str(error)) from error
    write_lines([format_summary(summary, args.store)])
    return 0


def command_health(args: argparse.Namespace) -> int:
    """Print a crawl's coverage against the crawls before it; exit status 1 when it dropped."""
    if args.last < 1:
        raise CommandError("--last must be 1 or more")
    with open_store(args.store) as store:
        crawl = args.crawl or latest_crawl(store.db)
        if crawl is None:
            raise CommandError(f"{args.store} holds no crawl")
        try:
            report = health_report(store.db, crawl, args.last)
        except LookupError as error:
            raise CommandError(str(error)) from error
    write_lines([format_health(report)])
    return 1 if report.dropped else 0


def command_reparse(args: argparse.Namespace) -> int:
    """Re-parse every stored article page with the current parser, without the network."""
    from pipelines.reparse import format_counts, reparse_store  # the parser lives in crawler/

    if args.progress_every < 0:
        raise CommandError("--progress-every must be 0 or more")
    with open_store(args.store) as store:
        counts = reparse_store(store, progress_every=args.progress_every)
    write_lines([f"Re-parsed {args.store}: {format_counts(counts)}"])
    return 0


def datasette_command(
    store_path: str, metadata_path: str, host: str, port: int, options: Sequence[str]
) -> list[str]:
    """The command that serves a store read-only with its metadata."""
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        store_path,
        "--metadata",
        metadata_path,
        "--host",
        host,
        "--port",
        str(port),
        *options,
    ]


def command_serve(args: argparse.Namespace) -> int:
    """Run Datasette on the store with its metadata, until interrupted."""
    open_store(args.store).close()  # refuse a missing file or a non-store before serving
    with tempfile.TemporaryDirectory(prefix="store-metadata-") as folder:
        metadata_path = Path(folder) / "metadata.json"
        metadata_path.write_text(metadata_json(args.store), encoding="utf-8")
        command = datasette_command(
            args.store, str(metadata_path), args.host, args.port, args.datasette_options
        )
        server = subprocess.Popen(command)
        # SIGTERM (a service manager, ``kill``) stops Datasette as Ctrl-C does: passed on to
        # it, never leaving it running without us
        previous = signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
            return 130
        finally:
            signal.signal(signal.SIGTERM, previous)


def command_metadata(args: argparse.Namespace) -> int:
    """Print the Datasette metadata keyed for this store file (which need not exist yet)."""
    write_lines([metadata_json(args.store)])
    return 0


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    example: str,
) -> argparse.ArgumentParser:
    """Add a subcommand whose help is its handler's docstring plus an example."""
    summary = (handler.__doc__ or "").strip()
    parser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("store", metavar="STORE_PATH", help="the store's SQLite file")
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m store`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m store",
        description="Export, summarize and browse a wirearchive store.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = add_command(
        commands,
        "export",
        command_export,
        "python -m store export data/wire.db --format jsonl > articles.jsonl\n"
        "  python -m store export data/wire.db --all-versions > versions.jsonl",
    )
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default="jsonl", help="output format (jsonl)"
    )
    export.add_argument(
        "--all-versions",
        action="store_true",
        help="every version of every article, each with its change from the one before",
    )
    summary = add_command(
        commands, "summary", command_summary, "python -m store summary data/wire.db"
    )
    summary.add_argument("--crawl", metavar="CRAWL_ID", help="count the fetches of one crawl")
    health = add_command(
        commands,
        "health",
        command_health,
        "python -m store health data/wire.db --last 5 || echo 'coverage dropped'",
    )
    health.add_argument(
        "--crawl", metavar="CRAWL_ID", help="judge this crawl (default: the latest)"
    )
    health.add_argument(
        "--last",
        type=int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"compare with the last N crawls (default {DEFAULT_WINDOW})",
    )
    serve = add_command(
        commands,
        "serve",
        command_serve,
        "python -m store serve data/wire.db --port 8001\n"
        "  python -m store serve data/wire.db -- --get /wire/crawl_log.json",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "datasette_options",
        nargs="*",
        metavar="-- DATASETTE_OPTION",
        help="further options for datasette serve, after --",
    )
    reparse = add_command(
        commands, "reparse", command_reparse, "python -m store reparse data/wire.db"
    )
    reparse.add_argument(
        "--progress-every",
        type=int,
        default=500,
        metavar="N",
        help="report progress on stderr every N pages (0: never; default 500)",
    )
    add_command(
        commands,
        "metadata",
        command_metadata,
        "python -m store metadata data/wire.db > metadata.json\n"
        "  datasette data/wire.db -m metadata.json",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
