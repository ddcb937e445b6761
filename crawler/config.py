"""The project's settings and the spider's arguments, checked before a command starts.

Every project setting has a kind of value (``crawler.settings.PROJECT_SETTING_KINDS``, beside
its meaning in ``PROJECT_SETTINGS``); :data:`KIND_CHECKS` holds one check per kind. The
``crawl`` and ``parse`` commands call :func:`check_project_settings` and
:func:`check_spider_arguments` first, and print what is wrong as one line, without a
traceback (:func:`usage_error`): ``error: NAME=VALUE: why``, exit status 2 (Scrapy's status
for a usage error).
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import math
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.commands import ScrapyHelpFormatter
from scrapy.exceptions import UsageError
from scrapy.settings import default_settings
from scrapy.spiderloader import get_spider_loader

from crawler import settings as project_settings
from crawler.discovery.base import discovery_sources
from crawler.fixtures import FixtureError, fixture_set_path
from crawler.politeness import contact_usage_error
from crawler.settings import PROJECT_SETTING_KINDS
from domain.times import parse_iso
from store.schedule import ScheduleError, parse_schedule
from store.stream import redis_url_problem

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

EXIT_USAGE = 2  # Scrapy's exit status for a usage error

# A check reads the setting ``name`` from the settings and says what is wrong, or None.
Check = Callable[["BaseSettings", str], str | None]


def _file(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if not isinstance(value, str | Path) or not str(value).strip():
        return "name a file, e.g. data/wire.db"
    return None


def _fixture_set(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if not value:
        return None
    try:
        fixture_set_path(str(value))
    except FixtureError:
        return "no such folder: name a fixture set, e.g. fixtures/sputnik-africa"
    return None


def _folder(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if not value:
        return None
    path = Path(str(value)).expanduser()
    if path.exists() and not path.is_dir():
        return "is a file: name a folder to record into"
    if settings.get("FIXTURES_REPLAY"):
        return "a replay (FIXTURES_REPLAY) cannot record: set one of the two"
    return None


def _output_folder(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if value and Path(str(value)).expanduser().is_file():
        return "is a file: name a folder to write into"
    return None


def _positive_count(settings: BaseSettings, name: str) -> str | None:
    try:
        count = settings.getint(name)
    except (TypeError, ValueError):
        return "not a whole number"
    if count <= 0:
        return "must be 1 or more"
    return None


def _sources(settings: BaseSettings, name: str) -> str | None:
    try:
        discovery_sources(settings.get(name))
    except UsageError as error:
        return str(error).split(": ", 1)[-1]
    return None


def _timeout(settings: BaseSettings, name: str) -> str | None:
    try:
        seconds = settings.getfloat(name)
    except (TypeError, ValueError):
        return "not a number of seconds"
    if not math.isfinite(seconds) or seconds <= 0:
        return "must be a number of seconds, more than 0"
    return None


def _boolean(settings: BaseSettings, name: str) -> str | None:
    try:
        settings.getbool(name)
    except ValueError:
        return "not a yes/no value: use True or False (or 1 or 0)"
    return None


def _hosts(settings: BaseSettings, name: str) -> str | None:
    try:
        hosts = settings.getlist(name)
    except (TypeError, ValueError):
        return "not a list of hosts"
    for host in hosts:
        if not isinstance(host, str) or not host or any(c in host for c in " /\t@"):
            return f"{host!r} is no host: list hosts as URLs write them, comma-separated"
    return None


def _schedule(settings: BaseSettings, name: str) -> str | None:
    try:
        parse_schedule(settings.get(name) or "")
    except ScheduleError as error:
        return str(error)
    return None


def _time(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if not value:
        return None
    try:
        parse_iso(str(value))
    except ValueError:
        return "not an ISO 8601 time, e.g. 2023-02-01T12:00:00Z"
    return None


def _seconds(settings: BaseSettings, name: str) -> str | None:
    try:
        seconds = settings.getfloat(name)
    except (TypeError, ValueError):
        return "not a number of seconds"
    if not math.isfinite(seconds) or seconds < 0:
        return "must be a number of seconds, 0 or more"
    return None


def _count(settings: BaseSettings, name: str) -> str | None:
    try:
        count = settings.getint(name)
    except (TypeError, ValueError):
        return "not a whole number"
    if count < 0:
        return "must be 0 (no limit) or more"
    return None


def _redis_url(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    return redis_url_problem(value) if value else None


def _name(settings: BaseSettings, name: str) -> str | None:
    value = settings.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > 100 or not text.isprintable() or any(c.isspace() for c in text):
        return "must be printable, without spaces, at most 100 characters"
    return None


def _contact(settings: BaseSettings, name: str) -> str | None:
    """A live crawl needs a real contact; a replay asks no one and needs none."""
    return contact_usage_error(settings)


# One check per kind of value (the kinds of crawler.settings.PROJECT_SETTING_KINDS).
KIND_CHECKS: dict[str, Check] = {
    "file": _file,
    "fixture set": _fixture_set,
    "folder": _folder,
    "output folder": _output_folder,
    "timeout": _timeout,
    "positive count": _positive_count,
    "sources": _sources,
    "boolean": _boolean,
    "hosts": _hosts,
    "schedule": _schedule,
    "time": _time,
    "seconds": _seconds,
    "contact": _contact,
    "count": _count,
    "redis url": _redis_url,
    "name": _name,
}


def shown(value: Any) -> str:
    """A setting's value as the user wrote it (``''`` for an empty one)."""
    if value is None:
        return ""
    text = str(value)
    return text if text.strip() else repr(text)


