"""The recheck schedule: how often a known article is fetched again, by its age. Pure code.

A schedule is written as comma-separated ``MAX_AGE:INTERVAL`` rules, youngest first, for example
``1d:every,7d:1d,30d:7d``: while an article is younger than one day it is rechecked on every
run, until it is a week old at most once a day, until it is thirty days old at most once a week,
and after that never. Durations are a whole number and a unit: ``m`` (minutes), ``h`` (hours),
``d`` (days) or ``w`` (weeks); ``every`` as an interval means every run.

An article's age counts from the publication time its current version claims (from when it was
first seen where it claims none); it is due when its last check — the last fetch of its URL
that got an answer, whatever the status — is at least the interval ago.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.times import parse_iso

EVERY = "every"
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d+)([mhdw])$")


class ScheduleError(ValueError):
    """A schedule that cannot be read, with the reason."""


# The default of RECHECK_SCHEDULE (crawler.settings) and of ``python -m store schedule``.
DEFAULT_RECHECK_SCHEDULE = "1d:every,7d:1d,30d:7d"


@dataclass(frozen=True)
class Rule:
    """Articles younger than ``max_age`` are rechecked once ``interval`` has passed (0: always)."""

    max_age: timedelta
    interval: timedelta


@dataclass(frozen=True)
class Schedule:
    """Rules ordered by age; articles older than the last rule's ``max_age`` are not rechecked."""

    rules: tuple[Rule, ...]

    @property
    def oldest(self) -> timedelta:
        """The age beyond which nothing is rechecked."""
        return self.rules[-1].max_age if self.rules else timedelta(0)

    def interval_for(self, age: timedelta) -> timedelta | None:
        """The interval for an article of this age, or None when it is too old to recheck."""
        for rule in self.rules:
            if age < rule.max_age:
                return rule.interval
        return None

    def is_due(self, born: datetime, last_checked: datetime, now: datetime) -> bool:
        """Whether an article born and last checked then is due at ``now``."""
        interval = self.interval_for(now - born)
        return interval is not None and now - last_checked >= interval


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"12h"``, ``"7d"``, ``"2w"`` -> a timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ScheduleError(f"{text!r} is not a duration like 30m, 12h, 7d or 2w")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def parse_schedule(text: str) -> Schedule:
    """Read a schedule such as ``1d:every,7d:1d,30d:7d``; an empty text rechecks nothing."""
    rules: list[Rule] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        max_age, sep, interval = part.partition(":")
        if not sep:
            raise ScheduleError(f"rule {part!r} is not MAX_AGE:INTERVAL")
        every = interval.strip() == EVERY
        rule = Rule(parse_duration(max_age), timedelta(0) if every else parse_duration(interval))
        if rules and rule.max_age <= rules[-1].max_age:
            raise ScheduleError(f"rule {part!r}: ages must grow from rule to rule")
        rules.append(rule)
    return Schedule(tuple(rules))


def due(candidates: Sequence[tuple[str, str, str]], schedule: Schedule, now: datetime) -> list[str]:
    """The URLs of ``(url, born, last_checked)`` candidates that are due at ``now``."""
    return [
        url
        for url, born, last_checked in candidates
        if schedule.is_due(parse_iso(born), parse_iso(last_checked), now)
    ]
