"""The archive's Datasette face (store/web): front page, canned queries, lists, links, labels.

Two stores: one replayed from four invented fixture sets (``sputnik-africa-t1``..``t3``, then
``sputnikglobe-africa``: changes, silent edits, gone and delisted articles, discovery),
and one of live crawls built here from hand-made records, with hostile text and URLs (a
``javascript:`` link, ``<script>`` in a title and a tag). Datasette runs in-process
(``datasette.client``) with the project's plugins from their entry points; a real browser
(Debian's headless Chromium) checks the hostile pages where it is installed.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from datasette.app import Datasette
from markupsafe import escape
from test_history import T1 as H1
from test_history import T2 as H2
from test_history import T3 as H3
from test_security import BROWSER, dump_dom
from test_store import SITE, T1, T2, article_fetch, make_article, make_crawl, revise

from domain.pages import Tag
from domain.records import CaptionRecord, RelatedLinkRecord
from store import Store, load_metadata
from store.metadata import metadata_json
from store.web import cells, frontpage
from store.web.charts import day_window
from store.web.provenance import Origins, ReplayedSet, label, origins
from tests.crawling import ROOT, replay
from tests.datasette_client import Client
from tests.servers import serve_store

SETS = ("sputnikglobe-africa", "sputnik-africa-t1", "sputnik-africa-t2", "sputnik-africa-t3")
LIVE_DB = "live"
HOSTILE_URL = "javascript:alert(document.domain)"
PWNED = "pwned-by-crawled-html"
SCRIPT = f"<script>document.title='{PWNED}'</script>"
ONE = f"{SITE}/20240501/one.html"
CHANGED_URL = "SELECT a.url FROM version_changes AS vc JOIN articles AS a ON a.id = vc.article_id"
SILENT_EDIT_URL = f"{CHANGED_URL} WHERE vc.silent_edit = 1"


# -- the stores ---------------------------------------------------------------------------------


def replay_sets(store: Path) -> None:
    """The four invented sets replayed into one store (t1..t3 as tests/test_history.py does)."""
    for moment, now in (("t1", H1), ("t2", H2), ("t3", H3)):
        replay(store, "-s", f"RECHECK_NOW={now}", fixture_set=f"fixtures/sputnik-africa-{moment}")
    # last: after it, the section-only t sets would count as a drop in coverage
    replay(store, fixture_set="fixtures/sputnikglobe-africa")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The replayed store, built once per test run: the pytest-xdist workers share it (each
    would otherwise replay the four sets again), the first to get the lock builds it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run's
    store = shared / "web-front-replayed" / "wire.db"
    with open(shared / "web-front-replayed.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not store.with_suffix(".done").exists():
            store.parent.mkdir(exist_ok=True)
            store.unlink(missing_ok=True)
            replay_sets(store)
            store.with_suffix(".done").touch()
    return store


def hostile_article(body: list[str] | None = None) -> Any:
    """The hostile article: a script in its title and tag, a javascript: related link and
    photo."""
    return revise(
        make_article(ONE, title=f"Crawled {SCRIPT}", captions=0, body=body),
        tags=[Tag(SCRIPT, HOSTILE_URL), Tag("Africa", f"{SITE}/africa/")],
        related_links=[
            RelatedLinkRecord(20, "Evil link", HOSTILE_URL, None, "today"),
            RelatedLinkRecord(21, "Fine link", f"{SITE}/20240502/two.html", None, "today"),
        ],
        captions=[CaptionRecord(9, 0, HOSTILE_URL, f"Caption {SCRIPT}", "Credit")],
    )


def build_live(path: Path) -> None:
    """Two live crawls of the hostile article, the second with another body."""
    hostile = hostile_article()
    changed = hostile_article(["A paragraph rewritten.", "Another one."])
    with Store(path) as store:
        store.begin_crawl(make_crawl("run-1", T1))
        store.save_article(article_fetch(hostile, "run-1", T1), hostile)
        store.finish_crawl("run-1", T1, "finished", {})
        store.begin_crawl(make_crawl("run-2", T2))
        store.save_article(article_fetch(changed, "run-2", T2), changed)
        store.finish_crawl("run-2", T2, "finished", {})


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live store."""
    path = tmp_path_factory.mktemp("live") / f"{LIVE_DB}.db"
    build_live(path)
    return path


