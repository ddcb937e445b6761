"""A synthetic recorded site of any size, in the platform's markup, for the benchmarks.

``python benchmarks/generate.py OUT --articles N [--seed S]`` writes a fixture set (the format of
``crawler.fixtures``: ``NAME.html`` + ``NAME.http.json`` sidecars) of Sputnik's Africa section
with N article pages: the section page, its "load more" chunks (20 items each, the first item of
a chunk repeating the last of the page before, as on the site), robots.txt and the articles.

Article pages follow the structure of the hand-written ``fixtures/sputnik-africa`` pages (main
photo, dateline, paragraphs, quotes, lists, subheadings, body photos, galleries, related blocks,
banners, video and social embeds, tags, hidden microdata, ImageObject JSON-LD) and carry the
weight of a real page (~100–170 kB: head metas, tracking and config scripts, inline CSS, an SVG
sprite, navigation, sidebars, modal forms, widget scripts), like the saved ria.ru reference page.

Everything is deterministic from the seed, and each article is generated from its own index
alone (:func:`article_spec`), so the site is written one page at a time in constant memory and
:func:`boilerplate` can later say what boilerplate a page holds without rereading the site.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.fixtures import SIDECAR_SUFFIX

HOST = "sputnikglobe.com"
ORIGIN = f"https://{HOST}"
SECTION_URL = f"{ORIGIN}/africa/"
CDN = "https://cdn1.img.sputnikglobe.com/img"
FETCHED_AT = "2024-07-01T00:00:00Z"
NEWEST = datetime(2024, 6, 30, 18, 0, tzinfo=UTC)
FIRST_ID = 1119000000
PAGE_ITEMS = 20  # items per listing page
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8"}
DEFAULT_SEED = 2024
GENERATOR_VERSION = 2  # bump when the markup changes: cached sites are then made anew

COUNTRIES = (
    ("Kenya", "NAIROBI", "Mombasa"), ("Nigeria", "ABUJA", "Lagos"),
    ("South Africa", "JOHANNESBURG", "Durban"), ("Egypt", "CAIRO", "Alexandria"),
    ("Ethiopia", "ADDIS ABABA", "Mekelle"), ("Ghana", "ACCRA", "Kumasi"),
    ("Senegal", "DAKAR", "Thiès"), ("Côte d'Ivoire", "ABIDJAN", "San Pédro"),
    ("Mali", "BAMAKO", "Mopti"), ("Niger", "NIAMEY", "Agadez"),
    ("São Tomé and Príncipe", "SÃO TOMÉ", "Neves"), ("Togo", "LOMÉ", "Kara"),
    ("Tanzania", "DODOMA", "Arusha"), ("Uganda", "KAMPALA", "Gulu"),
    ("Algeria", "ALGIERS", "Oran"), ("Morocco", "RABAT", "Casablanca"),
    ("Mozambique", "MAPUTO", "Beira"), ("Zambia", "LUSAKA", "Ndola"),
    ("Cameroon", "YAOUNDÉ", "Douala"), ("Sudan", "KHARTOUM", "Port Sudan"),
)  # fmt: skip
# Tag-only topics: phrases that never occur in generated body text, so a tag found in a body
# is boilerplate that leaked in.
TOPICS = (
    "Energy Security", "Grain Exports", "Regional Integration", "Public Health Policy",
    "Mining Sector", "Electoral Reform", "Water Resources", "Transport Links",
    "Digital Economy", "Peace Process", "Debt Relief", "Climate Adaptation",
)  # fmt: skip
HEADLINES = (
    "{country} Expands {thing} Programme as Demand Grows",
    "{country} Signs Agreement on {thing} With Regional Partners",
    "Officials in {country} Announce New Measures on {thing}",
    "{country} Parliament Debates Bill on {thing}",
    "Investors Watch {country} as {thing} Plans Take Shape",
    "{city} Hosts Talks on {thing} and Cross-Border Cooperation",
)
THINGS = (
    "Solar Power", "Rail Freight", "Fertiliser Supply", "Mobile Payments", "Port Capacity",
    "Vaccine Production", "Irrigation", "Road Building", "Cocoa Trade", "Fisheries",
)  # fmt: skip
SENTENCES = (
    "The government said the measures would take effect at the start of next month.",
    "Officials in {city} told reporters that preparations were well under way.",
    "The plan is expected to cost about {n} million dollars over three years, according to the finance ministry.",
    "Business groups in {country} welcomed the decision but asked for clearer rules.",
    "Local authorities said more than {n} households had registered so far.",
    "The project is financed in part by development partners and in part from the national budget.",
    "Analysts said the outcome would depend on how quickly funds reach the regions.",
    "A spokesperson for the ministry said further details would be published in the coming weeks.",
    "Traders in {city} reported that prices had risen by around {n} percent since the beginning of the year.",
    "The opposition criticised the timetable, saying it left too little room for consultation.",
    "Regional leaders are due to meet again before the end of the quarter to review progress.",
    "The agency said it had increased the number of inspectors working in the field.",
    "Farmers in the north of {country} said the rains had arrived later than usual.",
    "The central bank said inflation had eased for a third consecutive month.",
    "Civil society groups called for an independent audit of the programme.",
    "Residents said the new service had already shortened their journeys to work.",
    "The statement added that the talks had been held in a constructive atmosphere.",
    "Engineers expect the first phase to be completed within eighteen months.",
    "Exporters said shipping costs remained a concern despite recent improvements.",
    "Schools and clinics in the affected districts will receive additional support, officials said.",
)
QUOTES = (
    "We are determined to deliver results that people can see in their daily lives.",
    "This is a long-term investment in the country and in the next generation.",
    "Cooperation with our neighbours is the only way to solve problems that cross borders.",
    "The figures show that the policy is working, but there is still much to do.",
)
SPEAKERS = ("Minister of Finance, statement", "Regional governor, press briefing",
            "Chamber of Commerce spokesperson", "Head of the national agency, interview")  # fmt: skip
SUBHEADINGS = ("What comes next", "Costs and financing", "Reactions in the region", "Background")
LIST_ITEMS = (
    "new funding for rural districts;", "a review of existing contracts;",
    "training for local staff;", "faster customs procedures at border posts;",
    "a public register of approved suppliers.",
)  # fmt: skip
# Photo captions and credits: sentences of their own, never used as body text.
CAPTIONS = (
    "Workers unload sacks at a warehouse on the outskirts of {city}, archive photo",
    "A general view of the harbour in {city} at sunset, archive photo",
    "Delegates pose for a group photo before the opening session in {city}",
    "Vendors wait for customers at a roadside market near {city}",
    "Passengers board a minibus at the central station in {city}",
    "Solar panels installed on the roof of a clinic in {city}",
)
PHOTOGRAPHERS = ("Amara Okafor-Lindqvist", "Joseph Mwangi-Tembo", "Fatou Ndiaye-Carlsen",
                 "Karim Benali-Haddad", "Lindiwe Mokoena-Park")  # fmt: skip
AGENCIES = ("AFP", "Sputnik", "REUTERS")
BANNERS = (
    "Sputnik Africa is on Telegram: follow our channel for breaking news from the continent",
    "Subscribe to the Sputnik Africa newsletter and get the top stories every morning",
    "Download the Sputnik app for news on the go, wherever you are",
)
NAV = ("World", "Russia", "Africa", "Military", "Business", "Science & Tech", "Analysis",
       "Podcasts", "Multimedia", "Opinion", "Asia", "Middle East", "Americas", "Europe",
       "Sport", "Culture", "Health", "Environment", "Video", "Photo")  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class Header:
    """What a listing shows of an article, and what a related block shows of it."""

    index: int
    article_id: int
    published: datetime
    title: str
    url: str
    image_url: str
    country: str
    city: str
    capital: str


@dataclass(frozen=True)
class Photo:
    """A photo with its caption and credit."""

    image_url: str
    caption: str
    credit: str


@dataclass(frozen=True)
class Block:
    """One body block as the page shows it (``kind`` is the page's ``data-type``)."""

    kind: str
    text: str = ""
    items: tuple[str, ...] = ()
    attribution: str = ""
    photos: tuple[Photo, ...] = ()
    related: Header | None = None


@dataclass(frozen=True)
class ArticleSpec:
    """Everything one article page shows."""

    header: Header
    lead: str | None
    main_photo: Photo | None
    dateline: str
    blocks: tuple[Block, ...]
    tags: tuple[str, ...]
    author: str | None
    updated: datetime | None
    weight: dict[str, int] = field(default_factory=dict)  # how much page chrome of each kind


@dataclass
class SiteStats:
    """What :func:`generate` wrote."""

    articles: int = 0
    listing_pages: int = 0
    files: int = 0
    bytes: int = 0
    article_bytes: int = 0


def _rng(seed: int, *parts: object) -> random.Random:
    """A random generator for one part of the site, independent of every other part."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _slug(title: str) -> str:
    """The URL slug of a headline."""
    kept = "".join(
        c.lower() if c.isalnum() else "-" for c in title.encode("ascii", "ignore").decode()
    )
    return "-".join(part for part in kept.split("-") if part)


def header(seed: int, index: int) -> Header:
    """The headline, time, URL and picture of the article at ``index`` (0 is the newest)."""
    rng = _rng(seed, "header", index)
    country, capital, city = rng.choice(COUNTRIES)
    title = rng.choice(HEADLINES).format(country=country, city=city, thing=rng.choice(THINGS))
    # strictly older as the index grows: 40 minutes apart, less up to 39 minutes of jitter
    published = NEWEST - timedelta(minutes=40 * index + rng.randrange(40))
    article_id = FIRST_ID - 17 * index
    day = published.strftime("%Y%m%d")
    return Header(
        index=index,
        article_id=article_id,
        published=published,
        title=title,
        url=f"{ORIGIN}/{day}/{_slug(title)}-{article_id}.html",
        image_url=_image_url(published, article_id - 1, rng),
        country=country,
        city=city,
        capital=capital,
    )


def _image_url(when: datetime, image_id: int, rng: random.Random, size: str = "1920x1080") -> str:
    """A CDN image URL in the platform's form."""
    path = f"{when.year:04x}/{when.month:02x}/{when.day:02x}"
    return f"{CDN}/{path}/{image_id}_0:0:3072:1728_{size}_80_0_0_{rng.randrange(16**4):04x}.jpg"


def _sentence(rng: random.Random, head: Header) -> str:
    """One sentence of wire copy."""
    n = rng.choice((12, 40, 150, 2500, 18))
    return rng.choice(SENTENCES).format(city=head.city, country=head.country, n=n)


def _paragraph(rng: random.Random, head: Header) -> str:
    """Two to four sentences."""
    return " ".join(_sentence(rng, head) for _ in range(rng.randint(2, 4)))


def _photo(rng: random.Random, head: Header, image_id: int) -> Photo:
    """A photo of the story's city."""
    year = head.published.year
    credit = f"© {rng.choice(AGENCIES)} {year} / {rng.choice(PHOTOGRAPHERS)}"
    caption = rng.choice(CAPTIONS).format(city=head.city)
    return Photo(_image_url(head.published, image_id, rng), caption, credit)


def article_spec(seed: int, index: int) -> ArticleSpec:
    """The whole article at ``index``; the same in a site of any size (related items may lie
    beyond the last article, as links to pages that were not recorded)."""
    head = header(seed, index)
    rng = _rng(seed, "article", index)
    image_id = head.article_id - 2
    blocks: list[Block] = []
    paragraphs = rng.randint(4, 12)
    related_left = rng.choice((0, 1, 1, 2))
    banners_left = rng.randint(1, 2)
    for number in range(paragraphs):
        blocks.append(Block("text", _paragraph(rng, head)))
        if number == 0:
            continue
        roll = rng.random()
        if roll < 0.08:
            blocks.append(Block("quote", rng.choice(QUOTES), attribution=rng.choice(SPEAKERS)))
        elif roll < 0.13:
            blocks.append(Block("list", items=tuple(rng.sample(LIST_ITEMS, 3))))
        elif roll < 0.18:
            blocks.append(Block("h2", rng.choice(SUBHEADINGS)))
        elif roll < 0.26:
            blocks.append(Block("media", photos=(_photo(rng, head, image_id),)))
            image_id -= 1
        elif roll < 0.29:
            count = rng.randint(3, 5)
            photos = tuple(_photo(rng, head, image_id - k) for k in range(count))
            image_id -= count
            blocks.append(Block("photolenta", photos=photos))
        elif roll < 0.31:
            blocks.append(Block("video", f"{head.city}: {rng.choice(THINGS)}"))
        elif roll < 0.33:
            blocks.append(Block("social", _sentence(rng, head)))
        if related_left and rng.random() < 0.3:
            older = index + rng.randint(1, 12)
            blocks.append(Block("article", related=header(seed, older)))
            related_left -= 1
        if banners_left and rng.random() < 0.35:
            blocks.append(Block("banner", rng.choice(BANNERS)))
            banners_left -= 1
    if related_left:
        blocks.append(Block("article", related=header(seed, index + 3)))
    if banners_left:
        blocks.insert(2, Block("banner", rng.choice(BANNERS)))
    tags = ("Africa", head.country, *rng.sample(TOPICS, rng.randint(1, 3)))
    updated = head.published + timedelta(minutes=rng.randint(20, 300))
    return ArticleSpec(
        header=head,
        lead=_sentence(rng, head) if rng.random() < 0.6 else None,
        main_photo=_photo(rng, head, head.article_id - 1) if rng.random() < 0.8 else None,
        dateline=f"{head.capital} (Sputnik) - ",
        blocks=tuple(blocks),
        tags=tags,
        author=rng.choice(PHOTOGRAPHERS) if rng.random() < 0.1 else None,
        updated=updated if rng.random() < 0.15 else None,
        weight={
            "latest": rng.randint(15, 35),
            "modals": rng.randint(7, 12),
            "widgets": rng.randint(40, 90),
            "sprite": rng.randint(60, 120),
        },
    )


# -- what a page holds that is not its body -------------------------------------------------


def visible_date(moment: datetime) -> str:
    """``08:02 GMT 20.01.2023``: how an article page prints its time."""
    return moment.strftime("%H:%M GMT %d.%m.%Y")


def related_date(moment: datetime) -> str:
    """``12 January, 17:57 GMT``: how a related block prints its item's time."""
    return f"{moment.day} {MONTHS[moment.month - 1]}, {moment:%H:%M} GMT"


def boilerplate(spec: ArticleSpec) -> dict[str, list[str]]:
    """The boilerplate strings the page shows, by kind; none of them is body text."""
    photos = [spec.main_photo] if spec.main_photo else []
    photos += [photo for block in spec.blocks for photo in block.photos]
    related = [block.related for block in spec.blocks if block.related is not None]
    stamps = [visible_date(spec.header.published)]
    if spec.updated:
        stamps.append(visible_date(spec.updated))
    return {
        "caption": [photo.caption for photo in photos] + [photo.credit for photo in photos],
        "related": [item.title for item in related],
        "tag": [tag for tag in spec.tags if tag in TOPICS],
        "timestamp": stamps + [related_date(item.published) for item in related],
        "banner": [block.text for block in spec.blocks if block.kind == "banner"],
    }


def body_paragraphs(spec: ArticleSpec) -> list[str]:
    """The body text a reader sees, in order (the dateline opens the first paragraph)."""
    texts: list[str] = []
    for block in spec.blocks:
        if block.kind in ("text", "quote", "h2"):
            texts.append(block.text)
        elif block.kind == "list":
            texts.append("\n".join(block.items))
    if texts:
        texts[0] = spec.dateline + texts[0]
    return texts


# -- markup ----------------------------------------------------------------------------------


def _e(text: str) -> str:
    """Text escaped for HTML."""
    return html.escape(text, quote=True)


def _image_ld(url: str, width: int, height: int) -> str:
    """The ImageObject JSON-LD the platform puts inside media markup."""
    data = {"@context": "http://schema.org", "@type": "ImageObject", "url": url,
            "width": width, "height": height}  # fmt: skip
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _media(photo: Photo, published: datetime) -> str:
    """A ``div.media`` with picture, credit and caption."""
    alt = f"{photo.caption} - Sputnik International, 1920, {published:%d.%m.%Y}"
    return (
        '<div class="media" data-media-tipe="ar16x9"><div class="media__size">'
        f'<img src="{_e(photo.image_url)}" alt="{_e(alt)}" title="{_e(photo.caption)}" '
        f'width="1920" height="1080">{_image_ld(photo.image_url, 1920, 1080)}</div>'
        f'<div class="media__copyright"><div class="media__copyright-item m-copyright">'
        f"{_e(photo.credit)}</div></div>"
        f'<div class="media__description">{_e(photo.caption)}</div></div>'
    )


def _related(item: Header) -> str:
    """An inline "read also" block."""
    rng = _rng(item.article_id, "teaser")
    image = _image_url(item.published, item.article_id - 1, rng, "600x338")
    alt = f"{item.title} - Sputnik International, 1920, {item.published:%d.%m.%Y}"
    return (
        '<div class="article__block" data-type="article" data-nosnippet="true">\n'
        '      <div class="article__article m-image">\n'
        f'        <div class="article__article-image"><img src="{image}" alt="{_e(alt)}" '
        f'title="{_e(item.title)}" width="600" height="338">{_image_ld(image, 600, 338)}</div>\n'
        '        <div class="article__article-info" data-type="article"><span class="elem-info">'
        f'<span class="elem-info__date">{related_date(item.published)}</span></span></div>\n'
        f'        <a href="{item.url}?in=t" class="article__article-link">'
        '<span class="article__article-desc">'
        f'<span class="article__article-title">{_e(item.title)}</span></span></a>\n'
        "      </div>\n    </div>"
    )


def _block(block: Block, spec: ArticleSpec, first: bool) -> str:
    """One ``div.article__block``."""
    published = spec.header.published
    if block.kind == "text":
        opening = f"<strong>{_e(spec.dateline)}</strong>" if first else ""
        inner = f'<div class="article__text">{opening}{_e(block.text)}</div>'
    elif block.kind == "quote":
        inner = (
            f'<div class="article__quote"><div class="article__quote-text">{_e(block.text)}</div>'
            f'<div class="article__quote-info">{_e(block.attribution)}</div></div>'
        )
    elif block.kind == "list":
        items = "".join(f'<li class="article__list-item">{_e(i)}</li>' for i in block.items)
        inner = f'<ul class="article__list">{items}</ul>'
    elif block.kind == "h2":
        inner = f'<h2 class="article__h2">{_e(block.text)}</h2>'
    elif block.kind == "media":
        inner = _media(block.photos[0], published)
    elif block.kind == "photolenta":
        items = "".join(
            f'\n        <div class="article__photo-item"><img src="{_e(p.image_url)}" '
            f'alt="{_e(p.caption)}" width="1920" height="1080"><div class="article__photo-item-text">'
            f'<p>{_e(p.caption)}</p></div><div class="media__copyright-item m-copyright">'
            f"{_e(p.credit)}</div></div>"
            for p in block.photos
        )
        inner = f'<div class="article__photo">{items}\n    </div>'
    elif block.kind == "article":
        assert block.related is not None
        return _related(block.related)
    elif block.kind == "video":
        inner = (
            '<div class="article__video"><iframe src="https://www.youtube.com/embed/'
            f'{spec.header.article_id:x}" title="{_e(block.text)}" width="560" height="315" '
            'frameborder="0" allowfullscreen></iframe></div>'
        )
    elif block.kind == "social":
        inner = (
            '<div class="article__embed"><blockquote class="twitter-tweet"><p lang="en" dir="ltr">'
            f"{_e(block.text)}</p>— Sputnik Africa (@sputnik_africa) "
            f'<a href="https://twitter.com/sputnik_africa/status/{spec.header.article_id}0">'
            f"{published:%B} {published.day}, {published.year}</a></blockquote></div>"
        )
    else:  # banner
        inner = (
            '<aside><div class="banner m-article-body"><div class="banner__content">'
            f'<a href="/docs/subscribe.html" class="banner__link">{_e(block.text)}</a>'
            "</div></div></aside>"
        )
    return f'<div class="article__block" data-type="{block.kind}">{inner}</div>'


def _head(spec: ArticleSpec) -> str:
    """The head: metas, links, tracking and config scripts, JSON-LD, critical CSS."""
    head, rng = spec.header, _rng(spec.header.article_id, "head")
    description = spec.lead or head.title
    published_meta = head.published.strftime("%Y-%m-%dT%H:%M+0000")
    modified_meta = (spec.updated or head.published).strftime("%Y-%m-%dT%H:%M+0000")
    og_image = spec.main_photo.image_url if spec.main_photo else f"{CDN}/logo/logo-social.png"
    metas = [
        ("name", "description", description), ("name", "analytics:title", head.title),
        ("name", "analytics:rubric", "Africa"), ("name", "analytics:tags", ", ".join(spec.tags)),
        ("name", "analytics:lang", "eng"), ("name", "analytics:article_id", str(head.article_id)),
        ("name", "analytics:url", head.url),
        ("name", "analytics:p_ts", str(int(head.published.timestamp()))),
        ("name", "analytics:author", spec.author or ""),
        ("property", "og:url", head.url), ("property", "og:title", head.title),
        ("property", "og:description", description), ("property", "og:type", "article"),
        ("property", "og:site_name", "Sputnik International"),
        ("property", "og:locale", "en_EN"), ("property", "og:image", og_image),
        ("property", "article:published_time", published_meta),
        ("property", "article:modified_time", modified_meta),
        ("property", "article:author", spec.author or "Sputnik International"),
        ("property", "article:section", "Africa"),
        *(("property", "article:tag", tag) for tag in spec.tags),
        ("name", "twitter:card", "summary_large_image"), ("name", "twitter:site", "@sputnik_africa"),
        ("name", "twitter:title", head.title), ("name", "twitter:description", description),
        ("name", "twitter:image", og_image), ("name", "robots", "index, follow, max-image-preview:large"),
        ("name", "theme-color", "#f60"), ("name", "format-detection", "telephone=no"),
        ("name", "apple-mobile-web-app-title", "Sputnik"), ("name", "application-name", "Sputnik"),
        ("name", "msapplication-TileColor", "#f60"), ("name", "yandex-verification", f"{rng.getrandbits(64):016x}"),
        ("name", "google-site-verification", f"{rng.getrandbits(128):032x}"),
        ("property", "fb:app_id", "565979577238890"), ("property", "fb:pages", "1455786418084543"),
    ]  # fmt: skip
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head prefix="og: http://ogp.me/ns# article: '
        'http://ogp.me/ns/article#">\n<meta charset="utf-8">',
        f"<title>{_e(head.title)} - Sputnik International</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
    ]
    parts += [f'<meta {attr}="{key}" content="{_e(value)}">' for attr, key, value in metas]
    parts += [
        f'<link rel="canonical" href="{head.url}">',
        f'<link rel="amphtml" href="{head.url.replace(ORIGIN, ORIGIN + "/amp")}">',
        *(
            f'<link rel="icon" type="image/png" sizes="{s}x{s}" href="/i/favicons/favicon-{s}x{s}.png">'
            for s in (16, 32, 48, 96, 128, 192, 256)
        ),
        *(
            f'<link rel="apple-touch-icon" sizes="{s}x{s}" href="/i/favicons/apple-{s}x{s}.png">'
            for s in (57, 60, 72, 76, 114, 120, 144, 152, 180)
        ),
        *(
            f'<link rel="preconnect" href="https://{h}" crossorigin>'
            for h in (
                "cdn1.img.sputnikglobe.com",
                "cdnn1.img.sputnikglobe.com",
                "www.googletagmanager.com",
                "mc.yandex.ru",
                "counter.yadro.ru",
            )
        ),
        *(
            f'<link rel="preload" href="/css/{n}.css?v={rng.getrandbits(32):08x}" as="style">'
            for n in ("common", "article", "fonts", "print")
        ),
    ]
    data_layer = {
        "page_title": head.title, "page_path": head.url.removeprefix(ORIGIN),
        "page_domain": HOST, "page_url": head.url, "page_tags": ", ".join(spec.tags),
        "page_rubric": "Africa", "article_id": str(head.article_id),
        "article_length": str(sum(len(b.text) for b in spec.blocks)), "page_supertag": "Africa",
    }  # fmt: skip
    parts.append(
        '<script type="text/javascript">window.dataLayer = window.dataLayer || [];\n'
        f"dataLayer.push({json.dumps(data_layer, ensure_ascii=False, indent=4)});</script>"
    )
    parts.append(_TRACKERS)
    parts.append(_config_script(rng, spec))
    parts.append(_site_ld(spec))
    parts.append(f"<style>{_css(rng)}</style>")
    parts.append("</head>")
    return "\n".join(parts)


