"""Cutting a failing JSON input down to a minimal one (after Hypothesis' own shrinking)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from .jsonpaths import JsonPath, get_at, replace_at, slots


def _size(value: Any) -> int:
    try:
        return len(json.dumps(value))
    except (ValueError, RecursionError):
        return 1 << 60


def _candidates(value: Any, path: JsonPath, keep_object: bool) -> Iterator[Any]:
    node = get_at(value, path)
    if path:
        yield replace_at(value, path, None, delete=True)
    if isinstance(node, (dict, list)) and node:
        for child in (node.values() if isinstance(node, dict) else node):
            if not (keep_object and not path and not isinstance(child, dict)):
                yield replace_at(value, path, child)
        yield replace_at(value, path, type(node)())
    if path:
        if isinstance(node, str) and node:
            yield replace_at(value, path, "")
            half = len(node) // 2
            if half:
                yield replace_at(value, path, node[:half])
                yield replace_at(value, path, node[half:])
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and math.isfinite(node):
            yield replace_at(value, path, 0)
        yield replace_at(value, path, None)


def reduce_json(value: Any, still_fails: Callable[[Any], bool], *, budget: int = 3000,
                keep_object: bool = True) -> Any:
    """Greedily cut ``value`` down while ``still_fails`` holds: delete keys and items, hoist
    children, empty containers, halve strings. Each accepted step makes the JSON text strictly
    shorter, so it ends; ``budget`` bounds the number of ``still_fails`` calls."""
    current = value
    current_size = _size(current)
    index = 0
    improved_in_pass = False
    while budget > 0:
        places = [(), *slots(current)]
        if index >= len(places):
            if not improved_in_pass:
                break
            index, improved_in_pass = 0, False  # another pass: earlier cuts may now work
            continue
        improved = False
        for candidate in _candidates(current, places[index], keep_object):
            size = _size(candidate)
            if size >= current_size:
                continue
            budget -= 1
            if still_fails(candidate):
                current, current_size, improved = candidate, size, True
                break
            if budget <= 0:
                break
        if improved:
            improved_in_pass = True
        else:
            index += 1
    return current
