"""The shared frontier of a distributed crawl on Redis (scrapy-redis), beyond what it offers.

* :mod:`crawler.frontier.lease` — leases: a popped request returns to the queue when its
  worker dies before it is done;
* :mod:`crawler.frontier.worker` — each worker's heartbeat, lease renewal and lease ends;
* :mod:`crawler.frontier.ratelimit` — one polite pace per host for all the workers;
* :mod:`crawler.frontier.scripts` — the Lua scripts they run in Redis.

:class:`FrontierAddon` installs them all in a crawl that uses scrapy-redis's scheduler
(``SCHEDULER``, ``DUPEFILTER_CLASS``, ``REDIS_URL`` set by whoever runs the crawl).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

QUEUE_CLASS = "crawler.frontier.lease.LeasedPriorityQueue"
HANDLER = "crawler.frontier.ratelimit.SharedPoliteDownloadHandler"


class FrontierAddon:
    """Leased queue, lease watching (spider and downloader middleware, nearest the engine),
    the worker's heartbeat, and the shared per-host pace for http and https (not in a
    replay, ``FIXTURES_REPLAY``, whose handler stays)."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Install the frontier's components (over the project's own settings)."""
        from crawler.frontier.lease import LeaseMiddleware
        from crawler.frontier.worker import FrontierWorker

        settings.set("SCHEDULER_QUEUE_CLASS", QUEUE_CLASS, priority="project")
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", LeaseMiddleware, 0)
        settings.set_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", LeaseMiddleware, 0)
        settings.set_in_component_priority_dict("EXTENSIONS", FrontierWorker, 0)
        if settings.get("FIXTURES_REPLAY"):
            return  # a replay's handler reads the disk: no host to be polite to, kept
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": HANDLER, "https": HANDLER})
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="project")
