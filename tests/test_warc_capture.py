"""``-s WARC_DIR=DIR``: a crawl also writes every exchange it stores as WARC records (issue 13,
part 1), and the store keeps where each one is."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.warc_import import import_files
from store import Store
from store.warc_export import payload_digest
from tests.crawling import replay

MAX_SIZE = 30_000  # small files, so the capture rotates


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A replay crawl with capture on: its store and its WARC folder."""
    root = tmp_path_factory.mktemp("capture")
    store, warcs = root / "wire.db", root / "warc"
    replay(store, "-s", f"WARC_DIR={warcs}", "-s", f"WARC_MAX_SIZE={MAX_SIZE}")
    return store, warcs


def test_every_stored_exchange_is_a_response_record_where_the_store_says(
    captured: tuple[Path, Path],
) -> None:
    store, warcs = captured
    with Store(store) as opened:
        rows = list(
            opened.db.query(
                "SELECT f.id, f.status, f.body_sha256, f.fetched_at, w.file, w.offset, "
                "w.record_id FROM fetches AS f LEFT JOIN warc_records AS w ON w.fetch_id = f.id"
            )
        )
        (crawl,) = opened.db.query("SELECT id, settings FROM crawls")
        bodies = {row["id"]: opened.body(row["body_sha256"]) for row in rows if row["body_sha256"]}
    assert json.loads(crawl["settings"])["WARC_DIR"] == str(warcs)
    answered = [row for row in rows if row["status"] is not None]
    assert answered and all(row["file"] for row in answered)
    assert all(row["file"] is None for row in rows if row["status"] is None)
    for row in answered:
        with open(row["file"], "rb") as stream:
            stream.seek(row["offset"])
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response"
            headers = record.rec_headers
            assert headers.get_header("WARC-Record-ID") == row["record_id"]
            assert headers.get_header("WARC-Date") == row["fetched_at"]
            assert headers.get_header("WARC-Payload-Digest") == payload_digest(row["body_sha256"])
            assert record.content_stream().read() == bodies[row["id"]]
    files = sorted(warcs.glob("*.warc.gz"))
    assert len(files) > 1  # rotated at WARC_MAX_SIZE
    assert {Path(row["file"]).name for row in answered} == {path.name for path in files}
    for path in files:
        assert path.name.startswith(f"{crawl['id']}-")
        with path.open("rb") as stream:
            first = next(iter(ArchiveIterator(stream)))
            assert first.rec_type == "warcinfo"
            assert crawl["id"] in first.content_stream().read().decode()


def test_the_captured_files_check_out_and_import_as_the_crawl(
    captured: tuple[Path, Path], tmp_path: Path
) -> None:
    store, warcs = captured
    files = sorted(warcs.glob("*.warc.gz"))
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with Store(tmp_path / "imported.db") as imported:
        counts = import_files(imported, files, progress=io.StringIO())
        lines = [json.loads(line) for line in imported.export_version_lines()]
    assert counts.articles > 0
    with Store(store) as crawled:
        expected = [json.loads(line) for line in crawled.export_version_lines()]
    for line in (*lines, *expected):
        del line["provenance"]["crawl_id"], line["provenance"]["fetch_id"]
    assert lines == expected


def test_capture_is_off_by_default(tmp_path: Path) -> None:
    store = tmp_path / "wire.db"
    replay(store, "-a", "max_pages=1")
    with Store(store) as opened:
        assert opened.db.table("warc_records").count == 0
    assert not list(tmp_path.rglob("*.warc*"))
