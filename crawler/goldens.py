"""Golden outputs of a recorded site: what the parser reads from each page, and what a replay
of the whole set exports.

``python -m crawler.goldens fixtures/sputnik-africa`` (re)writes beside the fixtures, for a
person to review in the diff:

* ``expected/<name>.json`` for every page answering 200 — the parser's own output, keys
  sorted: ``crawler.sites.parse_article`` for an article page, ``parse_listing`` for a
  section page or "load more" chunk, the bytes decoded as a crawl decodes them
  (:func:`crawler.fetching.decode_page` on the recorded headers). A change to the store or the
  export never touches these (as web-poet's ``output.json`` holds the page object's output).
* ``expected/export.jsonl`` — ``python -m store export STORE --all-versions`` of a replay
  crawl of the set (``scrapy crawl africa -s FIXTURES_REPLAY=…``), one version a line, with
  the run's own ids (``provenance.crawl_id``, ``provenance.fetch_id``) left out. A set named
  ``NAME-tK`` is one moment of a series: it is replayed into a store that ``NAME-t1`` …
  ``NAME-t(K-1)`` were replayed into first, in order, each with ``RECHECK_NOW`` at its own
  recording time, so its snapshot is the history up to that moment.

The crawl and the export run as subprocesses (the real engine and command line), so this
module imports neither the pipelines nor the store. ``tests/test_goldens.py`` compares the
parser with the page goldens field by field, and a fresh replay with the export snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse

import crawler
from crawler.fetching import decode_page
from crawler.fixtures import SIDECAR_SUFFIX, Fixture, FixtureError, fixture_set_path, load_fixture
from crawler.sites import parse_article, parse_listing
from crawler.sites.platform import article_id_from_url

EXPECTED = "expected"
EXPORT_SNAPSHOT = "export.jsonl"
RUN_IDS = ("crawl_id", "fetch_id")  # provenance keys that differ from one run to the next
SERIES_MOMENT = re.compile(r"^(?P<series>.+)-t(?P<moment>\d+)$")
PROJECT_ROOT = Path(crawler.__file__).resolve().parent.parent
HTML_TYPES = ("text/html", "application/xhtml+xml")


def page_fixtures(folder: Path) -> Iterator[tuple[str, Fixture]]:
    """The fixtures of a set that are HTML pages answering 200 (articles and listings), by name."""
    for sidecar in sorted(folder.glob(f"*{SIDECAR_SUFFIX}")):
        fixture = load_fixture(sidecar)
        content_type = next(
            (v for k, v in fixture.headers.items() if k.lower() == "content-type"), ""
        )
        if fixture.status == 200 and content_type.split(";")[0].strip().lower() in HTML_TYPES:
            yield sidecar.name.removesuffix(SIDECAR_SUFFIX), fixture


def is_article(fixture: Fixture) -> bool:
    """Whether a fixture is an article page (its URL carries an article id), not a listing."""
    return article_id_from_url(fixture.url) is not None


def article_fixtures(folder: Path) -> Iterator[tuple[str, Fixture]]:
    """The fixtures of a set that are article pages answering 200, with their names."""
    for name, fixture in page_fixtures(folder):
        if is_article(fixture):
            yield name, fixture


def golden_path(folder: Path, name: str) -> Path:
    """Where the golden output of fixture ``name`` lives."""
    return folder / EXPECTED / f"{name}.json"


def decoded_text(fixture: Fixture) -> str:
    """A fixture page's text, decoded as the crawl decodes it (BOM, header, ``<meta>``, …)."""
    response = HtmlResponse(url=fixture.url, headers=fixture.headers, body=fixture.body())
    text, _encoding = decode_page(response)
    return text


def parsed_page(fixture: Fixture) -> dict[str, Any]:
    """What the parser reads from a fixture page, as JSON-ready data."""
    text = decoded_text(fixture)
    if is_article(fixture):
        return parse_article(fixture.url, text).to_dict()
    return parse_listing(fixture.url, text).to_dict()