def datasette_client(path: Path) -> Client:
    """Datasette in-process on a store, configured as ``python -m store serve`` does."""
    return Client(Datasette(files=[str(path)], metadata=load_metadata(path)))


@pytest.fixture(scope="module")
def client(replayed: Path) -> Iterator[Client]:
    client = datasette_client(replayed)
    yield client
    client.close()


@pytest.fixture(scope="module")
def live_client(live: Path) -> Iterator[Client]:
    client = datasette_client(live)
    yield client
    client.close()


def one(path: Path, sql: str) -> Any:
    """The first value of a query on a store file."""
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchone()[0]


# -- the front page -----------------------------------------------------------------------------


def test_the_front_page_shows_the_latest_articles_changes_silent_edits_and_events(
    client: Client, replayed: Path
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    for heading in ("Latest articles", "Latest changes", "Silent edits", "Gone and delisted"):
        assert f"<h2>{heading}</h2>" in text
    newest = one(replayed, "SELECT title FROM current_articles ORDER BY published_at DESC")
    assert newest in text
    changed = one(replayed, SILENT_EDIT_URL)
    assert f'href="{cells.reader_path(changed)}"' in text
    assert "<strong>delisted</strong>" in text and "<strong>gone</strong>" in text
    assert "/wire/version_diff?url=" in text  # a change links to its side-by-side diff
    # the reader's tables and queries first, then the crawls'; the databases below
    assert text.index("Current articles") < text.index("Crawl log") < text.index("Databases")


def test_the_front_page_charts_are_svg_drawn_on_the_server(client: Client, replayed: Path) -> None:
    text = client.get("/").text
    charts = re.findall(r"<svg class=\"wire-chart\".*?</svg>", text, re.S)
    assert len(charts) == 2
    assert all(chart.count("<rect") == frontpage.WINDOW_DAYS for chart in charts)
    window = re.search(r"(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d): the 30 days", text)
    assert window is not None
    start, end = window.groups()
    assert day_window(end, frontpage.WINDOW_DAYS)[0] == start
    bounds = f">= '{start}' AND {{0}} < '{end}T99'"  # the window's days, whole
    versions = one(replayed, "SELECT count(*) FROM version_changes WHERE created_at "
                   + bounds.format("created_at"))  # fmt: skip
    articles = one(replayed, "SELECT count(*) FROM versions WHERE version = 1 AND published_at "
                   + bounds.format("published_at"))  # fmt: skip
    assert versions > 0 and articles > 0
    assert f"New versions per day: {versions}</title>" in charts[1]
    assert f"Articles per day of publication: {articles}</title>" in charts[0]
    counts = [
        int(n) for n in re.findall(r"<title>\d{4}-\d\d-\d\d: (\d+) changes</title>", charts[1])
    ]
    assert sum(counts) == versions


def test_the_front_page_loads_nothing_from_elsewhere_and_runs_no_script_of_its_own(
    client: Client,
) -> None:
    text = client.get("/").text
    loaded = re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=\"([^\"]+)\"", text)
    assert loaded and all(url.startswith(("/", "http://localhost/")) for url in loaded), loaded
    assert "<script>" not in text.split("</footer>")[0]


def test_the_search_box_runs_the_search_query(client: Client) -> None:
    text = client.get("/").text
    form = re.search(r'<form class="wire-search" action="([^"]+)" method="get"', text)
    assert form is not None and form.group(1) == "/wire/search"
    assert 'name="q"' in text
    rows = client.rows(form.group(1), q="Zambia")
    assert rows and all("zambia" in row["url"].lower() or row["snippet"] for row in rows)


def test_the_front_page_of_a_store_with_one_change_and_no_event(live_client: Client) -> None:
    text = live_client.get("/").text
    assert "No article has gone or been delisted." in text
    assert text.count(f'href="{cells.reader_path(ONE)}"') == 3  # latest, changed, silently
    assert text.count('class="wire-chart"') == 2
    assert f"Crawled {SCRIPT}" not in text  # the hostile title is escaped
    assert "Crawled &lt;script&gt;" in text


def test_the_index_json_is_datasette_s_own(client: Client) -> None:
    data = client.get("/.json").json()
    assert set(data) == {"wire"}


PLAN_SCAN = re.compile(r"^SCAN (versions|version_changes|articles|article_events|v|vc|a)$")


