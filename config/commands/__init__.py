"""Subcommands of `switchboard`: each module defines `register(subparsers)`."""
