"""``python -m store export --format warc|wacz``: the stored exchanges as WARC 1.1 and WACZ,
checked with warcio, the wacz validator and a replay in pywb (issue 13, part 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wacz.main import main as wacz_main
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from store import Store
from store.__main__ import main as store_main
from store.warc_export import payload_digest
from tests.crawling import ROOT, replay
from tests.servers import free_port

# pywb lives in a venv of its own (scripts/setup --test): its redis pin clashes with ours
BIN = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding two replays of the recorded section (every payload fetched twice)."""
    store = tmp_path_factory.mktemp("warc") / "wire.db"
    replay(store)
    replay(store)
    return store


def export(store: Path, out: Path, *args: str) -> list[Any]:
    """Run the export command; return the records of the file written (WARC only)."""
    fmt = "wacz" if out.suffix == ".wacz" else "warc"
    assert store_main(["export", str(store), "--format", fmt, "-o", str(out), *args]) == 0
    if fmt == "wacz":
        return []
    return read_records(out)


def read_records(path: Path) -> list[Any]:
    """Every record of a WARC as (headers, http status/headers, payload bytes)."""
    records = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            payload = record.content_stream().read()
            records.append((record.rec_type, record.rec_headers, record.http_headers, payload))
    return records


def stored_responses(store: Path) -> list[dict[str, Any]]:
    """Every fetch that got an HTTP answer, with its body, its crawl's User-Agent."""
    with Store(store) as opened:
        rows = list(
            opened.db.query(
                "SELECT f.*, json_extract(c.settings, '$.USER_AGENT') AS ua FROM fetches AS f "
                "JOIN crawls AS c ON c.id = f.crawl_id WHERE f.status IS NOT NULL "
                "ORDER BY f.fetched_at, f.id"
            )
        )
        for row in rows:
            row["body"] = opened.body(row["body_sha256"]) if row["body_sha256"] else b""
    return rows


def test_every_newest_exchange_is_a_response_with_the_stored_body(
    crawled: Path, tmp_path: Path
) -> None:
    records = export(crawled, tmp_path / "wire.warc.gz")
    stored = stored_responses(crawled)
    newest = {(row["final_url"] or row["requested_url"]): row for row in stored}  # last wins
    assert records[0][0] == "warcinfo"
    info = records[0][3].decode()
    assert "wirearchive/" in info and "warcio/" in info
    responses = [r for r in records if r[0] == "response"]
    assert {r[1].get_header("WARC-Target-URI") for r in responses} == set(newest)
    assert len(responses) == len(newest)
    for _, headers, http_headers, payload in responses:
        row = newest[headers.get_header("WARC-Target-URI")]
        assert headers.get_header("WARC-Date") == row["fetched_at"]
        assert payload == row["body"]
        if row["body_sha256"]:
            assert headers.get_header("WARC-Payload-Digest") == payload_digest(row["body_sha256"])
        assert http_headers.get_statuscode() == str(row["status"])
        assert http_headers.get_header("Content-Length") == str(len(row["body"]))
        assert http_headers.get_header("Content-Encoding") is None
    requests = [r for r in records if r[0] == "request"]
    assert len(requests) == len(responses)
    ids = {r[1].get_header("WARC-Record-ID") for r in responses}
    user_agent = stored[0]["ua"]
    for _, headers, http_headers, _ in requests:
        assert headers.get_header("WARC-Concurrent-To") in ids
        assert http_headers.protocol == "GET"
        assert http_headers.get_header("User-Agent") == user_agent


def test_all_versions_writes_every_exchange_and_repeats_as_revisits(
    crawled: Path, tmp_path: Path
) -> None:
    records = export(crawled, tmp_path / "all.warc.gz", "--all-versions")
    stored = stored_responses(crawled)
    kinds = [r[0] for r in records]
    assert kinds.count("response") + kinds.count("revisit") == len(stored)
    assert kinds.count("revisit") > 0
    first_dates = {}
    for kind, headers, _, _ in records:
        digest = headers.get_header("WARC-Payload-Digest")
        if kind == "response":
            first_dates.setdefault(digest, headers.get_header("WARC-Date"))
        elif kind == "revisit":
            assert headers.get_header("WARC-Refers-To-Date") == first_dates[digest]
            assert "identical-payload-digest" in headers.get_header("WARC-Profile")


