"""``scripts/distkill.py``: a distributed replay crawl whose worker, writer and Redis are each
killed (SIGKILL) and started again ends with the clean single-process crawl's export, a whole
store, and no request lost or fetched twice beyond the lease rule."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from types import ModuleType

import pytest

from tests.crawling import ROOT
from tests.redis_server import REDIS_SERVER

DISTKILL = ROOT / "scripts" / "distkill.py"


def load_distkill() -> ModuleType:
    """``scripts/distkill.py`` as a module (it imports ``killtest`` from its folder)."""
    sys.path.insert(0, str(DISTKILL.parent))
    try:
        spec = importlib.util.spec_from_file_location("distkill", DISTKILL)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("distkill", module)  # its dataclasses look their module up
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(DISTKILL.parent))
    return module


def test_a_worker_the_writer_and_redis_killed_lose_nothing(tmp_path: object) -> None:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    done = subprocess.run(
        [sys.executable, str(DISTKILL), "--kills", "3", "--seed", "7", "--workdir",
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    kills = re.findall(r"kill +\d at .*: (worker|writer|redis)", out)
    assert sorted(kills) == ["redis", "worker", "writer"], out
    for target in ("worker", "writer", "redis"):  # each killed while it ran
        assert re.search(rf"{target} kills: +1 \(1 while running\)", out), out
    assert re.search(r"export equals the clean run: +yes\n", out), out
    assert re.search(r"fetches per URL \(the lease rule\): +ok\n", out), out
    assert out.rstrip().endswith("Result: PASS")


def test_the_lease_rule_finds_a_lost_and_a_doubled_fetch() -> None:
    distkill = load_distkill()
    reference = Counter({"https://a/robots.txt": 1, "https://a/1": 1, "https://a/2": 1})
    kill = distkill.Kill("worker", 1.0, killed=True, leased=["https://a/2"])
    allowed = Counter({"https://a/robots.txt": 2, "https://a/1": 1, "https://a/2": 2})
    assert distkill.lease_rule(reference, allowed, [kill], workers=2) == []
    lost = Counter({"https://a/robots.txt": 1, "https://a/2": 1})
    assert distkill.lease_rule(reference, lost, [kill], workers=2) == [
        "lost: https://a/1 fetched 0 times, 1 cleanly"
    ]
    twice = Counter({**reference, "https://a/1": 2, "https://a/robots.txt": 3})
    assert distkill.lease_rule(reference, twice, [kill], workers=2) == [
        "fetched 2 times (at most 1 allowed): https://a/1",
        "fetched 3 times (at most 2 allowed): https://a/robots.txt",
    ]
