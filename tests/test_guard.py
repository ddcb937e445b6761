"""The address guard through the real engine: names that resolve to private addresses, and
private addresses in every numeric spelling, in a spider without ``allowed_domains``.

Nothing here leaves the machine: names are made up (``*.test``) and answered by
``tests.rebinding.RebindingResolver`` (127.0.0.1), and every address is a loopback one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from crawler.guard import is_private_host, numeric_address
from tests.conftest import AFRICA
from tests.crawling import ROOT, run_scrapy
from tests.mockserver import read_log, serve_fixture_set
from tests.test_faults import article_path

OPEN_SPIDER = str(ROOT / "tests" / "open_section_spider.py")
REBINDING = ("-s", "TWISTED_DNS_RESOLVER=tests.rebinding.RebindingResolver")
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")
# Spellings of 127.0.0.1 (and ::1) that the old guard, reading IP literals as written, let by.
LOOPBACK_SPELLINGS = ("127.1", "0x7f.1", "2130706433", "0177.0.0.1", "[::ffff:127.0.0.1]")


@dataclass
class GuardCrawl:
    """A finished crawl of the open spider: its fetches, stats and what the server saw."""

    fetches: list[dict[str, Any]]
    stats: dict[str, Any]
    seen: list[str]


def guard_crawl(
    folder: Path, host: str, *settings: str, faults: dict[str, list[dict[str, Any]]] | None = None
) -> GuardCrawl:
    """Crawl the recorded section served on 127.0.0.1, addressed as ``host``."""
    log = folder / "requests.jsonl"
    with serve_fixture_set(AFRICA, faults, log) as port:
        run = run_scrapy(
            "runspider", OPEN_SPIDER, "-a", f"section_url=http://{host}:{port}/africa/",
            "-s", "ALLOW_PRIVATE_HOSTS=127.0.0.1", "-s", "STORE_PATH=w.db",
            *REBINDING, *FAST, *settings, cwd=folder,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    db = Database(folder / "w.db")
    (crawl,) = list(db.query("select stats from crawls"))
    fetches = list(
        db.query("select requested_url, outcome, status, error from fetches order by id")
    )
    return GuardCrawl(fetches, json.loads(crawl["stats"]), [e["path"] for e in read_log(log)])


def test_a_name_that_resolves_to_a_private_address_is_refused(tmp_path: Path) -> None:
    crawl = guard_crawl(tmp_path, "rebind.test")
    assert crawl.seen == []  # not even robots.txt reached the server
    (fetch,) = crawl.fetches
    assert fetch["outcome"] == "refused"
    assert fetch["error"] == (
        "IgnoreRequest: refused: private address (rebind.test resolves to 127.0.0.1)"
    )
    assert crawl.stats["guard/refused/resolved"] >= 1
    assert "retry/count" not in crawl.stats  # a refusal is not retried


def test_an_allowed_name_is_fetched_at_the_address_its_lookup_answered(tmp_path: Path) -> None:
    """The control: allowed, the made-up name reaches the server the resolver named."""
    crawl = guard_crawl(
        tmp_path, "rebind.test", "-s", "ALLOW_PRIVATE_HOSTS=rebind.test,127.0.0.1",
        "-s", "CLOSESPIDER_PAGECOUNT=3",
    )  # fmt: skip
    assert "/africa/" in crawl.seen
    assert crawl.fetches[0]["outcome"] == "ok"
    assert "guard/refused/resolved" not in crawl.stats


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_a_request_to_loopback_in_any_spelling_is_refused(tmp_path: Path, host: str) -> None:
    crawl = guard_crawl(tmp_path, host)
    assert crawl.seen == []
    assert [(f["outcome"], f["error"]) for f in crawl.fetches] == [
        ("refused", "IgnoreRequest: refused: private address")
    ]
    assert crawl.stats["guard/refused/private"] >= 1


def test_redirects_to_loopback_in_any_spelling_are_not_followed(tmp_path: Path) -> None:
    """Port 9 on loopback: were a redirect followed, its fetch would fail, not be refused."""
    articles = ("1106052640", "1106081942", "1106132207", "1106158803", "1106176530")
    targets = {
        article_id: f"http://{host}:9/latest/"
        for article_id, host in zip(articles, LOOPBACK_SPELLINGS, strict=True)
    }
    faults = {article_path(a): [{"redirect": target}] for a, target in targets.items()}
    crawl = guard_crawl(tmp_path, "127.0.0.1", faults=faults)
    for article_id, target in targets.items():
        (fetch,) = [f for f in crawl.fetches if f["requested_url"].endswith(f"-{article_id}.html")]
        assert (fetch["outcome"], fetch["status"]) == ("refused", 302), target
        assert fetch["error"] == f"redirect to {target} not followed (private address)"
    assert crawl.stats["guard/redirect/private"] == len(targets)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("[2002:7f00:1::]", "127.0.0.1"),  # 6to4 of 127.0.0.1
        ("[::1]", "::1"),
        ("sputnikglobe.com", None),
        ("1e100.net", None),
        ("", None),
    ],
)
def test_every_numeric_spelling_is_read_as_its_address(host: str, address: str | None) -> None:
    found = numeric_address(host)
    assert (str(found) if found is not None else None) == address


@pytest.mark.parametrize(
    ("host", "private"),
    [
        ("0x7f.1", True),
        ("10.1", True),  # 10.0.0.1
        ("3232235521", True),  # 192.168.0.1
        ("100.64.0.1", True),  # shared address space (carrier-grade NAT)
        ("224.0.0.1", True),  # multicast
        ("0.0.0.0", True),
        ("[fe80::1]", True),
        ("[ff02::1]", True),
        ("localhost", True),
        ("8.8.8.8", False),
        ("134744072", False),  # 8.8.8.8 as one integer: public, so not refused
        ("sputnikglobe.com", False),  # a name: checked when it is resolved
    ],
)
def test_private_ranges_are_refused_in_every_form(host: str, private: bool) -> None:
    assert is_private_host(host) is private
