"""The boilerplate split: a generic policy over typed blocks (pure; the article chain runs it).

Body paragraphs stay in the body; photo captions (with image URL, credit, position), related
links (title, URL without tracking, time, position) and the dateline become records of their
own; banners, embeds and blocks of unknown type are dropped and counted (their data stays in
the store's ``blocks`` table). Every block ends up in exactly one place, named in
``SplitArticle.destinations`` (:mod:`domain.records`).
"""

from __future__ import annotations

import re

from domain.pages import ArticlePage, Block
from domain.records import BlockDestination, CaptionRecord, RelatedLinkRecord, SplitArticle

# Block kinds whose text is body text.
BODY_KINDS = frozenset({"text", "quote", "list", "heading", "table"})
# Separators between a dateline and the paragraph it opens ("MOSCOW (Sputnik) - The ...").
_DATELINE_TAIL = re.compile(r"[\s\-–—.:,]+$")
_PARAGRAPH_HEAD = re.compile(r"^[\s\-–—.:,]+")


def clean_dateline(raw: str) -> str:
    """``"MOSCOW (Sputnik) -"`` -> ``"MOSCOW (Sputnik)"``: the dateline without its separator."""
    return _DATELINE_TAIL.sub("", raw)


def split_article(page: ArticlePage) -> SplitArticle:
    """Sort every block of ``page`` into body, dateline, captions, related links or drops."""
    split = SplitArticle()
    for block in page.blocks:
        split.destinations.append(_place(block, split))
    return split


def _place(block: Block, split: SplitArticle) -> BlockDestination:
    """Put one block where it belongs in ``split`` and say where that is."""
    if block.kind in ("media", "gallery"):
        for index, image in enumerate(block.images):
            split.captions.append(
                CaptionRecord(block.position, index, image.image_url, image.caption, image.credit)
            )
        return "captions"
    if block.kind == "related":
        split.related_links.append(
            RelatedLinkRecord(
                block.position, block.title, block.url, block.published_at, block.published_raw
            )
        )
        return "related_links"
    if block.kind in BODY_KINDS and block.text:
        text = block.text
        if block.dateline and text.startswith(block.dateline):
            split.dateline = clean_dateline(block.dateline)
            text = _PARAGRAPH_HEAD.sub("", text[len(block.dateline) :])
            if not text:
                return "dateline"
        split.body.append(text)
        return "body"
    kind = block.kind if block.kind not in BODY_KINDS else "empty"
    split.dropped[kind] = split.dropped.get(kind, 0) + 1
    return "dropped"
