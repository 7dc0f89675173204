"""`switchboard simulate CONFIG`: try a routing config on synthetic traffic before it goes live."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from config.command_io import EXIT_INVALID, EXIT_OK, read_config
from config.compile import to_router
from config.schema import ContactCentreConfig
from router.simulation import SimulationReport, TrafficSpec, simulate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the simulate subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="run the routing engine on synthetic traffic and print figures per queue",
        description="Run the real routing engine on synthetic traffic (Poisson arrivals, "
        "exponential handle and patience times, a VIP share) and print service level, ASA, "
        "abandon rate and occupancy per queue. The same seed prints the same report.",
    )
    parser.add_argument("config", metavar="CONFIG", help="the YAML routing config")
    parser.add_argument("--minutes", type=_positive, default=60.0, help="arrival window")
    parser.add_argument(
        "--calls-per-minute", type=_non_negative, default=40.0, help="arrival rate, all queues"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--share",
        action="append",
        default=[],
        metavar="QUEUE=WEIGHT",
        help="relative share of calls for a queue (repeat; default: equal shares)",
    )
    parser.add_argument("--vip-share", type=_fraction, default=0.1, help="share of VIP callers")
    parser.add_argument(
        "--vip-tier", default=None, help="tier of VIP callers (default: the highest boost)"
    )
    parser.add_argument("--mean-handle-s", type=_positive, default=240.0)
    parser.add_argument("--mean-patience-s", type=_positive, default=180.0)
    parser.add_argument(
        "--no-answer-share",
        type=_fraction,
        default=0.0,
        help="share of offers left to ring out (shows RONA)",
    )
    parser.set_defaults(handler=run)


def _number(text: str, accept: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < accept:
        raise argparse.ArgumentTypeError(f"expected a number of at least {accept:g}, got {text}")
    return value


def _positive(text: str) -> float:
    value = _number(text, 0.0)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive number, got 0")
    return value


def _non_negative(text: str) -> float:
    return _number(text, 0.0)


def _fraction(text: str) -> float:
    value = _number(text, 0.0)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text}")
    return value


def parse_shares(items: Sequence[str], queues: Sequence[str]) -> dict[str, float]:
    """Parse QUEUE=WEIGHT items, refusing unknown queues and bad weights with a clear message."""
    shares: dict[str, float] = {}
    for item in items:
        queue, sep, weight = item.partition("=")
        if not sep or queue not in queues:
            raise ValueError(
                f"--share {item}: expected QUEUE=WEIGHT with one of {', '.join(queues)}"
            )
        try:
            shares[queue] = _number(weight, 0.0)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"--share {item}: {exc}") from None
    if shares and not any(shares.values()):
        raise ValueError("--share: at least one queue needs a weight above 0")
    return shares


def traffic_for(args: argparse.Namespace, config: ContactCentreConfig) -> TrafficSpec:
    """Build the traffic description from the flags, checked against the config."""
    tiers = dict(config.tiers)
    vip_tier: str | None = args.vip_tier
    if vip_tier is None:
        vip_tier = max(tiers, key=lambda name: tiers[name]) if tiers else "standard"
    elif vip_tier not in tiers:
        raise ValueError(f"--vip-tier {vip_tier}: expected one of {', '.join(tiers)}")
    return TrafficSpec(
        queue_shares=parse_shares(args.share, list(config.queues)),
        mean_handle_s=args.mean_handle_s,
        mean_patience_s=args.mean_patience_s,
        vip_share=args.vip_share,
        vip_tier=vip_tier,
        no_answer_share=args.no_answer_share,
    )


COLUMNS = (
    ("queue", "<"),
    ("offered", ">"),
    ("answered", ">"),
    ("abandoned", ">"),
    ("overflowed", ">"),
    ("service level", ">"),
    ("target", ">"),
    ("ASA", ">"),
    ("abandon rate", ">"),
    ("occupancy", ">"),
)


def _percent(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def render(
    report: SimulationReport,
    config: ContactCentreConfig,
    traffic: TrafficSpec,
    agents: int,
) -> str:
    """Format the report: one row per queue, then occupancy and the offered load."""
    rows = [tuple(name for name, _ in COLUMNS)]
    for stats in report.queues:
        queue = config.queues[stats.queue_id]
        rows.append(
            (
                stats.queue_id,
                str(stats.entered),
                str(stats.answered),
                str(stats.abandoned),
                str(stats.overflowed),
                f"{_percent(stats.service_level)} in {stats.sl_threshold_s:g} s",
                f"{queue.service_level.target_percent:g}%",
                "-" if stats.asa_s is None else f"{stats.asa_s:.1f} s",
                _percent(stats.abandon_rate, 1),
                _percent(stats.occupancy),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    table = [
        "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(row, COLUMNS, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    # Offered load in Erlangs: how many agents the traffic would keep busy all the time.
    erlangs = report.calls_per_minute * traffic.mean_handle_s / 60
    return "\n".join(
        [
            f"simulated {report.minutes:g} min at {report.calls_per_minute:g} calls/min, "
            f"seed {report.seed}: {report.calls} calls",
            *table,
            f"agent occupancy overall {_percent(report.occupancy)}",
            f"offered load {erlangs:.1f} Erlangs ({report.calls_per_minute:g} calls/min x "
            f"{traffic.mean_handle_s:g} s mean handle) for {agents} agents",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Load, compile and simulate, then print the table."""
    config = read_config(args.config)
    if isinstance(config, int):
        return config
    if not config.queues:
        print(f"switchboard simulate: {args.config} defines no queues to call", file=sys.stderr)
        return EXIT_INVALID
    queues, agents, tiers = to_router(config)
    try:
        traffic = traffic_for(args, config)
        report = simulate(
            queues, agents, tiers, traffic, args.minutes, args.calls_per_minute, args.seed
        )
    except ValueError as exc:
        # The router refuses inputs it cannot simulate (e.g. an impossible traffic mix).
        print(f"switchboard simulate: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(render(report, config, traffic, len(agents)))
    return EXIT_OK
