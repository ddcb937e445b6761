"""Scrapy settings of the project: polite and safe by default.

Project settings (documented in the README's reference, each with its default):

* ``STORE_PATH`` — the SQLite file the crawl writes (default ``data/wire.db``).
* ``FIXTURES_REPLAY`` — a fixture set to serve instead of the network (default: none).
* ``FIXTURES_RECORD`` — a folder where a live crawl saves every response (default: none).
* ``STORE_SUMMARY`` — print the store's summary when the crawl ends (default: True).
* ``ALLOW_PRIVATE_HOSTS`` — hosts on private addresses that may be crawled (default: none).
* ``RECHECK_SCHEDULE`` — how often known articles are fetched again, by age
  (default ``1d:every,7d:1d,30d:7d``; see ``store.schedule``).
* ``RECHECK_NOW`` — the time the schedule is judged at (default: none, the clock; for tests
  and replays of old recordings).
* ``RETRY_AFTER_MAX`` — the longest ``Retry-After`` wait honoured, in seconds (default 60); a
  longer one is given up and ends the crawl (``rate_limited``).
* ``STORE_MAX_PAGES`` — the most SQLite pages the store may grow to (default 0: no limit).
* ``CONTACT`` — an email address or http(s) URL where the site can reach whoever runs the
  crawl, put in the User-Agent (``wirearchive/VERSION (news wire archiving; +CONTACT)``);
  a live ``scrapy crawl`` refuses to start without a real one (default: none; replays need
  none).

Politeness: robots.txt's ``Crawl-delay`` is the least delay of its host
(``crawler.politeness.CrawlDelay``); a 429 or 503 with ``Retry-After`` pauses the whole host,
and one over ``RETRY_AFTER_MAX`` ends the crawl (``rate_limited``). Safety: names are resolved
by ``crawler.guard.GuardedResolver``, which refuses private answers.
"""

from __future__ import annotations

BOT_NAME = "wirearchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The project's own settings
STORE_PATH = "data/wire.db"
FIXTURES_REPLAY: str | None = None
FIXTURES_RECORD: str | None = None
STORE_SUMMARY = True
ALLOW_PRIVATE_HOSTS: list[str] = []
RECHECK_SCHEDULE = "1d:every,7d:1d,30d:7d"  # read by store.schedule.parse_schedule
RECHECK_NOW: str | None = None
RETRY_AFTER_MAX = 60.0
STORE_MAX_PAGES = 0
CONTACT: str | None = None  # required by a live `scrapy crawl` (crawler.politeness)

# Politeness: robots.txt, an honest User-Agent, throttling, few parallel requests.
ROBOTSTXT_OBEY = True
# Built from CONTACT by crawler.politeness.ContactAddon: wirearchive/VERSION (...; +CONTACT).
USER_AGENT = "wirearchive/0.1.0 (news wire archiving)"
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024  # a news page is far smaller; a bigger body is refused
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
COOKIES_ENABLED = False

# Safety: only http(s), no telnet console or remote control, no private addresses.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
DOWNLOAD_HANDLERS = {
    "file": None,
    "data": None,
    "s3": None,
    "ftp": None,
    # Scrapy's HTTP/1.1 handler that holds a host's requests while it asked for a pause
    "http": "crawler.politeness.PoliteDownloadHandler",
    "https": "crawler.politeness.PoliteDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.AddressGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    "crawler.middlewares.ResolverRefusalMiddleware": 560,  # sees a refused lookup before retries
    "crawler.middlewares.RedirectGuardMiddleware": 650,  # sees a 3xx before RedirectMiddleware
    "crawler.middlewares.ReceivedAtMiddleware": 960,
}
# Names are resolved by the address guard, which refuses private answers (crawler.guard).
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"
# An article is one request whatever tracking parameters or fragment its link carries.
REQUEST_FINGERPRINTER_CLASS = "crawler.middlewares.ArticleFingerprinter"
ADDONS = {"crawler.fixtures.FixturesAddon": 0, "crawler.politeness.ContactAddon": 10}
# The periodic log line counts pages, articles and the queue (crawler.progress).
EXTENSIONS = {
    "scrapy.extensions.logstats.LogStats": None,
    "crawler.progress.ProgressStats": 0,
    "crawler.politeness.CrawlDelay": 100,  # after AutoThrottle (0): its floor holds
}
# Item log lines name the page instead of printing its body and blocks.
LOG_FORMATTER = "crawler.logformatter.ItemLogFormatter"
# A redirected article request is never dropped as a duplicate (see crawler.history).
DUPEFILTER_CLASS = "crawler.history.RedirectAwareDupeFilter"

ITEM_PIPELINES = {
    "pipelines.article.ArticlePipeline": 100,  # the article chain: parse, split, hash
    "pipelines.storage.StoragePipeline": 900,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
