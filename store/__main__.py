"""Command line for a store: ``python -m store {export,import,summary,health,serve,metadata,reparse,
evidence,schedule} STORE_PATH``, ``verify FILE.wacz`` and ``keygen KEYFILE`` for evidence
bundles, and ``python -m store frontier REDIS_URL`` (a distributed crawl's shared frontier).

A thin wrapper over :class:`store.Store` and :mod:`store.metadata`. Errors are reported as
``error: ...`` on stderr with exit status 2, never as a traceback. ``reparse`` needs the
crawler's parser: it imports :mod:`pipelines.reparse` when run (``import``,
:mod:`pipelines.warc_import`), so the store itself never does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlite_utils import Database

from domain.times import iso_z, parse_iso
from store.crawl_health import DEFAULT_WINDOW, format_health, health_report, latest_crawl
from store.db import Store
from store.errors import StoreError
from store.frontier import FrontierError, format_state, frontier_state
from store.health import read_only_reason, read_only_uri
from store.metadata import metadata_json, setting_options
from store.schedule import DEFAULT_RECHECK_SCHEDULE
from store.schema import schema_version
from store.summary import format_summary

EXPORT_FORMATS = ("jsonl", "warc", "wacz")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001


class CommandError(Exception):
    """A problem to report to the user as ``error: <message>``."""


def open_store(path: str, check: bool = True, writing: bool = False) -> Store:
    """Open an existing store, or explain why it cannot be opened.

    ``PRAGMA quick_check`` first, unless not ``check``: a damaged store is an error before
    anything is read. A store that cannot be written is an error for a ``writing`` command and
    opened read-only for any other (a store on read-only media can be read and served).
    """
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"no store at {path}")
    read_only = read_only_reason(file) is not None
    try:
        with Database(sqlite3.connect(read_only_uri(file), uri=True)) as db:
            version = schema_version(db)
    except sqlite3.DatabaseError as error:
        raise CommandError(f"{path} is not a store: {error}") from error
    if version == 0:
        raise CommandError(f"{path} is not a store (it has no store schema)")
    try:
        return Store(file, check=check, read_only=read_only and not writing)
    except (sqlite3.DatabaseError, RuntimeError, StoreError) as error:
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
    """Write every article's current version (or every version) as one JSON object per line,
    or the stored HTTP exchanges as a WARC or WACZ file."""
    if args.format != "jsonl":
        return command_export_warc(args)
    if args.output or args.url or args.since:
        raise CommandError("-o, --url and --since go with --format warc or wacz")
    with open_store(args.store, args.check) as store:
        lines = store.export_version_lines() if args.all_versions else store.export_article_lines()
        write_lines(lines)
    return 0


def command_export_warc(args: argparse.Namespace) -> int:
    """``export --format warc|wacz``: the chosen exchanges into ``-o FILE``."""
    from store.warc_export import Selection, export_file  # warcio and wacz: only when used

    if not args.output:
        raise CommandError(f"--format {args.format} writes a file: give it with -o FILE")
    since = ""
    if args.since:
        try:
            since = iso_z(parse_iso(args.since))
        except ValueError as error:
            raise CommandError(f"--since {args.since!r} is not an ISO 8601 time") from error
    selection = Selection(tuple(args.url or ()), since, args.all_versions)
    output = Path(args.output)
    with open_store(args.store, args.check) as store:
        try:
            counts = export_file(store.db, output, args.format, selection, Path(args.store).stem)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror or error}") from error
    print(
        f"Exported {counts.responses} responses and {counts.revisits} revisits of "
        f"{len(counts.crawls)} crawls to {output}",
        file=sys.stderr,
    )
    return 0


def command_summary(args: argparse.Namespace) -> int:
    """Print the store's counts and the command to browse it."""
    with open_store(args.store, args.check) as store:
        try:
            summary = store.summary(args.crawl)
        except StoreError as error:
            raise CommandError(str(error)) from error
    write_lines([format_summary(summary, args.store)])
    return 0


