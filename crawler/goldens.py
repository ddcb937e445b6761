"""Golden outputs: the expected export of every article page of a recorded site.

``python -m crawler.goldens fixtures/sputnik-africa`` (re)writes ``expected/<name>.json``
beside the fixtures — one file per article page, keys sorted — for a person to review in the
diff. The tests compare the parser's output with them field by field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from crawler.fixtures import SIDECAR_SUFFIX, Fixture, FixtureError, fixture_set_path, load_fixture
from crawler.sites.platform import article_id_from_url
from pipelines.preview import export_page

EXPECTED = "expected"


def article_fixtures(folder: Path) -> Iterator[tuple[str, Fixture]]:
    """The fixtures of a set that are article pages answering 200, with their names."""
    for sidecar in sorted(folder.glob(f"*{SIDECAR_SUFFIX}")):
        fixture = load_fixture(sidecar)
        if fixture.status == 200 and article_id_from_url(fixture.url):
            yield sidecar.name.removesuffix(SIDECAR_SUFFIX), fixture


def golden_path(folder: Path, name: str) -> Path:
    """Where the golden output of fixture ``name`` lives."""
    return folder / EXPECTED / f"{name}.json"


def expected_export(fixture: Fixture) -> dict[str, object]:
    """What the parser, split and hashing make of a fixture page, in the export's shape."""
    return export_page(fixture.body(), fixture.url, fixture.fetched_at, fixture.headers)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the golden files of a fixture set."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.goldens",
        description="Regenerate the expected JSON of every article page of a fixture set.",
        epilog="example: python -m crawler.goldens fixtures/sputnik-africa",
    )
    parser.add_argument("fixture_set", help="a folder of recorded responses")
    args = parser.parse_args(argv)
    try:
        folder = fixture_set_path(args.fixture_set)
    except FixtureError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (folder / EXPECTED).mkdir(exist_ok=True)
    count = 0
    for name, fixture in article_fixtures(folder):
        text = json.dumps(expected_export(fixture), ensure_ascii=False, indent=2, sort_keys=True)
        golden_path(folder, name).write_text(text + "\n", encoding="utf-8")
        count += 1
    print(f"wrote {count} golden files to {folder / EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
