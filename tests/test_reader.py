"""Tests of the reader's pages (store/web): /article, /diff, /raw/{fetch_id}, /warc/{fetch_id}.

Datasette runs in-process (``datasette.client``) on a store built here: an article with two
versions (a silent edit: the title and a paragraph rewritten, the claimed modification time
the same), hostile crawled text in every part a page shows (``<script>``, ``"><img onerror>``,
``javascript:`` in related-link and image URLs), a related link to an archived article, one to
the live site, a failed fetch, and a fetch captured as WARC records. One module-wide server
(``python -m store serve`` on a free port) answers the HTTP and headless-Chromium checks.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
from datasette.app import Datasette
from test_security import BROWSER, dump_dom
from test_store import (
    SITE,
    T1,
    T2,
    T3,
    article_fetch,
    failed_fetch,
    make_article,
    make_crawl,
    revise,
)
from warcio.archiveiterator import ArchiveIterator

from domain.records import CaptionRecord, RelatedLinkRecord
from store import Store, load_metadata
from store.diff import VersionText
from store.lookup import find_article, url_candidates
from store.warc_capture import WarcCapture
from store.web.compare import compare
from store.web.reader import web_href
from store.web.worddiff import Segment, WordBudget, word_diff
from tests.datasette_client import Client
from tests.servers import serve_store

ROOT = Path(__file__).resolve().parent.parent
DB = "reader"
PWNED = "pwned-by-crawled-text"
SCRIPT = f"<script>document.title='{PWNED}'</script>"
IMG = f'"><img src=x onerror="document.title=\'{PWNED}\'">'
JS_URL = f"javascript:document.title='{PWNED}'"
ONE = f"{SITE}/20240501/one-1106531190.html"
TWO = f"{SITE}/20240502/two.html"
ELSEWHERE = f"{SITE}/not-crawled.html"
GONE = f"{SITE}/gone.html"


def build_store(path: Path, warc_dir: Path) -> dict[str, int]:
    """The reader's test store; the ids of its fetches by name."""
    links = [
        RelatedLinkRecord(10, "Read two", TWO, T1, "1 May, 10:00 GMT"),
        RelatedLinkRecord(11, "Read elsewhere", ELSEWHERE, None, "yesterday"),
        RelatedLinkRecord(12, IMG, JS_URL, None, SCRIPT),
        RelatedLinkRecord(13, "Two again", TWO.replace("https://", "http://") + "/", None, None),
    ]
    captions = [
        CaptionRecord(0, 0, JS_URL, f"A caption {SCRIPT}", f"Credit {IMG}"),
        CaptionRecord(5, 0, f"{SITE}/img/photo.jpg", "A giraffe at noon.", "Photo: AP"),
    ]
    one_v1 = make_article(
        ONE,
        title=f"Giraffes {IMG}",
        body=["The cat sat on the mat.", "A second paragraph stays.", f"Third with {SCRIPT}."],
        related_links=links,
        captions=0,
        article_id="1106531190",
    )
    one_v1.split.captions.extend(captions)
    one_v2 = revise(
        make_article(
            ONE,
            title=f"Giraffes and zebras {IMG}",
            body=[
                "The big cat sat on a mat.",
                "A second paragraph stays.",
                f"Third with {SCRIPT}.",
                f"A new paragraph {IMG} {SCRIPT}.",
            ],
            captions=0,
        ),
        related_links=links,
        article_id="1106531190",
    )
    one_v2.split.captions.extend(captions)
    two = make_article(TWO, title=f"Two {SCRIPT} {IMG}", links=0, captions=0)
    ids: dict[str, int] = {}
    with Store(path) as store:
        store.begin_crawl(make_crawl("run-1", T1))
        ids["one_v1"] = store.save_article(article_fetch(one_v1, "run-1", T1), one_v1).fetch_id
        ids["two"] = store.save_article(article_fetch(two, "run-1", T1), two).fetch_id
        ids["failed"] = store.save_fetch(failed_fetch(GONE, "failed", "run-1", T1))
        store.finish_crawl("run-1", T1, "finished", {})
        store.begin_crawl(make_crawl("run-2", T2))
        fetch = article_fetch(one_v2, "run-2", T3)
        ids["one_v2"] = store.save_article(fetch, one_v2).fetch_id
        store.finish_crawl("run-2", T3, "finished", {})
    # the second version's exchange as a crawl's capture wrote it, and its row
    capture = WarcCapture(warc_dir, make_crawl("run-2", T2), 0)
    source = capture.write(fetch)
    capture.close()
    assert source is not None
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO warc_records (fetch_id, file, offset, record_id) VALUES (?, ?, ?, ?)",
            (ids["one_v2"], source.file, source.offset, source.record_id),
        )
    conn.close()
    return ids


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The test store, built once, and its fetch ids."""
    folder = tmp_path_factory.mktemp("reader")
    path = folder / f"{DB}.db"
    return path, build_store(path, folder / "warc")


@pytest.fixture(scope="module")
def client(store: tuple[Path, dict[str, int]]) -> Iterator[Client]:
    """Datasette in-process on the test store, with the store's metadata."""
    path = store[0]
    client = Client(Datasette(files=[str(path)], metadata=load_metadata(path)))
    yield client
    client.close()


