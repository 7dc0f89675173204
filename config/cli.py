"""The `switchboard` command line: one subcommand per module in `config.commands`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Protocol

import config.commands


class CommandModule(Protocol):
    """What a module in `config.commands` provides."""

    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Add the subcommand's parser and set `handler` on it."""


Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand found in `config.commands`."""
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Discovery rather than a hand-kept list, so that adding a command touches one new file.
    for info in sorted(pkgutil.iter_modules(config.commands.__path__), key=lambda m: m.name):
        module: CommandModule = importlib.import_module(f"config.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
