"""Parse YAML keeping its node tree, so any field path can be traced back to its line.

PyYAML's `compose()` keeps every node's start mark; we construct the plain data from the same
nodes and keep them to answer "which line is queues.sales.overflow.after_s on?".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

PathPart = str | int
FieldPath = tuple[PathPart, ...]

# PyYAML's own notion of a line break (its marks count lines this way, not like str.splitlines).
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def count_lines(text: str) -> int:
    """Return the number of lines in `text` as PyYAML counts them (at least 1)."""
    return len(_LINE_BREAK.findall(text)) + 1


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A syntax error, or a duplicate key, at a line (1-based) and path."""

    line: int
    path: FieldPath
    message: str


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    """The plain data of a document and its node tree (None for an empty document)."""

    data: object
    root: Node | None

    def line_of(self, path: Sequence[PathPart]) -> int:
        """Return the 1-based line of the deepest entry found along `path`.

        An entry in a mapping is placed on its key's line (for a block mapping or list the
        value starts a line later); an entry missing from the file falls back to its parent.
        """
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            key_node, node = found
            line = (key_node or node).start_mark.line
        return line + 1


def _scalar_key(node: Node) -> object:
    if not isinstance(node, ScalarNode):
        return None
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    # Construct the key as the loader would, so 1001 in the path matches the YAML key 1001.
    try:
        return _Loader("").construct_object(node)
    except yaml.YAMLError:
        return None


def _child(node: Node, part: PathPart) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in reversed(node.value):
            if isinstance(key_node, ScalarNode) and (
                key_node.value == part or _scalar_key(key_node) == part
            ):
                return key_node, value_node
    elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


def duplicate_keys(root: Node | None) -> Iterator[YamlProblem]:
    """Find keys given twice in one mapping (PyYAML silently keeps the last)."""
    stack: list[tuple[Node, FieldPath]] = [] if root is None else [(root, ())]
    visited: set[int] = set()
    while stack:
        node, path = stack.pop()
        # Aliases share nodes and may even form cycles: look at each node once.
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            seen: dict[object, int] = {}
            for key_node, value_node in node.value:
                key = _scalar_key(key_node) if isinstance(key_node, ScalarNode) else None
                if isinstance(key, str | int) and not isinstance(key, bool):
                    if key in seen:
                        yield YamlProblem(
                            key_node.start_mark.line + 1,
                            (*path, key),
                            f"duplicate key (first given on line {seen[key]})",
                        )
                    else:
                        seen[key] = key_node.start_mark.line + 1
                    stack.append((value_node, (*path, key)))
        elif isinstance(node, SequenceNode):
            stack.extend((child, (*path, index)) for index, child in enumerate(node.value))


class YamlSyntaxError(ValueError):
    """The text is not one well-formed YAML document."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """The safe loader, except that an impossible date stays text for validation to report."""

    def construct_yaml_timestamp(self, node: ScalarNode) -> object:  # type: ignore[override]
        # 2026-13-25 matches YAML's timestamp pattern but is no date; PyYAML would raise a
        # bare ValueError with no line. As text it reaches the schema, which names the field.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def parse(text: str) -> ParsedYaml:
    """Parse one YAML document with the safe loader, raising YamlSyntaxError with its line."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 1 if mark is None else mark.line + 1
        raise YamlSyntaxError(YamlProblem(line, (), _describe(exc))) from exc
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow: the error carries a position, not a mark.
        line = count_lines(text[: exc.position])
        message = f"YAML syntax error: character #x{exc.character:04x} is not allowed"
        raise YamlSyntaxError(YamlProblem(line, (), message)) from exc
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise YamlSyntaxError(YamlProblem(1, (), f"YAML syntax error: {message}")) from exc
    except RecursionError as exc:
        raise YamlSyntaxError(YamlProblem(1, (), "YAML nested too deeply")) from exc
    finally:
        if loader is not None:
            loader.dispose()
    return ParsedYaml(data, root)


def _describe(exc: yaml.MarkedYAMLError) -> str:
    detail = exc.problem or "malformed YAML"
    if exc.context:
        context = exc.context
        start, problem = exc.context_mark, exc.problem_mark
        began_elsewhere = start is not None and (problem is None or start.line != problem.line)
        if start is not None and began_elsewhere and context.startswith("while "):
            context += f" that starts on line {start.line + 1}"
        detail += f" ({context})"
    return f"YAML syntax error: {detail}"