def command_schedule(args: argparse.Namespace) -> int:
    """Push a distributed crawl's seeds — each section's start and its articles due for a
    recheck — into the frontier, so its workers never need the store."""
    from redis import Redis
    from redis.exceptions import RedisError

    from store.schedule import ScheduleError, parse_schedule
    from store.seeds import due_rechecks, push_seeds
    from store.stream import redis_url_problem

    if problem := redis_url_problem(args.to):
        raise CommandError(f"--to {args.to}: {problem}")
    try:
        rules = parse_schedule(args.schedule)
    except ScheduleError as error:
        raise CommandError(f"--schedule: {error}") from error
    try:
        now = parse_iso(args.now) if args.now else dt.datetime.now(dt.UTC)
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 time: {args.now!r}") from None
    store = open_store(args.store, args.check) if Path(args.store).exists() else None
    try:
        sections = args.section or (store.sections() if store is not None else [])
        if not sections:
            raise CommandError("name a section (--section africa): the store lists none yet")
        due = {s: due_rechecks(store, s, args.recheck, rules, now) for s in sections}
    finally:
        if store is not None:
            store.close()
    redis = Redis.from_url(args.to)
    try:
        for section in sections:
            pushed = push_seeds(redis, section, section, due[section])
            fresh = "a new round" if pushed.round_started else "the round under way"
            print(f"Scheduled {section}: its start and {pushed.rechecks} rechecks ({fresh})")
    except RedisError as error:
        raise CommandError(f"Redis at {args.to}: {error}") from error
    finally:
        redis.close()
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
    with open_store(args.store, args.check, writing=True) as store:
        counts = reparse_store(store, progress_every=args.progress_every)
    write_lines([f"Re-parsed {args.store}: {format_counts(counts)}"])
    return 0


def command_import(args: argparse.Namespace) -> int:
    """Import WARC, WARC.gz and WACZ captures: every HTML response read as a crawl reads it."""
    from pipelines.warc_import import format_counts, import_files  # the parser: crawler/

    paths = [Path(name) for name in args.files]
    for path in paths:
        if not path.is_file():
            raise CommandError(f"no file at {path}")
    if args.progress_every < 0:
        raise CommandError("--progress-every must be 0 or more")
    # a store to be: the archive's history may come before any crawl
    if Path(args.store).exists():
        store = open_store(args.store, args.check, writing=True)
    else:
        store = Store(args.store)
    with store:
        counts = import_files(store, paths, progress_every=args.progress_every)
    write_lines([f"Imported into {args.store}: {format_counts(counts)}"])
    return 0


def command_evidence(args: argparse.Namespace) -> int:
    """Write one article's proof as a WACZ: the raw exchange of every fetch that showed each
    version, the extracted record, its history and diffs, the discovery and provenance rows,
    every file's SHA-256 (optionally signed)."""
    from store.evidence import EvidenceError, write_bundle  # the wacz tool: only when used
    from store.lookup import find_article
    from store.signing import KeyFileError, load_private

    key = None
    if args.sign:
        try:
            key = load_private(Path(args.sign))
        except (OSError, KeyFileError) as error:
            reason = getattr(error, "strerror", None) or error
            raise CommandError(f"--sign {args.sign}: {reason}") from error
    output = Path(args.output)
    with open_store(args.store, args.check) as store:
        article = find_article(store.db.conn, args.url)
        if article is None:
            raise CommandError(f"no article in {args.store} for {args.url}")
        try:
            counts = write_bundle(store.db, article, output, args.version, key)
        except EvidenceError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror or error}") from error
    versions = ", ".join(map(str, counts.versions))
    signed = f", signed by key {counts.signed_by}" if counts.signed_by else ""
    print(f"Wrote {output}: versions {versions}, {counts.fetches} fetches{signed}", file=sys.stderr)
    return 0


