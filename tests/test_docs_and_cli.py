"""The README documents every setting and command, and the parser's command line works."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from scrapy.settings import default_settings as scrapy_defaults

from crawler import settings
from domain.records import FETCH_OUTCOMES, FetchOutcome
from store import EXPORT_KEYS, PROVENANCE_KEYS
from store.export import VERSION_EXPORT_KEYS
from tests.conftest import AFRICA, ROOT
from tests.test_faults import ANGOLA_FIRST, ANGOLA_TITLE, CYRILLIC_FIRST, CYRILLIC_TITLE

README = (ROOT / "README.md").read_text(encoding="utf-8")
SEED = AFRICA / "article-1106523345.html"
SEED_URL = json.loads((AFRICA / "article-1106523345.http.json").read_text())["url"]


def python_m(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def readme_table(header: str) -> list[str]:
    """The lines of the README's table that starts with the line ``header``."""
    lines = README.splitlines()
    start = lines.index(header)
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def shown_default(value: object) -> str:
    return "none" if value is None else f"`{value}`"


def test_the_settings_table_is_the_declaration() -> None:
    # crawler.settings declares each project setting once (default, meaning); the README's
    # table shows exactly those, in order; a setting Scrapy does not know is declared
    declared = [
        f"| `{name}` | {shown_default(getattr(settings, name))} | {meaning} |"
        for name, meaning in settings.PROJECT_SETTINGS.items()
    ]
    header = ["| setting | default | meaning |", "|---|---|---|"]
    assert readme_table(header[0]) == header + declared
    assert assigned_settings() - set(dir(scrapy_defaults)) == set(settings.PROJECT_SETTINGS)


def assigned_settings() -> set[str]:
    """The settings crawler/settings.py assigns (not imports), its declaration left out."""
    tree = ast.parse((ROOT / "crawler" / "settings.py").read_text(encoding="utf-8"))
    targets = [n.target for n in tree.body if isinstance(n, ast.AnnAssign)]
    targets += [t for n in tree.body if isinstance(n, ast.Assign) for t in n.targets]
    names = {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names - {"PROJECT_SETTINGS", "PROJECT_SETTING_KINDS"}


def test_the_outcomes_table_is_the_declaration() -> None:
    # domain.records declares each fetch outcome once, with its meaning; the README's
    # *Faults and outcomes* table shows exactly those, in order
    assert list(FETCH_OUTCOMES) == list(get_args(FetchOutcome))
    declared = [f"| `{o}` | {m.when} | {m.kept} |" for o, m in FETCH_OUTCOMES.items()]
    header = ["| outcome | when | what is kept |", "|---|---|---|"]
    assert readme_table(header[0]) == header + declared


def test_the_settings_module_loads_nothing_of_the_store() -> None:
    check = (
        "import sys, crawler.settings; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'store'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


@pytest.mark.parametrize(
    "command",
    ["scrapy crawl africa", "scrapy parse URL", "python -m crawler.sites",
     "python -m crawler.goldens", "python -m store export", "python -m store summary",
     "python -m store serve", "python -m store metadata", "python -m store reparse",
     "python -m store import", "python -m store evidence", "python -m store verify",
     "python -m store keygen", "bash scripts/crawl-offline",
     "bash scripts/test", "python scripts/killtest.py", "python -m tests.mockserver",
     "python benchmarks/run.py", "python benchmarks/generate.py"],
)  # fmt: skip
def test_command_documented(command: str) -> None:
    assert f"`{command}" in README


def test_export_keys_documented() -> None:
    for key in VERSION_EXPORT_KEYS:
        assert f"`{key}`" in README, key
    assert "{" + ", ".join(PROVENANCE_KEYS) + "}" in README


def test_parser_command_prints_export_json() -> None:
    done = python_m("crawler.sites", str(SEED), "--url", SEED_URL)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert list(record) == list(EXPORT_KEYS)
    assert record["title"].startswith("Russian Defense Ministry")
    assert len(record["body"]) == 6


def test_parser_command_decodes_a_page_as_the_crawl_does(tmp_path: Path) -> None:
    # the fault crawl's cp1251 page (test_faults): cp1251 bytes under <meta charset="utf-8">,
    # which the crawl reads as cp1251 (the declared UTF-8 fails), never as U+FFFD
    saved = AFRICA / "article-1106052640.html"
    url = json.loads((AFRICA / "article-1106052640.http.json").read_text())["url"]
    html = saved.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html and ANGOLA_TITLE in html and ANGOLA_FIRST in html
    html = html.replace(ANGOLA_TITLE, CYRILLIC_TITLE).replace(ANGOLA_FIRST, CYRILLIC_FIRST)
    page = tmp_path / "cp1251.html"
    page.write_bytes(html.encode("cp1251"))
    done = python_m("crawler.sites", str(page), "--url", url)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["title"] == CYRILLIC_TITLE
    assert record["body"][0].endswith(CYRILLIC_FIRST)


def test_parser_command_refuses_a_non_article(tmp_path: Path) -> None:
    page = tmp_path / "captcha.html"
    page.write_text("<html><body><form>Prove you are human</form></body></html>")
    done = python_m("crawler.sites", str(page), "--url", SEED_URL)
    assert done.returncode == 1
    assert done.stderr.startswith("error: not an article page")
    assert "Traceback" not in done.stderr


def test_parser_command_missing_file() -> None:
    done = python_m("crawler.sites", "no/such.html", "--url", SEED_URL)
    assert done.returncode == 2
    assert "error: cannot read no/such.html" in done.stderr


def test_parser_command_names_the_parser_and_its_version() -> None:
    from crawler.sites.platform import PlatformV1

    done = python_m("crawler.sites", str(SEED), "--url", SEED_URL)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"parser: {PlatformV1.name} {PlatformV1.version} (")
    provenance = json.loads(done.stdout)["provenance"]
    assert (provenance["parser"], provenance["parser_version"]) == (
        PlatformV1.name,
        PlatformV1.version,
    )


def test_parser_command_prints_fields_of_an_earlier_design_page() -> None:
    from crawler.sites.legacy import LegacyV1

    legacy = ROOT / "fixtures" / "sputnik-legacy"
    url = json.loads((legacy / "article-1069876543.http.json").read_text())["url"]
    done = python_m("crawler.sites", str(legacy / "article-1069876543.html"), "--url", url,
                    "--fields")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"parser: {LegacyV1.name} {LegacyV1.version} (")
    assert "title: Angola inaugura una planta solar en Benguela" in lines
    assert "authors: Carmen Ruiz-Inventada" in lines
    assert "body 4: La energíasolar representa ya el 2% de la producción." in lines
    assert any(line.startswith("date: published 2017-06-21T18:30:00Z (visible, zone assumed)")
               for line in lines)  # fmt: skip


LOCAL_LINK = re.compile(r"""(?:\]\(|src=")(?!https?:|mailto:|#)([^)"\s#]+)""")


@pytest.mark.parametrize(
    "document",
    [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted(path for path in ROOT.glob("*/README.md") if not path.parts[-2].startswith(".")),
        *sorted(ROOT.glob("fixtures/*/README.md")),
    ],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_every_local_link_and_image_of_the_docs_exists(document: Path) -> None:
    """A link or picture of the project's own files (the README's screenshots) that is gone is
    a broken first screen for a newcomer."""
    missing = [
        target
        for target in LOCAL_LINK.findall(document.read_text(encoding="utf-8"))
        if not (document.parent / target).exists()
    ]
    assert not missing, f"{document.relative_to(ROOT)} links to missing files: {missing}"
