"""`switchboard check-config FILE`: validate a routing config before it goes live."""

from __future__ import annotations

import argparse

from config.command_io import EXIT_OK, read_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the check-config subcommand."""
    parser = subparsers.add_parser(
        "check-config",
        help="validate a routing config file",
        description="Validate a routing config: print every error with file, line and field "
        "(exit 1), or a one-line summary (exit 0). An unreadable file exits 2.",
    )
    parser.add_argument("file", metavar="FILE", help="the YAML config file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the file and report."""
    config = read_config(args.file)
    if isinstance(config, int):
        return config
    print(
        f"{args.file}: OK: {len(config.queues)} queues, {len(config.routes)} routes, "
        f"{len(config.agents)} agents, {len(config.skills)} skills"
    )
    return EXIT_OK