_TRACKERS = """<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start': new Date().getTime(),event:'gtm.js'});
var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;
j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-XXXXXXX');</script>
<!-- End Google Tag Manager -->
<script type="text/javascript">
    (function() {
        new Image().src = "//counter.yadro.ru/hit;RS_Total/Sputnik_Total?r" +
            escape(document.referrer) + ((typeof(screen) == "undefined") ? "" :
                ";s" + screen.width + "*" + screen.height + "*" + (screen.colorDepth ?
                    screen.colorDepth : screen.pixelDepth)) + ";u" + escape(document.URL) +
            ";h" + escape(document.title.substring(0, 80)) + ";" + Math.random();
    })();
</script>
<script type="text/javascript">
    var _tmr = window._tmr || (window._tmr = []);
    _tmr.push({id: "3111111", type: "pageView", start: (new Date()).getTime()});
    (function (d, w, id) {
        if (d.getElementById(id)) return;
        var ts = d.createElement("script"); ts.type = "text/javascript"; ts.async = true; ts.id = id;
        ts.src = (d.location.protocol == "https:" ? "https:" : "http:") + "//top-fwz1.mail.ru/js/code.js";
        var f = function () {var s = d.getElementsByTagName("script")[0]; s.parentNode.insertBefore(ts, s);};
        if (w.opera == "[object Opera]") { d.addEventListener("DOMContentLoaded", f, false); } else { f(); }
    })(document, window, "topmailru-code");
</script>
<script type="text/javascript">
   (function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)};
   m[i].l=1*new Date();k=e.createElement(t),a=e.getElementsByTagName(t)[0],k.async=1,k.src=r,a.parentNode.insertBefore(k,a)})
   (window, document, "script", "https://mc.yandex.ru/metrika/tag.js", "ym");
   ym(44454545, "init", {clickmap:true, trackLinks:true, accurateTrackBounce:true, webvisor:false});
</script>"""


