"""The generic extractor: the last resort for an article page no platform parser recognizes.

Another wire service, a redesign, an archived page of another site: the body is found by
trafilatura (a maintained main-text extractor), the dates by the page's own structured claims
and, where it states none, by htmldate. :func:`crawler.sites.parse_article` runs it only after
every parser of :data:`crawler.sites.ARTICLE_PARSERS` has declined the page, so a page of the
platform never reaches it.

Text is evidence here as everywhere: every paragraph trafilatura returns must occur, after
:func:`domain.text.normalize_text` (trafilatura collapses whitespace runs and keeps soft
hyphens and zero-width spaces, which the normalization drops), in the text a reader sees on
the page; where one does not, the page is refused, never stored altered. Boilerplate is not
guessed: a photo's caption only where the page marks it (``<figure>`` with ``<figcaption>``),
a lead only where the page marks one, no related links (trafilatura drops link lists and
nothing marks them generically), tags only where the page lists them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import htmldate
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.settings import Document

from crawler.sites.html import Css, Node, Query, UnparseablePage, resolve
from domain.pages import ArticlePage, Block, BlockKind, DateClaim, DateKind, Image, Tag
from domain.text import normalize_text
from domain.times import iso_z

# A page that does not say it is an article must have at least this many words of text
# besides its headline; one that says so (og:type, JSON-LD, <article>, a publication time)
# at least MIN_DECLARED_WORDS (a one-sentence news flash). Below that the page is a headline,
# a wall or a stub, not an article.
MIN_WORDS = 25
MIN_DECLARED_WORDS = 8
# The headline is looked for among this many first blocks (after a page's navigation lines).
TITLE_WINDOW = 10

# Elements whose edges a reader sees as a break between words; every other element (b, a,
# span …) runs into its neighbours, as a browser renders it.
_BREAKING = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div",
        "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "img", "li", "main", "nav", "ol", "option", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title",
        "tr", "ul",
    }
)  # fmt: skip
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})

# trafilatura's output elements -> block kinds
_KINDS: dict[str, BlockKind] = {
    "p": "text",
    "code": "text",
    "head": "heading",
    "list": "list",
    "quote": "quote",
    "table": "table",
    "graphic": "media",
}

_META_DATES: tuple[tuple[DateKind, str], ...] = (
    ("published", "article:published_time"),
    ("modified", "article:modified_time"),
)
_SCHEMA_DATES: tuple[tuple[DateKind, str], ...] = (
    ("published", "datePublished"),
    ("modified", "dateModified"),
)
_EMPTY_LINE = re.compile(r"\n[^\S\n]*\n")  # two line breaks: a paragraph break
_BLOCK_ENDS = frozenset({"cell", "item", "row", "p", "head", "list", "quote", "table"})
_ARTICLE_TYPES = re.compile(r"(Article|BlogPosting|Report)$")


class GenericV1:
    """Any page with an article on it, read by trafilatura."""

    name = "generic"
    version = "1.0"

    HEAD_METAS = Query("//meta[@content]")
    CANONICAL = Query("//link[@rel='canonical']/@href")
    LANG = Query("/html/@lang")
    JSON_LD = Query("//script[@type='application/ld+json']/text()")
    ARTICLE = Query("//article")
    MICRODATA = Query("//*[@itemprop=$p]")
    TIME = Css("article time[datetime], time[pubdate][datetime]")
    LEAD = Css(
        "article .lead, article .standfirst, article .article-lead, article .entry-summary, "
        "article [itemprop=description], .article__lead, .story-lead, p.lead, p.intro"
    )
    TAG_LINKS = Css("a[rel~=tag]:not([rel~=category])")
    CATEGORY = Css("a[rel~=category]")
    PAGE_TITLE = Query("//title")
    FIGURES = Css("figure")
    FIGCAPTION = Css("figcaption")
    CAPTION = Css("figcaption .caption")
    CREDIT = Css("figcaption .credit, figcaption .copyright")
    IMAGES = Css("img")
    PASSWORD = Css("input[type=password]")
    LAYOUT = Query(".//cell//p | .//cell//head | .//cell//list | .//cell//quote")
    MACHINE_BODY = Query("//*[@itemscope]//*[@itemprop='articleBody'][not(.//p)]")

    def __init__(self, url: str, html: str, root: Node, dropped_urls: list[str] | None) -> None:
        self.url = url
        self.html = html
        self.root = root
        self.dropped_urls = dropped_urls if dropped_urls is not None else []
        self.metas = self._read_metas()
        self.json_ld = list(self._read_json_ld())

    @classmethod
    def read(
        cls, url: str, html: str, root: Node, dropped_urls: list[str] | None = None
    ) -> ArticlePage:
        """The article on the page; :class:`UnparseablePage` where there is none."""
        return cls(url, html, root, dropped_urls).parse()

    # -- the page ----------------------------------------------------------------------

    def parse(self) -> ArticlePage:
        """The whole article, or :class:`UnparseablePage` saying why there is none."""
        page = self.without_machine_copies()
        html = self.html if page is self.root else etree.tostring(page, encoding="unicode")
        document = bare_extraction(
            html,
            url=self.url,
            include_comments=False,
            include_tables=True,
            include_images=True,
            with_metadata=True,
        )
        if not isinstance(document, Document) or document.body is None:
            raise UnparseablePage("the generic extractor found no article text")
        blocks = self.blocks(document.body)
        title = self.title(document.title, blocks)
        if title is None:
            raise UnparseablePage("the generic extractor found no title")
        headline = [b for b in blocks[:TITLE_WINDOW] if b.kind in ("text", "heading")]
        if any(b.text == title for b in headline):  # the headline, not a body paragraph
            first = next(b for b in headline if b.text == title)
            blocks = renumber([b for b in blocks if b is not first])
        lead = seen_text(self.LEAD, self.root)
        if lead and blocks and blocks[0].kind == "text" and blocks[0].text == lead:
            blocks = renumber(blocks[1:])  # the marked lead, not a body paragraph
        self.check_article(blocks, title, lead)
        self.check_evidence(page, title, lead, blocks)
        claims = self.date_claims()
        return ArticlePage(
            url=self.url,
            canonical_url=self._absolute(self.CANONICAL.first(self.root)),
            article_id=None,
            site=(urlsplit(self.url).hostname or "").removeprefix("www."),
            section=self._meta("article:section") or seen_text(self.CATEGORY, self.root),
            language=self.language(),
            title=title,
            lead=lead,
            authors=authors(document.author),
            dates=claims,
            published_at=pick_date(claims, "published"),
            modified_at=pick_date(claims, "modified"),
            tags=self.tags(),
            blocks=blocks,
            parser=self.name,
            parser_version=self.version,
        )

    def without_machine_copies(self) -> Node:
        """The page without the microdata blocks that repeat its body for machines.

        Such a block (``itemscope`` with an ``itemprop=articleBody`` of plain text, hidden by
        the site's CSS, as on the platform's pages) holds the whole text in one element, so
        trafilatura takes it for the body, with the URL and headline beside it. It is left
        out where its text also stands in the rest of the page; otherwise it is kept.
        """
        if self.MACHINE_BODY.first(self.root) is None:
            return self.root
        tree = copy.deepcopy(self.root)
        removed = False
        for body in self.MACHINE_BODY.all(tree):
            scope = next((a for a in body.iterancestors() if a.get("itemscope") is not None), None)
            parent = None if scope is None else scope.getparent()
            if scope is None or parent is None:
                continue
            head = " ".join(normalize_text(reader_text(body)).split()[:12])
            index = parent.index(scope)
            parent.remove(scope)
            if head and head in normalize_text(reader_text(tree)):
                removed = True
            else:  # the only copy of the text: it stays
                parent.insert(index, scope)
        return tree if removed else self.root

    def check_article(self, blocks: list[Block], title: str, lead: str | None) -> None:
        """Refuse a page without an article: no paragraph, too few words besides the headline
        (fewer still for a page that says it is an article), or a login form and little text.

        trafilatura, finding no main text, returns all of the page's text as one paragraph
        (its baseline), headline included: the headline is not counted.
        """
        paragraphs = [b.text for b in blocks if b.kind in ("text", "quote", "list", "table")]
        text = " ".join([lead or "", *paragraphs]).replace(title, " ", 1)
        words = len(text.split())
        if self.PASSWORD.first(self.root) is not None and words < MIN_WORDS:
            raise UnparseablePage(f"a login form and {words} words of text: no article")
        if words >= MIN_WORDS or (words >= MIN_DECLARED_WORDS and self.says_article()):
            return
        if not paragraphs or words < MIN_DECLARED_WORDS:
            raise UnparseablePage(
                f"the generic extractor found a title but no article text ({words} words)"
            )
        raise UnparseablePage(f"{words} words of text on a page that does not say it is an article")

    def says_article(self) -> bool:
        """Whether the page declares itself an article (og:type, JSON-LD, <article>, a
        publication time)."""
        if (self._meta("og:type") or "").lower() == "article":
            return True
        if self._meta("article:published_time"):
            return True
        if any(_ARTICLE_TYPES.search(t) for item in self.json_ld for t in types(item)):
            return True
        return self.ARTICLE.first(self.root) is not None

    def check_evidence(self, page: Node, title: str, lead: str | None, blocks: list[Block]) -> None:
        """Refuse the page where the extractor returned text that is not on ``page`` (the page
        as trafilatura read it)."""
        seen = normalize_text(reader_text(page))
        for block in blocks:
            for text in [block.text] if not block.items else block.items:
                if text and text not in seen:
                    raise UnparseablePage(
                        f"the generic extractor's text of block {block.position} is not on "
                        f"the page as a reader sees it: {text[:60]!r}"
                    )
        if lead and lead not in seen:
            raise UnparseablePage(f"the extracted lead is not on the page: {lead!r}")
        window = self.window_title()
        if title not in seen and title not in window and title not in self._meta_values():
            raise UnparseablePage(f"the extracted title is not on the page: {title!r}")

    # -- body --------------------------------------------------------------------------

    def blocks(self, body: Node) -> list[Block]:
        """The body trafilatura found, as typed blocks in its order; a paragraph of lines
        split by an empty line (``<br><br>``) is as many paragraphs, as a reader sees it; a
        layout table (cells holding paragraphs) is no data table: its biggest cell is read."""
        captions = self.marked_captions()
        blocks: list[Block] = []

        def add_text(kind: BlockKind, raw: str) -> None:
            texts = _EMPTY_LINE.split(raw) if kind == "text" else [raw]
            for text in (normalize_text(t) for t in texts):
                if text:
                    blocks.append(Block(kind, len(blocks), text=text))

        def walk(container: Node) -> None:
            if container.tag == "cell":
                add_text("text", container.text or "")
            for element in container:
                add(element)
                if container.tag == "cell":
                    add_text("text", element.tail or "")

        def add(element: Node) -> None:
            kind = _KINDS.get(str(element.tag), "text")
            if kind == "media":
                src = element.get("src")
                if src in captions:  # a photo only where the page marks it as a figure
                    caption, credit = captions[src]
                    blocks.append(Block("media", len(blocks), images=[Image(src, caption, credit)]))
            elif kind == "table" and self.LAYOUT.first(element) is not None:
                # a page laid out in a table: its content is the cell with the most text (the
                # others are its navigation, sidebars and footer)
                walk(max(element.iter("cell"), key=lambda cell: len(raw_text(cell).split())))
            elif kind in ("list", "table"):
                items = [t for t in (element_text(row) for row in element) if t]
                if items:
                    blocks.append(Block(kind, len(blocks), text="\n".join(items), items=items))
            else:
                add_text(kind, raw_text(element))

        walk(body)
        return blocks

    def title(self, found: str | None, blocks: list[Block]) -> str | None:
        """trafilatura's title, or the longest of the first blocks that the page's ``<title>``
        holds (a headline that is no heading, printed beside the site's name there)."""
        found = normalize_text(found or "") or None
        window = self.window_title()
        candidates = [
            b.text
            for b in blocks[:TITLE_WINDOW]
            if b.kind in ("text", "heading") and len(b.text.split()) >= 3 and len(b.text) <= 300
        ]
        inside = [text for text in candidates if text in window]
        return max(inside, key=len) if inside else found

    def window_title(self) -> str:
        """The normalized text of the page's ``<title>``."""
        node = self.PAGE_TITLE.first(self.root)
        return normalize_text("".join(node.itertext())) if node is not None else ""

    def marked_captions(self) -> dict[str, tuple[str | None, str | None]]:
        """Each photo in a ``<figure>``, by its absolute URL: the caption and credit the
        figure marks (its ``figcaption``, or the parts of it marked caption and credit)."""
        captions: dict[str, tuple[str | None, str | None]] = {}
        for figure in self.FIGURES.all(self.root):
            credit = seen_text(self.CREDIT, figure)
            caption = seen_text(self.CAPTION, figure) if credit else None
            caption = caption or seen_text(self.FIGCAPTION, figure)
            for img in self.IMAGES.all(figure):
                src = self._absolute(img.get("src") or img.get("data-src"))
                if src:
                    captions.setdefault(src, (caption, credit))
        return captions

    # -- header ------------------------------------------------------------------------

    def language(self) -> str | None:
        """The page's language as a short code ("en", "fr")."""
        lang = self.LANG.first(self.root) or self._meta("og:locale")
        if not lang:
            return None
        return lang.replace("_", "-").split("-")[0].lower() or None

    def tags(self) -> list[Tag]:
        """The tag links the page marks (``rel=tag``), else ``article:tag``, else keywords."""
        linked = [
            Tag(normalize_text("".join(a.itertext())), self._absolute(a.get("href")))
            for a in self.TAG_LINKS.all(self.root)
        ]
        if any(tag.name for tag in linked):
            return [tag for tag in linked if tag.name]
        names = self._metas_all("article:tag")
        if not names:
            names = [k for value in self._metas_all("keywords") for k in value.split(",")]
        return [Tag(name, None) for name in dict.fromkeys(normalize_text(n) for n in names) if name]

    # -- dates -------------------------------------------------------------------------

    def date_claims(self) -> list[DateClaim]:
        """Every date the page states in its markup, in order of exactness; htmldate's
        finding where it states none.

        Read by hand because neither htmldate nor trafilatura say where a date came from or
        what it said: each claim must keep its raw string and its source.
        """
        claims: list[DateClaim] = []
        for kind, key in _META_DATES:
            for raw in self._metas_all(key):
                claims.append(DateClaim(kind, instant(raw), raw, f"meta:{key}"))
        for item in self.json_ld:
            for kind, key in _SCHEMA_DATES:
                value = item.get(key)
                if isinstance(value, str) and value.strip():
                    claims.append(DateClaim(kind, instant(value), value.strip(), f"json-ld:{key}"))
        for kind, key in _SCHEMA_DATES:
            node = self.MICRODATA.first(self.root, p=key)
            found = None if node is None else (node.get("content") or node.get("datetime"))
            if found and found.strip():
                claims.append(DateClaim(kind, instant(found), found.strip(), "microdata"))
        times: dict[DateKind, str] = {}  # the first <time> of each kind: "updated" ones modified
        for node in self.TIME.all(self.root):
            updated = "updated" in (node.get("class") or "").split()
            times.setdefault("modified" if updated else "published", node.get("datetime").strip())
        for kind, raw in times.items():
            if raw:
                claims.append(DateClaim(kind, instant(raw), raw, "time"))
        if not any(c.kind == "published" for c in claims):
            found = self.htmldate_claim()
            if found is not None:
                claims.append(found)
        return claims

    def htmldate_claim(self) -> DateClaim | None:
        """The publication date htmldate finds in the page's text or URL, if any.

        htmldate prints midnight without a zone where it found a day only: that is kept as
        the day, with no instant, since the time and zone would be invented.
        """
        raw = htmldate.find_date(
            self.html, url=self.url, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S%z"
        )
        if not raw:
            return None
        if raw.endswith("T00:00:00"):
            raw = raw[:10]
        return DateClaim("published", instant(raw), raw, "htmldate")

    # -- metas and JSON-LD -------------------------------------------------------------

    def _read_metas(self) -> dict[str, list[str]]:
        """Every meta's normalized, non-empty content by its ``property``, ``name`` and
        ``itemprop``."""
        metas: dict[str, list[str]] = {}
        for meta in self.HEAD_METAS.all(self.root):
            value = normalize_text(meta.get("content") or "")
            if not value:
                continue
            keys = (meta.get("property"), meta.get("name"))
            for key in dict.fromkeys(k.strip().lower() for k in keys if k):
                metas.setdefault(key, []).append(value)
        return metas

    def _metas_all(self, key: str) -> list[str]:
        return self.metas.get(key, [])

    def _meta(self, key: str) -> str | None:
        values = self._metas_all(key)
        return values[0] if values else None

    def _meta_values(self) -> set[str]:
        return {value for values in self.metas.values() for value in values}

    def _read_json_ld(self) -> Iterator[dict[str, Any]]:
        """Every JSON-LD object on the page (``@graph`` members and lists flattened); a
        script that is no JSON is skipped."""
        for script in self.JSON_LD.all(self.root):
            try:
                data = json.loads(script)
            except ValueError:
                continue
            yield from flatten(data)

    def _absolute(self, href: str | None) -> str | None:
        if not href or not href.strip():
            return None
        url = resolve(self.url, href.strip())
        if url is None:
            self.dropped_urls.append(href.strip())
        return url


def flatten(data: Any) -> Iterator[dict[str, Any]]:
    """The JSON-LD objects in ``data``: itself, its list members, its ``@graph``."""
    if isinstance(data, list):
        for member in data:
            yield from flatten(member)
    elif isinstance(data, dict):
        yield data
        yield from flatten(data.get("@graph"))


def types(item: dict[str, Any]) -> list[str]:
    """A JSON-LD object's ``@type`` as a list."""
    value = item.get("@type")
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def instant(raw: str) -> str | None:
    """An ISO 8601 time with its UTC offset, in UTC; None for a day alone or a time without
    offset (the page's zone is not known: a guess would be an invented time)."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return iso_z(moment.astimezone(UTC))


def pick_date(claims: list[DateClaim], kind: DateKind) -> str | None:
    """The first claim of ``kind`` that states an instant (claims come most exact first)."""
    return next((c.value for c in claims if c.kind == kind and c.value is not None), None)


def authors(found: str | None) -> list[str]:
    """trafilatura's author string ("A; B") as names."""
    if not found:
        return []
    return [name for name in (normalize_text(a) for a in found.split(";")) if name]


def renumber(blocks: list[Block]) -> list[Block]:
    """``blocks`` with positions 0, 1, 2 … again."""
    for position, block in enumerate(blocks):
        block.position = position
    return blocks


def raw_text(element: Node) -> str:
    """The text of one of trafilatura's elements, a line break ``<lb/>`` as ``\\n`` and one
    after each block inside it (cell, item, row, paragraph …; trafilatura adds no spaces of
    its own inside inline markup, so ``re<hi>port</hi>`` stays ``report``)."""
    parts: list[str] = []
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if event == "start":
            parts.append("\n" if node.tag == "lb" else "")
            parts.append(node.text or "")
            continue
        if node.tag in _BLOCK_ENDS and node is not element:
            parts.append("\n")
        if node is not element:
            parts.append(node.tail or "")
    return "".join(parts)


def element_text(element: Node) -> str:
    """The normalized text of one of trafilatura's elements (see :func:`raw_text`)."""
    return normalize_text(raw_text(element))


def seen_text(query: Query, node: Node) -> str | None:
    """The text a reader sees in the first element ``query`` finds under ``node``, or None."""
    found = query.first(node)
    return (normalize_text(reader_text(found)) or None) if found is not None else None


def reader_text(root: Node) -> str:
    """The page's text as a browser shows it: inline elements run together, block elements
    and line breaks separate words, scripts and styles left out.

    Written here because :func:`crawler.sites.html.visible_text` joins every text node with a
    space, so ``re<b>port</b>`` would not read as the reader's ``report``.
    """
    parts: list[str] = []
    hidden = 0  # how many hidden elements the walk is inside
    for event, node in etree.iterwalk(root, events=("start", "end")):  # no recursion: deep pages
        tag = node.tag if isinstance(node.tag, str) else None
        if event == "start":
            if tag is None or tag in _HIDDEN:
                hidden += 1
            elif not hidden:
                parts.append(" " if tag in _BREAKING else "")
                parts.append(node.text or "")
            continue
        if tag is None or tag in _HIDDEN:
            hidden -= 1
        elif not hidden and tag in _BREAKING:
            parts.append(" ")
        if not hidden and node is not root:  # the root's tail is outside it
            parts.append(node.tail or "")
    return "".join(parts)
