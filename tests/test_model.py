"""The parser's data model: its JSON form."""

from __future__ import annotations

import dataclasses

from crawler.sites import parse_article
from domain.pages import Block, Image
from tests.conftest import AFRICA


def test_block_to_dict_is_exactly_asdict() -> None:
    blocks = [
        Block("gallery", 3, images=[Image("https://x/1.jpg", "a", None), Image(None, None, "c")]),
        Block("list", 1, text="a\nb", items=["a", "b"]),
    ]
    for sidecar in sorted(AFRICA.glob("article-11*.http.json")):
        html = sidecar.with_name(sidecar.name.replace(".http.json", ".html")).read_text()
        blocks += parse_article(
            f"https://sputnikglobe.com/x-{sidecar.name[8:18]}.html", html
        ).blocks
    for block in blocks:
        data = block.to_dict()
        assert data == dataclasses.asdict(block)
        assert list(data) == [f.name for f in dataclasses.fields(Block)]
        assert data["items"] is not block.items
