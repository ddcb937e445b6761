"""The store a replay of fixtures/sputnik-africa produces, as Datasette and the export show it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette

from store import EXPORT_KEYS, PROVENANCE_KEYS, load_metadata
from store.export import CAPTION_KEYS, DATE_KEYS, RELATED_LINK_KEYS
from tests.crawling import ROOT, replay
from tests.datasette_client import Client

SEED = (
    "https://sputnikglobe.com/20230120/"
    "russian-defense-ministry-discusses-bilateral-cooperation-with-car-prime-minister-1106523345.html"
)
ESKOM = (
    "https://sputnikglobe.com/20230119/"
    "south-africas-eskom-extends-rolling-blackouts-as-generating-units-break-down-1106509473.html"
)
SAO_TOME = (
    "https://sputnikglobe.com/20230106/"
    "sao-tome-and-principe-opens-solar-park-to-cut-reliance-on-diesel-1106158803.html"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replayed") / "wire.db"
    replay(path)
    return path


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[Client]:
    client = Client(Datasette(files=[str(store)], metadata=load_metadata(store)))
    yield client
    client.close()


def test_latest_articles(client: Client) -> None:
    rows = client.rows("/wire/latest_articles")
    assert len(rows) == 16
    assert [r["published_at"] for r in rows] == sorted(
        (r["published_at"] for r in rows), reverse=True
    )
    assert rows[1]["url"] == SEED
    assert json.loads(rows[1]["tags"]) == ["Africa"]


def test_search_for_moloua_finds_the_seed(client: Client) -> None:
    rows = client.rows("/wire/search", q="Moloua")
    assert [r["url"] for r in rows] == [SEED]
    assert "[Moloua]" in rows[0]["snippet"]


def test_search_text_is_taken_as_typed(client: Client) -> None:
    assert client.rows("/wire/search", q='"AND OR (') == []


def test_one_articles_whole_record(client: Client) -> None:
    rows = client.rows("/wire/article", url=SEED)
    parts = [r["part"] for r in rows]
    assert parts.count("body") == 6
    assert parts.count("caption") == 1
    assert parts.count("related_link") == 1
    assert parts.count("tag") == 1
    assert "provenance" in parts
    header = {r["label"]: r["text"] for r in rows if r["part"] == "header"}
    assert header["dateline"] == "MOSCOW (Sputnik)"
    assert header["published_at"] == "2023-01-20T08:02:00Z"


def test_caption_search_and_script_shown_as_text(client: Client) -> None:
    rows = client.rows("/wire/caption_search", q="alert")
    assert len(rows) == 1
    assert "<script>alert(1)</script>" in rows[0]["caption"]
    page = client.get("/wire/caption_search", q="alert").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_related_link_graph(client: Client) -> None:
    rows = client.rows("/wire/related_graph", url="")
    assert len(rows) == 9
    in_store = [(r["source_url"], r["target_url"]) for r in rows if r["target_in_store"]]
    assert in_store == [(ESKOM, SAO_TOME)]
    assert all("?in=t" not in r["target_url"] for r in rows)


def test_crawl_log(client: Client) -> None:
    (run,) = client.rows("/wire/crawl_log")
    # robots.txt, 3 listing pages, 16 articles and the 404
    assert (run["fetches"], run["ok"], run["not_found"], run["failed"]) == (21, 20, 1, 0)
    assert (run["articles_added"], run["versions_added"]) == (16, 16)
    assert run["finish_reason"] == "finished"


def test_every_canned_query_runs(client: Client, store: Path) -> None:
    queries = load_metadata(store)["databases"]["wire"]["queries"]
    params = {"search": {"q": "Africa"}, "caption_search": {"q": "Sputnik"},
              "article": {"url": SEED}, "related_graph": {"url": ""},
              "discovery_coverage": {"crawl": ""}}  # fmt: skip
    # One crawl has no history yet: these answer (with no rows); tests/test_history.py has theirs.
    history = {"changes_in_period": {"from": "", "to": ""}, "version_history": {"url": SEED},
               "version_diff": {"url": SEED, "a": "1", "b": "2"}, "silent_edits": {},
               "gone_and_delisted": {}, "listing_headlines": {},
               # a section-only replay of a set whose robots.txt refuses nothing
               "robots_refusals": {"crawl": ""}}  # fmt: skip
    for name in queries:
        if name in history:
            found = client.rows(f"/wire/{name}", **history[name])
            assert found == [] or name == "version_history", name
            continue
        assert client.rows(f"/wire/{name}", **params.get(name, {})), name


def test_export_validates_against_the_documented_keys(store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "store", "export", str(store), "--format", "jsonl"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 16
    for row in rows:
        assert list(row) == list(EXPORT_KEYS)
        assert list(row["provenance"]) == list(PROVENANCE_KEYS)
        assert all(list(d) == list(DATE_KEYS) for d in row["dates"])
        assert all(list(c) == list(CAPTION_KEYS) for c in row["captions"])
        assert all(list(r) == list(RELATED_LINK_KEYS) for r in row["related_links"])
        for key in ("published_at", "modified_at"):
            assert row[key] is None or row[key].endswith("Z")
        assert all(isinstance(p, str) and p for p in row["body"])
        assert row["provenance"]["fetched_at"].endswith("Z")
        assert len(row["provenance"]["raw_sha256"]) == 64


def test_datasette_served_for_real_and_queried(store: Path) -> None:
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "store", "serve", str(store), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/wire/search.json?_shape=array&q=Moloua"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    rows = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert [r["url"] for r in rows] == [SEED]
    finally:
        server.terminate()  # SIGTERM: Datasette must stop with it, not be left running
        server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break  # nothing listens any more
        assert time.monotonic() < deadline, "Datasette still serves after SIGTERM"
        time.sleep(0.2)
