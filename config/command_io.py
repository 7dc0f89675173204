"""What the config commands share: read a config file, or say on stderr why not."""

from __future__ import annotations

import sys

from config.loader import validate_document
from config.schema import ContactCentreConfig

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def read_text(path: str) -> str | int:
    """Return the file's text, or say why it cannot be read and return EXIT_UNREADABLE."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"{path}: cannot read the file: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE


def validated(text: str, path: str) -> ContactCentreConfig | int:
    """Return the validated config, or print every issue to stderr and return EXIT_INVALID."""
    result = validate_document(text, path)
    if isinstance(result, list):
        for issue in result:
            print(issue, file=sys.stderr)
        return EXIT_INVALID
    return result


def read_config(path: str) -> ContactCentreConfig | int:
    """Return the validated config, or print every problem to stderr and return an exit code."""
    text = read_text(path)
    return text if isinstance(text, int) else validated(text, path)
