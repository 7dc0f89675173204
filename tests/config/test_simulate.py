"""`switchboard simulate`: the real engine on the example config, one table row per queue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.cli import main
from tests.config.helpers import BASE, EXAMPLE

QUEUES = ["sales", "support", "vip_care", "billing"]
ROOT = EXAMPLE.parents[1]


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["simulate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_same_seed_prints_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    args = (str(EXAMPLE), "--minutes", "20", "--calls-per-minute", "40", "--seed", "1")
    first = simulate(capsys, *args)
    second = simulate(capsys, *args)
    assert first == second
    code, out, err = first
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("simulated 20 min at 40 calls/min, seed 1: ")
    assert lines[1].split() == [
        "queue",
        "offered",
        "answered",
        "abandoned",
        "overflowed",
        *("service", "level"),
        "target",
        "ASA",
        *("abandon", "rate"),
        "occupancy",
    ]
    assert [line.split()[0] for line in lines[2:6]] == QUEUES
    targets = {"sales": "20 s 80%", "support": "60 s 70%", "vip_care": "10 s 90%"}
    for row in lines[2:6]:
        queue, offered, answered, abandoned, overflowed, *rest = row.split()
        # Every caller who entered a queue left it exactly one way by the end of the run.
        assert int(offered) == int(answered) + int(abandoned) + int(overflowed)
        if queue in targets:
            assert " ".join(rest[2:5]) == targets[queue]
    assert lines[6].startswith("agent occupancy overall ")
    assert lines[-1] == (
        "offered load 160.0 Erlangs (40 calls/min x 240 s mean handle) for 12 agents"
    )


def test_another_seed_gives_other_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    base = (str(EXAMPLE), "--minutes", "10", "--calls-per-minute", "20")
    one = simulate(capsys, *base, "--seed", "1")
    two = simulate(capsys, *base, "--seed", "2")
    assert one[0] == two[0] == 0
    assert one[1] != two[1]


def test_shares_send_all_calls_to_the_named_queue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = simulate(
        capsys, str(EXAMPLE), "--minutes", "10", "--calls-per-minute", "2", "--share", "billing=1"
    )
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:6]}
    total = int(out.splitlines()[0].rsplit(": ", 1)[1].split()[0])
    assert total > 0
    assert int(rows["billing"][1]) == total
    assert [rows[q][1] for q in ("sales", "support", "vip_care")] == ["0", "0", "0"]


def test_no_traffic_means_no_calls(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = simulate(capsys, str(EXAMPLE), "--minutes", "5", "--calls-per-minute", "0")
    assert code == 0
    assert out.splitlines()[0].endswith(": 0 calls")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--share", "nowhere=1"], "--share nowhere=1: expected QUEUE=WEIGHT with one of sales"),
        (["--share", "sales=0"], "--share: at least one queue needs a weight above 0"),
        (["--vip-tier", "diamond"], "--vip-tier diamond: expected one of platinum, gold"),
    ],
)
def test_bad_traffic_flags_are_refused(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = simulate(capsys, str(EXAMPLE), "--minutes", "1", *flags)
    assert (code, out) == (1, "")
    assert message in err


def test_bad_flag_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", str(EXAMPLE), "--vip-share", "1.5"])
    assert exited.value.code == 2
    assert "expected a fraction from 0 to 1, got 1.5" in capsys.readouterr().err


def test_invalid_config_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(BASE.replace("    skills: {sales: 5}", "    skills: {sales: 0}"), "utf-8")
    code, out, err = simulate(capsys, str(file))
    assert (code, out) == (1, "")
    assert "agents.ann.skills.sales: expected a proficiency" in err
    assert simulate(capsys, str(tmp_path / "missing.yaml"))[0] == 2


def test_config_without_queues_is_refused_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "empty.yaml"
    file.write_text("version: 1\nqueues: {}\n", "utf-8")
    code, out, err = simulate(capsys, str(file))
    assert (code, out) == (1, "")
    assert err == f"switchboard simulate: {file} defines no queues to call\n"


def test_no_answer_share_of_one_is_refused_by_the_router(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = simulate(capsys, str(EXAMPLE), "--minutes", "1", "--no-answer-share", "1")
    assert (code, out) == (1, "")
    assert err.startswith("switchboard simulate: ")
    assert "no_answer_share" in err


def simulate_example_command() -> list[str]:
    """Return the simulation `make run` ran before it became the demo: an hour of the example."""
    switchboard = str(Path(sys.executable).parent / "switchboard")
    flags = ["--minutes", "60", "--calls-per-minute", "2", "--seed", "1"]
    return [switchboard, "simulate", "config/example.yaml", *flags]


def test_simulating_the_example_prints_the_same_report_in_every_process() -> None:
    """An hour of the example simulated: the report is the same in a fresh process whatever
    Python's string-hash seed (set or dict order leaking into decisions would change it)."""
    command = simulate_example_command()
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False
        )
        assert (done.returncode, done.stderr) == (0, "")
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    lines = outputs[0].splitlines()
    assert lines[0].startswith("simulated 60 min at 2 calls/min, seed 1: ")
    assert [line.split()[0] for line in lines[2:6]] == QUEUES
