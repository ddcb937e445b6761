"""Two code trees, one generated site, back to back: did a change slow the crawl?

``python benchmarks/ab.py OLD_TREE [--articles N]`` crawls the synthetic site of
``benchmarks/run.py`` (made by it, in ``benchmarks/.work``) with the code of ``OLD_TREE`` (a
``git worktree add`` of an earlier commit) and with this tree's, and walks it with each tree's
Scrapy ceiling spider, alternately, and prints each process's whole wall time. Both use this
environment's packages; only the project's own code differs. The ratio a machine's speed moves
(``benchmarks/run.py``) is compared here between two versions of the code on the same day.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_PREFIX = "site-{n}-"


def wall(tree: Path, args: list[str], site: Path) -> float:
    """Seconds ``scrapy ARGS`` takes with ``tree``'s code, replaying ``site``."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"FIXTURES_REPLAY={site.name}"]
    command += ["-s", "LOG_LEVEL=WARNING", "-s", "STORE_SUMMARY=False"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=site.parent, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{tree}: scrapy {args[0]} failed:\n{done.stderr.decode()[-2000:]}")
    return seconds


def main() -> int:
    """Run both trees' crawls and ceilings and print their wall times."""
    parser = argparse.ArgumentParser(prog="python benchmarks/ab.py", description=__doc__)
    parser.add_argument("old_tree", type=Path, help="a checkout of the earlier code")
    parser.add_argument("--articles", type=int, default=2000, help="the generated site's size")
    args = parser.parse_args()
    sites = sorted((ROOT / "benchmarks" / ".work").glob(SITE_PREFIX.format(n=args.articles) + "*"))
    if not sites:
        raise SystemExit(f"no generated site of {args.articles}: run benchmarks/run.py first")
    site = sites[-1]
    trees = {"old": args.old_tree.resolve(), "new": ROOT}
    print(f"{site.name}: whole-process wall time, seconds")
    print("| code | crawl | ceiling | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for label, tree in trees.items():
            store = Path(scratch) / f"{label}.db"
            crawl = wall(tree, ["crawl", "africa", "-s", f"STORE_PATH={store}"], site)
            ceiling_spider = tree / "benchmarks" / "ceiling_spider.py"
            ceiling = wall(
                tree, ["runspider", str(ceiling_spider), "-s", "ITEM_PIPELINES={}"], site
            )
            print(f"| {label} ({tree}) | {crawl:.1f} | {ceiling:.1f} | {ceiling / crawl:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
