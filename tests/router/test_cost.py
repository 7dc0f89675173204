"""Decision cost does not grow with the number of idle agents or waiting callers.

The issue asks for O(log n) decisions: no scan of all agents or all callers. Wall-clock
timings are for bench/router.py; here the engine's work is counted instead, as the Python
lines it executes inside router/ per decision (heapq's C code counts as nothing, so a heap
push or pop is a constant). A scan over agents or callers would multiply the count by the
16x growth in pool size below; a logarithmic decision leaves it almost flat.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from router import BullseyeStep, Engine, Offer, QueueSpec, SkillRequirement, Strategy
from tests.router.helpers import agent, call, engine, of

ROUTER = str(Path(__file__).resolve().parents[2] / "router")
QUEUES = 8
SMALL, LARGE = 250, 4_000
SAMPLES = 25


def lines_run(action: Callable[..., Any], *args: Any, inside: str = ROUTER) -> tuple[int, Any]:
    """Run `action(*args)`; return the lines it ran in files under `inside`, and its result."""
    count = 0

    def local(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code.co_filename.startswith(inside) else None

    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        result = action(*args)
    finally:
        sys.settrace(previous)
    return count, result


def centre(strategy: Strategy, agents: int) -> Engine:
    """Queues with a skill rule and a bullseye step; each agent in three of them."""
    queues = [
        QueueSpec(
            f"q{i}",
            strategy=strategy,
            skills=(SkillRequirement(f"s{i}", 3),),
            bullseye=(BullseyeStep(after_s=60, min_proficiency=1),),
            wrap_up_s=0,
            offer_timeout_s=1e6,  # no timer fires between samples
        )
        for i in range(QUEUES)
    ]
    specs = [
        agent(
            f"a{n}",
            {f"q{(n + k) % QUEUES}": k for k in range(3)},
            **{f"s{(n + k) % QUEUES}": 1 + (n * 7 + k) % 10 for k in range(3)},
        )
        for n in range(agents)
    ]
    return engine(queues, specs, seed=3)


def arrival_cost(strategy: Strategy, agents: int) -> int:
    """Median lines per call arriving to a pool of `agents` idle agents."""
    e = centre(strategy, agents)
    for n in range(agents):
        e.agent_login(f"a{n}", 0)
        e.agent_ready(f"a{n}", float(n % 97))
    costs = []
    for i in range(SAMPLES):
        now = 100.0 + i
        arriving = call(f"c{i}", f"q{i % QUEUES}", now)
        cost, events = lines_run(e.call_arrived, arriving, now)
        costs.append(cost)
        assert len(of(Offer, events)) == 1, "every sample is a real decision"
    return int(statistics.median(costs))


def ready_cost(strategy: Strategy, callers: int) -> int:
    """Median lines per agent going ready with `callers` callers waiting."""
    e = centre(strategy, SAMPLES)
    for n in range(SAMPLES):
        e.agent_login(f"a{n}", 0)
    for i in range(callers):
        e.call_arrived(
            call(f"w{i}", f"q{i % QUEUES}", i * 0.001, tier=("standard", "gold")[i % 2]), i * 0.001
        )
    costs = []
    for n in range(SAMPLES):
        now = 30.0 + n
        cost, events = lines_run(e.agent_ready, f"a{n}", now)
        costs.append(cost)
        assert len(of(Offer, events)) == 1, "every sample is a real decision"
        # Keep the line as long as it was: a new caller for the one just offered.
        e.call_arrived(call(f"x{n}", f"q{n % QUEUES}", now), now)
    return int(statistics.median(costs))


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_call_arriving_costs_the_same_with_16_times_more_idle_agents(
    strategy: Strategy,
) -> None:
    small, large = arrival_cost(strategy, SMALL), arrival_cost(strategy, LARGE)
    assert large <= 1.5 * small, (small, large)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_an_agent_going_ready_costs_the_same_with_16_times_more_waiting_callers(
    strategy: Strategy,
) -> None:
    small, large = ready_cost(strategy, SMALL), ready_cost(strategy, LARGE)
    assert large <= 1.5 * small, (small, large)


def test_the_count_would_catch_a_scan() -> None:
    def scan(items: list[int]) -> int:
        total = 0
        for item in items:
            total += item
        return total

    here = str(Path(__file__).resolve())
    small, _ = lines_run(scan, list(range(SMALL)), inside=here)
    large, _ = lines_run(scan, list(range(LARGE)), inside=here)
    assert large > 10 * small