def command_verify(args: argparse.Namespace) -> int:
    """Check an evidence bundle again: every file's SHA-256, the signature, each raw page's
    digest and its re-parse against the recorded text; exit status 1 when a check fails."""
    from pipelines.evidence_verify import NotABundle, verify_bundle  # the parser: crawler/
    from store.signing import KeyFileError, load_public

    key = None
    if args.key:
        try:
            key = load_public(Path(args.key))
        except (OSError, KeyFileError) as error:
            reason = getattr(error, "strerror", None) or error
            raise CommandError(f"--key {args.key}: {reason}") from error
    if not Path(args.bundle).is_file():
        raise CommandError(f"no file at {args.bundle}")
    try:
        checks = verify_bundle(Path(args.bundle), key)
    except NotABundle as error:
        raise CommandError(str(error)) from error
    failed = [check for check in checks if check.ok is False]
    summary = f"{len(failed)} of {len(checks)} checks failed" if failed else "verified"
    write_lines([*(check.line() for check in checks), f"{args.bundle}: {summary}"])
    return 1 if failed else 0


def command_keygen(args: argparse.Namespace) -> int:
    """Make an Ed25519 key to sign evidence bundles: the private key in KEYFILE (readable by
    its owner only), the public key in KEYFILE.pub."""
    from store.signing import fingerprint, generate_key, public_path, raw_public

    path = Path(args.keyfile)
    if path.exists() or public_path(path).exists():
        raise CommandError(f"{path} or {public_path(path)} exists already: not overwritten")
    try:
        public = generate_key(path)
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error.strerror or error}") from error
    write_lines(
        [f"Wrote {path} (private) and {public_path(path)} (key {fingerprint(raw_public(public))})"]
    )
    return 0


def datasette_command(
    store_path: str,
    metadata_path: str,
    host: str,
    port: int,
    options: Sequence[str],
    immutable: bool = False,
) -> list[str]:
    """The command that serves a store read-only with its metadata (in Datasette's immutable
    mode when the file cannot be written: a store on read-only media)."""
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        *(["--immutable", store_path] if immutable else [store_path]),
        "--metadata",
        metadata_path,
        "--host",
        host,
        "--port",
        str(port),
        *setting_options(),
        *options,
    ]


def command_serve(args: argparse.Namespace) -> int:
    """Run Datasette on the store with its metadata, until interrupted."""
    # refuse a missing, damaged or non-store file before serving
    open_store(args.store, args.check).close()
    immutable = read_only_reason(Path(args.store)) is not None
    with tempfile.TemporaryDirectory(prefix="store-metadata-") as folder:
        metadata_path = Path(folder) / "metadata.json"
        metadata_path.write_text(metadata_json(args.store), encoding="utf-8")
        command = datasette_command(
            args.store,
            str(metadata_path),
            args.host,
            args.port,
            args.datasette_options,
            immutable,
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


def command_frontier(args: argparse.Namespace) -> int:
    """Show a distributed crawl's shared frontier in Redis: queue depth per host, leases,
    the store's stream lag, the workers seen in the last minute."""
    try:
        state = frontier_state(args.url)
    except FrontierError as error:
        raise CommandError(str(error)) from error
    write_lines(format_state(state, args.url))
    return 0


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
    example: str,
    *,
    on_store: bool = True,
) -> argparse.ArgumentParser:
    """Add a subcommand whose help is its handler's docstring plus an example; its first
    operand is the store's file unless ``on_store`` is False (a bundle, a key, a Redis)."""
    summary = inspect.cleandoc(handler.__doc__ or "")
    parser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if on_store:
        parser.add_argument("store", metavar="STORE_PATH", help="the store's SQLite file")
        parser.set_defaults(handler=handler)
    else:
        parser.set_defaults(handler=handler, store=None)
    return parser


