"""What every site parser shares: the page's lxml tree, compiled queries, visible text, links.

Pure helpers over lxml (as Fundus keeps ``parser/utility.py`` beside its publishers); a
parser module holds only its selectors and the rules of its layout.
"""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import urljoin, urlsplit

from lxml import etree
from parsel.csstranslator import css2xpath

from domain.text import collapse_whitespace, normalize_text


class UnparseablePage(ValueError):
    """The page is not an article (or listing) this parser can read: never an empty article."""


Node: TypeAlias = etree._Element

# The most tags (``<`` characters, an upper bound of a page's elements) a page may hold to be
# parsed. An lxml tree costs about 300 bytes an element: 5 million ``<p>`` fit in the 16 MiB
# download limit and took the crawl to 829 MB. A news article holds a few thousand; 250,000
# keep the crawl near 200 MB (``benchmarks/memory.py``).
MAX_PAGE_TAGS = 250_000


def html_root(html: str) -> Node:
    """The lxml tree of a page's text, built as parsel builds it for HTML (NULs dropped, outer
    whitespace stripped, UTF-8 into lxml's HTML parser in recover mode, huge pages allowed).

    The whole page or nothing: where libxml2 stops early — a fatal error such as elements
    nested deeper than it reads (2,048 levels even with ``huge_tree``), after which it drops
    the rest of the page — the page is refused (:class:`UnparseablePage`), never read short.
    A page of more than :data:`MAX_PAGE_TAGS` tags is refused before it is parsed.
    """
    tags = html.count("<")
    if tags > MAX_PAGE_TAGS:
        raise UnparseablePage(
            f"the page holds {tags:,} tags, more than {MAX_PAGE_TAGS:,}: not parsed (its tree "
            "would take more memory than a crawl may use)"
        )
    body = html.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    parser = etree.HTMLParser(recover=True, encoding="utf-8", huge_tree=True)
    root = etree.fromstring(body, parser=parser)
    # a fatal error ends the parse, so it is the last one logged: reading only that one keeps
    # pages of many harmless errors (HTML5 tags libxml2 does not know) fast
    last = parser.error_log.last_error
    if last is not None and last.level == etree.ErrorLevels.FATAL:
        raise UnparseablePage(
            f"the HTML parser stopped at line {last.line}, before the end of the page "
            f"({last.message.strip()})"
        )
    return root if root is not None else etree.fromstring(b"<html/>", parser=parser)


def resolve(base: str, href: str) -> str | None:
    """``href`` made absolute against ``base``; None where it is no URL (``http://[oops/``)."""
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
        _ = parts.port  # a port that is no number raises here
    except ValueError:
        return None
    return url


class Query:
    """An XPath query compiled once and run on lxml nodes directly: no wrapper object per node
    found, no XPath compiled per call. ``variables`` fill the query's ``$name`` parameters."""

    def __init__(self, xpath: str) -> None:
        self.xpath = etree.XPath(xpath, smart_strings=False)

    def all(self, *nodes: Node, **variables: Any) -> list[Any]:
        """What the query finds under each of ``nodes`` (each node included), in order."""
        if len(nodes) == 1:
            return list(self.xpath(nodes[0], **variables))
        return [found for node in nodes for found in self.xpath(node, **variables)]

    def first(self, *nodes: Node, **variables: Any) -> Any | None:
        """The first thing the query finds under ``nodes``, or None."""
        for node in nodes:
            found = self.xpath(node, **variables)
            if found:
                return found[0]
        return None


class Css(Query):
    """A CSS selector, compiled to XPath with parsel's translation (``::text`` and
    ``::attr(name)`` work)."""

    def __init__(self, css: str) -> None:
        super().__init__(css2xpath(css))
        self.css = css


# Elements that start and end a block box in the HTML standard's rendering rules (display
# block, list-item, table and its parts): their edges separate words; every other element is
# inline, and its text joins its neighbours' with no space added.
# fmt: off
BLOCK_ELEMENTS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li", "listing",
    "main", "menu", "nav", "ol", "optgroup", "option", "p", "plaintext", "pre", "search",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "xmp",
})
# fmt: on
# Elements whose content a reader does not see (``iframe``/``object`` hold fallback content).
HIDDEN_ELEMENTS = frozenset(
    ["script", "style", "noscript", "template", "head", "title", "iframe", "object", "svg", "math"]
)


def _hidden(element: Node) -> bool:
    """Whether a reader never sees ``element``'s content (comments, scripts, ``hidden``)."""
    tag = element.tag
    if not isinstance(tag, str):  # a comment or processing instruction
        return True
    if tag in HIDDEN_ELEMENTS or element.get("hidden") is not None:
        return True
    style = element.get("style")
    return bool(style) and "display:none" in style.replace(" ", "").lower()


def visible_text(*nodes: Node) -> str:
    """The text a reader sees in ``nodes``, whitespace collapsed as a browser renders it.

    CSS ``white-space: normal``: text of inline elements (links, bold, ``span``, ``sup``) joins
    its neighbours exactly as written — ``<b>Ozon</b>,`` is ``Ozon,`` and ``20<sup>th</sup>`` is
    ``20th`` —; runs of ASCII whitespace across element boundaries become one space; block
    edges and ``<br>`` separate (one space here, as the stored text is one line), and each
    block's run is trimmed. NBSP stays (text of NBSPs alone is no text: ""). Scripts, styles
    and hidden elements are left out.

    Written here because the maintained extractors do not do this: lxml's ``text_content`` and
    an XPath ``text()`` join ignore block edges, html-text guesses a space between text nodes,
    and inscriptis lays text out (bullets, table padding) rather than reading one block.
    """
    runs: list[list[str]] = []
    for node in nodes:
        runs.append([])
        walker = etree.iterwalk(node, events=("start", "end", "comment", "pi"))
        for event, element in walker:
            tag = element.tag
            if event in ("comment", "pi"):  # no text of its own; what follows it is text
                if element is not node and element.tail:
                    runs[-1].append(element.tail)
                continue
            if event == "start":
                if _hidden(element):
                    walker.skip_subtree()
                    continue
                if tag in BLOCK_ELEMENTS or tag == "br":
                    runs.append([])
                if element.text:
                    runs[-1].append(element.text)
                continue
            if tag in BLOCK_ELEMENTS:
                runs.append([])
            if element is not node and element.tail:
                runs[-1].append(element.tail)
    pieces = (collapse_whitespace("".join(run)) for run in runs if run)
    text = " ".join(piece for piece in pieces if piece)
    return text if normalize_text(text) else ""  # only NBSPs: a blank line, no text


def first_text(query: Query, *nodes: Node) -> str | None:
    """The visible text of the first node ``query`` finds under ``nodes``, or None."""
    found = query.first(*nodes)
    if found is None:
        return None
    return visible_text(found) or None
