"""Scrapy settings of the project: polite and safe by default.

The project's own settings are declared once, below, each with its default (the module
attribute Scrapy reads) and its meaning (:data:`PROJECT_SETTINGS`): the README's settings
table is checked against that declaration (``tests/test_docs_and_cli.py``).
"""

from __future__ import annotations

BOT_NAME = "wirearchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The project's own settings: the default here, the meaning in PROJECT_SETTINGS (the README's
# settings table, in this order)
STORE_PATH = "data/wire.db"
FIXTURES_REPLAY: str | None = None
FIXTURES_RECORD: str | None = None
STORE_SUMMARY = True
ALLOW_PRIVATE_HOSTS: list[str] = []
# read by store.schedule.parse_schedule; store.schedule.DEFAULT_RECHECK_SCHEDULE is the same
RECHECK_SCHEDULE = "1d:every,7d:1d,30d:7d"
RECHECK_NOW: str | None = None
RETRY_AFTER_MAX = 60.0
STORE_MAX_PAGES = 0
CONTACT: str | None = None  # required by a live `scrapy crawl` (crawler.politeness)
MAX_LISTING_PAGES = 200  # read by crawler.spiders.section.SectionSpider.page_limit
WARC_DIR: str | None = None  # read by store.Store.begin_crawl (store/warc_capture.py)
WARC_MAX_SIZE = 1_000_000_000
STORE_QUICK_CHECK = True  # read by crawler.commands.crawl.check_store
STORE_WRITER_TIMEOUT = 120.0  # read by pipelines.storage.StoragePipeline
HEALTH_WINDOW = 5  # read by crawler.health.CoverageCheck
DISCOVERY_SOURCES = "rss,sitemap,archive"  # read by crawler.discovery.base.DiscoverySpider
DISCOVERY_BATCH = 1000  # read by crawler.discovery.base.DiscoverySpider
FRONTIER_URL: str | None = None  # read by crawler.distributed.FrontierAddon
LEASE_SECONDS = 120.0  # read by crawler.frontier.lease.LeaseBook
WORKER_NAME: str | None = None  # read by domain.frontier.worker_name (None: HOST:PID)

PROJECT_SETTINGS: dict[str, str] = {
    "STORE_PATH": (
        "the SQLite file the crawl writes (created with its folder; `scrapy crawl` opens it "
        "first and stops with a one-line error where no store can be — a folder, a file that "
        "is not a database, a place it cannot write)"
    ),
    "FIXTURES_REPLAY": (
        "a fixture set (any folder, relative or absolute, e.g. `fixtures/sputnik-africa`) to "
        "serve instead of the network; a URL with no fixture answers 404 and is counted as "
        "`fixtures/replay/missing`; the set's name and kind are kept with the crawl (see "
        "*Fixtures*)"
    ),
    "FIXTURES_RECORD": (
        "a folder (any, relative or absolute) where a live crawl saves every response as a "
        "fixture (same format), with a `README.md` that says `Kind: recorded`"
    ),
    "STORE_SUMMARY": "print the store's summary when the crawl ends",
    "ALLOW_PRIVATE_HOSTS": (
        "hosts, as written in URLs, that may be crawled on private/loopback addresses (tests "
        "use `127.0.0.1`; `127.1` is another spelling and stays refused)"
    ),
    "RECHECK_SCHEDULE": (
        "how often known articles are fetched again, by age: `MAX_AGE:INTERVAL` rules (see "
        "*Rechecks*); empty: never"
    ),
    "RECHECK_NOW": (
        "an ISO 8601 time to judge the schedule at instead of the clock (tests, replays of old "
        "recordings)"
    ),
    "RETRY_AFTER_MAX": (
        "the longest `Retry-After` (seconds or an HTTP date, on a 429, 503 or other retryable"
        " status) the crawler waits before retrying; a longer one is not retried, the fetch "
        "is recorded as `gave_up`, and on a 429 or 503 the crawl ends (`rate_limited`, exit "
        "status 7)"
    ),
    "CONTACT": (
        "your email address or http(s) URL, put in the User-Agent (`wirearchive/0.1.0 (news "
        "wire archiving; +CONTACT)`); a live `scrapy crawl` without a real one (placeholders "
        "such as `example.com` refused) is a usage error (exit status 2); replays "
        "(`FIXTURES_REPLAY`) need none"
    ),
    "STORE_MAX_PAGES": (
        "the most SQLite pages (4 KiB each) the store may grow to, `0` for no limit; reaching "
        "it stops the crawl like a full disk (`store_full`)"
    ),
    "MAX_LISTING_PAGES": (
        "the most listing pages a crawl reads, the section page included (`0`: no bound); an "
        'endless "load more" chain stops there with a warning; `-a max_pages` applies when '
        "smaller"
    ),
    "WARC_DIR": (
        "a folder where the crawl also writes every HTTP exchange the store saves as WARC 1.1 "
        "`request` and `response` records (gzip per record, files `CRAWL_ID-NNNNN.warc.gz`, "
        "each opened by a `warcinfo` record; see *Web archives*); none: no capture"
    ),
    "WARC_MAX_SIZE": ("the bytes a WARC file of `WARC_DIR` grows to before the next one is begun"),
    "STORE_QUICK_CHECK": (
        "check the store with `PRAGMA quick_check` before crawling (it reads the whole file, "
        "about a second per 100 MB; `False` skips it for a huge store): a damaged store is a "
        "one-line error (exit status 2) before anything is fetched"
    ),
    "STORE_WRITER_TIMEOUT": (
        "the longest the crawl waits, in seconds, for the store's writer process to answer one "
        "write (a lock held elsewhere, a hung process); past it the writer is stopped and the "
        "crawl ends (`store_timeout`, exit status 8)"
    ),
    "DISCOVERY_SOURCES": (
        "the discovery sources a section spider uses besides its section page, "
        "comma-separated, of `rss`, `sitemap` (the article sitemaps robots.txt names) and "
        "`archive` (day archives); empty: the section's listing alone (see *Discovery*)"
    ),
    "DISCOVERY_BATCH": (
        "the most article requests one listing, sitemap or feed puts in Scrapy's queue at "
        "once; the rest wait as URLs and are requested a batch at a time when the crawl is "
        "idle (a sitemap of 100,000 links never becomes 100,000 queued requests); a worker of "
        "a distributed crawl (`FRONTIER_URL`) queues them all in Redis at once"
    ),
    "FRONTIER_URL": (
        "a Redis, `redis://HOST:PORT/N`: the crawl is a worker of a distributed crawl (see "
        "*Distributed crawl*) — its requests and duplicate filter are shared in that Redis "
        "(scrapy-redis), its seeds come from `python -m store schedule`, its store calls go to "
        "a Redis Stream that `python -m store.writer STORE_PATH --from URL` writes into the "
        "store; it opens no SQLite file; none: a crawl of one process"
    ),
    "HEALTH_WINDOW": (
        "how many earlier crawls of the spider a crawl's coverage is compared with before it "
        "ends (see *Discovery*); `0`: no comparison"
    ),
    "LEASE_SECONDS": (
        "a distributed crawl's lease: how long a request a worker took from the shared queue "
        "stays its own without word from it; a live worker renews its leases every third of "
        "this (at most every 10 s), so it is how long the requests of a worker that died wait "
        "before another worker takes them (see *Distributed crawl: leases, pace, frontier*)"
    ),
    "WORKER_NAME": (
        "the name of this crawl process, kept in its crawl record (`crawls.worker`, shown by "
        "the `crawl_log` query and the reader's provenance) and, in a distributed crawl, on "
        "its leases and heartbeat (`python -m store frontier`); printable, no spaces, at most "
        "100 characters; give each running worker its own; none: `HOST:PID` of the process"
    ),
}

