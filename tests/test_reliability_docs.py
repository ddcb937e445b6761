"""docs/RELIABILITY.md keeps up with the tests it cites."""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

RELIABILITY = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
CITED = re.compile(r"`(test_\w+\.py)::(test_\w+)`")
FAULT_TEST_FILES = (
    "test_faults.py",
    "test_crashes.py",
    "test_mutations.py",
    "test_security.py",
    "test_hostile_pages.py",
    "test_distkill.py",
)


def defined_tests(file_name: str) -> set[str]:
    """The names of the test functions defined in a test file."""
    tree = ast.parse((ROOT / "tests" / file_name).read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_every_cited_test_exists() -> None:
    cited = CITED.findall(RELIABILITY)
    assert len(cited) > 30
    missing = [f"{f}::{t}" for f, t in cited if t not in defined_tests(f)]
    assert missing == []


@pytest.mark.parametrize("file_name", FAULT_TEST_FILES)
def test_every_fault_test_is_in_the_table(file_name: str) -> None:
    cited = {test for f, test in CITED.findall(RELIABILITY) if f == file_name}
    assert defined_tests(file_name) - cited == set()


def test_the_last_kill_run_is_recorded() -> None:
    section = RELIABILITY.split("## The last kill-test run", 1)[1]
    kills = re.search(r"kills: +(\d+)", section)
    assert kills is not None and int(kills.group(1)) >= 20
    assert "Result: PASS" in section
