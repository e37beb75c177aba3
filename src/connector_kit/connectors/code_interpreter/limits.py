"""MontyLimits: the limits one Monty execution runs under, and their memo per connector.

Every execution gets a time limit (call ``timeout`` > ``config.timeout`` > 120 s), a host-side
kill after it, a heap limit, a cap on real sleeping and a recursion depth. Resolving them
validates the timeout (a bad one raises :class:`ConnectorConfigError` before anything runs),
which costs about a microsecond; :class:`LimitsMemo` keeps the result per input, so a batch of
tiny snippets does not pay it per run (``benchmarks/monty.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pydantic_monty

_MEMO_SIZE = 64


@dataclass(frozen=True)
class MontyLimits:
    """The limits one execution runs under (see :meth:`MontyConnector.resolve_limits`)."""

    timeout_secs: float
    """``max_feed_duration_secs``: the sandbox raises ``TimeoutError`` past it."""
    kill_after_secs: float
    """Host-side backstop: the worker is killed this long after the feed started running."""
    max_memory_bytes: int
    max_total_sleep_secs: float
    max_recursion_depth: int | None

    def resource_limits(self) -> pydantic_monty.ResourceLimits:
        """The ``pydantic_monty.ResourceLimits`` passed to ``checkout()``."""
        limits: pydantic_monty.ResourceLimits = {
            "max_feed_duration_secs": self.timeout_secs,
            "max_memory": self.max_memory_bytes,
            "max_total_sleep_secs": self.max_total_sleep_secs,
        }
        if self.max_recursion_depth is not None:
            limits["max_recursion_depth"] = self.max_recursion_depth
        return limits


Resolved = tuple[MontyLimits, "pydantic_monty.ResourceLimits"]


class LimitsMemo:
    """Resolved limits keyed on every input they depend on (the call's timeout and the
    connector fields), so a changed field is never served stale limits.

    ``compute`` validates; it raises before anything is stored, so a bad timeout raises on
    every call. Unhashable or non-numeric inputs are computed (and so explained) each time.
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], Resolved] = {}

    def get(self, key: tuple[Any, ...], compute: Callable[[Any], MontyLimits]) -> Resolved:
        """The limits for ``key`` (its first item is the call's timeout, passed to ``compute``)."""
        timeout = key[0]
        if timeout is not None and type(timeout) not in (int, float):
            limits = compute(timeout)  # raises: not a number
            return limits, limits.resource_limits()
        entries = self._entries
        try:
            hit = entries.get(key)
        except TypeError:  # an unhashable config value: let validation explain it
            limits = compute(timeout)
            return limits, limits.resource_limits()
        if hit is not None:
            return hit
        limits = compute(timeout)  # raises before anything is cached
        entry = (limits, limits.resource_limits())
        if len(entries) >= _MEMO_SIZE:
            entries.clear()
        entries[key] = entry
        return entry


__all__ = ["LimitsMemo", "MontyLimits"]