def is_replayable(folder: Path) -> bool:
    """Whether a crawl can replay the set: it holds a listing page (a section page) to start
    from. A set of article pages alone (``sputnik-legacy``) has parser goldens only."""
    return any(not is_article(fixture) for _, fixture in page_fixtures(folder))


def replay_sets(folder: Path) -> list[Path]:
    """The sets a snapshot of ``folder`` replays, in order: the earlier moments of its series
    (``NAME-t1`` … for ``NAME-tK``) that exist beside it, then the set itself."""
    match = SERIES_MOMENT.match(folder.name)
    if match is None:
        return [folder]
    series, moment = match["series"], int(match["moment"])
    earlier = [folder.with_name(f"{series}-t{k}") for k in range(1, moment)]
    return [path for path in earlier if path.is_dir()] + [folder]


def recorded_at(folder: Path) -> str:
    """The set's recording time: the latest ``fetched_at`` of its fixtures."""
    return max(load_fixture(sidecar).fetched_at for sidecar in folder.glob(f"*{SIDECAR_SUFFIX}"))


def run_python(args: list[str], cwd: Path) -> str:
    """``python ARGS`` with the project's settings, from ``cwd``; its stdout, or an error."""
    env = {
        **os.environ,
        "SCRAPY_SETTINGS_MODULE": "crawler.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.getenv("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def replay_export(folder: Path, cwd: Path) -> list[dict[str, Any]]:
    """Every version a replay of ``folder`` (and the earlier moments of its series) stores, as
    ``python -m store export --all-versions`` writes them, without the run's ids. ``folder`` is
    relative to ``cwd``, as ``FIXTURES_REPLAY`` requires."""
    with tempfile.TemporaryDirectory(prefix="goldens-") as workdir:
        store = Path(workdir) / "replay.db"
        for replayed in replay_sets(folder):
            run_python(
                ["-m", "scrapy", "crawl", "africa", "-s", f"FIXTURES_REPLAY={replayed}",
                 "-s", f"STORE_PATH={store}", "-s", f"RECHECK_NOW={recorded_at(cwd / replayed)}",
                 "-s", "STORE_SUMMARY=False"],
                cwd,
            )  # fmt: skip
        lines = run_python(["-m", "store", "export", str(store), "--all-versions"], cwd)
    versions = [json.loads(line) for line in lines.splitlines() if line]
    for version in versions:
        for key in RUN_IDS:
            del version["provenance"][key]
    return versions


def read_export_snapshot(folder: Path) -> list[dict[str, Any]]:
    """The reviewed export snapshot of a set."""
    lines = (folder / EXPECTED / EXPORT_SNAPSHOT).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the golden files and the export snapshot of a fixture set."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.goldens",
        description="Regenerate the parser's expected JSON of every page of a fixture set, "
        "and the export snapshot of a replay of the set.",
        epilog="example: python -m crawler.goldens fixtures/sputnik-africa",
    )
    parser.add_argument("fixture_set", help="a folder of recorded responses (relative)")
    args = parser.parse_args(argv)
    try:
        folder = fixture_set_path(args.fixture_set)
    except FixtureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (folder / EXPECTED).mkdir(exist_ok=True)
    count = 0
    for name, fixture in page_fixtures(folder):
        text = json.dumps(parsed_page(fixture), ensure_ascii=False, indent=2, sort_keys=True)
        golden_path(folder, name).write_text(text + "\n", encoding="utf-8")
        count += 1
    if not is_replayable(folder):
        print(f"wrote {count} golden files to {folder / EXPECTED} (no listing page: no replay)")
        return 0
    versions = replay_export(folder, Path.cwd())
    snapshot = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in versions)
    (folder / EXPECTED / EXPORT_SNAPSHOT).write_text(snapshot, encoding="utf-8")
    print(f"wrote {count} golden files and {EXPORT_SNAPSHOT} ({len(versions)} versions) "
          f"to {folder / EXPECTED}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
