"""The earlier design's parser on the one real saved page of that design (Sputnik Arabic,
2020-03-17), read from ../shared, never copied: field by field."""

from __future__ import annotations

import pytest

from crawler.sites import UnparseablePage, parse_article
from crawler.sites.legacy import LegacyV1
from domain.pages import ArticlePage
from pipelines.boilerplate import split_article
from tests.conftest import SHARED

PAGE = SHARED / "reference" / "pages" / "arabic.sputniknews.com-20200317-1044893040.html"
URL = (
    "https://arabic.sputniknews.com/arab_world/202003171044893040-%D9%85%D8%B5%D8%B1-%D8%AA"
    "%D8%B3%D8%AC%D9%84-30-%D8%A5%D8%B5%D8%A7%D8%A8%D8%A9/"
)


@pytest.fixture(scope="module")
def html() -> str:
    if not PAGE.is_file():
        pytest.skip("../shared/reference/pages is not beside the project")
    return PAGE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> ArticlePage:
    return parse_article(URL, html)


def test_read_by_the_earlier_design(page: ArticlePage) -> None:
    assert (page.parser, page.parser_version) == (LegacyV1.name, LegacyV1.version)
    assert (page.article_id, page.site, page.language) == (
        "1044893040",
        "arabic.sputniknews.com",
        "ar",
    )


def test_title_lead_section_author(page: ArticlePage) -> None:
    assert page.title == "مصر تسجل 30 إصابة جديدة وحالتي وفاة بفيروس كورونا"
    assert page.lead is not None
    assert page.lead.startswith("أعلنت وزارة الصحة والسكان المصرية، اليوم الثلاثاء")
    assert page.lead.endswith("بالإضافة إلى تسجيل حالتي وفاة جديدتين.")
    assert page.section == "العالم العربي"
    assert page.authors == []  # only the agency (microdata "Sputnik") is credited


def test_times_in_utc(page: ArticlePage) -> None:
    assert page.published_at == "2020-03-17T17:27:41Z"
    assert page.modified_at == "2020-03-17T17:49:09Z"
    printed = {(c.kind, c.raw): (c.value, c.zone) for c in page.dates if c.source == "visible"}
    assert printed == {
        ("published", "GMT 17:27 17.03.2020"): ("2020-03-17T17:27:00Z", "stated"),
        ("modified", "(محدثة GMT 17:49 17.03.2020)"): ("2020-03-17T17:49:00Z", "stated"),
    }
    micro = {c.raw: (c.value, c.zone) for c in page.dates if c.source == "microdata"}
    assert micro == {
        "2020-03-17T17:27": ("2020-03-17T17:27:00Z", "page"),
        "2020-03-17T17:49": ("2020-03-17T17:49:00Z", "page"),
    }


def test_nine_clean_body_paragraphs(page: ArticlePage) -> None:
    split = split_article(page)
    assert len(split.body) == 9
    assert split.body[0].startswith("وأوضح الدكتور خالد مجاهد")
    assert split.body[-1].endswith("معربة عن قلقها من احتمال تزايد المصابين بشكل كبير.")
    text = "\n".join(split.body)
    leaks = ["مصر تحظر تصدير", "REUTERS", "©", "انسخ الرابط", "تابعنا عبر", "facebook"]
    leaks += ["انظر أيضا", "الكلمات الدلالية", "معايير المجتمع", "googletag", "423"]
    for leak in leaks:
        assert leak not in text
    assert split.dateline is None


def test_header_photo_with_caption_and_credit(page: ArticlePage) -> None:
    captions = split_article(page).captions
    assert [(c.position, c.caption, c.credit) for c in captions] == [
        (
            0,
            "وزيرة الصحة المصرية ضمن الفريق الطبي الذي استقبل المصريين العائدين من ووهان الصينية",
            "© REUTERS / EGYPTIAN HEALTH MINISTRY",
        )
    ]
    assert captions[0].image_url is not None
    assert captions[0].image_url.startswith("https://cdnarabic1.img.sputniknews.com/img/104442/")


def test_inline_and_listed_related_articles(page: ArticlePage) -> None:
    links = split_article(page).related_links
    titles = [link.title for link in links]
    assert titles == [
        "مصر تحظر تصدير الكحول والكمامات الطبية",
        "كورونا وتحديات التعليم عن بعد",
        "حواتمة: جائحة كورونا تؤجل انعقاد الحوار الفلسطيني الشامل في موسكو لأسابيع",
        "أمريكا تعتزم منح مواطنيها دفعات مالية لمواجهة ضغوط كورونا الاقتصادية",
    ]
    assert all(link.url and "/2020031710448" in link.url for link in links)
    assert all("/trend/" not in (link.url or "") for link in links)


def test_tags_story_and_dropped_blocks(page: ArticlePage) -> None:
    assert [t.name for t in page.tags] == ["مصر", "فيروس كورونا"]
    (story,) = [b for b in page.blocks if b.kind == "story"]
    assert (story.title, story.url) == (
        'فيروس "كورونا"',
        "https://arabic.sputniknews.com/trend/Coronavirus-COVID-19-world/",
    )
    assert split_article(page).dropped == {"embed": 2, "story": 1}


def test_another_articles_url_is_refused(html: str) -> None:
    with pytest.raises(UnparseablePage):
        parse_article("https://arabic.sputniknews.com/arab_world/202003171044891884-x/", html)
