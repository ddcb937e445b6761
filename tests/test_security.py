"""Hostile content and a read-only Datasette: crawled text is data, never code or SQL.

* A title written as SQL injection and a search written as FTS syntax are stored and searched
  verbatim.
* Datasette refuses every write: no write SQL through ``?sql=`` (its connections are
  read-only), no writable canned query, no plugin.
* A caption or title carrying ``<script>`` or ``<img onerror>`` shows as text in a real
  browser: headless Chromium loads the pages from a real Datasette server and no injected
  script runs (skipped, with the reason, where Debian's ``chromium`` is not installed).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from datasette.app import Datasette
from test_store import SITE, T1, article_fetch, make_article, make_crawl

from domain.records import CaptionRecord
from store import Store, load_metadata
from tests.datasette_client import Client
from tests.servers import serve_store

ROOT = Path(__file__).resolve().parent.parent
DB = "hostile"
INJECTION = "Robert'); DROP TABLE articles;--"
FTS_SYNTAX = '"AND OR ('
PWNED = "pwned-by-crawled-html"
SCRIPT = f"<script>document.title='{PWNED}'</script>"
IMG = f"<img src=x onerror=\"document.title='{PWNED}'\">"
URL = f"{SITE}/20240501/hostile.html"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def build_store(path: Path) -> None:
    """A store with one hostile article: injection title, FTS syntax, script and img in captions."""
    article = make_article(
        URL,
        title=f"{INJECTION} {IMG}",
        body=[f"Searchers type {FTS_SYNTAX} and worse.", f"A paragraph with {SCRIPT} inside."],
        captions=0,
    )
    article.split.captions.extend(
        [
            CaptionRecord(1, 0, f"{SITE}/img/a.jpg", SCRIPT, IMG),
            CaptionRecord(2, 0, f"{SITE}/img/b.jpg", IMG, "credit"),
        ]
    )
    with Store(path) as store:
        store.begin_crawl(make_crawl("run-1", T1))
        store.save_article(article_fetch(article, "run-1", T1), article)
        store.finish_crawl("run-1", T1, "finished", {})


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile store, built once."""
    path = tmp_path_factory.mktemp("security") / f"{DB}.db"
    build_store(path)
    return path


@pytest.fixture(scope="module")
def client(store_path: Path) -> Iterator[Client]:
    """Datasette in-process on the hostile store, as ``python -m store serve`` configures it."""
    client = Client(Datasette(files=[str(store_path)], metadata=load_metadata(store_path)))
    yield client
    client.close()


def count_articles(client: Client) -> int:
    """How many articles Datasette sees."""
    rows = client.rows(f"/{DB}", sql="select count(*) as n from articles")
    return int(rows[0]["n"])


# -- crawled text is data --------------------------------------------------------------------


def test_an_injection_title_is_stored_verbatim(store_path: Path) -> None:
    with Store(store_path) as store:
        (article,) = store.export_articles()
    assert article["title"] == f"{INJECTION} {IMG}"
    assert article["body"][0] == f"Searchers type {FTS_SYNTAX} and worse."


@pytest.mark.parametrize("query", [INJECTION, FTS_SYNTAX, "NEAR(", "title:x*", "'", '"'])
def test_search_takes_any_text_verbatim(client: Client, query: str) -> None:
    response = client.get(f"/{DB}/search.json", q=query, _shape="array")
    assert response.status_code == 200, response.text
    urls = [row["url"] for row in response.json()]
    expected = [URL] if query in (INJECTION, FTS_SYNTAX) else []  # "'" and '"' have no word
    assert urls == expected
    assert count_articles(client) == 1  # the table is still there


def test_caption_search_takes_html_verbatim(client: Client) -> None:
    rows = client.rows(f"/{DB}/caption_search", q=SCRIPT)
    assert [row["caption"] for row in rows] == [SCRIPT]


# -- Datasette is read-only -------------------------------------------------------------------

