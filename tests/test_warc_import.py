"""``python -m store import``: WARC, WARC.gz and WACZ captures through the crawl's article chain
(issue 13, part 3), with files written by tests/warcfiles.py."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from pipelines.warc_import import ImportCounts, import_files
from store import Store
from store.__main__ import main as store_main
from tests.crawling import ROOT, replay
from tests.warcfiles import (
    Page,
    hex_digest,
    recorded,
    write_response,
    write_revisit,
    write_warc,
)

MOMENTS = {f"fixtures/sputnik-africa-t{t}": f"2023-02-0{t}T12:00:00Z" for t in (1, 2, 3)}
OLD = "2021-06-01T08:00:00Z"
ZAMBIA = "article-1106600101"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the three recordings of the section replayed in order (its history)."""
    store = tmp_path_factory.mktemp("history") / "wire.db"
    for fixture_set, moment in MOMENTS.items():
        replay(store, "-s", f"RECHECK_NOW={moment}", fixture_set=fixture_set)
    return store


def export_lines(store: Path) -> list[dict[str, Any]]:
    """``export --all-versions`` of a store, without the run's own ids."""
    with Store(store) as opened:
        lines = [json.loads(line) for line in opened.export_version_lines()]
    for line in lines:
        del line["provenance"]["crawl_id"], line["provenance"]["fetch_id"]
    return lines


def run_import(store: Path, *files: Path) -> ImportCounts:
    """Import files into a store (made if missing), quietly."""
    with Store(store) as opened:
        return import_files(opened, list(files), progress=io.StringIO())


@pytest.mark.parametrize("fmt", ["warc", "wacz"])
def test_importing_a_crawls_export_gives_the_same_history(
    history: Path, tmp_path: Path, fmt: str
) -> None:
    archive = tmp_path / f"history.{'warc.gz' if fmt == 'warc' else 'wacz'}"
    args = ["export", str(history), "--format", fmt, "-o", str(archive), "--all-versions"]
    assert store_main(args) == 0
    counts = run_import(tmp_path / "imported.db", archive)
    assert counts.articles > 0 and counts.new_versions > 0
    assert counts.skipped["status 410"] > 0  # the 410 is counted, not stored
    assert export_lines(tmp_path / "imported.db") == export_lines(history)


