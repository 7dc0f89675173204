"""screenpop keeps to its place: crm_bridge's interface and router's domain types, nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCREENPOP = Path(__file__).resolve().parents[2] / "screenpop"
SOURCES = sorted(SCREENPOP.rglob("*.py"))
ALLOWED = {"crm_bridge.interface", "router.events", "router.intake", "screenpop.compose"}
PROJECT = {"router", "telephony", "crm_bridge", "agents", "recording", "config", "board", "admin"}


def project_imports(path: Path) -> set[str]:
    """Return the project modules a source file imports (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in PROJECT | {"screenpop"}}


def test_sources_were_found() -> None:
    assert len(SOURCES) >= 3


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_only_interfaces_and_domain_types_are_imported(path: Path) -> None:
    assert project_imports(path) - ALLOWED - {"screenpop.service"} == set()