def assert_escaped(html: str) -> None:
    """No crawled markup is markup, no crawled URL of another scheme is a link."""
    assert "<script>document.title" not in html
    assert '<img src=x onerror="document' not in html and "<img" not in html
    assert 'href="javascript:' not in html.replace(" ", "")
    assert "javascript:" not in "".join(part.split('"', 1)[0] for part in html.split("href=")[1:])


# -- the lookup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ONE,
        ONE.replace("https://", "http://"),
        ONE + "/",
        f"  {ONE}\n",
        ONE + "?in=t",
        ONE + "?utm_source=twitter&utm_medium=social",
        ONE + "#comments",
        ONE.removeprefix("https://"),
        ONE.replace("https://", "https://www."),
        ONE.replace("https://wire.test", "https://WIRE.test"),
        "1",  # the row id
        "1106531190",  # the site's own id
    ],
)
def test_any_pasted_form_of_the_url_finds_the_article(
    client: Client, store: tuple[Path, dict[str, int]], text: str
) -> None:
    with sqlite3.connect(store[0]) as conn:
        assert find_article(conn, text) == 1
    conn.close()
    response = client.get("/article", url=text)
    assert response.status_code == 200, response.text
    assert "Giraffes and zebras" in response.text
    for query in ("article", "version_history"):  # the canned queries take it too
        assert client.rows(f"/{DB}/{query}", url=text, page=""), query
    assert client.rows(f"/{DB}/version_diff", url=text, a="1", b="2")


@pytest.mark.parametrize(
    "text", ["", "   ", "javascript:alert(1)", "ftp://wire.test/x", "99", "x" * 5000, "http://[::1"]
)
def test_a_text_that_names_no_article_finds_none(
    store: tuple[Path, dict[str, int]], text: str
) -> None:
    with sqlite3.connect(store[0]) as conn:
        assert find_article(conn, text) is None
    conn.close()


def test_url_candidates_try_the_stored_form_first() -> None:
    assert url_candidates(" http://Wire.test/a.html/?in=t ")[:3] == [
        "http://wire.test/a.html/",
        "http://wire.test/a.html",
        "https://wire.test/a.html",
    ]
    assert url_candidates("not a url") == []


def test_the_sql_function_names_the_article(client: Client) -> None:
    rows = client.rows(f"/{DB}", sql="select wire_article_id(:u) as id", u=ONE + "?in=t")
    assert rows == [{"id": 1}]


# -- the article page ----------------------------------------------------------------------------


def test_the_article_page_shows_the_current_version_as_a_reader_sees_it(client: Client) -> None:
    html = client.get("/article", url=ONE).text
    assert "version 2 of 2" in html and "(current)" in html
    assert "The big cat sat on a mat." in html and "The lead." in html and "NAIROBI" in html
    assert "Jane Doe, Ama Mensah" in html
    assert "2024-05-01T09:00:00Z" in html  # published, UTC
    assert 'Modified as the page prints it: <span class="wire-printed">14:00</span>' in html
    assert "A giraffe at noon." in html and "Photo: AP" in html
    assert f'href="{SITE}/img/photo.jpg"' in html  # an image is a link, never loaded
    assert "Tag 0" in html and f'href="{SITE}/tag_0/"' in html


