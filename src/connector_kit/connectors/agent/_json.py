"""Total helpers for reading untrusted JSON: every function returns, none raises."""

from __future__ import annotations

import json
import math
from typing import Any


def dig(value: Any, *path: str | int) -> Any:
    """Follow ``path`` through dicts (str keys) and lists (int indexes); None if any step fails."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
    return value


def text_of(content: Any) -> str:
    """Readable text from a message ``content`` of any shape.

    Strings pass through; a list of parts (``[{"type": "text", "text": ...}]``, as Anthropic
    models return) is joined as text, never a Python repr; None is ""; other values are
    written as JSON so nothing is lost.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(part) for part in content)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
    return _json_text(content)


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and part.get("type", "text") in ("text", "output_text"):
        text = part.get("text")
        if isinstance(text, str):
            return text
    return ""


def _json_text(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return str(type(value).__name__)


def scalar_text(value: Any) -> str | None:
    """A string for scalar ids (str, int); None for containers and absent values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    return None


def dicts_only(value: Any) -> list[dict[str, Any]]:
    """The dict entries of a list (a lone dict counts as a list of one)."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []
