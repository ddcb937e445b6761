"""Log lines about items that name the page, not the whole item.

Scrapy's own formatter prints an item's ``repr`` when it is scraped, dropped or fails in a
pipeline: for this project's items that is the page's raw body and every block — megabytes of
log for one full disk. These lines say which item it was (kind, outcome, URL) instead.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy.logformatter import LogFormatter, LogFormatterResult

from domain.records import FetchRecord


def describe(item: Any) -> str:
    """``ArticleItem ok https://...``: what a log line needs to find the item again."""
    fetch = ItemAdapter(item).get("fetch") if is_item(item) else None
    if isinstance(fetch, FetchRecord):
        return f"{type(item).__name__} {fetch.outcome} {fetch.final_url or fetch.requested_url}"
    return repr(item)


class ItemLogFormatter(LogFormatter):
    """Scrapy's log formatter, with items described by :func:`describe`."""

    def _short(self, result: LogFormatterResult) -> LogFormatterResult:
        args = result.get("args")
        if isinstance(args, dict) and "item" in args:
            result["args"] = {**args, "item": describe(args["item"])}
        return result

    def scraped(self, item: Any, *args: Any, **kwargs: Any) -> LogFormatterResult:
        """Logged (at DEBUG) when an item is stored."""
        return self._short(super().scraped(item, *args, **kwargs))

    def dropped(self, item: Any, *args: Any, **kwargs: Any) -> LogFormatterResult:
        """Logged when a pipeline drops an item (a failed store write)."""
        return self._short(super().dropped(item, *args, **kwargs))

    def item_error(self, item: Any, *args: Any, **kwargs: Any) -> LogFormatterResult:
        """Logged when a pipeline fails on an item."""
        return self._short(super().item_error(item, *args, **kwargs))