def _config_script(rng: random.Random, spec: ArticleSpec) -> str:
    """The site's inline configuration object (feature flags, endpoints, ad slots)."""
    config = {
        "site": {"id": "sputnikglobe", "lang": "en", "rubric": "africa", "host": HOST},
        "article": {"id": spec.header.article_id, "url": spec.header.url, "tags": list(spec.tags)},
        "endpoints": {
            name: f"/services/{name}/?v={rng.getrandbits(32):08x}"
            for name in (
                "infinity",
                "comments",
                "reactions",
                "push",
                "auth",
                "search",
                "weather",
                "currency",
                "most-read",
                "subscribe",
                "poll",
                "live",
            )
        },
        "ads": [
            {
                "slot": f"slot-{k}",
                "sizes": [[300, 250], [300, 600], [728, 90]],
                "targeting": {"pos": k, "rubric": "africa", "key": f"{rng.getrandbits(48):012x}"},
            }
            for k in range(rng.randint(12, 24))
        ],
        "features": {f"feature_{k}": rng.random() < 0.5 for k in range(40)},
    }
    return f"<script>window.__SPUTNIK_CONFIG__ = {json.dumps(config, indent=2)};</script>"


def _site_ld(spec: ArticleSpec) -> str:
    """The breadcrumb and organization JSON-LD of the head."""
    crumbs = {
        "@context": "https://schema.org", "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Sputnik International", "item": f"{ORIGIN}/"},
            {"@type": "ListItem", "position": 2, "name": "Africa", "item": SECTION_URL},
        ],
    }  # fmt: skip
    organization = {
        "@context": "https://schema.org", "@type": "NewsMediaOrganization",
        "name": "Sputnik International", "url": f"{ORIGIN}/",
        "logo": {"@type": "ImageObject", "url": f"{CDN}/logo/logo-social.png", "width": 600, "height": 60},
        "sameAs": [f"https://{s}/sputnik_africa" for s in ("t.me", "twitter.com", "vk.com", "ok.ru")],
    }  # fmt: skip
    return "\n".join(
        f'<script type="application/ld+json">{json.dumps(data, indent=1)}</script>'
        for data in (crumbs, organization)
    )