WRITES = [
    "DELETE FROM articles",
    "DROP TABLE articles",
    "INSERT INTO crawls (id, spider, started_at, arguments, settings, software) "
    "VALUES ('x', 'x', 'x', '{}', '{}', '{}')",
    "UPDATE versions SET title = 'rewritten'",
    "WITH doomed AS (SELECT id FROM articles) DELETE FROM articles WHERE id IN doomed",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE '/tmp/elsewhere.db' AS elsewhere",
    "VACUUM",
]


@pytest.mark.parametrize("sql", WRITES)
def test_datasette_refuses_write_sql(client: Client, sql: str) -> None:
    response = client.get(f"/{DB}.json", sql=sql)
    assert response.status_code >= 400, response.text
    assert count_articles(client) == 1
    titles = client.rows(f"/{DB}", sql="select title from versions")
    assert titles == [{"title": f"{INJECTION} {IMG}"}]


def test_datasette_has_no_write_plugin_or_writable_query(client: Client) -> None:
    # the project's own plugins only: a snippet function, no POST and bounded table counts
    # (store/datasette_plugin.py: its startup hook wraps each database's execute, reading only),
    # the reader's pages (store.web) and the front page's hooks (store/web/front.py), none writing
    plugins = client.get("/-/plugins.json").json()
    web_hooks = ["extra_template_vars", "handle_exception", "register_routes", "render_cell"]
    assert sorted((p["name"], p["hooks"]) for p in plugins) == [
        ("wirearchive", ["asgi_wrapper", "prepare_connection", "startup"]),
        ("wirearchive", web_hooks),
        ("wirearchive", ["prepare_connection", "register_routes", "render_cell"]),
    ]
    queries = load_metadata(Path(f"{DB}.db"))["databases"][DB]["queries"]
    assert all(not query.get("write") for query in queries.values())
    pages = ("/article", "/diff", "/raw/1", "/warc/1")
    for path in (*(f"/{DB}/{name}" for name in queries), f"/{DB}/versions", f"/{DB}", *pages):
        response = client.loop.run_until_complete(
            client.datasette.client.post(path, data={"q": "x", "url": "x"})
        )
        assert response.status_code == 405, (path, response.status_code)  # read-only: no 500
        assert response.headers["allow"] == "GET, HEAD"


# -- in a real browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(store_path: Path) -> Iterator[str]:
    """``python -m store serve`` on the hostile store; yields its base URL."""
    with serve_store(store_path) as base:
        yield base


def dump_dom(url: str, profile: Path) -> str:
    """The DOM headless Chromium ends with after loading ``url`` and running its scripts."""
    assert BROWSER is not None
    done = subprocess.run(
        [
            BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
            "--dump-dom", url,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(
    BROWSER is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
)
@pytest.mark.parametrize(
    "path",
    [
        f"/{DB}/captions",
        f"/{DB}/current_articles",
        f"/{DB}/caption_search?q={quote('document')}",
        f"/{DB}/article?{urlencode({'url': URL})}",
    ],
)
def test_hostile_html_is_text_in_a_real_browser(served: str, tmp_path: Path, path: str) -> None:
    dom = dump_dom(served + path, tmp_path / "profile")
    assert "<html" in dom.lower()  # the browser loaded the page
    assert PWNED not in dom.split("</title>", 1)[0]  # no injected script set the title
    assert "&lt;script&gt;document.title=" in dom or "&lt;img src=x onerror=" in dom
    assert '<img src="x"' not in dom and "<script>document.title" not in dom


def test_file_data_handlers_telnet_and_remote_control_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scrapy.utils.project import get_project_settings

    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    project = get_project_settings()
    handlers = project.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers[scheme] is None for scheme in ("file", "data", "s3", "ftp"))
    assert not project.getbool("TELNETCONSOLE_ENABLED")
    assert not project.getbool("REMOTE_CONTROL_ENABLED")
    assert project.getbool("ROBOTSTXT_OBEY")
    assert project.getlist("ALLOW_PRIVATE_HOSTS") == []
