"""``scrapy parse URL``: what the spider makes of one page, printed, and nothing stored.

Differences from Scrapy's own command: the spider's arguments and the project's settings are
checked as ``scrapy crawl`` checks them (a one-line ``error: …``, exit status 2); the callback
is chosen by the URL where ``-c`` does not name one (an article URL is read by
``parse_article``, the section page and its "load more" chunks by ``parse_listing``); the
article pipeline runs on every item, so an article prints as the record the crawl would store
(:func:`crawler.feeds.feed_record`, the export's shape) instead of the page's raw HTML; and the
storage pipeline is left out, so the command never opens the store — no crawl row without
fetches. With ``-s FIXTURES_REPLAY=…`` the page comes from a recorded set.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter
from scrapy.commands.parse import Command as ScrapyParse
from scrapy.exceptions import UsageError
from scrapy.http import Request
from scrapy.spiderloader import get_spider_loader
from scrapy.utils import display
from w3lib.url import is_url

from crawler.config import (
    add_arguments_help,
    check_project_settings,
    check_spider_arguments,
    usage_error,
    warn_unknown_settings,
)
from crawler.feeds import feed_record
from crawler.fetching import META_KIND
from crawler.sites.platform import article_id_from_url
from crawler.spiders.section import META_PAGE_NUMBER, parse_arguments

if TYPE_CHECKING:
    import argparse

# The pipelines of a parse: the article chain, without the store.
PARSE_PIPELINES = {"pipelines.article.ArticlePipeline": 100}


def printable(item: Any) -> dict[str, Any]:
    """An item as ``scrapy parse`` prints it: an article as the record the crawl would store;
    a listing's entries; a fetch without its raw body and headers."""
    record = feed_record(item)
    if record is not None:
        return record
    adapter = ItemAdapter(item)
    shown: dict[str, Any] = {"item": type(item).__name__}
    fetch = adapter.get("fetch")
    if fetch is not None:
        details = asdict(fetch)
        for raw in ("body", "headers"):
            details.pop(raw, None)
        shown["fetch"] = details
    listing = adapter.get("listing")
    if listing is not None:
        shown["listing"] = listing.to_dict()
    if "record" in adapter.field_names():
        shown["article"] = None  # the parser read no article in the page: see the log
    return shown


class Command(ScrapyParse):
    """Parse one URL with the project's spider and print what it yields; nothing is stored."""

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """Scrapy's options; ``--help`` ends with each spider's ``-a`` arguments."""
        super().add_options(parser)
        assert self.settings is not None
        add_arguments_help(parser, self.settings)

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's options, the checks of ``scrapy crawl``, the article pipeline only."""
        super().process_options(args, opts)
        try:
            self.check(args, opts)
        except UsageError as error:
            sys.exit(usage_error(error))
        warn_unknown_settings(opts)
        assert self.settings is not None
        self.settings.set("ITEM_PIPELINES", PARSE_PIPELINES, priority="cmdline")
        opts.pipelines = True  # items go through the article chain before they are printed

    def check(self, args: list[str], opts: argparse.Namespace) -> None:
        """Refuse a bad URL, spider, ``-a`` argument or setting; choose the callback."""
        if len(args) != 1 or not is_url(args[0]):
            raise UsageError("name one URL, e.g. scrapy parse https://sputnikglobe.com/africa/")
        url = args[0]
        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        if opts.spider:
            if opts.spider not in loader.list():
                names = ", ".join(sorted(loader.list()))
                raise UsageError(f"no spider {opts.spider!r}; the project has: {names}")
            spidercls = loader.load(opts.spider)
        else:
            found = loader.find_by_request(Request(url))
            if len(found) != 1:
                raise UsageError(f"no spider of the project is for {url}: name one with --spider")
            spidercls = loader.load(found[0])
        check_spider_arguments(spidercls, opts.spargs)
        parse_arguments(opts.spargs.get("since"), opts.spargs.get("max_pages"))
        check_project_settings(self.settings)
        if not opts.callback:
            if article_id_from_url(url):
                opts.callback = "parse_article"
            else:
                opts.callback = "parse_listing"
                kind = "section" if url == getattr(spidercls, "section_url", None) else "listing"
                opts.meta = {META_KIND: kind, META_PAGE_NUMBER: 1, **(opts.meta or {})}

    def print_items(self, lvl: int | None = None, colour: bool = True) -> None:
        """The items, each as :func:`printable` shows it, as JSON."""
        if lvl is None:
            items = [item for level in self.items.values() for item in level]
        else:
            items = self.items.get(lvl, [])
        print("# Scraped Items ", "-" * 60)
        shown = [printable(item) for item in items]
        if colour:
            display.pprint(shown, colorize=colour)
        else:
            print(json.dumps(shown, indent=2, ensure_ascii=False))
