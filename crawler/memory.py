"""How the crawl process uses memory: glibc's mmap threshold, set once at start-up.

Every page a crawl handles passes through a few buffers of its size (the response body, its
decoded text, the copies the parser makes of it: ~100–200 kB each for a news page). glibc
serves an allocation above its *mmap threshold* (128 kB at first) from a mapping of its own,
given back to the system when freed; below it, from the heap. But the threshold is dynamic: the
first time such a mapping is freed, glibc raises the threshold to its size (up to 32 MB), so
from then on every page's buffers are cut from the heap, between the small objects that live on
(the duplicate filter's fingerprints, the store's and the engine's state). The heap then holds
more and more free but resident memory as the crawl goes on: in crawls of 20,000 recorded
articles glibc's heap grew from ~30 MB to 39–44 MB, 10–17 MB of it free (``mallinfo2``), where
crawls of 2,000 stayed at 28–33 MB.

``MALLOC_MMAP_THRESHOLD`` (bytes; 0, the default, leaves glibc's behaviour) fixes the threshold
with ``mallopt``, which also turns glibc's adjustment off: each buffer above it gets its own
mapping and leaves nothing behind in the heap (the heap stayed at 22 MB through the same 20,000
articles with 64 KiB). It costs time: every such buffer is mapped, zeroed and unmapped — at
64 KiB a replay of 2,000 articles took 11.0–11.3 s instead of 9.9–10.2 s, ~0.5 ms a page. The
figures above are of the crawl when the store was written from a thread of the crawl process
(zlib and SQLite buffers among the page-sized ones); since the store has its own process
(:mod:`store.writer`) the crawl process stayed flat without it (99 → 106 MB from 2,000 to
20,000 articles, ``benchmarks/README.md``, round 4), so the default is 0. Set it (65536 is a
good value) for a crawl whose memory grows with its length. Elsewhere than glibc (macOS, musl)
the setting does nothing.

:class:`MemoryAddon` (enabled in the project's ``ADDONS``) applies it in the crawl process when
its settings are loaded, before the replay index or anything else of the crawl is allocated.
"""

from __future__ import annotations

import ctypes
import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import UsageError

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's <malloc.h>
DEFAULT_MMAP_THRESHOLD = 0  # glibc's own, adjustable threshold
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc refuses more on 64-bit (HEAP_MAX_SIZE / 2)


def glibc() -> ctypes.CDLL | None:
    """The C library of this process when it is glibc (it has ``mallopt``), else None."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def set_mmap_threshold(threshold: int) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; whether it was set (False: not glibc).

    A ValueError for a threshold glibc would refuse (above 32 MB), or one below 1.
    """
    if not 1 <= threshold <= MAX_MMAP_THRESHOLD:
        raise ValueError(f"an mmap threshold is 1 to {MAX_MMAP_THRESHOLD} bytes, not {threshold}")
    libc = glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(ctypes.c_int(M_MMAP_THRESHOLD), ctypes.c_int(threshold)))


class MemoryAddon:
    """Applies ``MALLOC_MMAP_THRESHOLD`` in the crawl process (0, the default: glibc's own)."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Set the threshold now: the settings are loaded before the crawl allocates."""
        threshold = settings.getint("MALLOC_MMAP_THRESHOLD", DEFAULT_MMAP_THRESHOLD)
        if threshold == 0:
            return
        try:
            applied = set_mmap_threshold(threshold)
        except ValueError as error:
            raise UsageError(f"MALLOC_MMAP_THRESHOLD: {error}") from None
        if applied:
            logger.debug("glibc mmap threshold fixed at %d bytes", threshold)
        else:
            logger.debug("MALLOC_MMAP_THRESHOLD ignored: the C library is not glibc")
