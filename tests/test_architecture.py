"""The house rules, read from the source: which way imports run.

Every import counts, those inside functions and under TYPE_CHECKING included, because a
cycle hidden in a function is still a cycle a newcomer has to hold in their head.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs", "cards", "kpi", "rag_indexer", "news", "language")
# Packages below the composition root: none of them may know Teams or the bot.
BELOW_BOT = tuple(p for p in PACKAGES if p != "bot")
TEAMS_AND_BOT = ("botbuilder", "aiohttp", "bot")
# The analytic core's layers, lowest first: a layer imports only those before it.
KPI_LAYERS = ("kpi.storage", "kpi.sample", "kpi.ga_import", "kpi.metrics", "kpi.insights")
KPI_MAY_IMPORT = {
    "kpi.storage": set(),
    "kpi.sample": {"kpi.storage"},
    "kpi.ga_import": {"kpi.storage"},
    "kpi.metrics": {"kpi.storage"},
    "kpi.insights": {"kpi.storage", "kpi.metrics"},
}


@dataclass(frozen=True)
class Import:
    importer: str  # the module that imports
    target: str  # the module or package imported, as written (absolute)
    names: tuple[str, ...]  # `from target import names`; empty for `import target`
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = project_modules()


def imports_of(name: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([target] if target else [])])
            names = tuple(alias.name for alias in node.names)
            found.append(Import(name, target, names, node.lineno))
    return found


IMPORTS = [imp for name, path in MODULES.items() for imp in imports_of(name, path)]


def resolve(target: str) -> str | None:
    """The project module an import lands in (the longest known prefix), or None."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from package import module` counts as
    importing the module)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for imp in IMPORTS:
        targets = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in MODULES]
        for target in targets or [imp.target]:
            module = resolve(target)
            if module and module != imp.importer:
                edges[imp.importer].add(module)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def top_package(module: str) -> str:
    return module.split(".")[0]


def package_of(module: str) -> str:
    """The package a module belongs to (`kpi.sample` for `kpi.sample.stream`); a package's
    `__init__` belongs to the package itself."""
    return module if (ROOT / module.replace(".", "/")).is_dir() else module.rpartition(".")[0]


def test_the_checker_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from kpi.metrics import query\n    from .b import c\n")
    found = [(imp.target, imp.names) for imp in imports_of("dialogs.probe", probe)]
    assert found == [("kpi.metrics", ("query",)), ("dialogs.b", ("c",))]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_there_is_no_import_cycle_among_the_projects_modules() -> None:
    assert cycles(graph()) == []


@pytest.mark.parametrize("package", BELOW_BOT)
def test_nothing_below_the_bot_imports_teams_aiohttp_or_the_bot(package: str) -> None:
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if top_package(imp.importer) == package and top_package(imp.target) in TEAMS_AND_BOT
    ]
    assert offending == []


def test_no_package_imports_another_packages_private_name() -> None:
    offending = []
    for imp in IMPORTS:
        target = resolve(imp.target)
        if target is None or package_of(target) == package_of(imp.importer):
            continue
        private = [n for n in imp.names if n.startswith("_")]
        private += [p for p in imp.target.split(".") if p.startswith("_") and p != "__init__"]
        if private:
            offending.append(f"{imp.importer}:{imp.line} imports {imp.target}.{private[0]}")
    assert offending == []


def test_no_module_reaches_into_another_packages_private_attribute() -> None:
    """`from kpi.sample import generate as gen; gen._chunk(...)` is the same reach."""
    offending = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in MODULES:
                        aliases[alias.asname or alias.name] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in MODULES and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and package_of(aliases[node.value.id]) != package_of(name)
            ):
                offending.append(f"{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert offending == []


@pytest.mark.parametrize("layer", KPI_LAYERS)
def test_each_layer_of_the_analytic_core_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = KPI_MAY_IMPORT[layer] | {layer}
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if imp.importer.startswith(layer)
        and imp.target.startswith("kpi.")
        and not any(imp.target.startswith(ok) for ok in allowed)
    ]
    assert offending == []


def test_the_analytic_core_imports_no_other_package_of_the_project() -> None:
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if top_package(imp.importer) == "kpi"
        and top_package(imp.target) in PACKAGES
        and top_package(imp.target) != "kpi"
    ]
    assert offending == []


@pytest.mark.parametrize("package", ("cards", "rag_indexer", "news", "language"))
def test_cards_the_indexer_news_and_the_term_analysis_never_import_the_dialogs(
    package: str,
) -> None:
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if top_package(imp.importer) == package and top_package(imp.target) in ("dialogs", "bot")
    ]
    assert offending == []


def test_only_the_bot_reads_settings() -> None:
    offending = [
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if top_package(imp.importer) != "bot"
        and ("pydantic_settings" in imp.target or imp.target == "bot.settings")
    ]
    assert offending == []
