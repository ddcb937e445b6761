"""The benchmarks cannot rot: the generated site is a faithful recorded site, and the benchmark
script runs end to end at a tiny N (its timings are printed, never asserted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks import distributed, fallback, pages, run, store_size
from benchmarks.generate import (
    DEFAULT_SEED,
    SECTION_URL,
    article_file,
    article_spec,
    body_paragraphs,
    boilerplate,
    generate,
    render_article,
)
from crawler.fixtures import index_fixture_set, replay_key
from crawler.sites import parse_listing
from domain.records import FetchRecord
from domain.text import article_identity
from pipelines.chain import read_article
from store import Store


def test_the_same_seed_writes_the_same_site(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, 3, seed=7)
    generate(second, 3, seed=7)
    generate(other, 3, seed=8)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    assert (first / "section.html").read_bytes() != (other / "section.html").read_bytes()


def test_article_pages_weigh_like_real_pages() -> None:
    sizes = [len(render_article(article_spec(DEFAULT_SEED, i), DEFAULT_SEED)) for i in range(20)]
    assert min(sizes) >= 90_000 and max(sizes) <= 180_000


@pytest.mark.parametrize("index", range(12))
def test_the_parser_reads_exactly_the_generated_body(index: int) -> None:
    spec = article_spec(DEFAULT_SEED, index)
    html = render_article(spec, DEFAULT_SEED)
    fetch = FetchRecord(
        "test", "article", spec.header.url, spec.header.url, 200, "ok", "2024-01-01T00:00:00Z",
        body=html.encode(),
    )  # fmt: skip
    record = read_article(fetch, html)
    page, split = record.page, record.split
    assert page.title == spec.header.title
    assert [f"{split.dateline} - {split.body[0]}", *split.body[1:]] == body_paragraphs(spec)
    body = "\n".join(split.body)
    for strings in boilerplate(spec).values():
        assert not [s for s in strings if s in body]


def test_boilerplate_never_occurs_in_generated_body_text() -> None:
    for index in range(50):
        spec = article_spec(DEFAULT_SEED, index)
        body = "\n".join(body_paragraphs(spec))
        for kind, strings in boilerplate(spec).items():
            assert not [s for s in strings if s in body], (index, kind)


def test_the_site_is_a_recorded_site_whose_listing_reaches_every_article(tmp_path: Path) -> None:
    site = tmp_path / "site"
    stats = generate(site, 45)
    index = index_fixture_set(site)
    assert stats.articles == 45 and len(index) == 45 + stats.listing_pages + 1  # + robots.txt
    listed: list[str] = []
    url: str | None = SECTION_URL
    while url is not None:
        listing = parse_listing(url, index[replay_key(url)].body().decode("utf-8"))
        listed += [entry.url for entry in listing.entries]
        url = listing.next_url
    wanted = [article_identity(article_spec(DEFAULT_SEED, i).header.url) for i in range(45)]
    assert list(dict.fromkeys(listed)) == wanted
    assert len(listed) == 45 + stats.listing_pages - 1  # each chunk repeats one item
    assert (site / article_file(article_spec(DEFAULT_SEED, 44))).is_file()


def test_the_benchmark_runs_at_tiny_n(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--articles", "25", "--repeat", "1", "--sample", "4", "--workdir", str(tmp_path),
            "--diff-paragraphs", "30"]  # fmt: skip
    assert run.main(args) == 0
    table = capsys.readouterr().out
    assert "cores, Python 3." in table
    rows = {line.split(" | ")[0].lstrip("| ") for line in table.splitlines() if " | " in line}
    for figure in (
        "end-to-end replay crawl",
        "parser, ms/page",
        "peak RSS of the crawl",
        "store size on disk",
        "re-crawl",
        "store reparse",
        "JSONL export",
        "store import of the crawl's WARC",
        "replay crawl with WARC capture",
        "longest write-lock hold, 30 paragraphs all rewritten",
    ):
        assert any(row.startswith(figure) for row in rows), figure
    ours = next(line for line in table.splitlines() if "boilerplate strings left" in line)
    assert ours.split(" | ")[1].startswith("0 ")


def test_the_fallback_benchmark_scores_every_page_it_measures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fallback.main(["--generated", "2"]) == 0
    out = capsys.readouterr().out
    assert "\nown: 7 pages\n" in out and "\ngenerated: 2 pages\n" in out
    (generic_line,) = [line for line in out.splitlines()[-2:] if "generic" in line]
    assert "refused 0" in generic_line


def test_the_page_benchmark_builds_a_store_and_every_page_answers(tmp_path: Path) -> None:
    """A store of about 40 versions (a base set of 6 articles and its copies by SQL), every
    page of it timed once: each answers 200 (the times are printed, never asserted)."""
    path = store_size.build(40, base=6, workdir=tmp_path)
    with Store(path) as store:  # the copies are whole: every key points at a row
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        versions = store.db.execute("SELECT count(*) FROM versions").fetchone()[0]
        copies = store.db.execute("SELECT count(*) FROM crawls WHERE id LIKE '%-r%'").fetchone()
        searched = store.db.execute(
            "SELECT count(*) FROM versions_fts WHERE versions_fts MATCH 'Mombasa'"
        ).fetchone()[0]
    assert versions >= 40 and copies[0] > 0 and searched > 0
    templates = pages.all_paths(["/wire/version_history?url={url}"])
    values = pages.placeholders(path)
    timed = asyncio.run(
        pages.time_pages(pages.datasette_for(path), [pages.fill(t, values) for t in templates], 1)
    )
    assert {path: t.status for path, t in timed.items() if t.status != 200} == {}
    table = pages.format_table(
        templates, [40], [{t: timed[pages.fill(t, values)] for t in templates}]
    )
    assert "/wire/crawl_log" in table


def test_the_distributed_benchmark_runs_at_tiny_n(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One worker, a Redis, the store writer, on 6 articles over 2 hosts: every article
    stored, no host over its limits (the rates are printed, never asserted)."""
    if distributed.REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    args = ["--articles", "6", "--hosts", "2", "--workers", "1", "--no-local",
            "--keep", str(tmp_path)]  # fmt: skip
    assert distributed.main(args) == 0
    out = capsys.readouterr().out
    assert "cores, load average" in out
    (row,) = [line for line in out.splitlines() if line.startswith("| 1 worker(s), Redis")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert "only" not in cells[0]  # every article stored
    assert int(cells[3]) <= 10 and int(cells[4]) <= 2  # DOWNLOAD_DELAY 0.1, 2 per host
