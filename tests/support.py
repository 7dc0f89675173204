"""Test helpers for real external peers: required in CI, skipped with a reason elsewhere."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Fail under CI (a missing tool must fail the run), skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Return the path of an external program, or fail/skip when it is missing."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (make test installs it)")
    assert path is not None
    return path


def require_port(host: str, port: int, what: str) -> None:
    """Check a TCP service answers, or fail/skip when it does not."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        unavailable(f"{what} at {host}:{port} is not reachable: {exc}")
