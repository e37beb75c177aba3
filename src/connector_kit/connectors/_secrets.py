"""Keeping credentials out of reprs, logs and error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# Field names whose values are credentials wherever they appear (config extras, kwargs).
_SECRET_NAME = re.compile(r"(api[_-]?key|token|secret|password|passwd|authorization|cookie)", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-trivial secret value in ``text`` with ``***``."""
    for value in secrets:
        if value and len(value) >= 4 and value in text:
            text = text.replace(value, MASK)
    return text
