"""crm_bridge keeps to its place in DESIGN.md: it may import `router` but no other package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CRM = Path(__file__).resolve().parents[2] / "crm_bridge"
OTHER_PACKAGES = {"telephony", "agents", "screenpop", "recording", "config"}
SOURCES = sorted(CRM.rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Return the top-level module names a source file imports (absolute imports only)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_sources_were_found() -> None:
    assert len(SOURCES) > 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CRM)))
def test_no_imports_of_other_packages(path: Path) -> None:
    assert imported_roots(path) & OTHER_PACKAGES == set()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CRM)))
def test_no_environment_reads(path: Path) -> None:
    assert "os.environ" not in path.read_text()
    assert "getenv" not in path.read_text()
