"""One worker of a distributed crawl for the frontier's tests: a plain Scrapy crawl (not the
project's spiders and settings) on scrapy-redis's scheduler with the frontier's components.

Run as ``python -m tests.frontier_worker REDIS_URL BASE_URL [-s NAME=VALUE ...]``. The spider
crawls a tree of pages, ``/page/0`` first; each page links to two more (see
:class:`FrontierSite`). Each item says which page it came from and whether its lease was still
held in Redis while the item pipeline had it (pushed to the Redis list ``test:done``, which a
killed worker cannot lose); a download failure's errback makes an item too.

:class:`FrontierSite` is the site: a threaded HTTP server in the test's process that records
every request it receives (path and time) and the most it answered at once, and misbehaves on
the paths it is told to.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from twisted.python.failure import Failure

from domain.frontier import LEASE_META, QUEUE_KEY, lease_keys, queue_key

DONE_KEY = "test:done"
SPIDER = "frontier-test"


class TreeSpider(Spider):
    """Pages ``/page/N``; an item per page (or failure), a request per link."""

    name = SPIDER

    def __init__(self, base: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base

    async def start(self) -> Any:
        yield Request(f"{self.base}/page/0", errback=self.failed)

    def parse(self, response: Response) -> Iterator[Any]:
        yield {
            "url": response.url,
            "status": response.status,
            "lease": response.meta.get(LEASE_META),
        }
        for href in response.css("a::attr(href)").getall():
            # the lease copied from the response's meta, as spiders pass meta on: the new
            # request must not carry it
            meta = {LEASE_META: response.meta[LEASE_META]}
            yield response.follow(href, meta=meta, errback=self.failed)

    def failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield {"url": request.url, "status": "failed", "lease": request.meta.get(LEASE_META)}


class DonePipeline:
    """Records each item in Redis after a pause, saying whether its lease was held then."""

    def __init__(self, url: str) -> None:
        self.server = redis.Redis.from_url(url)
        self.leases = lease_keys(queue_key(SPIDER))["leases"]

    @classmethod
    def from_crawler(cls, crawler: Any) -> DonePipeline:
        return cls(crawler.settings["REDIS_URL"])

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.05)  # the item is still being handed on
        held = (
            item["lease"] is not None and self.server.zscore(self.leases, item["lease"]) is not None
        )
        self.server.rpush(DONE_KEY, json.dumps({**item, "held": held}))
        return item


def settings(redis_url: str) -> dict[str, Any]:
    """The worker's settings: scrapy-redis's scheduler with the frontier's addon."""
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": QUEUE_KEY,
        "REDIS_URL": redis_url,
        "ADDONS": {"crawler.frontier.FrontierAddon": 0},
        "ITEM_PIPELINES": {"tests.frontier_worker.DonePipeline": 100},
        "RETRY_AFTER_MAX": 60.0,
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS": 4,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("redis_url")
    parser.add_argument("base")
    parser.add_argument("-s", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    values = settings(args.redis_url)
    for pair in args.s:
        name, _, value = pair.partition("=")
        values[name] = value
    process = CrawlerProcess(values)
    process.crawl(TreeSpider, base=args.base)
    process.start()


class QuietServer(ThreadingHTTPServer):
    """Says nothing of a client that went away (a killed worker)."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class FrontierSite:
    """The test site: ``/page/N`` links to ``/page/2N+1`` and ``/page/2N+2`` below ``pages``.

    ``faults`` maps a path to a list of answers, one per request, the last repeating: an int
    status (with ``Retry-After`` from ``retry_after``), ``"ok"``, ``"redirect:PATH"``, or
    ``"drop"`` (the connection closed with no answer).
    """

    def __init__(
        self,
        pages: int,
        delay: float = 0.0,
        faults: dict[str, list[Any]] | None = None,
        robots: str = "",
        retry_after: int = 0,
    ) -> None:
        self.pages = pages
        self.delay = delay
        self.faults = faults or {}
        self.robots = robots
        self.retry_after = retry_after
        self.log: list[tuple[float, str, Any]] = []  # (arrival time, path, answer)
        self.in_flight = 0  # requests being answered now
        self.most_in_flight = 0  # the most ever answered at once
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def page_paths(self) -> set[str]:
        return {f"/page/{n}" for n in range(self.pages)}

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.respond(handler)
        finally:
            with self.lock:
                self.in_flight -= 1

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self.lock:
            seen = sum(1 for _, p, _ in self.log if p == path)
            rules = self.faults.get(path, ["ok"])
            rule = rules[min(seen, len(rules) - 1)]
            self.log.append((time.time(), path, rule))
        if self.delay:
            time.sleep(self.delay)
        if rule == "drop":
            handler.close_connection = True
        elif path == "/robots.txt":
            self.send(handler, 200, self.robots or "User-agent: *\nAllow: /\n", "text/plain")
        elif isinstance(rule, int):
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
            self.send(handler, rule, "busy", "text/plain", headers)
        elif str(rule).startswith("redirect:"):
            self.send(handler, 302, "", "text/plain", {"Location": self.base + rule[9:]})
        elif path.startswith("/page/") and int(path[6:]) < self.pages:
            n = int(path[6:])
            links = "".join(
                f'<a href="/page/{k}">{k}</a>' for k in (2 * n + 1, 2 * n + 2) if k < self.pages
            )
            self.send(handler, 200, f"<html><body>{links}</body></html>", "text/html")
        else:
            self.send(handler, 404, "no such page", "text/plain")

    @staticmethod
    def send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: str,
        kind: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode()
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def __enter__(self) -> FrontierSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    main()
