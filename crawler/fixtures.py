"""Recorded sites: replay saved HTTP responses, or record a live crawl's responses.

A *fixture* is one saved HTTP response: the body's raw bytes in a file, and a JSON sidecar
``NAME.http.json`` beside it::

    {"url": "https://sputnikglobe.com/africa/", "status": 200,
     "headers": {"Content-Type": "text/html; charset=utf-8"},
     "fetched_at": "2023-01-20T12:00:00Z", "body": "section.html"}

A folder of fixtures is a recorded site (``fixtures/<name>/``). Its ``README.md`` says on a
line of its own whether the set was recorded from the live site or invented (written by hand):
``Kind: recorded`` or ``Kind: invented`` (:func:`fixture_set_label`); a replay records the set's
name and kind with the crawl (the setting ``FIXTURES_REPLAY_SET`` the addon derives, kept in
the crawl row's ``settings``), and a recording writes that README with ``Kind: recorded``.

* ``FIXTURES_REPLAY = "fixtures/sputnik-africa"``: :class:`ReplayDownloadHandler` serves every
  http(s) request from that set by URL, so every downloader middleware (robots.txt,
  redirects, retries, decompression) behaves as on the live site. A URL with no fixture
  answers 404 and is counted (``fixtures/replay/missing``).
* ``FIXTURES_RECORD = "some/folder"``: :class:`RecordMiddleware` writes every response a live
  crawl receives as a fixture in the same format.

Either folder is any folder the user names, relative or absolute; only the names read from
inside a recording (a sidecar's ``body``) are checked (:func:`check_name`): they must name a
file beside the sidecar.

:class:`FixturesAddon` (enabled in the project's ``ADDONS``) switches both on from the settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from w3lib.url import canonicalize_url

from crawler.fetching import META_RECORDED_AT
from domain.times import utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".http.json"
REPLAY_HANDLER = "crawler.fixtures.ReplayDownloadHandler"
RECORD_MIDDLEWARE = "crawler.fixtures.RecordMiddleware"


class FixtureError(ValueError):
    """A fixture set or fixture that cannot be used, with the reason."""


def check_name(name: str) -> str:
    """``name`` if it is a plain relative name: no ``..``, no absolute path, no backslash."""
    path = Path(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or name.startswith("~"):
        raise FixtureError(f"not a safe fixture name: {name!r}")
    return name


def fixture_set_path(name: str) -> Path:
    """The folder of a fixture set: any folder the user names (relative to the working folder,
    absolute, or under ``~``)."""
    path = Path(name).expanduser()
    if not path.is_dir():
        raise FixtureError(f"no fixture set at {name!r} (expected a folder of *.http.json files)")
    return path


# How a fixture set's README says what it is, on a line of its own.
FIXTURE_KINDS = ("invented", "recorded")
UNDECLARED = "undeclared"  # a folder whose README.md declares neither
README = "README.md"
_KIND_LINE = re.compile(rf"^Kind: ({'|'.join(FIXTURE_KINDS)})\b", re.M)
RECORDED_README = """# Fixture set recorded with `FIXTURES_RECORD`

