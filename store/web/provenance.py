"""Where a store's data came from, for a label on every page: replayed fixture sets or live.

A replay records its fixture set's name and kind (``invented`` or ``recorded``, from the set's
README) in its crawl row's ``settings`` (``FIXTURES_REPLAY_SET``, see ``crawler.fixtures``); a
store from before that kept only the folder (``FIXTURES_REPLAY``). A store with no replayed
crawl gets no label; one that mixes replayed and live crawls says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from markupsafe import Markup

# Every crawl grouped by what it replayed (nothing for a live crawl) and whether it was an
# import of WARC files. The crawls table has a row per run: small, read whole.
CRAWL_ORIGINS_SQL = """
SELECT
  CASE WHEN json_valid(settings)
    THEN json_extract(settings, '$.FIXTURES_REPLAY_SET.name') END AS set_name,
  CASE WHEN json_valid(settings)
    THEN json_extract(settings, '$.FIXTURES_REPLAY_SET.kind') END AS kind,
  CASE WHEN json_valid(settings) THEN json_extract(settings, '$.FIXTURES_REPLAY') END AS folder,
  spider = 'import' AS imported,
  count(*) AS crawls
FROM crawls
GROUP BY 1, 2, 3, 4
ORDER BY 1, 3
"""
# What changes when a crawl is added: the label is read again only then.
CRAWLS_SIGNATURE_SQL = "SELECT count(*), max(rowid) FROM crawls"

KIND_WORDS = {
    "invented": "invented: written by hand, never fetched from the site",
    "recorded": "recorded: fetched from the live site once, served again from the recording",
    "undeclared": "undeclared: its README says neither recorded nor invented",
}
UNKNOWN_KIND = "whether it was recorded or invented was not kept with the crawl"


@dataclass(frozen=True)
class ReplayedSet:
    """A fixture set some crawls of the store replayed."""

    name: str
    kind: str | None
    crawls: int


@dataclass(frozen=True)
class Origins:
    """Where a store's crawls came from."""

    replayed: tuple[ReplayedSet, ...]
    live: int
    imported: int


def origins(rows: list[Any]) -> Origins:
    """The origins of a store's crawls, from the rows of :data:`CRAWL_ORIGINS_SQL`."""
    replayed: dict[tuple[str, str | None], int] = {}
    live = imported = 0
    for set_name, kind, folder, was_import, crawls in rows:
        if set_name or folder:
            name = str(set_name or PurePath(str(folder)).name or folder)
            key = (name, str(kind) if kind else None)
            replayed[key] = replayed.get(key, 0) + int(crawls)
        elif was_import:
            imported += int(crawls)
        else:
            live += int(crawls)
    sets = tuple(ReplayedSet(name, kind, n) for (name, kind), n in replayed.items())
    return Origins(sets, live, imported)


def plural(count: int, word: str) -> str:
    """``1 crawl``, ``2 crawls``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def label(found: Origins) -> Markup | None:
    """The words of the label (escaped markup), or None for a store with no replayed crawl."""
    if not found.replayed:
        return None
    kinds: dict[str | None, list[ReplayedSet]] = {}
    for item in found.replayed:
        kinds.setdefault(item.kind if item.kind in KIND_WORDS else None, []).append(item)
    groups = Markup("; ").join(
        Markup("{} ({}): {}").format(
            "fixture set" if len(items) == 1 else "fixture sets",
            KIND_WORDS.get(kind or "", UNKNOWN_KIND),
            Markup(", ").join(
                Markup("<strong>{}</strong> ({})").format(item.name, plural(item.crawls, "crawl"))
                for item in items
            ),
        )
        for kind, items in kinds.items()
    )
    text = Markup(
        "Replayed data, not a live crawl. This store holds crawls replayed from the {}."
    ).format(groups)
    others = [plural(found.live, "live crawl")] if found.live else []
    if found.imported:
        others.append(plural(found.imported, "import") + " of WARC files")
    if others:
        text += Markup(
            " It also holds {}: replayed and other data are mixed in its tables."
        ).format(" and ".join(others))
    return text