@pytest.mark.parametrize(
    "name",
    [
        "LATEST_ARTICLES_SQL",
        "LATEST_CHANGES_SQL",
        "SILENT_EDITS_SQL",
        "EVENTS_SQL",
        "LATEST_PUBLISHED_SQL",
        "LATEST_CHANGE_SQL",
        "ARTICLES_PER_DAY_SQL",
        "CHANGES_PER_DAY_SQL",
    ],
)
def test_every_front_page_query_reads_through_an_index(replayed: Path, name: str) -> None:
    params = {"rows": 10, "bound": "2030", "days": '["2023-01-01", "2023-01-02"]'}
    with sqlite3.connect(replayed) as db:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {getattr(frontpage, name)}",
                                             params)]  # fmt: skip
    assert not [step for step in plan if PLAN_SCAN.match(step)], plan
    if name.endswith("PER_DAY_SQL"):  # each day's count from an index alone
        assert [step for step in plan if "USING COVERING INDEX" in step], plan
    if name.startswith(("LATEST", "SILENT")):  # the newest rows straight from an index
        assert not [step for step in plan if "TEMP B-TREE FOR ORDER BY" in step], plan


# -- canned queries -----------------------------------------------------------------------------


def canned_params(path: Path) -> dict[str, dict[str, str]]:
    """Parameters that give each canned query rows on the replayed store."""
    changed = one(path, f"{CHANGED_URL} ORDER BY vc.version DESC")
    caption = one(path, "SELECT caption FROM captions WHERE caption IS NOT NULL")
    word = max(re.findall(r"\w+", caption), key=len)
    return {
        "search": {"q": "Zambia"},
        "article": {"url": changed},
        "caption_search": {"q": word},
        "version_history": {"url": changed},
        "version_diff": {"url": changed, "a": "1", "b": "2"},
    }


def canned_names() -> list[str]:
    return list(load_metadata(Path("wire.db"))["databases"]["wire"]["queries"])


@pytest.mark.parametrize("name", canned_names())
@pytest.mark.parametrize("form", ["", ".csv", ".json"])
def test_every_canned_query_answers_html_csv_and_json_with_rows(
    client: Client, replayed: Path, name: str, form: str
) -> None:
    params = canned_params(replayed).get(name, {})
    response = client.get(f"/wire/{name}{form}", **params)
    assert response.status_code == 200, response.text[:500]
    if form == ".json":
        assert response.json()["rows"], name
    elif form == ".csv":
        assert len(response.text.strip().splitlines()) >= 2, name  # a header and rows
    else:
        assert re.search(f'href="/wire/{name}.csv[?"]', response.text)  # the export buttons
        assert re.search(f'href="/wire/{name}.json[?"]', response.text)
        title = load_metadata(replayed)["databases"]["wire"]["queries"][name]["title"]
        assert f"<title>{escape(title)} (wire)</title>" in response.text


@pytest.mark.parametrize("name", canned_names())
def test_canned_queries_hide_their_sql_until_asked(client: Client, name: str) -> None:
    query = load_metadata(Path("wire.db"))["databases"]["wire"]["queries"][name]
    assert query["hide_sql"] is True
    hidden = client.get(f"/wire/{name}").text
    assert '<pre id="sql-query">' not in hidden and '_show_sql=1">show</a>' in hidden
    shown = client.get(f"/wire/{name}", _show_sql="1").text
    assert '<pre id="sql-query">' in shown and ">hide</a>" in shown


def test_required_parameters_left_empty_give_no_rows_rather_than_an_error(
    client: Client,
) -> None:
    for name in ("search", "article", "caption_search", "version_history", "version_diff"):
        for form in (".json", ".csv", ""):
            response = client.get(f"/wire/{name}{form}")
            assert response.status_code == 200, (name, form)


# -- lists and links ----------------------------------------------------------------------------


def test_json_lists_show_as_lists_with_each_item_escaped(live_client: Client) -> None:
    text = live_client.get(f"/{LIVE_DB}/current_articles").text
    assert '<ul class="wire-list"><li>&lt;script&gt;document.title=' in text
    assert "<li>Jane Doe</li><li>Ama Mensah</li>" in text  # authors
    changes = live_client.get(f"/{LIVE_DB}/changes_in_period").text
    assert '<ul class="wire-list"><li>body</li></ul>' in changes
    assert SCRIPT not in text and SCRIPT not in changes