def _css(rng: random.Random) -> str:
    """Critical inline CSS."""
    rules = []
    for block in ("header", "nav", "layout", "article", "media", "list", "footer", "cell-list",
                  "banner", "modal", "form", "share", "widget"):  # fmt: skip
        for element in ("", "__item", "__title", "__link", "__text", "__image", "__info"):
            rules.append(
                f".{block}{element}{{display:block;margin:0 {rng.randint(0, 24)}px;"
                f"padding:{rng.randint(0, 16)}px;font-size:{rng.randint(11, 22)}px;"
                f"line-height:{rng.randint(110, 160) / 100}}}"
            )
    return "\n".join(rules)


def _svg_sprite(rng: random.Random, count: int) -> str:
    """The inline SVG icon sprite."""
    symbols = []
    for k in range(count):
        path = " ".join(
            f"{rng.choice('MLCQ')}{rng.randint(0, 320) / 10} {rng.randint(0, 320) / 10}"
            for _ in range(rng.randint(10, 30))
        )
        symbols.append(
            f'<symbol id="icon-{k}" viewBox="0 0 32 32"><path d="{path}Z"></path></symbol>'
        )
    return f'<svg class="svg-sprite" style="display:none">{"".join(symbols)}</svg>'


def _nav() -> str:
    """The site header and navigation."""
    items = "\n".join(
        f'      <li class="nav__item"><a href="/{_slug(name)}/" class="nav__link">'
        f'<svg class="nav__icon"><use xlink:href="#icon-{k}"></use></svg>{_e(name)}</a></li>'
        for k, name in enumerate(NAV)
    )
    return (
        '<header class="header">\n  <div class="header__logo"><a href="/" title="Sputnik '
        'International"><span class="header__logo-text">Sputnik International</span></a></div>\n'
        f'  <nav class="nav">\n    <ul class="nav__list">\n{items}\n    </ul>\n  </nav>\n'
        '  <div class="header__search"><a href="/search/" class="header__search-link">Search'
        "</a></div>\n</header>"
    )


