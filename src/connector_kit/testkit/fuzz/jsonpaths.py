"""Paths into JSON values: every node's path, reading and replacing at a path, deep copies.

Shared by the mutations (which change a real response at a path), the reducer (which cuts a
failing input down path by path) and the properties (which look for a repr of a node).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: A path from the root of a JSON value to one of its nodes: object keys and list indexes.
JsonPath = tuple[str | int, ...]


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (NaN, lone surrogates and ~900 levels of nesting survive)."""
    return json.loads(json.dumps(value))


def slots(value: Any, limit: int = 5000) -> list[JsonPath]:
    """Paths to every node below the root, shallowest first (iterative: deep nesting is fine)."""
    found: list[JsonPath] = []
    queue: list[tuple[JsonPath, Any]] = [((), value)]
    index = 0
    while index < len(queue) and len(found) < limit:
        path, node = queue[index]
        index += 1
        children: Iterator[tuple[str | int, Any]]
        if isinstance(node, dict):
            children = iter(node.items())
        elif isinstance(node, list):
            children = iter(enumerate(node))
        else:
            continue
        for key, child in children:
            found.append((*path, key))
            queue.append(((*path, key), child))
    return found


def get_at(value: Any, path: JsonPath) -> Any:
    for step in path:
        value = value[step]
    return value



def replace_at(value: Any, path: JsonPath, new: Any, *, delete: bool = False) -> Any:
    """A copy of ``value`` with the node at ``path`` replaced (or deleted); spine-only copying."""
    if not path:
        return new
    spine = [value]
    for step in path[:-1]:
        spine.append(spine[-1][step])
    node: Any = None
    for depth in range(len(path) - 1, -1, -1):
        container = spine[depth]
        step = path[depth]
        copied: Any = dict(container) if isinstance(container, dict) else list(container)
        if depth == len(path) - 1:
            if delete:
                del copied[step]
            else:
                copied[step] = new
        else:
            copied[step] = node
        node = copied
    return node