def test_an_article_url_links_to_the_reader_first_and_the_live_page_second(
    live_client: Client,
) -> None:
    text = live_client.get(f"/{LIVE_DB}/latest_articles").text
    inside = f'<a class="wire-inside" href="/article?url={quote(ONE, safe="")}">{ONE}</a>'
    live = f'<a class="wire-live" href="{ONE}" rel="noopener noreferrer nofollow">site ↗</a>'
    assert f"{inside} {live}" in text


def test_a_fetch_links_to_its_raw_page_and_warc_record(live_client: Client) -> None:
    text = live_client.get(f"/{LIVE_DB}/version_history", url=ONE).text
    assert '<a href="/raw/1">raw</a>' in text and '<a href="/warc/1">WARC</a>' in text
    fetches = live_client.get(f"/{LIVE_DB}/fetches").text
    assert f'<a class="wire-inside" href="/raw/1">{ONE}</a>' in fetches


@pytest.mark.parametrize(
    "path",
    [
        f"/{LIVE_DB}/related_graph",
        f"/{LIVE_DB}/related_links",
        f"/{LIVE_DB}/captions",
        f"/{LIVE_DB}/article?{urlencode({'url': ONE})}",
        f"/{LIVE_DB}/tags?_show_hidden=1",
    ],
)
def test_a_javascript_url_never_becomes_a_link(live_client: Client, path: str) -> None:
    text = live_client.get(path).text
    assert HOSTILE_URL in text  # shown, as text
    assert not re.search(r"href=\"\s*javascript:", text, re.I)
    assert SCRIPT not in text


@pytest.mark.parametrize(
    "value",
    [HOSTILE_URL, " javascript:x", "JavaScript:x", "data:text/html,<b>x</b>", "vbscript:x",
     "//evil.test/x", "http:/no-host", 'https://x.test/"onmouseover="alert(1)'],
)  # fmt: skip
def test_only_an_http_url_with_a_host_is_a_live_link(value: str) -> None:
    html = str(cells.live_link(value))
    if value.startswith("https://x.test"):
        assert 'href="https://x.test/&#34;onmouseover=&#34;alert(1)"' in html
    else:
        assert "<a" not in html
    assert "<b>" not in html


def test_a_cell_that_is_not_a_json_list_of_strings_is_left_to_datasette() -> None:
    assert cells.render({}, '["a", 1]', "tags", None, "wire") is None
    assert cells.render({}, "[not json", "authors", None, "wire") is None
    assert cells.render({}, '{"a": "b"}', "fields", None, "wire") is None
    assert (
        str(cells.render({}, "[]", "tags", None, "wire"))
        == '<span class="wire-empty">(none)</span>'
    )


# -- the label of replayed data -----------------------------------------------------------------

