"""`switchboard add-user`: create a user who can sign in."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from agents import MIGRATIONS_DIR, VERSION_TABLE, Role, User, UserDirectory, UserError
from agents.passwords import Passwords
from config.database import create_engine, upgrade
from config.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `add-user` subcommand."""
    parser = subparsers.add_parser(
        "add-user",
        help="create a user who can sign in",
        description=(
            "Create a user. The password is asked for on the terminal, or read as one line "
            "from standard input with --password-stdin; it is never taken as an argument."
        ),
    )
    parser.add_argument("username")
    parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    parser.add_argument("--agent-id", help="the router's agent id, for users who take calls")
    parser.add_argument("--name", help="the name shown in pages (default: the username)")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    parser.add_argument("--data-dir", type=Path, help="where the embedded store lives")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: SQLite)")
    parser.set_defaults(handler=run)


def read_password(from_stdin: bool, stdin: TextIO) -> str:
    """Return the password from standard input or a terminal prompt; raise ValueError if none."""
    if from_stdin:
        line = stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    if not stdin.isatty():
        raise ValueError("no terminal to ask for the password on; use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def create_user(settings: Settings, args: argparse.Namespace, password: str) -> User:
    """Migrate the user tables if needed and create the user."""
    engine = create_engine(settings.effective_database_url())
    try:
        await upgrade(engine, MIGRATIONS_DIR, VERSION_TABLE)
        directory = UserDirectory(engine, Passwords())
        return await directory.create(
            args.username,
            password,
            Role(args.role),
            display_name=args.name,
            agent_id=args.agent_id,
        )
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    """Create the user; print what went wrong and return 1 when it cannot be created."""
    try:
        settings = load_settings(os.environ, data_dir=args.data_dir, database_url=args.database_url)
    except ValidationError as exc:
        print(f"add-user: bad settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        password = read_password(args.password_stdin, sys.stdin)
    except (ValueError, EOFError) as exc:
        print(f"add-user: {exc}", file=sys.stderr)
        return 1
    try:
        user = asyncio.run(create_user(settings, args, password))
    except UserError as exc:
        print(f"add-user: {exc.field}: {exc.message}", file=sys.stderr)
        return 1
    print(f"created user {user.username} ({user.role.value})")
    return 0
