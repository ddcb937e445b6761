"""The article parser for the platform's earlier design (2014–2021): ``div.b-article``.

Every Sputnik edition of those years, and what web archives hold of them, is in this markup
(``b-article__*`` classes; see ../shared/reference/platform-markup.md, "Legacy design"). One
class, :class:`LegacyV1`, beside the current design's :class:`crawler.sites.platform.PlatformV1`;
:func:`crawler.sites.parse_article` picks it by what the page shows, never by its date. What
both designs share (metas, dates and clocks, paragraphs, photos) is :mod:`crawler.sites.page`.
"""

from __future__ import annotations

import re

from crawler.sites.html import Css, Node, Query, UnparseablePage, first_text, visible_text
from crawler.sites.page import PlatformPage
from crawler.sites.platform import article_id_from_url
from domain.pages import Block, DateKind, Image, Tag
from domain.text import collapse_whitespace, strip_tracking

# a story's link prints how many articles it holds, "(423)": a live counter, not its title
_STORY_COUNT = re.compile(r"\s*\(\s*\d+\s*\)\s*$")
# the body's own elements and what they are
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_LISTS = frozenset({"ul", "ol"})
_EMBED_CLASSES = ("twitter-tweet", "instagram-media", "tiktok-embed", "telegram")


class LegacyV1(PlatformPage):
    """The earlier design: ``div.b-article`` with ``div.b-article__text`` (2014–2021)."""

    name = "platform-legacy"
    version = "1.0"
    design = "the earlier design, div.b-article, 2014-2021"

    ARTICLE = Css("div.b-article")
    TEXT = Css(".b-article__text")
    HEADER = Css(".b-article__header")
    TITLE = Css(".b-article__header h1, h1[itemprop=name], h1[itemprop=headline]")
    HEADER_IMAGE = Css(".b-article__header img")
    HEADER_CREDIT = Css(".b-article__header-copy")
    LEAD = Css(".b-article__lead")
    RUBRIC = Css("a.b-article__refs-rubric")
    AUTHOR = Css(".b-article__refs-author")
    LINKS = Css("a")
    DATE_CREATED = Css("time.b-article__refs-date")
    DATE_UPDATED = Css(".b-article__refs-date-upd")
    MICRODATA = Query(".//time[@itemprop=$p]/@datetime")
    STORY = Css(".b-article__refs-story-title a")
    REFS_ITEM = Css(".b-article__refs-item")
    REFS_TITLE = Css(".b-article__refs-item-title a")
    REFS_TAGS = Css(".b-article__refs-tags, .b-article__tags-list")
    TAGS = Css("ul.b-article__tags-list li a, .b-article__refs-tags a")
    INJECT_LINK = Css(".b-inject__article-title a, .b-inject__content a, .b-inject__title a")
    INJECT_CAPTION = Css(".b-inject__title, .b-inject__caption, figcaption")
    INJECT_CREDIT = Css(".b-inject__copy")
    CITE = Css("cite, footer")
    PAGE_ID = Query("//*[@id='articleId']/@data-id")

    @classmethod
    def recognize(
        cls, url: str, root: Node, dropped_urls: list[str] | None = None
    ) -> LegacyV1 | None:
        """The parser of a parsed page if it shows this design, else None."""
        for article in cls.ARTICLE.all(root):
            text = cls.TEXT.first(article)
            if text is not None:
                return cls(url, root, article, text, dropped_urls)
        return None

    def __init__(
        self,
        url: str,
        root: Node,
        article: Node,
        text: Node,
        dropped_urls: list[str] | None = None,
    ) -> None:
        """The parser of one page: ``article`` its ``div.b-article``, ``text`` the body."""
        super().__init__(url, root, dropped_urls)
        self.article = article
        self.text = text
        wanted = article_id_from_url(url)
        if wanted is not None and self.article_id() not in (None, wanted):
            raise UnparseablePage(f"the page is article {self.article_id()}, not {wanted}")

    # -- the header --------------------------------------------------------------------

    def title(self) -> str | None:
        """The headline in the page's header."""
        return first_text(self.TITLE, self.root)

    def lead(self) -> str | None:
        """The lead above the body (``div.b-article__lead``)."""
        return first_text(self.LEAD, self.article)

    def article_id(self) -> str | None:
        """The page's article id: its analytics meta, else the ``#articleId`` element's, else
        the URL's."""
        return (
            self.meta_one("analytics:article_id")
            or self.PAGE_ID.first(self.root)
            or article_id_from_url(self.url)
        )

    def section(self) -> str | None:
        """The rubric printed above the article, else the metas'."""
        return (
            first_text(self.RUBRIC, self.article)
            or self.meta_one("article:section")
            or self.meta_one("analytics:rubric")
        )

    def authors(self) -> list[str]:
        """The byline's names (its links, else its text), else ``article:author``."""
        names: list[str] = []
        for byline in self.AUTHOR.all(self.article):
            links = self.LINKS.all(byline)
            found = [visible_text(a) for a in links] if links else [visible_text(byline)]
            names += [name for name in found if name and name not in names]
        return names or self.meta_authors()

    def tags(self) -> list[Tag]:
        """The tag links under the article, else the ``article:tag`` metas."""
        return self.link_tags(self.TAGS.all(self.article))

    def printed_dates(self) -> tuple[list[tuple[DateKind, str]], list[tuple[DateKind, str]]]:
        """The printed creation and update times, and their ``time[datetime]`` values."""
        visible: list[tuple[DateKind, str]] = []
        microdata: list[tuple[DateKind, str]] = []
        for kind, query, prop in (
            ("published", self.DATE_CREATED, "dateCreated"),
            ("modified", self.DATE_UPDATED, "dateModified"),
        ):
            printed = first_text(query, self.article)
            if printed:
                visible.append((kind, printed))  # type: ignore[arg-type]
            raw = self.MICRODATA.first(self.article, p=prop)
            if raw and raw.strip():
                microdata.append((kind, raw.strip()))  # type: ignore[arg-type]
        return visible, microdata

    # -- body --------------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The header photo, the body's blocks, the story and the listed related articles."""
        blocks: list[Block] = []
        photo = self.HEADER_IMAGE.first(self.root)
        if photo is not None:
            header = self.HEADER.first(self.root)
            image = self._photo(photo, first_text(self.HEADER_CREDIT, header))
            blocks.append(Block("media", 0, images=[image], in_header=True))
        for node in self._body_nodes(self.text):
            opens_body = not any(b.kind == "text" for b in blocks)
            block = self._block(node, len(blocks), opens_body)
            if block is not None:
                blocks.append(block)
        story = self.STORY.first(self.article)
        if story is not None:
            title = _STORY_COUNT.sub("", visible_text(story)) or None
            url = self.absolute(story.get("href"))
            blocks.append(Block("story", len(blocks), text=title or "", url=url, title=title))
        for item in self.REFS_ITEM.all(self.article):
            blocks += self._listed_related(item, len(blocks))
        return blocks

    def _body_nodes(self, parent: Node) -> list[Node | list[Node | str]]:
        """The body's blocks: its elements, and each run of loose text and inline elements
        between them (text written straight into the body, without ``<p>``)."""
        nodes: list[Node | list[Node | str]] = []
        run: list[Node | str] = [parent.text] if parent.text and parent.text.strip() else []
        for child in parent:
            if not isinstance(child.tag, str):  # a comment: only its tail is text
                if child.tail and child.tail.strip():
                    run.append(child.tail)
                continue
            if _is_block(child):
                if run:
                    nodes.append(run)
                    run = []
                if child.tag == "div" and not _is_box(child) and _holds_blocks(child):
                    nodes += self._body_nodes(child)  # a wrapper around paragraphs
                else:
                    nodes.append(child)
                run = [child.tail] if child.tail and child.tail.strip() else []
            else:
                run.append(child)
                if child.tail and child.tail.strip():
                    run.append(child.tail)
        if run:
            nodes.append(run)
        return nodes

    def _block(self, node: Node | list[Node | str], position: int, opens: bool) -> Block | None:
        if isinstance(node, list):
            return self._loose_text(node, position)
        tag = node.tag
        classes = node.get("class") or ""
        if "b-disclaimer" in classes:
            return Block("disclaimer", position, text=visible_text(node))
        if "b-banner" in classes:
            return Block("banner", position, text=visible_text(node))
        if "b-inject" in classes:
            return self._inject(node, position)
        if tag in _HEADINGS:
            return Block("heading", position, text=visible_text(node))
        if tag in _LISTS:
            items = [t for t in (visible_text(li) for li in node if li.tag == "li") if t]
            return Block("list", position, text="\n".join(items), items=items)
        if tag == "table":
            rows = [t for t in (visible_text(tr) for tr in node.iter("tr")) if t]
            return Block("table", position, text="\n".join(rows), items=rows)
        if tag == "blockquote":
            return self._blockquote(node, position)
        iframe = self.IFRAME.first(node)
        text = visible_text(node)
        if iframe is not None and not text:
            return self.embed_block(node, position, iframe)
        image = self.IMAGE.first(node)
        if image is not None and not text:
            return Block("media", position, images=[self._photo(image, None)])
        if not text:
            return None  # an empty paragraph or a rule: nothing a reader reads
        if tag in ("p", "div"):
            return self.text_block([node], position, opens)
        return Block("unknown", position, text=text)

    def _loose_text(self, run: list[Node | str], position: int) -> Block | None:
        """Text written into the body without a paragraph element, as one text block."""
        holder = self.text.makeelement("p", {})
        for piece in run:
            if isinstance(piece, str):
                if len(holder):
                    holder[-1].tail = (holder[-1].tail or "") + piece
                else:
                    holder.text = (holder.text or "") + piece
            else:
                copy = piece.__copy__()
                copy.tail = None
                holder.append(copy)
        text = visible_text(holder)
        return Block("text", position, text=text) if text else None

    def _blockquote(self, node: Node, position: int) -> Block:
        classes = node.get("class") or ""
        if any(name in classes for name in _EMBED_CLASSES):
            links = [a.get("href") for a in self.LINKS.all(node) if a.get("href")]
            url = self.absolute(links[-1]) if links else None
            provider = classes.split("-")[0].strip() or None
            return Block("embed", position, text=visible_text(node), url=url, title=provider)
        cite = self.CITE.first(node)
        attribution = visible_text(cite) if cite is not None else None
        if cite is not None:
            quoted = [child for child in node if child is not cite]
            text = visible_text(*quoted) if quoted else ""
            if node.text and node.text.strip():
                text = visible_text(node).removesuffix(attribution or "").strip()
        else:
            text = visible_text(node)
        return Block("quote", position, text=text, attribution=attribution or None)

    def _inject(self, node: Node, position: int) -> Block:
        """A ``b-inject`` box in the body: a related article's teaser, a player, or a photo."""
        link = self.INJECT_LINK.first(node)
        iframe = self.IFRAME.first(node)
        if link is not None:
            href = self.absolute(link.get("href"))
            image = self.IMAGE.first(node)
            title = visible_text(link) or None
            credit = first_text(self.INJECT_CREDIT, node)
            teaser = self._photo(image, credit) if image is not None else None
            return Block(
                "related",
                position,
                text=title or "",
                url=strip_tracking(href) if href else None,
                title=title,
                images=[teaser] if teaser else [],
            )
        if iframe is not None:
            return self.embed_block(node, position, iframe)
        image = self.IMAGE.first(node)
        if image is not None:
            photo = self._photo(image, first_text(self.INJECT_CREDIT, node))
            photo.caption = first_text(self.INJECT_CAPTION, node) or photo.caption
            return Block("media", position, images=[photo])
        return Block("unknown", position, text=visible_text(node))

    def _listed_related(self, item: Node, position: int) -> list[Block]:
        """The articles a ``b-article__refs-item`` lists ("see also"); none for its story and
        tag rows, which are read as the story and the tags."""
        if self.REFS_TAGS.first(item) is not None:
            return []
        blocks: list[Block] = []
        for link in self.REFS_TITLE.all(item):
            href = self.absolute(link.get("href"))
            if href is None or article_id_from_url(href) is None:
                continue  # a story's or section's page, not an article
            title = visible_text(link) or None
            url = strip_tracking(href)
            blocks.append(Block("related", position + len(blocks), text=title or "", url=url,
                                title=title))  # fmt: skip
        return blocks

    def _photo(self, img: Node, credit: str | None) -> Image:
        """A photo from its ``img``: the lazy-loaded source where there is one, the caption
        the image carries (its ``title``, else ``alt``), and the credit printed beside it."""
        src = img.get("data-src") or img.get("src")
        if src and src.startswith("data:"):
            src = None
        caption = collapse_whitespace(img.get("title") or img.get("alt") or "")
        return Image(image_url=self.absolute(src), caption=caption or None, credit=credit)


def _is_block(element: Node) -> bool:
    """Whether a child of the body ends a run of loose text: a block of its own (a paragraph,
    a box, a list…) or a line break, which a reader sees as a new line."""
    return element.tag in _BODY_BLOCKS or element.tag == "br"


def _is_box(element: Node) -> bool:
    """Whether a ``div`` is one of the design's boxes (a teaser, a banner, a disclaimer)."""
    classes = element.get("class") or ""
    return any(box in classes for box in ("b-inject", "b-banner", "b-disclaimer"))


def _holds_blocks(element: Node) -> bool:
    """Whether an element wraps paragraphs or other blocks."""
    return any(isinstance(c.tag, str) and _is_block(c) for c in element)


_BODY_BLOCKS = frozenset(
    {"p", "div", "blockquote", "ul", "ol", "table", "figure", "section", "h1", "pre", "hr"}
    | _HEADINGS
)
