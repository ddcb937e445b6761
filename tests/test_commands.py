"""Commands that behave, run as a user runs them (subprocesses against a replayed fixture set).

A bad value of any project setting and a misspelt ``-a`` argument are one line, ``error: …``,
exit status 2; ``--help`` lists the spider's arguments; ``-O items.jsonl`` writes the articles;
``scrapy parse URL`` reads a replayed page and leaves the store alone; ``FIXTURES_REPLAY`` takes
any folder; the replayed set's name and kind are kept with the crawl; the offline run's hint
to open Datasette works as printed; ``scripts/setup`` says what to install when Python cannot
make a virtual environment.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler import settings as project_settings
from crawler.config import KIND_CHECKS, accepted_arguments, setting_problems
from crawler.fixtures import FIXTURE_KINDS, fixture_set_kind
from crawler.spiders.africa import AfricaSpider
from store import EXPORT_KEYS, Store
from tests.conftest import AFRICA, FIXTURES
from tests.crawling import CONTACT, ROOT, replay, run_crawl, run_scrapy

README = (ROOT / "README.md").read_text(encoding="utf-8")
SEED_URL = json.loads((AFRICA / "article-1106523345.http.json").read_text())["url"]
SEED_TITLE = "Russian Defense Ministry Discusses Bilateral Cooperation With CAR Prime Minister"


def only_line(stderr: str) -> str:
    """The one line a usage error prints (and nothing else: no log, no traceback)."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


# -- settings -----------------------------------------------------------------------------------


def test_every_project_setting_has_a_kind_and_every_kind_a_check() -> None:
    kinds = project_settings.PROJECT_SETTING_KINDS
    assert list(kinds) == list(project_settings.PROJECT_SETTINGS)
    assert set(kinds.values()) <= set(KIND_CHECKS)


def test_the_defaults_and_good_values_pass() -> None:
    values = {name: getattr(project_settings, name) for name in project_settings.PROJECT_SETTINGS}
    assert setting_problems(Settings({**values, "CONTACT": CONTACT})) == []
    good = {
        "FIXTURES_REPLAY": str(AFRICA),  # absolute
        "STORE_SUMMARY": "false",
        "ALLOW_PRIVATE_HOSTS": "127.0.0.1,[::1]",
        "RECHECK_SCHEDULE": "",
        "RECHECK_NOW": "2023-02-01T12:00:00Z",
        "RETRY_AFTER_MAX": "0.5",
        "STORE_MAX_PAGES": "100",
        "MAX_LISTING_PAGES": "0",
    }
    assert setting_problems(Settings({**values, **good})) == []


@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ("STORE_MAX_PAGES=abc", "not a whole number"),
        ("STORE_MAX_PAGES=-5", "must be 0 (no limit) or more"),
        ("MAX_LISTING_PAGES=1.5", "not a whole number"),
        ("RETRY_AFTER_MAX=soon", "not a number of seconds"),
        ("RETRY_AFTER_MAX=-1", "must be a number of seconds, 0 or more"),
        ("STORE_SUMMARY=maybe", "not a yes/no value"),
        ("STORE_PATH=", "name a file"),
        ("RECHECK_NOW=yesterday", "not an ISO 8601 time"),
        ("RECHECK_SCHEDULE=1x:every", "'1x' is not a duration"),
        ("ALLOW_PRIVATE_HOSTS=http://127.0.0.1/", "'http://127.0.0.1/' is no host"),
        ("FIXTURES_RECORD=recorded", "a replay (FIXTURES_REPLAY) cannot record"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, setting: str, why: str) -> None:
    store = tmp_path / "wire.db"
    run = run_crawl(
        "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={store}",
        "-s", setting,
    )  # fmt: skip
    assert run.returncode == 2
    name, value = setting.split("=", 1)
    assert only_line(run.stderr).startswith(f"error: {name}={value or repr(value)}: {why}")
    assert not store.exists() and not (ROOT / "recorded").exists()


def test_a_missing_fixture_set_is_one_line(tmp_path: Path) -> None:
    run = run_crawl("-s", f"FIXTURES_REPLAY={tmp_path / 'nope'}", "-s", f"STORE_PATH={tmp_path}/w")
    assert run.returncode == 2
    assert only_line(run.stderr) == (
        f"error: FIXTURES_REPLAY={tmp_path / 'nope'}: no such folder: name a fixture set, "
        "e.g. fixtures/sputnik-africa"
    )


def test_a_misspelt_setting_is_named_with_the_nearest_one(tmp_path: Path) -> None:
    store = tmp_path / "wire.db"
    run = replay(store, "-s", f"STORE_PAHT={tmp_path / 'other.db'}")
    warning = "warning: -s STORE_PAHT: no setting of Scrapy or of this project has that name"
    assert f"{warning}; did you mean STORE_PATH?\n" in run.stderr
    assert store.exists()


# -- spider arguments ---------------------------------------------------------------------------


def test_a_misspelt_argument_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    run = run_crawl("-a", "sinse=2023-01-10", "-s", f"STORE_PATH={tmp_path / 'w.db'}")
    assert run.returncode == 2
    assert only_line(run.stderr) == (
        "error: -a sinse: africa takes no such argument; it takes since, max_pages, recheck "
        "(see scrapy crawl africa --help)"
    )
    assert not (tmp_path / "w.db").exists()


