"""Day archives as a discovery source: ``/YYYYMMDD/`` lists a day's articles of every section,
in the listing markup of section pages (each article page must show the section).

Read for the days the section page covers — from its oldest to its newest listed day, none
before ``since`` — so that what the "load more" chunks would have shown from those days is
found where robots.txt forbids the chunks. An archive's own "load more" is followed only where
robots.txt allows it, within ``MAX_LISTING_PAGES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urljoin

from scrapy.http import Response

from crawler.discovery.base import DiscoverySpider
from crawler.fetching import read_page
from crawler.items import FetchItem
from crawler.sites import parse_listing
from domain.pages import ListingEntry
from domain.times import parse_iso

SOURCE = "archive"
META_ARCHIVE_PAGE = "wire_archive_page"
MAX_ARCHIVE_DAYS = 31  # a section page spanning more days than this is read for its newest 31


def archive_days(entries: Iterable[ListingEntry], since: date | None) -> list[date]:
    """The days from the oldest to the newest listed day (newest first), none before
    ``since``, at most :data:`MAX_ARCHIVE_DAYS`."""
    days = [parse_iso(e.listed_at).date() for e in entries if e.listed_at]
    if not days:
        return []
    first = max(min(days), since) if since else min(days)
    newest = max(days)
    count = min((newest - first).days + 1, MAX_ARCHIVE_DAYS)
    return [newest - timedelta(days=n) for n in range(count)] if count > 0 else []


class ArchiveDiscovery(DiscoverySpider):
    """Finds articles in the day archives of the days the section page covers."""

    @property
    def archive_page_limit(self) -> int | None:
        """The most pages of one day archive to read (the listing's bound)."""
        raise NotImplementedError

    def archive_requests(self, entries: Iterable[ListingEntry]) -> Iterator[Any]:
        """A request per day archive of the days these section entries cover."""
        for day in archive_days(entries, self.since):
            url = urljoin(self.section_url, f"/{day:%Y%m%d}/")
            yield self.request(url, "archive", SOURCE, self.parse_archive,
                               **{META_ARCHIVE_PAGE: 1})  # fmt: skip

    def parse_archive(self, response: Response) -> Iterator[Any]:
        """A day archive page: its candidates, and its next chunk where allowed."""
        yield from self.pending()
        fetch, page = read_page(response, self.run)
        if page is None:
            yield FetchItem(fetch)
            return
        listing = parse_listing(response.url, page.text)
        if not listing.entries:
            yield self.not_recognized(fetch, SOURCE, "no article the listing parser recognizes")
            return
        yield from self.discovered(response, fetch, listing, SOURCE)
        number: int = response.meta.get(META_ARCHIVE_PAGE, 1)
        limit = self.archive_page_limit
        if listing.next_url is None or (limit is not None and number >= limit):
            return
        reason = self.link_refusal(listing.next_url)
        if reason is not None:
            yield from self.refused(response, listing.next_url, "archive", reason, SOURCE)
            return
        yield self.request(listing.next_url, "archive", SOURCE, self.parse_archive,
                           **{META_ARCHIVE_PAGE: number + 1})  # fmt: skip
