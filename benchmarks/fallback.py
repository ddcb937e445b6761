"""The generic extractor against trafilatura alone: word-shingle F1 of the body, page by page.

``python benchmarks/fallback.py`` reads every page it can measure here, runs the project's
generic extractor (:mod:`crawler.sites.generic`, through :func:`crawler.sites.parse_article`)
and plain ``trafilatura.extract(html, url=url)`` on it, and prints precision, recall and F1 of
each against the page's expected body, in the manner of the public article-extraction
benchmark (scrapinghub/article-extraction-benchmark): the text lower-cased, cut into words
(``\\w+``), every run of 4 words a shingle, true and false shingles counted over all pages of
a set (micro average). A page the extractor refuses counts as an empty extraction. That public
set of 181 pages cannot be reached from here (no network); these can:

- ``own``: the pages of other sites written for the project (``fixtures/generic-pages``), each
  with its expected body in ``NAME.expected.json``;
- ``platform``: every article page of the recorded sets (``fixtures/*``) made into a redesign
  (the ``data-article-id`` the platform parser looks for renamed), expected body: what the
  platform parser reads from the page as recorded;
- ``reference``: the two real saved pages in ``../shared/reference/pages`` (read from there,
  never copied): ria.ru as a redesign like the above, and Sputnik Arabic 2020 (an earlier
  design no parser of this branch knows), expected body: its ``itemprop=articleBody`` text
  without the inline "read also" boxes (``.b-inject``);
- ``generated``: ``--generated N`` pages of the benchmark site (``benchmarks/generate.py``)
  made into a redesign, expected body: the generator's own ``body_paragraphs``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from benchmarks.generate import DEFAULT_SEED, article_spec, body_paragraphs, render_article  # noqa: E402
from crawler.goldens import article_fixtures, decoded_text  # noqa: E402
from crawler.sites import ARTICLE_PARSERS, UnparseablePage, parse_article  # noqa: E402
from crawler.sites.html import Css, html_root, visible_text  # noqa: E402
from pipelines.boilerplate import BODY_KINDS, split_article  # noqa: E402

PAGES = ROOT / "fixtures" / "generic-pages"
REFERENCE = ROOT.parent / "shared" / "reference" / "pages"
RIA = (
    "ria.ru-20220611-ekonomika-1794720292.html",
    "https://ria.ru/20220611/ekonomika-1794720292.html",
)
ARABIC = "arabic.sputniknews.com-20200317-1044893040.html"
SHINGLE = 4
WORD = re.compile(r"\w+")
ARTICLE_ID = re.compile(r"data-article-id=")


@dataclass
class Page:
    """One page to measure: its URL, HTML and the body a reader sees there."""

    set_name: str
    name: str
    url: str
    html: str
    expected: str


@dataclass
class Score:
    """Shingles counted over the pages of a set, for one extractor."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    refused: list[str] = field(default_factory=list)
    page_f1: list[float] = field(default_factory=list)

    def add(self, expected: str, found: str) -> None:
        """Count one page's shingles."""
        want, got = shingles(expected), shingles(found)
        tp = sum((want & got).values())
        fp, fn = sum(got.values()) - tp, sum(want.values()) - tp
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
        self.page_f1.append(f1(tp, fp, fn))

    def line(self) -> str:
        """Precision, recall, F1 (micro) and the mean of the pages' F1."""
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        mean = sum(self.page_f1) / len(self.page_f1) if self.page_f1 else 0.0
        return (
            f"P {precision:.3f}  R {recall:.3f}  F1 {f1(self.tp, self.fp, self.fn):.3f}  "
            f"(page mean {mean:.3f}, refused {len(self.refused)})"
        )


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 of shingle counts (1.0 for two empty texts)."""
    if tp + fp + fn == 0:
        return 1.0
    return 2 * tp / (2 * tp + fp + fn)


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The multiset of runs of :data:`SHINGLE` words (a shorter text is one shingle)."""
    words = WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return Counter([tuple(words)]) if words else Counter()
    return Counter(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def redesign(html: str) -> str:
    """The page with the attribute the platform parser recognizes renamed: a redesign."""
    return ARTICLE_ID.sub("data-story-id=", html)


def platform_body(url: str, html: str) -> str | None:
    """What the platform parser reads as the body (dateline included), or None if it refuses."""
    try:
        page = parse_article(url, html)
    except UnparseablePage:
        return None
    return "\n".join(b.text for b in page.blocks if b.kind in BODY_KINDS and b.text)


def own_pages() -> Iterator[Page]:
    """The pages of other sites in ``fixtures/generic-pages`` that have an article."""
    for expected in sorted(PAGES.glob("*.expected.json")):
        spec = json.loads(expected.read_text(encoding="utf-8"))
        html = expected.with_name(expected.name.replace(".expected.json", ".html"))
        if spec.get("refused"):
            continue
        body = "\n".join(spec["body"])
        yield Page("own", html.stem, spec["url"], html.read_text(encoding="utf-8"), body)


def platform_pages() -> Iterator[Page]:
    """Every distinct article page of the recorded sets, as a redesign."""
    seen: set[str] = set()
    for folder in sorted(p for p in (ROOT / "fixtures").iterdir() if (p / "expected").is_dir()):
        for name, fixture in article_fixtures(folder):
            html = decoded_text(fixture)
            body = platform_body(fixture.url, html)
            if body is None or html in seen:
                continue
            seen.add(html)
            yield Page("platform", f"{folder.name}/{name}", fixture.url, redesign(html), body)


def reference_pages() -> Iterator[Page]:
    """The two real saved pages beside the project, where they are."""
    ria = REFERENCE / RIA[0]
    if ria.is_file():
        html = ria.read_text(encoding="utf-8")
        body = platform_body(RIA[1], html)
        if body is not None:
            yield Page("reference", "ria.ru", RIA[1], redesign(html), body)
    arabic = REFERENCE / ARABIC
    if arabic.is_file():
        html = arabic.read_text(encoding="utf-8")
        root = html_root(html)
        for inject in Css(".b-inject").all(root):
            inject.getparent().remove(inject)  # keeps the tail: the text after the box
        paragraphs = Css("[itemprop=articleBody] > p").all(root)
        body = "\n".join(t for t in (visible_text(p) for p in paragraphs) if t)
        canonical = root.xpath("//link[@rel='canonical']/@href")
        url = canonical[0] if canonical else "https://arabic.sputniknews.com/"
        yield Page("reference", "arabic.sputniknews.com", url, html, body)


def generated_pages(count: int, seed: int) -> Iterator[Page]:
    """``count`` pages of the benchmark site, as a redesign."""
    for index in range(count):
        spec = article_spec(seed, index)
        html = redesign(render_article(spec, seed))
        yield Page("generated", str(index), spec.header.url, html, "\n".join(body_paragraphs(spec)))


def known_design(page: Page) -> str | None:
    """The parser of :data:`crawler.sites.ARTICLE_PARSERS` that recognizes the page, if any
    (such a page never reaches the generic extractor: it is left out of the scores)."""
    root = html_root(page.html)
    for parser in ARTICLE_PARSERS:
        try:
            if parser.recognize(page.url, root) is not None:
                return parser.name
        except UnparseablePage:
            return parser.name
    return None


def generic(page: Page) -> str | None:
    """The body the project's generic extractor stores, or None where it refuses the page."""
    try:
        article = parse_article(page.url, page.html)
    except UnparseablePage:
        return None
    return "\n".join(split_article(article).body)


def trafilatura_alone(page: Page) -> str | None:
    """trafilatura's text with its default settings."""
    return trafilatura.extract(page.html, url=page.url)


EXTRACTORS: dict[str, Callable[[Page], str | None]] = {
    "generic": generic,
    "trafilatura": trafilatura_alone,
}


def main(argv: list[str] | None = None) -> int:
    """Score both extractors on every set and print one line per set and extractor."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=100, help="generated pages (100)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--verbose", action="store_true", help="each page's F1")
    args = parser.parse_args(argv)
    sets: dict[str, list[Page]] = {
        "own": list(own_pages()),
        "platform": list(platform_pages()),
        "reference": list(reference_pages()),
        "generated": list(generated_pages(args.generated, args.seed)),
    }
    for set_name, pages in sets.items():
        for page in list(pages):
            design = known_design(page)
            if design is not None:
                print(f"left out {set_name}/{page.name}: read by the {design} parser")
                pages.remove(page)
    totals = {name: Score() for name in EXTRACTORS}
    print(f"word-shingle ({SHINGLE} words) precision / recall / F1 of the body, micro average")
    for set_name, pages in sets.items():
        print(f"\n{set_name}: {len(pages)} pages")
        for name, extract in EXTRACTORS.items():
            score = Score()
            for page in pages:
                found = extract(page)
                if found is None:
                    score.refused.append(page.name)
                    totals[name].refused.append(f"{set_name}/{page.name}")
                for target in (score, totals[name]):
                    target.add(page.expected, found or "")
                if args.verbose:
                    print(f"    {name:<12} {page.name:<40} F1 {score.page_f1[-1]:.3f}")
            print(f"  {name:<12} {score.line()}")
            if score.refused:
                print(f"  {'':<12} refused: {', '.join(score.refused)}")
    count = sum(len(pages) for pages in sets.values())
    print(f"\nall {count} pages")
    for name, score in totals.items():
        print(f"  {name:<12} {score.line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