def test_help_lists_the_spider_arguments_with_their_meanings() -> None:
    run = run_crawl("--help")
    assert run.returncode == 0
    listed = run.stdout.split("Spider arguments (-a NAME=VALUE):", 1)[1]
    for name, meaning in AfricaSpider.arguments.items():
        assert re.search(rf"^    {name} +{re.escape(meaning.split()[0])}", listed, re.M), name


def test_the_declared_arguments_are_those_the_spider_takes_and_the_readme_lists() -> None:
    assert list(AfricaSpider.arguments) == accepted_arguments(AfricaSpider)
    section = README.split("### Spider arguments", 1)[1].split("\n### ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", section, re.M) == list(AfricaSpider.arguments)


# -- feeds --------------------------------------------------------------------------------------


def test_a_feed_holds_each_article_as_the_export_shows_it(tmp_path: Path) -> None:
    store, feed = tmp_path / "wire.db", tmp_path / "items.jsonl"
    replay(store, "-O", str(feed))
    lines = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    with Store(store) as opened:
        exported = {row["url"]: row for row in opened.export_articles()}
    assert len(lines) == len(exported) == 16
    for line in lines:
        expected: dict[str, Any] = dict(exported[line["url"]])
        del expected["version"], expected["versions"], expected["provenance"]["fetch_id"]
        assert list(line) == [key for key in EXPORT_KEYS if key not in ("version", "versions")]
        assert line == expected


# -- scrapy parse -------------------------------------------------------------------------------


def test_parse_reads_a_replayed_article_and_leaves_the_store_alone(tmp_path: Path) -> None:
    store = tmp_path / "wire.db"
    replay(store)
    run = run_scrapy(
        "parse", "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={store}",
        "--nocolour", SEED_URL,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    printed = run.stdout.split("# Scraped Items ", 1)[1].split("\n", 1)[1]
    items = json.loads(printed.split("# Requests ", 1)[0])
    # the robots.txt fetch the spider records is an item too, shown as a fetch
    assert [i["fetch"]["kind"] for i in items if "item" in i] == ["robots"]
    (article,) = [i for i in items if "item" not in i]
    assert article["title"] == SEED_TITLE and len(article["body"]) == 6
    assert "Traceback" not in run.stderr
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM crawls").fetchone() == (1,)


def test_parse_of_a_section_page_lists_its_requests(tmp_path: Path) -> None:
    run = run_scrapy(
        "parse", "-s", "FIXTURES_REPLAY=fixtures/sputnik-africa",
        "-s", f"STORE_PATH={tmp_path / 'w.db'}", "--nocolour", "https://sputnikglobe.com/africa/",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "more.html?id=1106399876" in run.stdout and '"entries"' in run.stdout
    assert not (tmp_path / "w.db").exists()


# -- fixture sets -------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_every_fixture_set_declares_whether_it_is_invented_or_recorded(folder: str) -> None:
    assert fixture_set_kind(FIXTURES / folder) in FIXTURE_KINDS


def test_a_replay_from_any_folder_keeps_the_set_name_and_kind(tmp_path: Path) -> None:
    site = tmp_path / "my set"
    shutil.copytree(AFRICA, site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, cwd in ((str(site), ROOT), ("../my set", elsewhere)):  # absolute, relative
        store = tmp_path / f"{cwd.name}.db"
        run = run_scrapy(
            "crawl", "africa", "-s", f"FIXTURES_REPLAY={name}", "-s", f"STORE_PATH={store}",
            cwd=cwd,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        with sqlite3.connect(store) as db:
            (settings,) = db.execute("SELECT settings FROM crawls").fetchone()
        assert json.loads(settings)["FIXTURES_REPLAY_SET"] == {"name": "my set", "kind": "invented"}


# -- the offline run's hint, and setup ----------------------------------------------------------


def test_the_hint_to_open_datasette_works_as_printed(tmp_path: Path) -> None:
    store = tmp_path / "wire.db"
    lines = replay(store).stdout.splitlines()
    hint = lines[lines.index("Browse it in Datasette:") + 1].strip()
    done = subprocess.run(
        [*shlex.split(hint), "--", "--get", "/wire/crawls.json?_shape=array"],
        cwd=ROOT, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads(done.stdout)) == 1


FAILING_VENV = """#!/bin/sh
# python3 as Debian ships it without python3-venv: `-m venv` fails, anything else works
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  echo "The virtual environment was not created successfully because ensurepip is not"
  echo "available.  On Debian/Ubuntu systems, you need to install the python3-venv package"
  exit 1
fi
exec {python} "$@"
"""


def test_setup_without_venv_says_what_to_install(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", project / "scripts" / "setup")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text(FAILING_VENV.format(python=shlex.quote(sys.executable)))
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", str(project / "scripts" / "setup")],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert "apt-get install python3-venv" in done.stderr
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"python{version}-venv" in done.stderr
    assert "Traceback" not in done.stderr
