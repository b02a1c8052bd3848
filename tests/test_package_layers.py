"""The package's folders follow the flow spec → engine → sheet (write) → book (read back), with ops/
below them and the commands on top: every import, at module level or inside a function, points
down this order or stays in its own folder, and no two modules import each other, however
indirectly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sheetnet"

# lowest first; a module may import from its own rank or below
RANKS = {"base": 0, "ops": 1, "spec": 2, "engine": 3, "sheet": 4, "book": 5, "top": 6}
BASE = {"sheetnet.errors", "sheetnet.files", "sheetnet.limits", "sheetnet.i18n", "sheetnet.text"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank_of(module: str) -> str:
    if module in BASE:
        return "base"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in RANKS and parts[1] not in ("base", "top"):
        return parts[1]
    return "top"


def imports_of(path: Path) -> set[str]:
    """The sheetnet modules a file imports (``from .x import y`` counts x.y when that is a module)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("sheetnet"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("sheetnet"))
    return {m for m in found if m in MODULES and m != me}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {m: imports_of(p) for m, p in MODULES.items()}


def test_the_package_has_the_pipeline_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {"ops", "spec", "engine", "sheet", "book"} <= folders


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_pipeline(module):
    mine = RANKS[rank_of(module)]
    upward = sorted(t for t in GRAPH[module] if RANKS[rank_of(t)] > mine)
    assert not upward, f"{module} ({rank_of(module)}) imports from above: {upward}"


def test_nothing_imports_the_command_line():
    assert not [m for m, targets in GRAPH.items() if "sheetnet.cli" in targets]


def test_no_import_circles():
    """Depth-first search for a back edge; the package __init__ files only re-export their
    folder's modules, so edges into a folder's __init__ from inside that folder are circles too."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m):
        state[m] = 1
        path.append(m)
        for t in sorted(GRAPH[m]):
            if state.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(t):] + [t]))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
