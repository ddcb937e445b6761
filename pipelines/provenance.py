"""The provenance pipeline: hashes of everything, and the article record the store keeps.

For every item it hashes the fetched body (``raw_sha256``). For articles it builds the
:class:`store.records.ArticleRecord`: the split fields, every block with its destination and
hash, the canonical-text hash (``text_sha256``), and the parser's name and version. The crawl
id and fetch time are already on the item's fetch record.
"""

from __future__ import annotations

from typing import Any

from crawler.items import ArticleItem, FetchItem, ListingItem
from crawler.text import article_identity
from pipelines.hashing import block_sha256, canonical_text, sha256_hex, text_sha256
from store.records import ArticleRecord, BlockRecord, DateRecord, TagRecord


def article_record(item: ArticleItem) -> ArticleRecord:
    """The record the store keeps of a split article item."""
    page, split, fetch = item.page, item.split, item.fetch
    assert split is not None, "the boilerplate pipeline runs before provenance"
    assert fetch.body_sha256 is not None
    blocks = [
        BlockRecord(
            position=block.position,
            kind=block.kind,
            destination=split.destinations[block.position],
            text=block.text,
            sha256=block_sha256(block.text),
            data=block.to_dict(),
        )
        for block in page.blocks
    ]
    tags = [TagRecord(index, tag.name, tag.url) for index, tag in enumerate(page.tags)]
    canonical = canonical_text(
        title=page.title,
        lead=page.lead,
        dateline=split.dateline,
        body=split.body,
        captions=split.captions,
        related_links=split.related_links,
        tags=[tag.name for tag in page.tags],
    )
    return ArticleRecord(
        url=article_identity(fetch.final_url or fetch.requested_url),
        article_id=page.article_id,
        site=page.site,
        section=page.section,
        title=page.title,
        lead=page.lead,
        dateline=split.dateline,
        published_at=page.published_at,
        modified_at=page.modified_at,
        language=page.language,
        canonical_url=page.canonical_url,
        authors=list(page.authors),
        dates=[DateRecord(d.kind, d.value, d.raw, d.source) for d in page.dates],
        body=list(split.body),
        blocks=blocks,
        captions=list(split.captions),
        related_links=list(split.related_links),
        tags=tags,
        text_sha256=text_sha256(canonical),
        raw_sha256=fetch.body_sha256,
        parser=page.parser,
        parser_version=page.parser_version,
        dropped=dict(split.dropped),
    )


class ProvenancePipeline:
    """Adds the hashes and builds the stored record of each item."""

    def process_item(self, item: Any) -> Any:
        """Hash the body of every fetch; turn articles into their stored record."""
        if isinstance(item, ArticleItem | ListingItem | FetchItem):
            fetch = item.fetch
            if fetch.body is not None:
                fetch.body_sha256 = sha256_hex(fetch.body)
        if isinstance(item, ArticleItem):
            item.record = article_record(item)
        return item