def _sidebar(spec: ArticleSpec, seed: int) -> str:
    """The "Most read" and "Latest news" columns (headlines of other articles)."""
    rng = _rng(seed, "sidebar", spec.header.index)
    latest = []
    for _ in range(spec.weight["latest"]):
        other = header(seed, rng.randrange(spec.header.index + 1, spec.header.index + 400))
        latest.append(
            f'<li class="cell-list__item"><a href="{other.url.removeprefix(ORIGIN)}" '
            'class="cell-list__item-link"><span class="cell-list__item-img"><img '
            f'src="{other.image_url}" alt="" loading="lazy" width="96" height="54"></span>'
            f'<span class="cell-list__item-title">{_e(other.title)}</span>'
            f'<span class="cell-list__item-views">{rng.randint(100, 90000)}</span></a></li>'
        )
    return (
        '<aside class="layout__right">\n  <div class="section m-most-read">\n'
        '    <div class="section__title">Most read</div>\n    <ul class="cell-list">\n'
        + "\n".join(latest[:5])
        + '\n    </ul>\n  </div>\n  <div class="section m-latest">\n'
        '    <div class="section__title">Latest news</div>\n    <ul class="cell-list">\n'
        + "\n".join(latest[5:])
        + "\n    </ul>\n  </div>\n</aside>"
    )


