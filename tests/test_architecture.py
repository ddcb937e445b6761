"""The layers of the README's *Architecture*, checked on every production module's imports.

Every module of ``domain``, ``crawler``, ``pipelines`` and ``store`` is parsed with ``ast``; its
module-level imports (those under ``if TYPE_CHECKING:`` and ``try:`` included, not those inside
functions) are edges to the project's modules. Bottom to top: ``domain`` (nothing of the
project) → ``crawler.sites`` (pure parsers) → ``store`` → ``pipelines`` → the rest of
``crawler``; ``__main__`` modules are entry points, the top, and may import any layer.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from functools import cache

import pytest

from tests.conftest import ROOT

PACKAGES = ("domain", "crawler", "pipelines", "store")

# What each layer may import, by module-name prefix (a module may always import its own layer).
# Checked in order: the first layer whose prefix names the module is its layer.
LAYERS: dict[str, tuple[str, ...]] = {
    "domain": ("domain",),
    "crawler.sites": ("domain", "crawler.sites"),
    "store": ("domain", "store"),
    "pipelines": ("domain", "crawler.sites", "crawler.fetching", "crawler.items", "crawler.run",
                  "store", "pipelines"),
    "crawler": ("domain", "crawler", "store"),
}  # fmt: skip

# Narrower rules for single modules, on top of their layer's.
NARROWER: dict[str, tuple[str, ...]] = {
    # the parser goldens depend on no storage: a store change never rewrites them
    "crawler.goldens": ("domain", "crawler"),
    # Scrapy loads the settings first, before any component: they pull in no store
    "crawler.settings": ("domain", "crawler"),
}

# Edges that break a rule today, each to be removed where it is fixed. A listed edge that no
# longer exists fails test_known_exceptions_still_exist, so the list never outlives its reason.
SCRAPY_COMPONENTS = ("crawler.spiders", "crawler.middlewares")


def module_name(path_parts: tuple[str, ...]) -> str:
    """The dotted name of a module file (``crawler/sites/__init__.py`` is ``crawler.sites``)."""
    parts = list(path_parts)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, ast.Module]:
    """Every production module of the project, parsed, by dotted name."""
    found: dict[str, ast.Module] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = module_name(path.relative_to(ROOT).parts)
            found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def is_package(name: str) -> bool:
    return (ROOT / name.replace(".", "/") / "__init__.py").is_file()


def module_level(nodes: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements run when a module is imported: at its top level and inside
    top-level ``if`` (``TYPE_CHECKING`` too), ``try`` and ``with`` blocks, not in functions."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            yield from module_level(node.body)
            yield from module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from module_level(block)
            for handler in node.handlers:
                yield from module_level(handler.body)
        elif isinstance(node, ast.With):
            yield from module_level(node.body)


def imports_of(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The project modules that module ``name`` (parsed as ``tree``) imports at module level;
    ``from a import b`` is an edge to ``a.b`` where that is one of the ``known`` modules."""
    targets: set[str] = set()
    for node in module_level(tree.body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's package, up level - 1 more
            package = name.split(".") if is_package(name) else name.split(".")[:-1]
            anchor = package[: len(package) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {target for target in targets if target.split(".")[0] in PACKAGES}


@cache
def imported(name: str) -> frozenset[str]:
    """The project modules that production module ``name`` imports at module level."""
    return frozenset(imports_of(name, modules()[name], set(modules())))


def layer_of(name: str) -> str:
    return next(layer for layer in LAYERS if name == layer or name.startswith(f"{layer}."))


def within(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == prefix or target.startswith(f"{prefix}.") for prefix in prefixes)


def is_entry_point(name: str) -> bool:
    return name.rsplit(".", 1)[-1] == "__main__"


def violations(name: str, targets: set[str] | frozenset[str]) -> list[str]:
    """The imports (``targets``) of module ``name`` that its layer or narrower rule forbids."""
    if is_entry_point(name):
        return []
    allowed = NARROWER.get(name, LAYERS[layer_of(name)])
    return [f"{name} imports {target}" for target in sorted(targets) if not within(target, allowed)]


def reachable(name: str) -> set[str]:
    """Every project module that importing module ``name`` imports, directly or not."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for target in imported(todo.pop()):
            if target not in seen and target in modules():
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize("name", sorted(modules()))
def test_a_module_imports_only_its_layer_and_those_below(name: str) -> None:
    assert violations(name, imported(name)) == []


@pytest.mark.parametrize("name", sorted(n for n in modules() if layer_of(n) == "pipelines"))
def test_pipelines_never_reach_spiders_or_middlewares(name: str) -> None:
    # not even through the crawler modules they may import (fetching, items, run)
    assert {t for t in reachable(name) if within(t, SCRAPY_COMPONENTS)} == set()


def test_every_module_has_a_layer() -> None:
    assert {layer_of(name) for name in modules()} == set(LAYERS)


def test_the_rules_find_a_forbidden_import() -> None:
    assert violations("pipelines.chain", {"crawler.spiders.section", "domain.pages"}) == [
        "pipelines.chain imports crawler.spiders.section"
    ]
    assert violations("crawler.history", {"pipelines.chain"}) == [
        "crawler.history imports pipelines.chain"
    ]
    assert violations("store.db", {"crawler.sites"}) == ["store.db imports crawler.sites"]
    assert violations("domain.pages", {"domain.text", "store"}) == ["domain.pages imports store"]
    assert violations("crawler.goldens", {"store.export"}) == [
        "crawler.goldens imports store.export"
    ]
    assert violations("store.__main__", {"pipelines.reparse"}) == []  # an entry point


def test_imports_are_read_at_module_level_only() -> None:
    source = """
from typing import TYPE_CHECKING
import store.db
from crawler import fetching
from . import chain
from .boilerplate import split_article
if TYPE_CHECKING:
    from domain.records import FetchRecord
try:
    import crawler.sites
except ImportError:
    pass
def later() -> None:
    import crawler.middlewares
class Later:
    import crawler.spiders
"""
    known = {"crawler.fetching", "pipelines.chain", "pipelines.boilerplate"}
    assert imports_of("pipelines.article", ast.parse(source), known) == {
        "store.db", "crawler.fetching", "pipelines.chain", "pipelines.boilerplate",
        "domain.records", "crawler.sites",
    }  # fmt: skip


def cycles(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing
    itself): each is an import cycle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = {name: imported(name) for name in modules()}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
