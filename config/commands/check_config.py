"""`switchboard check-config FILE`: validate a routing config before it goes live."""

from __future__ import annotations

import argparse
import sys

from config.command_io import EXIT_OK, read_text, validated
from config.loader import advice_for


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the check-config subcommand."""
    parser = subparsers.add_parser(
        "check-config",
        help="validate a routing config file",
        description="Validate a routing config: print every error with file, line and field "
        "(exit 1), or a one-line summary (exit 0) after any staffing warnings (queues nobody "
        "can serve, members who never qualify). An unreadable file exits 2.",
    )
    parser.add_argument("file", metavar="FILE", help="the YAML config file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the file and report: errors (exit 1), or a summary and any staffing advice."""
    path: str = args.file
    text = read_text(path)
    if isinstance(text, int):
        return text
    config = validated(text, path)
    if isinstance(config, int):
        return config
    advice = advice_for(config, text, path)
    for item in advice:
        print(
            f"{item.file}:{item.line}: warning: {item.dotted_path}: {item.message}", file=sys.stderr
        )
    warnings = f", {len(advice)} warning(s)" if advice else ""
    print(
        f"{path}: OK: {len(config.queues)} queues, {len(config.routes)} routes, "
        f"{len(config.agents)} agents, {len(config.skills)} skills{warnings}"
    )
    return EXIT_OK
