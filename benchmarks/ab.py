"""Two code trees, one generated site, back to back: did a change slow the crawl?

``python benchmarks/ab.py OLD_TREE [--articles N] [--rounds R]`` crawls the synthetic site of
``benchmarks/run.py`` (made by it, in ``benchmarks/.work``) with the code of ``OLD_TREE`` (a
``git worktree add`` of an earlier commit) and with this tree's, and walks it with each tree's
Scrapy ceiling spider, alternately (rounds in the order old, new, then new, old, …, so a
machine that gets busier or quieter in between weighs on both alike), and prints each process's
whole wall time and its CPU time (user + system, of the process and its children: the crawl's
store writer counts). Both use this environment's packages; only the project's own code differs.

On a shared machine the wall times move with whatever else runs; the CPU seconds move much less
(a busy machine still adds cache misses and switches), so a change in the code shows there first.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_PREFIX = "site-{n}-"


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(tree: Path, args: list[str], site: Path) -> tuple[float, float]:
    """Wall and CPU seconds ``scrapy ARGS`` takes with ``tree``'s code, replaying ``site``."""
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings", "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"FIXTURES_REPLAY={site.name}"]
    command += ["-s", "LOG_LEVEL=WARNING", "-s", "STORE_SUMMARY=False"]
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=site.parent, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{tree}: scrapy {args[0]} failed:\n{done.stderr.decode()[-2000:]}")
    return seconds, children_cpu() - cpu


def generated_site(articles: int) -> Path:
    """The newest site of ``articles`` that ``benchmarks/run.py`` generated in
    ``benchmarks/.work``; exits with a one-line error when there is none."""
    sites = sorted((ROOT / "benchmarks" / ".work").glob(SITE_PREFIX.format(n=articles) + "*"))
    if not sites:
        raise SystemExit(f"no generated site of {articles}: run benchmarks/run.py first")
    return sites[-1]


def main() -> int:
    """Run both trees' crawls and ceilings and print their wall and CPU times."""
    parser = argparse.ArgumentParser(prog="python benchmarks/ab.py", description=__doc__)
    parser.add_argument("old_tree", type=Path, help="a checkout of the earlier code")
    parser.add_argument("--articles", type=int, default=2000, help="the generated site's size")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree (median)")
    args = parser.parse_args()
    site = generated_site(args.articles)
    trees = {"old": args.old_tree.resolve(), "new": ROOT}
    times: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label in trees}
    print(f"{site.name}: whole-process wall and CPU seconds (load average {os.getloadavg()})")
    print("| round | code | crawl wall | crawl CPU | ceiling wall | ceiling CPU | ratio |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(args.rounds):
            order = list(trees) if number % 2 == 0 else list(reversed(trees))
            for label in order:
                tree = trees[label]
                store = Path(scratch) / f"{label}-{number}.db"
                crawl = run(tree, ["crawl", "africa", "-s", f"STORE_PATH={store}"], site)
                ceiling_spider = tree / "benchmarks" / "ceiling_spider.py"
                ceiling = run(
                    tree, ["runspider", str(ceiling_spider), "-s", "ITEM_PIPELINES={}"], site
                )
                times[label].append((*crawl, *ceiling))
                print(
                    f"| {number + 1} | {label} | {crawl[0]:.1f} | {crawl[1]:.1f} | "
                    f"{ceiling[0]:.1f} | {ceiling[1]:.1f} | {ceiling[0] / crawl[0]:.2f} |",
                    flush=True,
                )
        for label, tree in trees.items():
            crawl_wall, crawl_cpu, ceiling_wall, ceiling_cpu = (
                statistics.median(column) for column in zip(*times[label], strict=True)
            )
            print(
                f"| median | {label} ({tree}) | {crawl_wall:.1f} | {crawl_cpu:.1f} | "
                f"{ceiling_wall:.1f} | {ceiling_cpu:.1f} | {ceiling_wall / crawl_wall:.2f} |"
            )
    print(f"(load average at the end {os.getloadavg()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
