"""The replay handler's compact index: finds what a dict of keys would, in little memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import fixtures
from crawler.fixtures import FixtureError, ReplayIndex, index_fixture_set
from tests.conftest import AFRICA, ROOT


def write_fixture(folder: Path, name: str, url: str, body: str = "x") -> None:
    (folder / f"{name}.html").write_text(body)
    sidecar = {"url": url, "status": 200, "body": f"{name}.html"}
    (folder / f"{name}.http.json").write_text(json.dumps(sidecar))


def test_finds_every_fixture_of_the_set_as_the_full_index_does() -> None:
    full = index_fixture_set(AFRICA)
    index = ReplayIndex(AFRICA)
    assert len(index) == len(full) == 21
    for fixture in full.values():
        assert index.find(fixture.url) == fixture


def test_lookup_is_by_replay_key() -> None:
    url = next(f.url for f in index_fixture_set(AFRICA).values() if "/2023" in f.url)
    found = ReplayIndex(AFRICA).find(url + "#comments")
    assert found is not None
    assert found.url == url


def test_unknown_url_is_not_found() -> None:
    assert ReplayIndex(AFRICA).find("https://sputnikglobe.com/20230101/nothing-1.html") is None


def test_malformed_sidecar_refused_when_indexing(tmp_path: Path) -> None:
    write_fixture(tmp_path, "good", "https://a.test/good")
    (tmp_path / "bad.http.json").write_text("{not json")
    with pytest.raises(FixtureError, match="malformed sidecar"):
        ReplayIndex(tmp_path)


def test_empty_set_refused(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="holds no"):
        ReplayIndex(tmp_path)


def test_same_url_twice_the_last_sidecar_in_name_order_wins(tmp_path: Path) -> None:
    write_fixture(tmp_path, "a", "https://a.test/page?b=2&a=1", body="first")
    write_fixture(tmp_path, "b", "https://a.test/page?a=1&b=2", body="second")
    index = ReplayIndex(tmp_path)
    assert len(index) == 1
    found = index.find("https://a.test/page?a=1&b=2")
    assert found is not None
    assert found.body() == b"second"
    assert found == index_fixture_set(tmp_path)[fixtures.replay_key(found.url)]


@pytest.mark.parametrize("collide", [lambda key: 7, lambda key: len(key) % 2])
def test_keys_sharing_a_hash_are_told_apart_by_the_sidecar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collide: object
) -> None:
    monkeypatch.setattr(fixtures, "key_hash", collide)
    urls = [f"https://a.test/{i}" for i in range(12)]
    for i, url in enumerate(urls):
        write_fixture(tmp_path, f"p{i:02d}", url, body=url)
    write_fixture(tmp_path, "p99", urls[3], body="again")  # same key: the later one wins
    index = ReplayIndex(tmp_path)
    assert len(index) == len(urls)
    for url in urls:
        found = index.find(url)
        assert found is not None
        assert found.body() == (b"again" if url == urls[3] else url.encode())
    assert index.find("https://a.test/unknown") is None


def test_sidecar_no_longer_recording_the_url_is_not_served(tmp_path: Path) -> None:
    write_fixture(tmp_path, "a", "https://a.test/a")
    index = ReplayIndex(tmp_path)
    write_fixture(tmp_path, "a", "https://a.test/other")  # rewritten after the crawl started
    assert index.find("https://a.test/a") is None


# Measured in a process of its own: in the test process, threads other tests left (servers,
# client pools) and state they left (caches, the collector) made the count move (2 kB a page
# seen under xdist, ~100 alone).
MEASURE_INDEX = """
import gc, sys, tracemalloc
from pathlib import Path
from crawler import fixtures
from crawler.fixtures import ReplayIndex
folder = Path(sys.argv[1])
ReplayIndex(folder)  # first: fills the fixed-size caches (urllib's, json's) once
gc.collect()
tracemalloc.start(25)
index = ReplayIndex(folder)
gc.collect()
snapshot = tracemalloc.take_snapshot()
tracemalloc.stop()
made_here = tracemalloc.Filter(True, fixtures.__file__, all_frames=True)
kept = sum(stat.size for stat in snapshot.filter_traces([made_here]).statistics("filename"))
print(len(index), kept)
"""


def test_index_keeps_a_few_dozen_bytes_a_page(tmp_path: Path) -> None:
    pages = 2000
    for i in range(pages):
        url = f"https://sputnikglobe.com/20230101/a-long-article-title-of-some-words-{i:07d}.html"
        write_fixture(tmp_path, f"article-{i:07d}", url)
    done = subprocess.run(
        [sys.executable, "-c", MEASURE_INDEX, str(tmp_path)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    indexed, kept = map(int, done.stdout.split())
    assert indexed == pages
    # hash, position and name end (8 bytes each) and the name (25 bytes) in one blob: ~100
    # bytes a page measured; a dict of key and name strings kept ~275 with these short URLs
    assert kept / pages < 150
