"""Load a routing config file into frozen objects, or refuse it with every problem at once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.advice import staffing_advice
from config.checks import overflow_loops
from config.issues import ConfigInvalid, ConfigIssue, issues_from_validation, sorted_issues
from config.schema import ContactCentreConfig
from config.yaml_source import YamlSyntaxError, count_lines, duplicate_keys, parse

log = logging.getLogger(__name__)


def validate_document(text: str, filename: str) -> ContactCentreConfig | list[ConfigIssue]:
    """Validate YAML text; return the config, or every issue found, in file order."""
    try:
        parsed = parse(text)
    except YamlSyntaxError as exc:
        line = min(exc.problem.line, count_lines(text))
        issues = [ConfigIssue(filename, line, exc.problem.path, exc.problem.message)]
        _log_refusal(filename, issues)
        return issues
    issues = [
        ConfigIssue(filename, problem.line, problem.path, problem.message)
        for problem in duplicate_keys(parsed.root)
    ]
    try:
        config = ContactCentreConfig.model_validate(parsed.data)
    except ValidationError as exc:
        issues.extend(issues_from_validation(exc, parsed, filename, ContactCentreConfig))
    else:
        # Whole-config checks need every field valid, so they follow the field checks.
        issues.extend(
            ConfigIssue(filename, parsed.line_of(path), path, message)
            for path, message in overflow_loops(config)
        )
    if issues:
        issues = sorted_issues(issues)
        _log_refusal(filename, issues)
        return issues
    return config


def validate_data(
    data: Mapping[str, Any], filename: str = "config.yaml"
) -> ContactCentreConfig | list[ConfigIssue]:
    """Validate plain data (say, from a JSON API) by the same rules as a file.

    The data is written out as YAML first, so there is one validation path and each issue's
    line points into that YAML (the form `dump_config` exports).
    """
    return validate_document(_to_yaml(data), filename)


def _to_yaml(data: object) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def advice_for(config: ContactCentreConfig, text: str, filename: str) -> list[ConfigIssue]:
    """Return staffing advice for a validated document's config, each with its line."""
    parsed = parse(text)
    return sorted_issues(
        ConfigIssue(filename, parsed.line_of(path), path, message)
        for path, message in staffing_advice(config)
    )


def _log_refusal(filename: str, issues: list[ConfigIssue]) -> None:
    # Lines and paths only: the messages quote values, which may be people's names. INFO, not
    # WARNING: validating drafts (check-config, the admin pages) refuses files routinely, and
    # whoever applies a config to a running system reports a refusal there.
    where = ", ".join(f"{issue.line}:{issue.dotted_path or '-'}" for issue in issues[:20])
    log.info("config %s refused with %d issue(s) at %s", filename, len(issues), where)


def load_config(path: str | PathLike[str]) -> ContactCentreConfig:
    """Read and validate a config file, raising ConfigInvalid with every issue.

    An unreadable file raises OSError, and a file that is not UTF-8 raises UnicodeDecodeError.
    """
    file = Path(path)
    result = validate_document(file.read_text(encoding="utf-8"), str(path))
    if isinstance(result, list):
        raise ConfigInvalid(result)
    return result


def dump_config(config: ContactCentreConfig) -> str:
    """Write a config back to YAML that loads to an equal config (for export)."""
    return _to_yaml(config.model_dump(mode="json", exclude_none=True))
