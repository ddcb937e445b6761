"""Peak memory of a crawl whose one listing holds N links (default 100,000): prints it.

``python benchmarks/listing_memory.py [--links N] [--stop-after ITEMS] [--workdir DIR]``
writes a recorded site in a fresh folder — robots.txt naming the article sitemap index, the
index naming one monthly sitemap of N article URLs, and the Africa section page of
``fixtures/sputnik-africa`` — then replays it with ``scrapy crawl africa`` (the sitemap as the
one discovery source; the article pages are not recorded, so each answers 404 and is stored as
a ``not_found`` fetch) and prints the crawl process's peak RSS and its store writer's, as
``benchmarks/timing.py`` reads them. The peak comes when the listing is read and its links
become requests; the crawl is stopped after ``--stop-after`` items (default 5,000:
``CLOSESPIDER_ITEMCOUNT``), well past that point (0: the whole crawl, which takes long on a
loaded machine). A script that prints, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from benchmarks.timing import read_mark  # noqa: E402

# the project's extensions, and the benchmarks' timer that prints both processes' peak RSS
EXTENSIONS = json.dumps({"scrapy.extensions.logstats.LogStats": None,
                         "crawler.progress.ProgressStats": 0, "crawler.health.CoverageCheck": 200,
                         "benchmarks.timing.CrawlTimer": 0})  # fmt: skip
HOST = "https://sputnikglobe.com"
WORK = ROOT / "benchmarks" / ".work"
AT = "2023-01-20T12:00:00Z"


def sidecar(folder: Path, name: str, url: str, body: str, content_type: str) -> None:
    """Write a fixture's sidecar."""
    meta = {"url": url, "status": 200, "headers": {"Content-Type": content_type},
            "fetched_at": AT, "body": body}  # fmt: skip
    (folder / f"{name}.http.json").write_text(json.dumps(meta), encoding="utf-8")


def write_site(folder: Path, links: int) -> None:
    """The recorded site: robots.txt, the sitemap index, one sitemap of ``links`` URLs, the
    section page."""
    folder.mkdir(parents=True)
    (folder / "robots.txt").write_text(
        f"User-agent: *\nDisallow: /services/\n\nSitemap: {HOST}/sitemap_article_index.xml\n"
    )
    sidecar(folder, "robots", f"{HOST}/robots.txt", "robots.txt", "text/plain")
    month = f"{HOST}/sitemap_article.xml?date_start=20230101&date_end=20230131"
    (folder / "index.xml").write_text(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{month.replace('&', '&amp;')}</loc></sitemap></sitemapindex>"
    )
    sidecar(folder, "index", f"{HOST}/sitemap_article_index.xml", "index.xml", "application/xml")
    with (folder / "month.xml").open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0"?>\n')
        out.write('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
        for n in range(links):
            day = 1 + n % 28
            out.write(
                f"<url><loc>{HOST}/202301{day:02d}/generated-article-number-{n}-"
                f"{1200000000 + n}.html</loc><lastmod>2023-01-{day:02d}T10:00:00+00:00"
                "</lastmod></url>\n"
            )
        out.write("</urlset>\n")
    sidecar(folder, "month", month, "month.xml", "application/xml")
    africa = ROOT / "fixtures" / "sputnik-africa"
    shutil.copy(africa / "section.html", folder / "section.html")
    shutil.copy(africa / "section.http.json", folder / "section.http.json")


def main() -> int:
    """Generate, crawl, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000, help="links in the sitemap")
    parser.add_argument("--stop-after", type=int, default=5000, help="items (0: all)")
    parser.add_argument("--workdir", type=Path, help="keep the site and store here")
    args = parser.parse_args()
    # under the project (FIXTURES_REPLAY takes a relative folder), in the git-ignored .work/
    WORK.mkdir(parents=True, exist_ok=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="listing-memory-", dir=WORK))
    site, store = work / "site", work / "wire.db"
    if site.exists():
        shutil.rmtree(site)
    store.unlink(missing_ok=True)
    write_site(site, args.links)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "africa",
         "-s", f"FIXTURES_REPLAY={site.relative_to(ROOT)}", "-s", f"STORE_PATH={store}",
         "-s", "DISCOVERY_SOURCES=sitemap", "-s", "STORE_SUMMARY=False", "-s", "LOG_LEVEL=ERROR",
         "-s", "RECHECK_SCHEDULE=", "-s", f"EXTENSIONS={EXTENSIONS}",
         "-s", f"CLOSESPIDER_ITEMCOUNT={args.stop_after}"],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings",
             "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.getenv("PYTHONPATH")]))},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 7):  # 7: ended by CLOSESPIDER_ITEMCOUNT
        print(done.stderr[-3000:], file=sys.stderr)
        if args.workdir is None:
            shutil.rmtree(work)
        return 1
    from sqlite_utils import Database

    (row,) = Database(store).query("SELECT stats FROM crawls")
    stats = json.loads(row["stats"])
    mark = read_mark(done.stdout)
    crawl_mb = mark["rss_kb"] / 1024
    writer_mb = mark["writer_rss_kb"] / 1024
    print(f"links in the sitemap:     {args.links:,}")
    fetches = sum(v for k, v in stats.items() if k.startswith("store/fetches/"))
    print(f"fetches stored:           {fetches:,}")
    print(f"crawl peak RSS:           {crawl_mb:,.0f} MB")
    print(f"writer peak RSS:          {writer_mb:,.0f} MB")
    print(f"together (upper bound):   {crawl_mb + writer_mb:,.0f} MB")
    print(f"backlog at its largest:   {stats.get('wire/discovery/backlog_max', 0):,}")
    print(f"wall time:                {seconds:,.0f} s (stopped after {args.stop_after:,} items)")
    if args.workdir is None:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