def _modals(rng: random.Random, count: int) -> str:
    """Login, registration, feedback and settings dialogs: forms the page carries hidden."""
    dialogs = []
    for k in range(count):
        fields = "".join(
            f'<div class="form__field"><label class="form__label" for="f{k}-{n}">Field {n}</label>'
            f'<input class="form__input" id="f{k}-{n}" name="field_{n}" type="text" '
            f'autocomplete="off" data-validate="required" maxlength="{rng.randint(20, 200)}">'
            '<div class="form__error" data-error="required">This field is required</div></div>'
            for n in range(rng.randint(6, 14))
        )
        options = "".join(
            f'<label class="form__check"><input type="checkbox" name="topic_{n}" value="{n}">'
            f'<span class="form__check-text">{_e(NAV[n % len(NAV)])}</span></label>'
            for n in range(rng.randint(8, 20))
        )
        dialogs.append(
            f'<div class="modal m-dialog-{k}" data-modal="dialog-{k}" aria-hidden="true">'
            '<div class="modal__overlay"></div><div class="modal__content">'
            '<button class="modal__close" type="button"><svg><use xlink:href="#icon-1"></use>'
            f'</svg></button><form class="form" action="/services/auth/{k}/" method="post">'
            f"{fields}{options}"
            '<button class="form__submit" type="submit">Continue</button></form></div></div>'
        )
    return "\n".join(dialogs)


