"""Staffing advice: queues nobody can serve and members who never qualify, with their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.advice import staffing_advice
from config.cli import main
from config.loader import load_config
from tests.config.helpers import BASE, EXAMPLE, config_of, edit, line_of


def test_the_example_needs_no_advice() -> None:
    assert staffing_advice(load_config(EXAMPLE)) == []


def test_base_support_queue_has_no_members() -> None:
    assert staffing_advice(config_of(BASE)) == [
        (("queues", "support"), "no agent can ever take these calls: no agent lists this queue")
    ]


def test_bullseye_widening_counts_as_qualifying() -> None:
    # Ann's sales 2 is under the queue's 3, but the first bullseye step lowers it to 1.
    text = edit("    skills: {sales: 5}", "    skills: {sales: 2}")
    assert (("queues", "sales"),) not in [item[:1] for item in staffing_advice(config_of(text))]
    without_step = edit("      - {after_s: 30, min_proficiency: 1}", "      - {after_s: 30}", text)
    assert [path for path, _ in staffing_advice(config_of(without_step))] == [
        ("queues", "sales"),
        ("queues", "support"),
        ("agents", "ann", "queues", "sales"),
    ]


def test_check_config_prints_advice_as_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = edit("    skills: {sales: 5}", "    skills: {english: 9}")
    text = edit("    queues: {sales: 1}", "    queues: {sales: 1, support: 1}", text)
    text = edit(
        "    out_of_hours: {voicemail: sales}",
        "    out_of_hours: {voicemail: sales}\n    preferred_agent: ann",
        text,
    )
    file = tmp_path / "centre.yaml"
    file.write_text(text, encoding="utf-8")
    assert main(["check-config", str(file)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{file}: OK: 2 queues, 1 routes, 1 agents, 2 skills, 3 warning(s)\n"
    queue_line = text.splitlines().index("  sales:", 4) + 1
    assert err.splitlines() == [
        f"{file}:{queue_line}: warning: queues.sales: no agent can ever take "
        "these calls: no member meets the skills at any bullseye step",
        f"{file}:{line_of(text, 'preferred_agent')}: warning: routes.main.preferred_agent: ann "
        "can never take calls from queue sales, so the preference has no effect",
        f"{file}:{line_of(text, 'support: 1')}: warning: agents.ann.queues.sales: this agent "
        "never qualifies for the queue at any bullseye step (it needs sales 3)",
    ]