def add_check_option(parser: argparse.ArgumentParser) -> None:
    """``--skip-check``: open a store without ``PRAGMA quick_check`` (a huge one)."""
    parser.add_argument(
        "--skip-check",
        dest="check",
        action="store_false",
        help="do not run PRAGMA quick_check on the store first (it reads the whole file: "
        "about a second per 100 MB)",
    )


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
        "  python -m store export data/wire.db --all-versions > versions.jsonl\n"
        "  python -m store export data/wire.db --format wacz -o wire.wacz",
    )
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="jsonl",
        help="jsonl (articles, on stdout; the default), or warc or wacz (HTTP exchanges)",
    )
    export.add_argument(
        "--all-versions",
        action="store_true",
        help="every version of every article, each with its change from the one before; "
        "warc/wacz: every stored exchange, not only the newest of each URL",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="warc/wacz: the file to write")
    export.add_argument(
        "--url", action="append", metavar="URL", help="warc/wacz: only this URL (repeatable)"
    )
    export.add_argument(
        "--since", metavar="T", help="warc/wacz: only fetches at or after this ISO 8601 time"
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
    imports = add_command(
        commands,
        "import",
        command_import,
        "python -m store import data/wire.db crawl.warc.gz archive-2021.wacz",
    )
    imports.add_argument("files", nargs="+", metavar="FILE", help="WARC, WARC.gz or WACZ files")
    imports.add_argument(
        "--progress-every",
        type=int,
        default=500,
        metavar="N",
        help="report progress on stderr every N records (0: never; default 500)",
    )
    evidence = add_command(
        commands,
        "evidence",
        command_evidence,
        "python -m store evidence data/wire.db https://sputnikglobe.com/20230201/x-1106600101.html"
        " -o x.wacz\n"
        "  python -m store evidence data/wire.db 1106600101 -o x.wacz --version 2 --sign key.pem",
    )
    evidence.add_argument(
        "url", metavar="URL", help="the article: its URL in any form, or its numeric id"
    )
    evidence.add_argument("-o", "--output", metavar="FILE.wacz", required=True)
    evidence.add_argument(
        "--version", type=int, metavar="N", help="only this version (default: every version)"
    )
    evidence.add_argument(
        "--sign", metavar="KEYFILE", help="sign with this Ed25519 private key (see keygen)"
    )
    schedule = add_command(
        commands,
        "schedule",
        command_schedule,
        "python -m store schedule data/wire.db --to redis://127.0.0.1:6379/0 --section africa",
    )
    schedule.add_argument(
        "--to", required=True, metavar="URL",
        help="the frontier's Redis, redis://HOST:PORT/N (the workers' FRONTIER_URL)",
    )  # fmt: skip
    schedule.add_argument(
        "--section", action="append", metavar="NAME",
        help="a section (its spider's name) to schedule, repeatable (default: every section "
        "the store lists)",
    )  # fmt: skip
    schedule.add_argument(
        "--recheck", choices=("schedule", "all", "none"), default="schedule",
        help="which known articles to fetch again: those due under --schedule (default), all "
        "of the section's, or none",
    )  # fmt: skip
    schedule.add_argument(
        "--schedule", default=DEFAULT_RECHECK_SCHEDULE, metavar="RULES",
        help=f"the recheck schedule, as RECHECK_SCHEDULE (default {DEFAULT_RECHECK_SCHEDULE})",
    )  # fmt: skip
    schedule.add_argument(
        "--now", metavar="T", help="judge the schedule at this ISO 8601 time, as RECHECK_NOW"
    )
    for checked in (export, summary, serve, reparse, imports, evidence, schedule):
        add_check_option(checked)
    verify = add_command(
        commands, "verify", command_verify, "python -m store verify x.wacz --key key.pem.pub",
        on_store=False,
    )  # fmt: skip
    verify.add_argument("bundle", metavar="FILE.wacz", help="an evidence bundle")
    verify.add_argument(
        "--key", metavar="PUBKEY", help="require a signature by this Ed25519 public key"
    )
    keygen = add_command(
        commands, "keygen", command_keygen, "python -m store keygen ~/.wirearchive/evidence.pem",
        on_store=False,
    )  # fmt: skip
    keygen.add_argument("keyfile", metavar="KEYFILE", help="where the private key goes")
    add_command(
        commands,
        "metadata",
        command_metadata,
        "python -m store metadata data/wire.db > metadata.json\n"
        "  datasette data/wire.db -m metadata.json",
    )
    frontier = add_command(
        commands, "frontier", command_frontier, "python -m store frontier redis://127.0.0.1:6379/0",
        on_store=False,
    )  # fmt: skip
    frontier.add_argument("url", metavar="REDIS_URL", help="the crawl's Redis (REDIS_URL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as error:  # a file damaged where a skipped check would look
        print(f"error: {args.store}: {error} (is the store damaged?)", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
