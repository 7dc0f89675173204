"""Whole-config checks that no single field can make: overflow chains must not loop.

A caller sent from queue A to B and from B back to A would bounce for ever, and with
zero-second limits (nobody logged in) it would bounce within one instant.
"""

from __future__ import annotations

from collections.abc import Iterator

from config.schema import ContactCentreConfig, Destination, Queue
from config.yaml_source import FieldPath


def _queue_exits(queue: Queue) -> Iterator[tuple[FieldPath, Destination]]:
    limits = queue.limits
    if limits.max_length is not None:
        yield ("limits", "max_length", "to", "queue"), limits.max_length.to
    if limits.no_agents is not None:
        yield ("limits", "no_agents", "to", "queue"), limits.no_agents.to
    if queue.overflow is not None:
        yield ("overflow", "to", "queue"), queue.overflow.to


def overflow_loops(config: ContactCentreConfig) -> list[tuple[FieldPath, str]]:
    """Return (path, message) for each destination that closes a loop of queues."""
    edges = {
        queue_id: [(path, dest.queue) for path, dest in _queue_exits(queue) if dest.queue]
        for queue_id, queue in config.queues.items()
    }
    problems: list[tuple[FieldPath, str]] = []
    reported: set[frozenset[str]] = set()
    for start in config.queues:
        # Depth-first over the (tiny) queue graph. Each entry carries the chain so far and the
        # first hop out of `start` (its path and target), which is where a loop is reported.
        stack: list[tuple[str, tuple[str, ...], tuple[FieldPath, str] | None]] = [
            (start, (start,), None)
        ]
        while stack:
            here, chain, first_hop = stack.pop()
            for path, target in edges.get(here, []):
                hop = first_hop or (("queues", start, *path), target)
                if target == start:
                    loop = frozenset(chain)
                    if loop not in reported:
                        reported.add(loop)
                        route = " -> ".join((*chain, start))
                        message = (
                            f"expected a queue that does not lead back here ({route}), "
                            f'got "{hop[1]}"'
                        )
                        problems.append((hop[0], message))
                elif target not in chain and target in edges:
                    stack.append((target, (*chain, target), hop))
    return problems
