"""`switchboard check-config FILE`: validate a routing config before it goes live."""

from __future__ import annotations

import argparse
import sys

from config.loader import validate_document

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


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
    filename: str = args.file
    try:
        with open(filename, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{filename}: cannot read the file: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE
    result = validate_document(text, filename)
    if isinstance(result, list):
        for issue in result:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    print(
        f"{filename}: OK: {len(result.queues)} queues, {len(result.routes)} routes, "
        f"{len(result.agents)} agents, {len(result.skills)} skills"
    )
    return EXIT_OK
