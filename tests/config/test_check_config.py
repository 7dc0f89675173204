"""`switchboard check-config`: summary (exit 0), every error on stderr (1), unreadable (2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.cli import main
from tests.config.helpers import BASE, EXAMPLE, edit, line_of


def test_good_file_prints_a_one_line_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: OK: 4 queues, 6 routes, 12 agents, 8 skills\n"
    assert err == ""


def test_bad_file_prints_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edit("    skills: {sales: 5}", "    skills: {sales: 50, french: 1}")
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    assert main(["check-config", str(file)]) == 1
    out, err = capsys.readouterr()
    line = line_of(text, "sales: 50")
    assert out == ""
    assert err.splitlines() == [
        f"{file}:{line}: agents.ann.skills.french: expected a skill defined under skills "
        '(english, sales), got "french"',
        f"{file}:{line}: agents.ann.skills.sales: expected a proficiency, a whole number "
        "from 1 to 10, got 50",
    ]


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8"])
def test_unreadable_file_exits_2(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "centre.yaml"
    if kind == "directory":
        target.mkdir()
    elif kind == "not-utf8":
        target.write_bytes(b"version: 1\nname: \xff\xfe\n")
    assert main(["check-config", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{target}: cannot read the file: ")
    assert len(err.splitlines()) == 1


def test_installed_command_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("switchboard")
    assert script.exists(), "the console script is installed by `pip install -e .`"
    good = subprocess.run(
        [str(script), "check-config", str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert (good.returncode, good.stderr) == (0, "")
    assert "4 queues, 6 routes, 12 agents, 8 skills" in good.stdout
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BASE.replace("version: 1", "version: one"), encoding="utf-8")
    bad = subprocess.run(
        [str(script), "check-config", str(bad_file)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert bad.stderr == f'{bad_file}:1: version: expected one of 1, got "one"\n'
