"""Structural differences between two JSON values, as readable one-line entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    path: str
    kind: str  # "changed" | "added" | "removed" | "type"
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        where = self.path or "(root)"
        if self.kind == "added":
            return f"{where}: added {_short(self.after)}"
        if self.kind == "removed":
            return f"{where}: removed (was {_short(self.before)})"
        if self.kind == "type":
            return (f"{where}: type {_kind(self.before)} -> {_kind(self.after)} "
                    f"({_short(self.before)} -> {_short(self.after)})")
        return f"{where}: {_short(self.before)} -> {_short(self.after)}"


def diff(before: Any, after: Any, path: str = "", *, limit: int = 50) -> list[Difference]:
    out: list[Difference] = []
    _walk(before, after, path, out, limit)
    return out


def _walk(a: Any, b: Any, path: str, out: list[Difference], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a:
            sub = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(Difference(sub, "removed", before=a[key]))
            else:
                _walk(a[key], b[key], sub, out, limit)
        for key in b:
            if key not in a:
                out.append(Difference(f"{path}.{key}" if path else str(key), "added", after=b[key]))
        return
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            sub = f"{path}[{index}]"
            if index >= len(a):
                out.append(Difference(sub, "added", after=b[index]))
            elif index >= len(b):
                out.append(Difference(sub, "removed", before=a[index]))
            else:
                _walk(a[index], b[index], sub, out, limit)
        return
    if _kind(a) != _kind(b):
        out.append(Difference(path, "type", a, b))
    elif a != b:
        out.append(Difference(path, "changed", a, b))


def shape(value: Any) -> Any:
    """The type skeleton of a JSON value (keys and leaf types), for drift reports."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        # A list's shape is the union of its items' shapes; lengths are not structure.
        merged: dict[str, Any] = {}
        for item in value:
            merged[_kind(item)] = shape(item) if isinstance(item, (dict, list)) else _kind(item)
        return [merged[k] for k in sorted(merged)]
    return _kind(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