Kind: recorded (saved from the live site by a crawl on {date}; each sidecar's `fetched_at` says
when its response came)
"""


def fixture_set_kind(folder: Path) -> str:
    """``invented`` or ``recorded`` as the set's ``README.md`` declares (a line ``Kind: …``), or
    ``undeclared``."""
    try:
        found = _KIND_LINE.search((folder / README).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return UNDECLARED
    return found.group(1) if found else UNDECLARED


def fixture_set_label(folder: Path) -> dict[str, str]:
    """What a replay records of its fixture set: ``{"name": folder name, "kind": …}``."""
    return {"name": folder.resolve().name, "kind": fixture_set_kind(folder)}


@dataclass(frozen=True)
class Fixture:
    """One saved HTTP response."""

    url: str
    status: int
    headers: dict[str, str]
    fetched_at: str
    body_path: Path

    def body(self) -> bytes:
        """The saved body bytes."""
        return self.body_path.read_bytes()


def load_fixture(sidecar: Path) -> Fixture:
    """The fixture a sidecar describes; :class:`FixtureError` where it is malformed."""
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        body_name = check_name(meta["body"])
        if "/" in body_name:
            raise FixtureError(f"{sidecar}: body must be a file beside the sidecar")
        return Fixture(
            url=str(meta["url"]),
            status=int(meta.get("status", 200)),
            headers={str(k): str(v) for k, v in meta.get("headers", {}).items()},
            fetched_at=str(meta.get("fetched_at") or ""),
            body_path=sidecar.parent / body_name,
        )
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
        raise FixtureError(f"{sidecar}: malformed sidecar ({error})") from error


def replay_key(url: str) -> str:
    """How a URL is looked up in a fixture set: canonical form (sorted query), no fragment."""
    return canonicalize_url(url, keep_fragments=False)


def checked_fixtures(path: Path) -> Iterator[tuple[Path, Fixture]]:
    """Every (sidecar, fixture) of a set, each checked; :class:`FixtureError` on the first bad
    one or when the set holds none."""
    found = False
    # names, not Path objects, are kept while sorting: a fraction of the memory on a big set
    for name in sorted(sidecar.name for sidecar in path.glob(f"*{SIDECAR_SUFFIX}")):
        sidecar = path / name
        fixture = load_fixture(sidecar)
        if not fixture.body_path.is_file():
            raise FixtureError(f"{sidecar}: body file {fixture.body_path.name} is missing")
        found = True
        yield sidecar, fixture
    if not found:
        raise FixtureError(f"fixture set {path} holds no *{SIDECAR_SUFFIX} files")


def index_fixture_set(path: Path) -> dict[str, Fixture]:
    """Every fixture of a set, by URL."""
    return {replay_key(fixture.url): fixture for _, fixture in checked_fixtures(path)}


def key_hash(key: str) -> int:
    """The 64-bit hash a replay key is indexed by (BLAKE2b, stable across runs)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")


class ReplayIndex:
    """Every fixture's sidecar file name by replay key, in little memory at any size.

    Every sidecar of the set is checked when the index is built (:func:`checked_fixtures`).
    Only a 64-bit hash of each key is kept, in a sorted array, beside the sidecar names in one
    bytes blob: about 24 bytes and the name's length a page, where a dict of key and name
    strings took about half a kilobyte. :meth:`find` reads the sidecar and compares its URL's
    key with the one asked for, so a hash shared by an unknown URL is never served, and two
    recorded keys sharing a hash are both found. Where two sidecars record the same key, the
    last one in name order wins, as in :func:`index_fixture_set`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        hashes = array("Q")
        ends = array("Q")
        names = bytearray()
        for sidecar, fixture in checked_fixtures(folder):
            hashes.append(key_hash(replay_key(fixture.url)))
            names += os.fsencode(sidecar.name)
            ends.append(len(names))
        self._names = bytes(names)
        self._ends = ends
        order = sorted(range(len(hashes)), key=hashes.__getitem__)  # stable: name order kept
        entries = array("Q")
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and hashes[order[stop]] == hashes[order[start]]:
                stop += 1
            entries.extend(self._distinct_keys(order[start:stop]))
            start = stop
        self._entries = entries  # positions in the blob, sorted by their key's hash
        self._hashes = array("Q", (hashes[i] for i in entries))

    def _distinct_keys(self, same_hash: list[int]) -> list[int]:
        """Of entries sharing a hash (in name order), the last one of each distinct key."""
        if len(same_hash) == 1:
            return same_hash
        by_key = {replay_key(load_fixture(self.folder / self._name(i)).url): i for i in same_hash}
        return sorted(by_key.values())

    def _name(self, entry: int) -> str:
        """The sidecar name of an entry (its position in the blob)."""
        start = self._ends[entry - 1] if entry else 0
        return os.fsdecode(self._names[start : self._ends[entry]])

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, url: str) -> Fixture | None:
        """The recorded fixture of ``url`` (looked up by :func:`replay_key`), or None."""
        key = replay_key(url)
        wanted = key_hash(key)
        position = bisect_left(self._hashes, wanted)
        while position < len(self._hashes) and self._hashes[position] == wanted:
            fixture = load_fixture(self.folder / self._name(self._entries[position]))
            if fixture.url == url or replay_key(fixture.url) == key:
                return fixture
            position += 1
        return None


class ReplayDownloadHandler:
    """A download handler that answers every request from a recorded fixture set."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        name = crawler.settings.get("FIXTURES_REPLAY")
        if not name:
            raise NotConfigured("FIXTURES_REPLAY is not set")
        self.crawler = crawler
        self.folder = fixture_set_path(name)
        # sidecars are checked now and read again on request: the index stays small at any size
        self.index = ReplayIndex(self.folder)
        logger.info("Replaying %d recorded responses from %s", len(self.index), name)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayDownloadHandler:
        """Built by Scrapy."""
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        """The recorded response for ``request.url``; a 404 where none was recorded."""
        stats = self.crawler.stats
        assert stats is not None
        fixture = self.index.find(request.url)
        if fixture is None:
            stats.inc_value("fixtures/replay/missing")
            logger.warning("No fixture for %s: answering 404", request.url)
            return Response(url=request.url, status=404, body=b"", request=request)
        stats.inc_value("fixtures/replay/served")
        body = fixture.body()
        headers = Headers(fixture.headers)
        request.meta[META_RECORDED_AT] = fixture.fetched_at or None
        respcls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return respcls(
            url=request.url, status=fixture.status, headers=headers, body=body, request=request
        )

    async def close(self) -> None:
        """Nothing to release."""


