"""``blocks.data`` is stored packed and rebuilt exactly, in new files and in migrated ones."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_store import SITE, article_fetch, make_article, make_crawl, revise

from crawler.sites import parse_article
from domain.hashing import block_sha256
from domain.pages import Block, Image
from domain.records import PlacedBlock
from store import Store, StoreError, blockdata
from tests.conftest import AFRICA


def fixture_blocks() -> list[Block]:
    """Every block of the recorded Africa article pages, and two odd ones."""
    blocks = [
        Block("gallery", 3, images=[Image("https://x/1.jpg", "a", None), Image(None, None, "c")]),
        Block("list", 1, text="a\nb", items=["a", "b"]),
        Block("media", 0, images=[Image("https://x/2.jpg", None, None)], in_header=True),
    ]
    for sidecar in sorted(AFRICA.glob("article-11*.http.json")):
        html = sidecar.with_name(sidecar.name.replace(".http.json", ".html")).read_text()
        url = f"https://sputnikglobe.com/x-{sidecar.name[8:18]}.html"
        blocks += parse_article(url, html).blocks
    return blocks


def roundtrip(kind: str, position: int, text: str, data: dict[str, Any]) -> dict[str, Any]:
    """Pack as the store writes it (through JSON), unpack as it reads it."""
    stored = json.dumps(blockdata.pack(kind, position, text, data), ensure_ascii=False)
    return blockdata.unpack(kind, position, text, stored)


def test_the_packed_fields_are_the_parser_block_fields_and_defaults() -> None:
    fields = dataclasses.fields(Block)
    assert tuple(f.name for f in fields) == blockdata.FIELDS
    defaults = Block("text", 0).to_dict()
    assert {key: defaults[key] for key in blockdata.FIELD_DEFAULTS} == blockdata.FIELD_DEFAULTS


def test_every_fixture_block_is_rebuilt_exactly_in_field_order() -> None:
    blocks = fixture_blocks()
    assert len(blocks) > 50
    for block in blocks:
        data = block.to_dict()
        rebuilt = roundtrip(block.kind, block.position, block.text, data)
        assert rebuilt == data
        assert list(rebuilt) == list(data)
        packed = blockdata.pack(block.kind, block.position, block.text, data)
        assert not {"kind", "position", "text"} & set(packed)
        assert blockdata.ABSENT_KEY not in packed


def test_values_unlike_the_row_or_the_defaults_and_missing_or_extra_keys_are_kept() -> None:
    odd: list[dict[str, Any]] = [
        {},
        {"kind": "text", "text": "x"},
        {"kind": "quote", "position": 9, "text": "other", "extra": None, "in_header": 0},
        {"items": None, "images": [], "url": "", "title": None, "more": {"a": [1]}},
        {"in_header": True, "dateline": "", "published_at": "-absent"},
    ]
    for data in odd:
        rebuilt = roundtrip("text", 2, "x", data)
        assert rebuilt == data
        assert {k: type(v) for k, v in rebuilt.items()} == {k: type(v) for k, v in data.items()}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@given(
    st.dictionaries(
        st.sampled_from([*blockdata.FIELDS, "other"]) | st.text(max_size=6), json_values
    ),
    st.sampled_from(["text", "media", "x"]),
    st.integers(0, 3),
    st.sampled_from(["", "x"]),
)
def test_any_data_is_rebuilt_exactly(
    data: dict[str, Any], kind: str, position: int, text: str
) -> None:
    data.pop(blockdata.ABSENT_KEY, None)
    assert roundtrip(kind, position, text, data) == data


def test_a_data_key_that_names_the_absent_list_is_refused() -> None:
    with pytest.raises(StoreError, match="absent"):
        blockdata.pack("text", 0, "", {blockdata.ABSENT_KEY: []})


def article_with_fixture_blocks() -> tuple[Any, list[PlacedBlock]]:
    """A stored-ready article whose blocks carry the parser's full data."""
    article = make_article(f"{SITE}/blocks.html", body=[])  # every block is dropped
    blocks = [
        PlacedBlock(dataclasses.replace(b, position=i), "dropped", block_sha256(b.text))
        for i, b in enumerate(fixture_blocks()[:40])
    ]
    record = revise(
        article,
        blocks=[placed.block for placed in blocks],
        destinations=[placed.destination for placed in blocks],
        block_sha256=[placed.sha256 for placed in blocks],
    )
    return record, blocks


def test_the_store_keeps_packed_data_and_gives_back_the_full_blocks() -> None:
    store = Store.memory()
    store.begin_crawl(make_crawl())
    article, blocks = article_with_fixture_blocks()
    saved = store.save_article(article_fetch(article), article)
    assert store.blocks(saved.version_id) == blocks
    stored = [json.loads(r["data"]) for r in store.db.query("SELECT data FROM blocks")]
    assert all("text" not in data and "kind" not in data for data in stored)
