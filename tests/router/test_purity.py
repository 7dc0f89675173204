"""The routing core stays pure: standard library only, and no I/O or concurrency modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROUTER = Path(__file__).resolve().parents[2] / "router"
FORBIDDEN = {
    "asyncio",
    "socket",
    "selectors",
    "ssl",
    "threading",
    "multiprocessing",
    "subprocess",
    "concurrent",
    "http",
    "urllib",
    "sqlite3",
    "time",
}


def imported_roots(path: Path) -> set[str]:
    """Return the top-level module names a source file imports (absolute imports only)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


SOURCES = sorted(ROUTER.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROUTER)))
def test_router_module_imports_only_pure_stdlib(path: Path) -> None:
    roots = imported_roots(path)
    outside = {r for r in roots if r not in sys.stdlib_module_names and r != "router"}
    assert not outside, f"{path.name} imports non-stdlib modules {sorted(outside)}"
    io = roots & FORBIDDEN
    assert not io, f"{path.name} imports I/O or concurrency modules {sorted(io)}"


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom sqlalchemy import select\n")
    assert imported_roots(bad) == {"asyncio", "sqlalchemy"}