# The kind of value each project setting takes: crawler.config checks every one of them,
# one check per kind, before `scrapy crawl` or `scrapy parse` starts (a bad value is a one-line
# usage error, `error: NAME=VALUE: why`, exit status 2).
PROJECT_SETTING_KINDS: dict[str, str] = {
    "STORE_PATH": "file",
    "FIXTURES_REPLAY": "fixture set",
    "FIXTURES_RECORD": "folder",
    "STORE_SUMMARY": "boolean",
    "ALLOW_PRIVATE_HOSTS": "hosts",
    "RECHECK_SCHEDULE": "schedule",
    "RECHECK_NOW": "time",
    "RETRY_AFTER_MAX": "seconds",
    "CONTACT": "contact",
    "STORE_MAX_PAGES": "count",
    "MAX_LISTING_PAGES": "count",
    "WARC_DIR": "output folder",
    "WARC_MAX_SIZE": "positive count",
    "STORE_QUICK_CHECK": "boolean",
    "STORE_WRITER_TIMEOUT": "timeout",
    "DISCOVERY_SOURCES": "sources",
    "DISCOVERY_BATCH": "positive count",
    "FRONTIER_URL": "redis url",
    "HEALTH_WINDOW": "count",
    "LEASE_SECONDS": "timeout",
    "WORKER_NAME": "name",
}

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
    # Scrapy's robots.txt rules, refusals counted per source and rule, its fetch kept
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.discovery.robots.EvidenceRobotsTxtMiddleware": 100,
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
ADDONS = {
    "crawler.fixtures.FixturesAddon": 0,
    "crawler.politeness.ContactAddon": 10,
    "crawler.distributed.FrontierAddon": 20,  # FRONTIER_URL: scrapy-redis's scheduler
}
# The periodic log line counts pages, articles and the queue (crawler.progress).
EXTENSIONS = {
    "scrapy.extensions.logstats.LogStats": None,
    # -o/-O and FEEDS write one record per article, not the raw items (crawler.feeds)
    "scrapy.extensions.feedexport.FeedExporter": None,
    "crawler.feeds.ArticleFeedExporter": 0,
    "crawler.progress.ProgressStats": 0,
    "crawler.politeness.CrawlDelay": 100,  # after AutoThrottle (0): its floor holds
    "crawler.health.CoverageCheck": 200,  # a crawl whose coverage dropped ends saying so
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