class RecordMiddleware:
    """A downloader middleware that saves every response it sees as a fixture."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        readme = folder / README
        if not readme.exists():  # the set says it was recorded (fixture_set_kind)
            readme.write_text(RECORDED_README.format(date=utc_now()[:10]), encoding="utf-8")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordMiddleware:
        """Built by Scrapy; off unless ``FIXTURES_RECORD`` names a folder (any folder)."""
        name = crawler.settings.get("FIXTURES_RECORD")
        if not name:
            raise NotConfigured("FIXTURES_RECORD is not set")
        return cls(Path(name).expanduser())

    def process_response(self, request: Request, response: Response) -> Response:
        """Write ``response`` (raw bytes, as received) and its sidecar; pass it on unchanged."""
        stem = hashlib.sha256(response.url.encode("utf-8")).hexdigest()[:20]
        body_name = f"{stem}.body"
        (self.folder / body_name).write_bytes(response.body)
        headers = {
            k.decode("latin-1"): b", ".join(v).decode("latin-1")
            for k, v in response.headers.items()
        }
        sidecar: dict[str, Any] = {
            "url": response.url,
            "status": response.status,
            "headers": headers,
            "fetched_at": utc_now(),
            "body": body_name,
        }
        (self.folder / f"{stem}{SIDECAR_SUFFIX}").write_text(
            json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return response


class FixturesAddon:
    """Switches replay and recording on from ``FIXTURES_REPLAY`` / ``FIXTURES_RECORD``."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Route http(s) to the replay handler, or add the recorder near the downloader."""
        if settings.get("FIXTURES_REPLAY"):
            if settings.get("FIXTURES_RECORD"):
                raise FixtureError("FIXTURES_REPLAY and FIXTURES_RECORD exclude each other")
            folder = fixture_set_path(settings["FIXTURES_REPLAY"])  # fails early, clearly
            # the set's name and kind, kept with the crawl (pipelines.storage) so that what
            # shows the store can say the data was replayed, and from what
            settings.set("FIXTURES_REPLAY_SET", fixture_set_label(folder), priority="cmdline")
            handlers = settings.getdict("DOWNLOAD_HANDLERS")
            handlers.update({"http": REPLAY_HANDLER, "https": REPLAY_HANDLER})
            settings.set("DOWNLOAD_HANDLERS", handlers, priority="project")
            # A recorded site is on this disk: no one to be polite to, no delay needed.
            for key, value in (("AUTOTHROTTLE_ENABLED", False), ("DOWNLOAD_DELAY", 0)):
                settings.set(key, value, priority="project")
        if settings.get("FIXTURES_RECORD"):
            middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
            # 950 sits next to the downloader: it sees each response before decompression,
            # redirects and retries, exactly as the site sent it.
            middlewares[RECORD_MIDDLEWARE] = 950
            settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="project")
