"""A damaged or read-only store is found when it is opened, before anything is fetched or read.

A real store (a replay crawl of the recorded Africa section) is damaged by overwriting pages in
the middle of its file, or made read-only (an immutable file or folder for root, which file
modes do not stop; file modes for anyone else). Every command is run as a user runs it: the
crawl through the real engine, ``python -m store`` in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import Store, StoreError
from store.health import DamagedStore
from tests.crawling import ROOT, replay, run_crawl

PAGE = 4096


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store written by a replay crawl (closed: its WAL checkpointed into the file)."""
    path = tmp_path_factory.mktemp("health") / "wire.db"
    replay(path)
    assert not Path(f"{path}-wal").exists()
    return path


def copy_of(store: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(store, folder / "wire.db"))


def damage(path: Path, pages: int = 6) -> None:
    """Overwrite ``pages`` pages in the middle of the file with bytes no page holds."""
    total = path.stat().st_size // PAGE
    with path.open("r+b") as file:
        file.seek((total // 2) * PAGE)
        file.write(bytes(range(7, 250)) * (pages * PAGE // 243) + b"\x00" * (pages * PAGE % 243))


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """``path`` (a file or folder) read-only for this user, root included, while inside."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root ignores file modes and chattr is missing")
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot make {path} immutable here: {done.stderr!r}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    mode = path.stat().st_mode
    path.chmod(mode & ~0o222)
    try:
        yield
    finally:
        path.chmod(mode)


def store_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "store", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(stderr: str, *words: str) -> None:
    """``stderr`` is a single ``error: ...`` line holding ``words``, no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
    assert all(word in lines[0] for word in words), lines[0]


# -- a damaged store ---------------------------------------------------------------------------


def test_a_damaged_store_is_found_when_opened(real_store: Path, tmp_path: Path) -> None:
    path = copy_of(real_store, tmp_path)
    Store(path, check=True).close()  # whole before
    damage(path)
    with pytest.raises(DamagedStore, match=r"wire\.db is damaged \(.+\): restore it"):
        Store(path, check=True)


def test_a_crawl_into_a_damaged_store_stops_before_fetching(
    real_store: Path, tmp_path: Path
) -> None:
    path = copy_of(real_store, tmp_path)
    damage(path)
    size = path.stat().st_size
    run = run_crawl("-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={path}")
    assert run.returncode == 2, run.stderr[-2000:]
    assert "is damaged" in run.stderr and "Traceback" not in run.stderr
    assert "Spider opened" not in run.stderr  # nothing started, nothing fetched
    assert path.stat().st_size == size and not Path(f"{path}-wal").exists()


@pytest.mark.parametrize(
    "command",
    [["summary"], ["export"], ["export", "--all-versions"], ["reparse"], ["serve"]],
    ids=lambda c: " ".join(c),
)
def test_every_store_command_refuses_a_damaged_store_in_one_line(
    real_store: Path, tmp_path: Path, command: list[str]
) -> None:
    path = copy_of(real_store, tmp_path)
    damage(path)
    done = store_cli(command[0], str(path), *command[1:])
    assert done.returncode == 2
    one_line_error(done.stderr, "is damaged", str(path))
    assert done.stdout == ""


def test_the_check_can_be_skipped_for_a_huge_store(real_store: Path, tmp_path: Path) -> None:
    path = copy_of(real_store, tmp_path)
    done = store_cli("summary", str(path), "--skip-check")
    assert done.returncode == 0 and re.search(r"Articles: +16\n", done.stdout), done.stderr
    run = run_crawl("-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={path}",
                    "-s", "STORE_QUICK_CHECK=False")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


# -- a read-only store -------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_crawl_into_a_read_only_store_is_a_one_line_error(
    real_store: Path, tmp_path: Path, what: str
) -> None:
    path = copy_of(real_store, tmp_path / "ro")
    with read_only(path if what == "file" else path.parent):
        with pytest.raises(StoreError, match="read-only"):
            Store(path)
        run = run_crawl("-s", "FIXTURES_REPLAY=fixtures/sputnik-africa", "-s", f"STORE_PATH={path}")
        reparse = store_cli("reparse", str(path))
    assert run.returncode == 2, run.stderr[-2000:]
    assert "read-only" in run.stderr and "Traceback" not in run.stderr
    assert "Spider opened" not in run.stderr
    assert reparse.returncode == 2
    one_line_error(reparse.stderr, "read-only")


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_store_is_read_exported_and_served(
    real_store: Path, tmp_path: Path, what: str
) -> None:
    path = copy_of(real_store, tmp_path / "ro")
    expected = store_cli("export", str(real_store), "--all-versions").stdout
    with read_only(path if what == "file" else path.parent):
        summary = store_cli("summary", str(path))
        export = store_cli("export", str(path), "--all-versions")
        served = store_cli("serve", str(path), "--", "--get", "/wire/crawl_log.json?_shape=array")
        left = sorted(p.name for p in path.parent.iterdir())
    assert summary.returncode == 0 and re.search(r"Articles: +16\n", summary.stdout), summary.stderr
    assert export.returncode == 0 and export.stdout == expected, export.stderr[-2000:]
    assert served.returncode == 0, served.stderr[-2000:]
    (crawl,) = json.loads(served.stdout)
    assert crawl["finish_reason"] == "finished" and crawl["ok"] == 20  # robots.txt too
    if what == "folder":  # immutable: nothing written beside it (mode=ro in a writable folder
        assert left == ["wire.db"]  # keeps SQLite's -wal and -shm files there, to read a WAL)


def test_a_store_damaged_where_sqlite_reads_first_is_found_when_opened(
    real_store: Path, tmp_path: Path
) -> None:
    # the schema's page after the file's header: SQLite fails on its first statement, before
    # any check can run (a file that is no database at all is test_crawl's)
    path = copy_of(real_store, tmp_path)
    with path.open("r+b") as file:
        file.seek(100)
        file.write(bytes(range(7, 250)) * 8)
    for check in (True, False):
        with pytest.raises(DamagedStore, match=r"wire\.db is damaged \(.+\): restore it"):
            Store(path, check=check)