def test_url_and_since_choose_the_exchanges(crawled: Path, tmp_path: Path) -> None:
    stored = stored_responses(crawled)
    url = next(row["final_url"] for row in stored if row["kind"] == "article")
    records = export(crawled, tmp_path / "one.warc", "--url", url, "--all-versions")
    targets = [r[1].get_header("WARC-Target-URI") for r in records if r[0] != "warcinfo"]
    assert targets and set(targets) == {url}
    assert len([r for r in records if r[0] in ("response", "revisit")]) == 2
    late = max(row["fetched_at"] for row in stored)
    records = export(crawled, tmp_path / "late.warc.gz", "--since", late, "--all-versions")
    dates = [r[1].get_header("WARC-Date") for r in records if r[0] in ("response", "revisit")]
    assert dates and all(date >= late for date in dates)
    assert len(dates) == sum(row["fetched_at"] >= late for row in stored)


def test_the_warc_digests_check_out_with_warcio(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.warc.gz"
    export(crawled, out, "--all-versions")
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout


def test_the_wacz_validates(crawled: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "wire.wacz"
    export(crawled, out)
    assert wacz_main(["validate", "-f", str(out)]) == 0
    assert "Validation succeeded" in capsys.readouterr().out


def test_usage_errors_are_one_line(crawled: Path, capsys: pytest.CaptureFixture) -> None:
    assert store_main(["export", str(crawled), "--format", "warc"]) == 2
    assert capsys.readouterr().err == "error: --format warc writes a file: give it with -o FILE\n"
    assert store_main(["export", str(crawled), "-o", "x.jsonl"]) == 2
    assert "go with --format warc or wacz" in capsys.readouterr().err
    args = ["export", str(crawled), "--format", "warc", "-o", "x.warc", "--since", "yesterday"]
    assert store_main(args) == 2
    assert "is not an ISO 8601 time" in capsys.readouterr().err


@pytest.fixture(scope="module")
def pywb(crawled: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """pywb serving the store's WACZ (collection ``wacz``) and WARC (``warc``); its base URL."""
    root = tmp_path_factory.mktemp("pywb")
    export(crawled, root / "wire.wacz", "--all-versions")
    export(crawled, root / "wire.warc.gz", "--all-versions")
    manager = [str(BIN / "wb-manager")]
    for collection, archive, flags in (
        ("wacz", "wire.wacz", ["--unpack-wacz"]),
        ("warc", "wire.warc.gz", []),
    ):
        subprocess.run([*manager, "init", collection], cwd=root, check=True, capture_output=True)
        subprocess.run(
            [*manager, "add", *flags, collection, archive],
            cwd=root,
            check=True,
            capture_output=True,
        )
    port = free_port()
    log = (root / "wayback.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((root / "wayback.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.parametrize("collection", ["wacz", "warc"])
def test_pywb_replays_each_article_as_stored(crawled: Path, pywb: str, collection: str) -> None:
    stored = stored_responses(crawled)
    articles = {row["final_url"]: row for row in stored if row["outcome"] == "ok"}
    assert len(articles) > 3
    for url, row in list(articles.items())[:4]:
        # id_: the archived payload as it was, not rewritten for replay; the newest capture
        stamp = iso_date_to_timestamp(row["fetched_at"])
        with urllib.request.urlopen(f"{pywb}/{collection}/{stamp}id_/{url}", timeout=30) as got:
            assert got.status == 200
            served = got.read()
        assert served == row["body"], url


def test_the_export_writes_nothing_to_stdout(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "wire.wacz"
    done = subprocess.run(
        [sys.executable, "-m", "store", "export", str(crawled), "--format", "wacz", "-o", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith("Exported ")
    with zipfile.ZipFile(out) as package:
        pages = package.read("pages/pages.jsonl").decode().splitlines()
    urls = {json.loads(line).get("url") for line in pages[1:]}
    html = ("section", "listing", "article", "archive")  # not robots.txt, sitemaps, feeds
    answered = stored_responses(crawled)
    articles = {r["final_url"] for r in answered if r["outcome"] == "ok" and r["kind"] in html}
    assert articles <= urls
