"""The drift set, made from ``fixtures/sputnikglobe-africa`` instead of kept as a second copy.

Invented: the real-shaped set with 18 of its 22 article pages moved to a design the platform
parser does not recognize — ``div.story[data-story-id]`` and ``story__*`` blocks instead of
``div.article[data-article-id]`` and ``article__*``, the text unchanged. Everything else (the
section page, sitemaps, feed, day archives, the four pages in :data:`KEPT`) is the set's own.
Replayed into a store that holds a crawl of the set, the crawl ends with ``coverage_dropped``
(``tests/test_discovery.py``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.conftest import FIXTURES

SOURCE = FIXTURES / "sputnikglobe-africa"
# the article pages that keep the known design
KEPT = frozenset({"1106528817", "1106523345", "1106509473", "1106478120"})
ARTICLE_PAGE = re.compile(r"article-(\d+)\.html")


def drifted(html: str) -> str:
    """The page with its article markup renamed to the new design's."""
    html = html.replace('class="article m-article"', 'class="story"')
    html = html.replace("data-article-id", "data-story-id")
    return re.sub(r"\barticle__", "story__", html)


def make_drift_set(folder: Path) -> Path:
    """Write the drift set into ``folder`` (made here); the folder."""
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("expected", "README.md"))
    for page in sorted(folder.glob("article-*.html")):
        match = ARTICLE_PAGE.fullmatch(page.name)
        if match is None or match.group(1) in KEPT:
            continue
        html = page.read_text(encoding="utf-8")
        if 'class="article m-article"' not in html:
            continue  # not an article in the known design (the 404 page)
        page.write_text(drifted(html), encoding="utf-8")
        meta = page.with_suffix(".http.json")
        record = json.loads(meta.read_text(encoding="utf-8"))
        record["note"] = (
            "invented: the article page in a new design (div.story[data-story-id], story__* "
            "blocks) the platform parser does not recognize"
        )
        meta.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(
        "# Drift set\n\nKind: invented (made by tests/drift.py from "
        "fixtures/sputnikglobe-africa)\n",
        encoding="utf-8",
    )
    return folder
