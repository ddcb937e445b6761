"""The seed article, exactly as ../shared/seed/README.md says it must come out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.fixtures import load_fixture
from pipelines.preview import export_page
from tests.conftest import AFRICA

SEED_SIDECAR = AFRICA / "article-1106523345.http.json"


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    fixture = load_fixture(SEED_SIDECAR)
    return export_page(fixture.body(), fixture.url, fixture.fetched_at, fixture.headers)


def test_title(seed: dict[str, Any]) -> None:
    assert seed["title"] == (
        "Russian Defense Ministry Discusses Bilateral Cooperation With CAR Prime Minister"
    )


def test_published_with_raw_string(seed: dict[str, Any]) -> None:
    assert seed["published_at"] == "2023-01-20T08:02:00Z"
    visible = [d for d in seed["dates"] if d["source"] == "visible"]
    assert visible == [
        {
            "kind": "published",
            "value": "2023-01-20T08:02:00Z",
            "raw": "08:02 GMT 20.01.2023",
            "source": "visible",
            "zone": "stated",  # "GMT" printed
        }
    ]


def test_dateline(seed: dict[str, Any]) -> None:
    assert seed["dateline"] == "MOSCOW (Sputnik)"


def test_six_clean_paragraphs(seed: dict[str, Any]) -> None:
    body = seed["body"]
    assert len(body) == 6
    assert body[0].startswith(
        "The Russian Defense Ministry leadership and Prime Minister of the Central African "
        "Republic (CAR) Felix Moloua discussed"
    )
    assert body[-1].endswith("in 2023 in Saint-Petersburg.")
    text = "\n".join(body)
    for leak in (
        "This photograph shows",
        "Africa\n",
        "Two French Staff",
        "GMT",
        "MOSCOW (Sputnik)",
    ):
        assert leak not in text


def test_caption(seed: dict[str, Any]) -> None:
    assert [c["caption"] for c in seed["captions"]] == [
        "This photograph shows the emblem of the Russian Defence Ministry at its headquarters "
        "in Moscow on August 30, 2022."
    ]


def test_tags(seed: dict[str, Any]) -> None:
    assert seed["tags"] == ["Africa"]


def test_related_link(seed: dict[str, Any]) -> None:
    assert [(r["title"], r["published_at"], r["published_raw"]) for r in seed["related_links"]] == [
        (
            "Two French Staff Members of UN Peacekeeping Mission Arrested in CAR",
            "2023-01-12T17:57:00Z",
            "12 January, 17:57 GMT",
        )
    ]
    assert "?in=t" not in seed["related_links"][0]["url"]


def test_category_is_the_rubric(seed: dict[str, Any]) -> None:
    assert seed["section"] == "International"


def test_made_up_values_are_marked_in_the_sidecar() -> None:
    sidecar = json.loads(SEED_SIDECAR.read_text(encoding="utf-8"))
    assert set(sidecar["made_up"]) == {"url", "article_id", "image_url", "credit"}