def _widget_scripts(rng: random.Random, count: int) -> str:
    """The small inline scripts that register widgets, one per slot."""
    return "\n".join(
        f'<script>window.__widgets=window.__widgets||[];window.__widgets.push({{"id":"w{k}",'
        f'"type":"{rng.choice(("ad", "poll", "share", "push"))}","key":"{rng.getrandbits(40):010x}"}});'
        "</script>"
        for k in range(count)
    )


_FOOTER = """<footer class="footer">
  <div class="footer__links">
    <a href="/docs/about/index.html" class="footer__link">About Us</a>
    <a href="/docs/terms_of_use.html" class="footer__link">Terms of Use</a>
    <a href="/docs/privacy_policy.html" class="footer__link">Privacy Policy</a>
    <a href="/export/rss2/archive/index.xml" class="footer__link">RSS</a>
  </div>
  <div class="footer__copyright">© 2024 Sputnik. All rights reserved.</div>
</footer>"""


def _microdata(spec: ArticleSpec) -> str:
    """The hidden ``div.article__meta`` that repeats the article for search engines."""
    head = spec.header
    stamp = head.published.strftime("%Y-%m-%dT%H:%M")
    modified = (spec.updated or head.published).strftime("%Y-%m-%dT%H:%M")
    body = "".join(body_paragraphs(spec)).replace("\n", "")
    sections = "".join(f'<div itemprop="articleSection">{_e(t)}</div>' for t in spec.tags)
    media = (
        f'<div itemprop="associatedMedia">{_e(spec.main_photo.image_url)}</div>'
        if spec.main_photo
        else ""
    )
    citations = "".join(
        f'<div itemprop="citation">{b.related.url}</div>' for b in spec.blocks if b.related
    )
    return (
        '  <div class="article__meta" itemscope itemtype="https://schema.org/Article">\n'
        f'    <div itemprop="mainEntityOfPage">{head.url}</div><a itemprop="url" href="{head.url}"> </a>\n'
        f'    <div itemprop="headline">{_e(head.title)}</div><div itemprop="name">{_e(head.title)}</div>'
        f'<div itemprop="description">{_e(spec.lead or head.title)}</div>\n'
        f'    <div itemprop="datePublished">{stamp}</div><div itemprop="dateModified">{modified}</div>\n'
        f'    {sections}\n    {media}<div itemprop="articleBody">{_e(body)}</div>\n'
        f"    {citations}\n  </div>"
    )


def render_article(spec: ArticleSpec, seed: int) -> str:
    """The whole HTML page of an article."""
    head = spec.header
    rng = _rng(seed, "chrome", head.index)
    date_line = f'<a href="/{head.published:%Y%m%d}/">{visible_date(head.published)}</a>'
    if spec.updated:
        date_line += (
            f'<span class="article__info-date-modified"> (updated: {visible_date(spec.updated)})'
            "</span>"
        )
    header_parts = [
        f'    <div class="article__info" data-nosnippet="true"><div class="article__info-date">'
        f"{date_line}</div></div>",
        f'    <h1 class="article__title">{_e(head.title)}</h1>',
    ]
    if spec.author:
        author_url = f"/author_{_slug(spec.author)}/"
        header_parts.append(
            f'    <div class="article__author"><a href="{author_url}" class="article__author-name">'
            f"{_e(spec.author)}</a></div>"
        )
    if spec.lead:
        header_parts.append(f'    <div class="article__announce-text">{_e(spec.lead)}</div>')
    if spec.main_photo:
        header_parts.append(
            f'    <div class="article__announce">{_media(spec.main_photo, head.published)}</div>'
        )
    first_text = next(k for k, b in enumerate(spec.blocks) if b.kind == "text")
    blocks = "\n".join(
        "    " + _block(block, spec, k == first_text) for k, block in enumerate(spec.blocks)
    )
    tags = "".join(
        f'<li class="tag"><a href="/keyword_{_slug(t)}/" class="tag__text">{_e(t)}</a></li>'
        for t in spec.tags
    )
    return "\n".join(
        [
            _head(spec),
            "<body>",
            _svg_sprite(rng, spec.weight["sprite"]),
            _nav(),
            '<div class="layout-article">',
            f'<div class="article m-article" data-article-id="{head.article_id}">',
            _microdata(spec),
            '  <div class="article__header">',
            *header_parts,
            "  </div>",
            '  <div class="article__body">',
            blocks,
            "  </div>",
            f'  <div class="article__footer"><ul class="tags">{tags}</ul></div>',
            "</div>",
            "</div>",
            _sidebar(spec, seed),
            _FOOTER,
            _modals(rng, spec.weight["modals"]),
            _widget_scripts(rng, spec.weight["widgets"]),
            "</body>",
            "</html>",
            "",
        ]
    )


# -- listings --------------------------------------------------------------------------------


def listing_range(page: int, total: int) -> range:
    """The article indexes listing page ``page`` shows (0 is the section page).

    A chunk's first item repeats the last item of the page before it, as on the site.
    """
    start = 0 if page == 0 else page * (PAGE_ITEMS - 1)
    return range(start, min(start + PAGE_ITEMS, total))


def listing_count(total: int) -> int:
    """How many listing pages a site of ``total`` articles has."""
    pages = 1
    while listing_range(pages - 1, total).stop < total:
        pages += 1
    return pages


