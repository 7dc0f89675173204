"""The project's pytest settings behave as issue 2 asks, checked by running pytest on a probe.

A probe file runs under the project's own configuration (pyproject.toml), once with CI=true
and once without: async tests run without a marker, a warning fails its test, and a test
whose tool or service is missing fails under CI but is skipped (with its reason) elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio
import warnings

from tests.support import require_port, require_tool


async def test_async_runs_without_a_marker():
    assert asyncio.get_running_loop().is_running()


def test_a_warning_fails_the_test():
    warnings.warn("an old API", DeprecationWarning, stacklevel=1)


def test_missing_tool():
    require_tool("switchboard-no-such-tool")


def test_closed_port():
    require_port("127.0.0.1", {port}, "a service nobody runs")
"""


def closed_port() -> int:
    """Return a local TCP port nothing listens on."""
    return free_port()


def outcomes(tmp_path: Path, ci: bool) -> dict[str, tuple[str, str]]:
    """Run the probe with the project's configuration; return test -> (outcome, message)."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE.format(port=closed_port()), encoding="utf-8")
    report = tmp_path / f"report-{ci}.xml"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI"] = "true"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    command += ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    command += [f"--junitxml={report}", str(probe)]
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=90, check=False)
    found = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        result = next(iter(case), None)
        if result is None or result.tag in ("system-out", "system-err"):
            found[case.attrib["name"]] = ("passed", "")
        else:
            found[case.attrib["name"]] = (result.tag, result.attrib.get("message", ""))
    return found


def test_under_ci_a_missing_tool_or_service_fails(tmp_path: Path) -> None:
    found = outcomes(tmp_path, ci=True)
    assert found["test_async_runs_without_a_marker"][0] == "passed"
    assert found["test_a_warning_fails_the_test"][0] == "failure"
    assert found["test_missing_tool"][0] == "failure"
    assert (
        "required in CI: switchboard-no-such-tool is not installed"
        in (found["test_missing_tool"][1])
    )
    assert found["test_closed_port"][0] == "failure"
    assert "a service nobody runs" in found["test_closed_port"][1]


def test_elsewhere_a_missing_tool_or_service_skips_with_its_reason(tmp_path: Path) -> None:
    found = outcomes(tmp_path, ci=False)
    assert found["test_async_runs_without_a_marker"][0] == "passed"
    assert found["test_a_warning_fails_the_test"][0] == "failure"
    assert found["test_missing_tool"][0] == "skipped"
    assert "switchboard-no-such-tool is not installed" in found["test_missing_tool"][1]
    assert found["test_closed_port"][0] == "skipped"


def test_every_test_has_a_time_limit(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) > 0