def setting_problems(settings: BaseSettings) -> list[str]:
    """``NAME=VALUE: why`` for every project setting whose value is bad, in declaration order."""
    problems = []
    for name, kind in PROJECT_SETTING_KINDS.items():
        why = KIND_CHECKS[kind](settings, name)
        if why is not None:
            problems.append(f"{name}={shown(settings.get(name))}: {why}")
    return problems


def check_project_settings(settings: BaseSettings) -> None:
    """Raise a :class:`UsageError` naming the first project setting with a bad value."""
    problems = setting_problems(settings)
    if problems:
        raise UsageError(problems[0])


# The settings of scrapy-redis (crawler.distributed) a worker may be given with -s.
SCRAPY_REDIS_SETTINGS = frozenset(
    {
        "REDIS_URL",
        "REDIS_PARAMS",
        "REDIS_START_URLS_KEY",
        "REDIS_START_URLS_AS_SET",
        "REDIS_START_URLS_AS_ZSET",
        "REDIS_ENCODING",
        "SCHEDULER_PERSIST",
        "SCHEDULER_FLUSH_ON_START",
        "SCHEDULER_QUEUE_KEY",
        "SCHEDULER_QUEUE_CLASS",
        "SCHEDULER_DUPEFILTER_KEY",
        "SCHEDULER_SERIALIZER",
        "SCHEDULER_IDLE_BEFORE_CLOSE",
        "MAX_IDLE_TIME_BEFORE_CLOSE",
    }
)


def unknown_settings(names: list[str]) -> list[str]:
    """A warning for each ``-s NAME`` that is no setting of Scrapy or of the project (a
    misspelt one is otherwise ignored without a word), with the nearest known name."""
    known = {n for n in (*dir(default_settings), *dir(project_settings)) if n.isupper()}
    known |= SCRAPY_REDIS_SETTINGS  # a worker of a distributed crawl may tune them
    warnings = []
    for name in names:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            warnings.append(
                f"-s {name}: no setting of Scrapy or of this project has that name{hint}"
            )
    return warnings


def warn_unknown_settings(opts: argparse.Namespace) -> None:
    """Print :func:`unknown_settings` of the command line's ``-s`` options, one line each."""
    names = [item.split("=", 1)[0] for item in getattr(opts, "set", None) or ()]
    for warning in unknown_settings(names):
        print(f"warning: {warning}", file=sys.stderr, flush=True)


def spider_arguments(spidercls: type) -> Mapping[str, str]:
    """The ``-a`` arguments a spider takes, with their meanings (its ``arguments``), each one
    a parameter of its ``__init__``."""
    declared: Mapping[str, str] = getattr(spidercls, "arguments", {})
    return declared


def accepted_arguments(spidercls: type) -> list[str]:
    """The names of the keyword parameters of the spider's ``__init__``: what ``-a`` may set."""
    parameters = inspect.signature(spidercls).parameters.values()
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in keyword]


def check_spider_arguments(spidercls: type, given: Mapping[str, str]) -> None:
    """Refuse an ``-a`` argument the spider does not take (a misspelt one), listing those it
    takes: Scrapy would set it as an attribute of the spider and go on."""
    known = accepted_arguments(spidercls)
    unknown = sorted(set(given) - set(known))
    if unknown:
        name = getattr(spidercls, "name", spidercls.__name__)
        raise UsageError(
            f"-a {unknown[0]}: {name} takes no such argument; it takes "
            + ", ".join(known)
            + f" (see scrapy crawl {name} --help)"
        )


def usage_error(error: UsageError) -> int:
    """Print a usage error as one line, ``error: …``, on stderr; the exit status to end with."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    return EXIT_USAGE


class HelpWithEpilog(argparse.RawDescriptionHelpFormatter, ScrapyHelpFormatter):
    """Scrapy's help layout, keeping the line breaks of the epilog (the arguments' list)."""


def arguments_help(settings: BaseSettings) -> str:
    """Each spider's ``-a`` arguments and their meanings, for ``--help``."""
    loader = get_spider_loader(settings)
    lines = ["Spider arguments (-a NAME=VALUE):"]
    for name in sorted(loader.list()):
        spidercls = loader.load(name)
        meanings = spider_arguments(spidercls)
        lines.append(f"  {name}:")
        for argument in accepted_arguments(spidercls):
            meaning = meanings.get(argument, "")
            lines.append(
                textwrap.fill(
                    f"{argument:<10} {meaning}",
                    width=92,
                    initial_indent="    ",
                    subsequent_indent=" " * 15,
                )
            )
    return "\n".join(lines)


def add_arguments_help(parser: argparse.ArgumentParser, settings: BaseSettings) -> None:
    """Make ``scrapy COMMAND --help`` end with the spiders' ``-a`` arguments."""
    parser.formatter_class = HelpWithEpilog
    parser.epilog = arguments_help(settings)