def test_related_links_lead_to_the_archived_copy_or_the_live_site(client: Client) -> None:
    html = client.get("/article", url=ONE).text
    archived = "/article?" + urlencode({"url": TWO})
    assert f'href="{archived.replace("&", "&amp;")}">Read two</a>' in html
    assert f'href="{archived.replace("&", "&amp;")}">Two again</a>' in html  # another form
    assert f'<a href="{ELSEWHERE}" class="wire-external"' in html
    assert 'Read elsewhere</a> <span class="wire-note">(live site)</span>' in html


def test_the_timeline_links_every_version_and_diff(client: Client) -> None:
    html = client.get("/article", url=ONE).text
    assert 'href="/article?url=' in html and "version=1" in html
    assert "from=1&amp;to=2" in html
    assert "silent edit" in html


def test_an_earlier_version_is_shown_by_its_number(client: Client) -> None:
    html = client.get("/article", url=ONE, version="1").text
    assert "version 1 of 2" in html and "The cat sat on the mat." in html
    assert "The big cat" not in html and "read version 2" in html
    assert client.get("/article", url=ONE, version="7").status_code == 404


def test_the_provenance_panel_shows_fetches_parser_hashes_and_downloads(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    ids = store[1]
    html = client.get("/article", id="1").text
    assert "parser <strong>sputnik</strong> version <strong>1</strong>" in html
    with Store(store[0]) as opened:
        (raw_sha,) = [
            row["body_sha256"]
            for row in opened.db.query(
                "select body_sha256 from fetches where id = ?", [ids["one_v2"]]
            )
        ]
    assert raw_sha in html
    for fetch in ("one_v1", "one_v2"):
        assert f'href="/raw/{ids[fetch]}"' in html and f'href="/warc/{ids[fetch]}"' in html


def test_an_unknown_article_is_a_404_with_a_search_link(client: Client) -> None:
    response = client.get("/article", url=f"{SITE}/never.html")
    assert response.status_code == 404
    assert "Not in the archive" in response.text
    assert f"/{DB}/search?q=" in response.text
    assert client.get("/article").status_code == 404
    assert client.get("/diff", url=f"{SITE}/never.html").status_code == 404


@pytest.mark.parametrize("path", ["/article", "/diff"])
def test_hostile_text_asked_for_is_escaped_on_the_404(client: Client, path: str) -> None:
    response = client.get(path, url=f"{SCRIPT}{IMG}")
    assert response.status_code == 404
    assert_escaped(response.text)
    assert "&lt;script&gt;" in response.text


# -- the diff page -------------------------------------------------------------------------------


def test_the_diff_marks_words_names_fields_and_flags_the_silent_edit(client: Client) -> None:
    response = client.get("/diff", url=ONE + "?in=t")  # default: the one before -> current
    assert response.status_code == 200, response.text
    html = response.text
    assert "Version 1 → version 2" in html
    assert "<strong>Changed:</strong> title, body" in html
    assert "Silent edit" in html
    assert "<del>the </del>" in html and "<ins>big </ins>" in html and "<ins>a </ins>" in html
    assert "<ins>and zebras </ins>" in html
    assert "<ins>A new paragraph &#34;&gt;&lt;img" in html


def test_the_diff_takes_either_order_and_refuses_a_missing_version(client: Client) -> None:
    forward = client.get("/diff", url=ONE, **{"from": "1", "to": "2"}).text
    backward = client.get("/diff", url=ONE, **{"from": "2", "to": "1"}).text
    assert forward == backward
    assert client.get("/diff", url=ONE, **{"from": "1", "to": "9"}).status_code == 404


def test_an_article_of_one_version_has_nothing_to_compare(client: Client) -> None:
    response = client.get("/diff", url=TWO)
    assert response.status_code == 200
    assert "Only one version" in response.text


def test_word_diff_gives_both_texts_back_exactly() -> None:
    left, right = "The cat  sat on\tthe mat.", "The big cat sat on a mat."
    before, after = word_diff(left, right)
    assert "".join(s.text for s in before) == left
    assert "".join(s.text for s in after) == right
    assert Segment("delete", "the ") in before and Segment("insert", "big ") in after


def test_word_diff_is_bounded() -> None:
    budget = WordBudget(pairs=10)
    before, after = word_diff("one two three four", "one two five four six", budget)
    assert before == [Segment("delete", "one two three four")]
    assert after == [Segment("insert", "one two five four six")]
    huge = " ".join(["word"] * 4000)
    assert word_diff(huge, huge + " more")[1] == [Segment("insert", huge + " more")]


def test_a_list_too_large_to_align_is_shown_whole() -> None:
    from store.diff import AlignBudget

    old = VersionText(title="t", body=[f"old {i}" for i in range(30)])
    new = VersionText(title="t", body=[f"new {i}" for i in range(30)])
    result = compare(old, new, AlignBudget(pairs=10))
    assert result.too_large == ["body"]
    body = [row for row in result.rows if row.part == "paragraph"]
    assert len(body) == 30 and body[0].left == [Segment("equal", "old 0")]


# -- raw pages and WARC records ------------------------------------------------------------------


def test_the_raw_page_is_plain_text_to_save(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    fetch_id = store[1]["one_v2"]
    response = client.get(f"/raw/{fetch_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="fetch-{fetch_id}.txt"'
    assert response.headers["x-content-type-options"] == "nosniff"
    with Store(store[0]) as opened:
        (row,) = opened.db.query("select body_sha256 from fetches where id = ?", [fetch_id])
        assert response.content == opened.body(row["body_sha256"])
    assert b"<script>document.title" in response.content  # the bytes as received


def test_a_fetch_without_a_body_has_no_raw_page(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    for path in (f"/raw/{store[1]['failed']}", "/raw/999999", f"/warc/{store[1]['failed']}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/plain")


def records(data: bytes) -> list[tuple[str, str]]:
    """(type, target URI) of each WARC record."""
    return [
        (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"))
        for record in ArchiveIterator(io.BytesIO(data))
    ]


def test_warc_records_come_from_the_capture_where_it_has_them(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    fetch_id = store[1]["one_v2"]
    response = client.get(f"/warc/{fetch_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/warc"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-wirearchive-warc-origin"] == "capture"
    assert records(response.content) == [("response", ONE), ("request", ONE)]
    with sqlite3.connect(store[0]) as conn:
        file, offset = conn.execute(
            "select file, offset from warc_records where fetch_id = ?", (fetch_id,)
        ).fetchone()
    conn.close()
    assert Path(file).read_bytes()[offset : offset + len(response.content)] == response.content


def test_warc_records_are_made_from_the_store_otherwise(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    response = client.get(f"/warc/{store[1]['two']}")
    assert response.status_code == 200
    assert response.headers["x-wirearchive-warc-origin"] == "store"
    assert records(response.content) == [("response", TWO), ("request", TWO)]


def test_the_fetches_table_links_each_body_to_its_downloads(
    client: Client, store: tuple[Path, dict[str, int]]
) -> None:
    html = client.get(f"/{DB}/fetches").text
    fetch_id = store[1]["one_v1"]
    assert f'<a href="/raw/{fetch_id}">raw</a> <a href="/warc/{fetch_id}">WARC</a>' in html


# -- every page escapes crawled text ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/article?" + urlencode({"url": ONE}),
        "/article?" + urlencode({"url": ONE, "version": "1"}),
        "/article?" + urlencode({"url": TWO}),
        "/diff?" + urlencode({"url": ONE}),
        "/diff?" + urlencode({"url": ONE, "from": "2", "to": "1"}),
    ],
)
def test_crawled_text_is_escaped_on_every_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert_escaped(response.text)
    assert "&lt;script&gt;document.title=" in response.text
    assert "&lt;img src=x onerror=" in response.text


# -- over HTTP: python -m store serve, plain datasette, a real browser ---------------------------


@pytest.fixture(scope="module")
def served(store: tuple[Path, dict[str, int]]) -> Iterator[str]:
    """``python -m store serve`` on the test store; yields its base URL."""
    with serve_store(store[0]) as base:
        yield base


def test_the_pages_over_http(served: str, store: tuple[Path, dict[str, int]]) -> None:
    query = urlencode({"url": ONE.replace("https://", "http://") + "/?in=t"})
    with urllib.request.urlopen(f"{served}/article?{query}", timeout=10) as page:
        assert page.status == 200 and "Giraffes and zebras" in page.read().decode()
    with urllib.request.urlopen(f"{served}/raw/{store[1]['two']}", timeout=10) as raw:
        assert raw.headers["Content-Disposition"].startswith("attachment;")
        assert raw.headers["X-Content-Type-Options"] == "nosniff"
    with pytest.raises(HTTPError) as missing:
        urllib.request.urlopen(f"{served}/article?url=nothing", timeout=10)
    assert missing.value.code == 404


def test_plain_datasette_finds_the_pages_and_their_templates(
    store: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(load_metadata(store[0])), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable, "-m", "datasette", "serve", str(store[0]), "-m", str(metadata),
            "--get", "/diff?" + urlencode({"url": ONE}),
        ],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "<ins>big </ins>" in result.stdout


@pytest.mark.skipif(
    BROWSER is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
)
@pytest.mark.parametrize(
    "path",
    [
        "/article?" + urlencode({"url": ONE}),
        "/diff?" + urlencode({"url": ONE}),
        "/article?" + urlencode({"url": SCRIPT + IMG}),
    ],
)
def test_hostile_text_is_text_in_a_real_browser(served: str, tmp_path: Path, path: str) -> None:
    dom = dump_dom(served + path, tmp_path / "profile")
    assert "<html" in dom.lower()
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title.strip() != PWNED  # no injected script set it (a crawled title holds the word)
    assert "&lt;script&gt;document.title=" in dom
    assert "<script>document.title" not in dom and '<img src="x"' not in dom
    assert 'href="javascript:' not in dom


def test_runs_of_unchanged_paragraphs_fold_on_a_huge_article() -> None:
    body = [f"Paragraph {i} of a long article." for i in range(6000)]
    changed = [*body[:3000], "Paragraph 3000 of a much longer article.", *body[3001:]]
    result = compare(VersionText(body=body), VersionText(body=changed))
    assert result.left_out == 0 and len(result.rows) < 20
    assert [row.op for row in result.rows if row.part == "paragraph"] == [
        "folded",
        "rewritten",
        "folded",
    ]
    assert result.rows[3].name == "3000 unchanged (Paragraph)"


def test_pages_forbid_loading_images_and_frames_from_elsewhere(client: Client) -> None:
    policy = client.get("/article", url=ONE).headers["content-security-policy"]
    assert "img-src 'self' data:" in policy and "object-src 'none'" in policy


def test_a_second_database_is_read_with_db(
    store: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    first = tmp_path / "first.db"
    Store(first).close()
    path, ids = store
    client = Client(Datasette(files=[str(first), str(path)], metadata=load_metadata(path)))
    try:
        assert client.get("/article", url=ONE).status_code == 404  # the first database's
        html = client.get("/article", url=ONE, db=DB).text
        assert "Giraffes and zebras" in html
        assert f'href="/raw/{ids["one_v2"]}?db={DB}"' in html
        assert f"version=1&amp;db={DB}" in html
        assert client.get(f"/raw/{ids['one_v2']}", db=DB).status_code == 200
    finally:
        client.close()


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://wire.test/a.html", "https://wire.test/a.html"),
        (" http://wire.test/a ", "http://wire.test/a"),
        ("JAVASCRIPT:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("\x01javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("//wire.test/a", None),
        ("https:///nohost", None),
        (None, None),
    ],
)
def test_only_a_web_address_becomes_a_link(url: str | None, href: str | None) -> None:
    assert web_href(url) == href


def test_a_database_that_is_no_store_is_a_404(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    client = Client(Datasette(files=[str(other)]))
    try:
        assert client.get("/article", url=ONE).status_code == 404
        assert client.get("/diff", url=ONE).status_code == 404
        assert client.get("/raw/1").status_code == 404
        assert client.get("/warc/1").status_code == 404
        assert client.get("/article", url=ONE, db="_internal").status_code == 404
    finally:
        client.close()
