"""MALLOC_MMAP_THRESHOLD: the crawl process fixes glibc's mmap threshold when it loads settings."""

from __future__ import annotations

import subprocess
import sys

import pytest
from scrapy.exceptions import UsageError
from scrapy.settings import Settings

from crawler.memory import DEFAULT_MMAP_THRESHOLD, MemoryAddon, glibc, set_mmap_threshold
from tests.conftest import ROOT

# In a fresh process: glibc raises its threshold to 4 MB when the 4 MB block is freed; then the
# addon runs with the threshold given; a 200 kB block gets a mapping of its own (prints 1) only
# where the addon fixed the threshold below that size.
MAPPED_AFTER_ADDON = """
import ctypes, sys
from scrapy.settings import Settings
from crawler.memory import MemoryAddon

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
big = bytearray(4 * 1024 * 1024)
del big
MemoryAddon().update_settings(Settings({"MALLOC_MMAP_THRESHOLD": int(sys.argv[1])}))
before = libc.mallinfo2().hblks
block = bytearray(200_000)
print(libc.mallinfo2().hblks - before)
"""


def mapped_blocks_after_addon(threshold: int) -> int:
    run = subprocess.run(
        [sys.executable, "-c", MAPPED_AFTER_ADDON, str(threshold)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(run.stdout)


needs_glibc = pytest.mark.skipif(
    glibc() is None or not hasattr(glibc(), "mallinfo2"), reason="glibc >= 2.33 only"
)


@needs_glibc
def test_the_addon_fixes_the_threshold() -> None:
    assert mapped_blocks_after_addon(64 * 1024) == 1


@needs_glibc
def test_zero_leaves_glibc_to_raise_its_threshold() -> None:
    assert mapped_blocks_after_addon(0) == 0


def test_the_project_enables_the_addon_with_glibcs_own_threshold() -> None:
    settings = Settings()
    settings.setmodule("crawler.settings")
    assert "crawler.memory.MemoryAddon" in settings.getdict("ADDONS")
    assert settings.getint("MALLOC_MMAP_THRESHOLD") == DEFAULT_MMAP_THRESHOLD == 0


@pytest.mark.parametrize("value", [-1, 64 * 1024 * 1024])
def test_a_threshold_glibc_would_refuse_is_a_usage_error(value: int) -> None:
    with pytest.raises(UsageError, match="MALLOC_MMAP_THRESHOLD"):
        MemoryAddon().update_settings(Settings({"MALLOC_MMAP_THRESHOLD": value}))
    with pytest.raises(ValueError, match="mmap threshold"):
        set_mmap_threshold(value)