def chunk_url(seed: int, last: int) -> str:
    """The "load more" URL after the item at index ``last``."""
    item = header(seed, last)
    return (
        f"{ORIGIN}/services/africa/more.html?id={item.article_id}"
        f"&date={item.published:%Y%m%dT%H%M%S}&tags=1"
    )


def _listing_item(item: Header, seed: int) -> str:
    """One ``div.list__item``."""
    rng = _rng(seed, "listing", item.index)
    teaser = _image_url(item.published, item.article_id - 1, rng, "600x338")
    return (
        '<div class="list__item">\n'
        f'  <div class="list__image"><img src="{teaser}" alt="{_e(item.title)} - Sputnik '
        'International" width="600" height="338"></div>\n'
        f'  <div class="list__content">\n    <a href="{item.url.removeprefix(ORIGIN)}" '
        f'class="list__title">{_e(item.title)}</a>\n'
        f'    <div class="list__info"><div class="list__date" '
        f'data-unixtime="{int(item.published.timestamp())}"><span class="date">'
        f"{visible_date(item.published)}</span></div></div>\n  </div>\n</div>"
    )


def render_listing(seed: int, total: int, page: int) -> tuple[str, str]:
    """The URL and HTML of listing page ``page``: the section page, or a "load more" chunk."""
    shown = listing_range(page, total)
    items = "\n".join(_listing_item(header(seed, i), seed) for i in shown)
    more = shown.stop < total
    next_url = chunk_url(seed, shown.stop - 1).removeprefix(ORIGIN) if more else None
    if page == 0:
        pager = f'<div class="list__more" data-url="{_e(next_url)}">Load more</div>' if more else ""
        body = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>Africa - Latest News, Analysis and Opinion - Sputnik International</title>\n"
            f'<link rel="canonical" href="{SECTION_URL}">\n{_TRACKERS}\n</head>\n<body>\n'
            f'{_nav()}\n<div class="layout">\n<div class="layout__left">\n'
            '<div class="section__head"><h1 class="section__title">Africa</h1></div>\n'
            '<div class="list list-tags" itemscope itemtype="http://schema.org/ItemList">\n'
            f"{items}\n</div>\n{pager}\n</div>\n</div>\n{_FOOTER}\n</body>\n</html>\n"
        )
        return SECTION_URL, body
    attribute = f' data-next-url="{_e(next_url)}"' if next_url else ""
    body = f'<div class="list-items-loaded"{attribute}></div>\n{items}\n'
    return chunk_url(seed, listing_range(page - 1, total).stop - 1), body


# -- the site --------------------------------------------------------------------------------


def write_fixture(folder: Path, name: str, url: str, body: str, headers: dict[str, str]) -> int:
    """Write one response as ``name`` + its sidecar; return the body's size in bytes."""
    data = body.encode("utf-8")
    (folder / name).write_bytes(data)
    stem = name.rsplit(".", 1)[0]
    sidecar = {"url": url, "status": 200, "headers": headers, "fetched_at": FETCHED_AT,
               "body": name, "note": "generated by benchmarks/generate.py"}  # fmt: skip
    (folder / f"{stem}{SIDECAR_SUFFIX}").write_text(json.dumps(sidecar) + "\n", encoding="utf-8")
    return len(data)


def article_file(spec_or_header: ArticleSpec | Header) -> str:
    """The body file name of an article page."""
    head = spec_or_header.header if isinstance(spec_or_header, ArticleSpec) else spec_or_header
    return f"article-{head.article_id}.html"


def iter_pages(seed: int, total: int) -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """Every response of the site as (file name, URL, body, headers), one at a time."""
    yield (
        "robots.txt",
        f"{ORIGIN}/robots.txt",
        _ROBOTS,
        {"Content-Type": "text/plain; charset=utf-8"},
    )
    for page in range(listing_count(total)):
        url, body = render_listing(seed, total, page)
        name = "section.html" if page == 0 else f"more-{page}.html"
        yield name, url, body, HTML_HEADERS
    for index in range(total):
        spec = article_spec(seed, index)
        yield article_file(spec), spec.header.url, render_article(spec, seed), HTML_HEADERS


_ROBOTS = "User-agent: *\nDisallow: /search/\nDisallow: /api/\n"


def generate(folder: Path, total: int, seed: int = DEFAULT_SEED) -> SiteStats:
    """Write a recorded site of ``total`` articles into ``folder`` (created); say what it wrote."""
    if total < 1:
        raise ValueError("a site needs at least one article")
    folder.mkdir(parents=True, exist_ok=True)
    # what the set is, in the form every fixture set's README says it (crawler.fixtures)
    (folder / "README.md").write_text(
        "# Fixture set generated by benchmarks/generate.py\n\n"
        f"Kind: invented (a synthetic site of {total} articles, seed {seed}; nothing fetched)\n",
        encoding="utf-8",
    )
    stats = SiteStats()
    for name, url, body, headers in iter_pages(seed, total):
        size = write_fixture(folder, name, url, body, headers)
        stats.files += 2
        stats.bytes += size
        if name.startswith("article-"):
            stats.articles += 1
            stats.article_bytes += size
        elif name.endswith(".html"):
            stats.listing_pages += 1
    return stats


def main(argv: list[str] | None = None) -> int:
    """Command line: write a site and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write the fixture set")
    parser.add_argument("--articles", type=int, default=2000, help="article pages (default 2000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args(argv)
    stats = generate(args.folder, args.articles, args.seed)
    mean = stats.article_bytes / max(stats.articles, 1) / 1000
    print(
        f"{args.folder}: {stats.articles} articles, {stats.listing_pages} listing pages, "
        f"{stats.files} files, {stats.bytes / 1e6:.1f} MB (article pages {mean:.0f} kB on average)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
