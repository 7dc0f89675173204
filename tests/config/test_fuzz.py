"""Random damage to the example document never crashes the loader.

Whatever the mutation, the result is either a config or a non-empty list of issues, each
with a line inside the file and a printable message.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.issues import ConfigIssue
from config.loader import dump_config, validate_document
from config.schema import ContactCentreConfig
from config.yaml_source import count_lines
from tests.config.helpers import EXAMPLE

TEXT = EXAMPLE.read_text(encoding="utf-8")
LINES = TEXT.splitlines()
DATA: dict[str, Any] = yaml.safe_load(TEXT)

# Few examples per run keep the suite inside its time budget (pure-Python YAML parsing is
# ~30 ms per document); hypothesis's database replays any failure it has found before.
FUZZ = settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
    st.sampled_from(["sales", "support", "vip_care", "english", "1001", "09:00-17:00", "ten"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def check(text: str) -> ContactCentreConfig | list[ConfigIssue]:
    result = validate_document(text, "fuzz.yaml")
    if isinstance(result, list):
        assert result, "a refusal carries at least one issue"
        last = count_lines(text)
        for issue in result:
            assert issue.file == "fuzz.yaml"
            assert 1 <= issue.line <= last, (issue, last)
            assert str(issue).startswith(f"fuzz.yaml:{issue.line}: ")
            assert issue.message
    return result


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "duplicate", "insert", "replace", "indent", "dedent"]),
            st.integers(min_value=0, max_value=len(LINES) - 1),
            st.text(max_size=20),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_line_mutations_never_crash(edits: list[tuple[str, int, str]]) -> None:
    lines = list(LINES)
    for action, index, junk in edits:
        index %= len(lines) or 1
        if not lines:
            lines.append(junk)
        elif action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "insert":
            lines.insert(index, junk)
        elif action == "replace":
            line = lines[index]
            cut = len(line) // 2
            lines[index] = line[:cut] + junk + line[cut + len(junk) :]
        elif action == "indent":
            lines[index] = "  " + lines[index]
        else:
            lines[index] = lines[index][2:]
    check("\n".join(lines) + "\n")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(DATA)[1:]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3))
def test_value_mutations_never_crash(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = copy.deepcopy(DATA)
    for path, value in changes:
        parent = data
        for part in path[:-1]:
            if not isinstance(parent, dict | list):
                break
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(parent, dict) or (
                isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent)
            ):
                parent[path[-1]] = value
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    result = check(text)
    if not isinstance(result, list):
        assert validate_document(dump_config(result), "again.yaml") == result


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    check(text)
