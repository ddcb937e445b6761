"""The parser on the one real saved page of the platform (ria.ru, 2022-06-11, Moscow time)."""

from __future__ import annotations

import pytest

from crawler.sites import parse_article
from domain.pages import ArticlePage
from pipelines.boilerplate import split_article

URL = "https://ria.ru/20220611/ekonomika-1794720292.html"


@pytest.fixture
def page(reference_html: str) -> ArticlePage:
    return parse_article(URL, reference_html)


def test_title(page: ArticlePage) -> None:
    assert page.title == "Число иностранных ретейлеров в России за два года сократилось почти вдвое"


def test_published_and_modified_in_utc(page: ArticlePage) -> None:
    # 09:24 and 09:28 Moscow time (UTC+3); p_ts gives the exact second of publication
    assert page.published_at == "2022-06-11T06:24:14Z"
    assert page.modified_at == "2022-06-11T06:28:00Z"
    visible = {(d.kind, d.raw): d.value for d in page.dates if d.source == "visible"}
    assert visible[("published", "09:24 11.06.2022")] == "2022-06-11T06:24:00Z"
    assert visible[("modified", "(обновлено: 09:28 11.06.2022)")] == "2022-06-11T06:28:00Z"


def test_dateline(page: ArticlePage) -> None:
    assert split_article(page).dateline == "МОСКВА, 11 июн - РИА Новости"


def test_five_clean_body_paragraphs(page: ArticlePage) -> None:
    body = split_article(page).body
    assert len(body) == 5
    assert body[0].startswith("Число ретейлеров с иностранными учредителями")
    assert body[-1].endswith("отметила руководитель проекта API Елена Катаева.")
    text = "\n".join(body)
    for leak in ("@context", "ImageObject", "{", "В WSJ оценили", "10 июня", "Склад магазина"):
        assert leak not in text
    assert not any(p.startswith("МОСКВА") for p in body)


def test_main_photo_caption_and_credit(page: ArticlePage) -> None:
    captions = split_article(page).captions
    assert [(c.caption, c.credit) for c in captions] == [
        ("Склад магазина. Архивное фото", "© РИА Новости / Илья Питалев")
    ]
    assert captions[0].image_url and captions[0].image_url.startswith("https://cdnn21.img.ria.ru/")


def test_one_related_link_without_tracking_and_with_its_time(page: ArticlePage) -> None:
    links = split_article(page).related_links
    assert len(links) == 1
    link = links[0]
    assert link.url == "https://ria.ru/20220610/poteri-1794703455.html"
    assert link.title == "В WSJ оценили потери международных компаний из-за ухода из России"
    assert link.published_raw == "10 июня, 23:43"
    assert link.published_at == "2022-06-10T20:43:00Z"


def test_five_tags(page: ArticlePage) -> None:
    assert [t.name for t in page.tags] == ["Экономика", "Россия", "API", "Яндекс.Маркет", "Ozon"]


def test_banners_dropped_and_counted(page: ArticlePage) -> None:
    split = split_article(page)
    assert split.dropped == {"banner": 2}
    assert len(split.destinations) == len(page.blocks)


def test_scoped_to_the_article_of_the_url(reference_html: str) -> None:
    from crawler.sites import UnparseablePage

    with pytest.raises(UnparseablePage):
        parse_article("https://ria.ru/20220611/other-1000000001.html", reference_html)