LABEL = 'class="wire-label"'
PAGES = ["/", "/{db}", "/{db}/current_articles", "/{db}/latest_articles", "/{db}/articles/1",
         "/{db}/search?q=Africa", "/{db}/no-such-table", "/-/versions",
         "/article?id=1", "/article?url=no-such-article"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_page_of_a_replayed_store_says_so(client: Client, path: str) -> None:
    text = client.get(path.format(db="wire")).text
    assert text.count(LABEL) == 1, path
    assert ".wire-label {" in text, (
        f"{path}: the label has no style (a page dropped base.html's head)"
    )
    label_text = text.split(LABEL, 1)[1].split("</div>", 1)[0]
    assert "Replayed data, not a live crawl" in label_text
    assert "invented: written by hand, never fetched from the site" in label_text
    for name in SETS:
        assert f"<strong>{name}</strong> (1 crawl)" in label_text
    assert "live crawl" not in label_text.replace("not a live crawl", "")


def test_a_page_another_plugin_renders_from_base_html_carries_the_label(client: Client) -> None:
    datasette = client.datasette
    template = datasette.jinja_env.from_string(
        '{% extends "base.html" %}{% block content %}<p>reader</p>{% endblock %}'
    )
    html = client.loop.run_until_complete(datasette.render_template(template, {}))
    assert LABEL in html and "<p>reader</p>" in html


@pytest.mark.parametrize("path", PAGES)
def test_no_page_of_a_live_store_carries_the_label(live_client: Client, path: str) -> None:
    assert LABEL not in live_client.get(path.format(db=LIVE_DB)).text


def test_a_store_of_live_and_replayed_crawls_says_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.db"
    build_live(path)
    replayed_crawl = dataclasses.replace(
        make_crawl("run-3", "2024-05-04T10:00:00Z"),
        settings={"FIXTURES_REPLAY": "/somewhere/my set",
                  "FIXTURES_REPLAY_SET": {"name": "my set", "kind": "recorded"}},
    )  # fmt: skip
    with Store(path) as store:
        store.begin_crawl(replayed_crawl)
        store.finish_crawl("run-3", "2024-05-04T10:00:00Z", "finished", {})
    client = datasette_client(path)
    try:
        text = client.get("/mixed/crawls").text
    finally:
        client.close()
    label_text = text.split(LABEL, 1)[1].split("</div>", 1)[0]
    assert "<strong>my set</strong> (1 crawl)" in label_text
    assert "recorded: fetched from the live site once" in label_text
    assert "It also holds 2 live crawls" in label_text


def test_an_older_replay_without_the_set_s_kind_is_labelled_by_its_folder() -> None:
    found = origins([(None, None, "fixtures/old-set", 0, 2), (None, None, None, 1, 1)])
    assert found == Origins((ReplayedSet("old-set", None, 2),), live=0, imported=1)
    text = str(label(found))
    assert "<strong>old-set</strong> (2 crawls)" in text
    assert "whether it was recorded or invented was not kept" in text
    assert "1 import of WARC files" in text
    assert label(Origins((), live=3, imported=1)) is None


def test_a_set_name_is_escaped_in_the_label() -> None:
    text = str(label(Origins((ReplayedSet("<b>{x}</b>", "invented", 1),), 0, 0)))
    assert "&lt;b&gt;{x}&lt;/b&gt;" in text


# -- served as a user serves it -----------------------------------------------------------------


def test_plain_datasette_with_the_metadata_finds_the_templates_and_hooks(
    replayed: Path, tmp_path: Path
) -> None:
    metadata = tmp_path / "metadata.json"
    metadata.write_text(metadata_json(replayed), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "datasette", "serve", str(replayed), "-m", str(metadata),
         "--get", "/"],
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert LABEL in done.stdout and "<h2>Latest articles</h2>" in done.stdout


@pytest.fixture(scope="module")
def served_live(live: Path) -> Iterator[str]:
    """``python -m store serve`` on the live, hostile store; yields its base URL."""
    with serve_store(live) as base:
        yield base


@pytest.mark.skipif(
    BROWSER is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)",
)
@pytest.mark.parametrize(
    "path",
    [
        "/",
        f"/{LIVE_DB}/current_articles",
        f"/{LIVE_DB}/related_graph",
        f"/{LIVE_DB}/article?{urlencode({'url': ONE})}",
    ],
)
def test_hostile_urls_and_text_stay_text_in_a_real_browser(
    served_live: str, tmp_path: Path, path: str
) -> None:
    dom = dump_dom(served_live + path, tmp_path / "profile")
    assert "<html" in dom.lower()
    assert PWNED not in dom.split("</title>", 1)[0]  # no crawled script ran
    assert "<script>document.title" not in dom
    assert not re.search(r"href=\"\s*javascript:", dom, re.I)
    assert "&lt;script&gt;document.title=" in dom


def test_screenshots_script_needs_chromium_or_says_so(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=str(tmp_path))  # no chromium on this PATH
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots"), str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == "error: no chromium: apt-get install chromium"


def test_a_server_without_a_store_gets_datasette_s_own_index(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    client = Client(Datasette(files=[str(other)]))
    try:
        page = client.get("/")
    finally:
        client.close()
    assert page.status_code == 200
    assert 'href="/other">other</a>' in page.text and "1 table" in page.text
    assert "Latest articles" not in page.text and LABEL not in page.text


def test_two_stores_of_one_name_and_as_many_crawls_keep_their_own_labels(tmp_path: Path) -> None:
    live_path, replayed_path = tmp_path / "a" / "wire.db", tmp_path / "b" / "wire.db"
    for path in (live_path, replayed_path):
        path.parent.mkdir()
        build_live(path)
    with sqlite3.connect(replayed_path) as db:
        db.execute("UPDATE crawls SET settings = json_set(settings, '$.FIXTURES_REPLAY_SET', "
                   "json('{\"name\": \"b\", \"kind\": \"invented\"}'))")  # fmt: skip
    for path, labelled in ((replayed_path, True), (live_path, False), (replayed_path, True)):
        client = datasette_client(path)
        try:
            assert (LABEL in client.get("/wire").text) is labelled, path
        finally:
            client.close()