@pytest.fixture
def crawled_t1(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of a store of the t1 recording."""
    cached = tmp_path_factory.getbasetemp() / "t1.db"
    if not cached.exists():
        replay(cached, "-s", f"RECHECK_NOW={MOMENTS['fixtures/sputnik-africa-t1']}",
               fixture_set="fixtures/sputnik-africa-t1")  # fmt: skip
    copy = tmp_path / "wire.db"
    shutil.copy(cached, copy)
    return copy


def older_text(body: bytes) -> bytes:
    """The page as it read before: one sentence of its body different."""
    html = body.decode("utf-8")
    start = html.index('<div class="article__text">', html.index('data-type="text"'))
    end = html.index("</div>", start)
    return (html[:end] + " An earlier sentence, since removed." + html[end:]).encode("utf-8")


def test_a_browsertrix_style_file_with_revisits(crawled_t1: Path, tmp_path: Path) -> None:
    zambia_url, zambia = recorded("sputnik-africa-t1", ZAMBIA)
    kenya_url, kenya = recorded("sputnik-africa-t1", "article-1106600106")
    section_url, section = recorded("sputnik-africa-t1", "section")
    old = Page(zambia_url, older_text(zambia), OLD)
    archive = tmp_path / "browsertrix.warc.gz"
    with archive.open("wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        write_response(writer, old)  # an older text: a version before the crawled one
        write_revisit(writer, zambia_url, old.body, "2021-06-02T08:00:00Z", old)  # same URL
        write_revisit(writer, f"{zambia_url}?in=t", old.body, "2021-06-03T08:00:00Z", old)
        write_revisit(writer, kenya_url, b"never captured", "2021-06-04T08:00:00Z", old)
        write_response(writer, Page(kenya_url, kenya, "2021-06-05T08:00:00Z", gzip_coding=True))
        write_response(writer, Page(section_url, section + b"<!-- older -->", OLD))
        write_response(writer, Page("https://sputnikglobe.com/robots.txt", b"User-agent: *\n",
                                    OLD, content_type="text/plain"))  # fmt: skip
        write_response(writer, Page(f"{zambia_url}x", b"gone", OLD, status=404))
        tampered = Page(f"{kenya_url}?v=2", kenya, OLD, claimed_digest=hex_digest(b"other"))
        write_response(writer, tampered)
    counts = run_import(crawled_t1, archive)
    assert (counts.records, counts.articles, counts.new_versions) == (9, 2, 1)
    assert dict(counts.skipped) == {
        # the same-URL revisit, and Kenya's page, gzip-coded: decoded, it is the crawl's
        "duplicate": 2,
        "revisit without its original": 1,
        "not_an_article": 1,  # the section page
        "not_html": 1,
        "status 404": 1,
        "digest mismatch": 1,
    }
    with Store(crawled_t1) as store:
        versions = list(
            store.db.query(
                "SELECT v.version, v.created_at, v.crawl_id, a.current_version_id = v.id AS current"
                " FROM versions AS v JOIN articles AS a ON a.id = v.article_id"
                " WHERE a.url = :url ORDER BY v.version",
                {"url": zambia_url},
            )
        )
        assert [(v["version"], v["created_at"], v["current"]) for v in versions] == [
            (1, OLD, 0),
            (2, MOMENTS["fixtures/sputnik-africa-t1"], 1),
        ]
        assert versions[0]["crawl_id"].startswith("import-")
        (change,) = store.db.query("SELECT * FROM version_changes")
        assert (change["version"], change["previous_version"], change["cause"]) == (2, 1, "crawl")
        assert json.loads(change["fields"]) == ["body"]
        # the ?in=t revisit is a fetch of the same article that shows version 1
        (seen,) = store.db.query(
            "SELECT f.final_url, o.version_id, w.file, w.record_id FROM fetches AS f"
            " JOIN observations AS o ON o.fetch_id = f.id JOIN warc_records AS w"
            " ON w.fetch_id = f.id WHERE f.fetched_at = '2021-06-03T08:00:00Z'"
        )
        assert seen["final_url"] == f"{zambia_url}?in=t"
        assert seen["file"] == str(archive) and seen["record_id"].startswith("<urn:uuid:")
        (first,) = store.db.query(
            "SELECT first_seen FROM articles WHERE url = :url", {"url": zambia_url}
        )
        assert first["first_seen"] == OLD


def test_a_file_cut_off_mid_record_keeps_what_came_before(tmp_path: Path) -> None:
    pages = [
        Page(*recorded("sputnik-africa-t1", f"article-110660010{n}"), f"2022-01-0{n}T00:00:00Z")
        for n in (1, 2, 3)
    ]
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, pages, request_first=True)  # as wget writes them
    with whole.open("rb") as stream:
        records = ArchiveIterator(stream)
        offsets = [
            records.get_record_offset() for record in records if record.rec_type == "response"
        ]
    cut = tmp_path / "cut.warc.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: offsets[2] + (len(data) - offsets[2]) // 2])
    store = tmp_path / "wire.db"
    counts = run_import(store, cut)
    assert (counts.articles, counts.new_versions) == (2, 2)
    assert dict(counts.skipped) == {"record cut off": 1}
    with Store(store) as opened:
        rows = list(opened.db.query("SELECT referer, fetched_at FROM fetches ORDER BY id"))
        assert [row["fetched_at"] for row in rows] == [page.date for page in pages[:2]]
        assert {row["referer"] for row in rows} == {"https://sputnikglobe.com/africa/"}
        offsets_kept = [row["offset"] for row in opened.db.query("SELECT * FROM warc_records")]
    assert offsets_kept == offsets[:2]


def test_the_command_prints_progress_and_a_summary(tmp_path: Path) -> None:
    pages = [Page(*recorded("sputnik-africa-t1", ZAMBIA), OLD)]
    archive = tmp_path / "one.warc.gz"
    write_warc(archive, pages)
    store = tmp_path / "new.db"
    done = subprocess.run(
        [sys.executable, "-m", "store", "import", str(store), str(archive), "--progress-every",
         "1"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = "1 records: 1 articles, 1 new versions, 0 skipped"
    assert done.stdout == f"Imported into {store}: {summary}\n"
    assert f"import: {summary}" in done.stderr
    missing = tmp_path / "missing.warc"
    assert store_main(["import", str(store), str(missing)]) == 2


def test_a_missing_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert store_main(["import", str(tmp_path / "wire.db"), str(tmp_path / "none.warc")]) == 2
    assert capsys.readouterr().err == f"error: no file at {tmp_path / 'none.warc'}\n"
    assert not (tmp_path / "wire.db").exists()


def test_worker_processes_store_what_one_process_stores(history: Path, tmp_path: Path) -> None:
    """Pages read by worker processes are stored in file order: the same history, the same
    counts, as when this process reads them."""
    archive = tmp_path / "history.warc.gz"
    args = ["export", str(history), "--format", "warc", "-o", str(archive), "--all-versions"]
    assert store_main(args) == 0
    results = []
    for workers in (0, 2):
        store = tmp_path / f"workers-{workers}.db"
        with Store(store) as opened:
            counts = import_files(opened, [archive], progress=io.StringIO(), workers=workers)
        results.append((counts, export_lines(store)))
    assert results[0] == results[1]
    assert results[0][0].articles > 0
