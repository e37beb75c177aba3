"""Volatile values (ids, timestamps, ports): one rule list per connector, used everywhere.

The same :class:`Normalizer` serves three purposes, so they can never disagree:

- ``canonicalize`` rewrites a recording before it is saved: the k-th distinct UUID becomes
  ``00000000-0000-4000-8000-<k>``, timestamps a fixed placeholder, the server origin
  ``http://localhost``. Relations survive (the thread id in a path still equals the one in
  the earlier response), and re-recording yields a minimal diff.
- ``mask`` erases volatile values entirely, for matching a live request to a recorded one
  and for diffing two connector versions.
- ``volatile_headers`` are left out of cassettes and of comparisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_CANONICAL_UUID = re.compile(r"^00000000-0000-4000-8000-\d{12}$")
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}| UTC)?"
)
_LOOPBACK = re.compile(r"https?://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?")
CANONICAL_ORIGIN = "http://localhost"
TIMESTAMP_PLACEHOLDER = "2000-01-01T00:00:00Z"

DEFAULT_VOLATILE_HEADERS = frozenset({
    "date", "server", "content-length", "transfer-encoding", "connection", "keep-alive",
    "location", "content-location", "x-request-id", "x-process-time", "vary", "user-agent",
    "accept", "accept-encoding", "host", "set-cookie", "cookie", "etag", "last-modified",
})


@dataclass(frozen=True)
class Normalizer:
    """The volatile fields of one connector's traffic.

    Attributes:
        volatile_keys: JSON keys whose values change every run (erased by ``mask``;
            ``canonicalize`` keeps them but rewrites ids/timestamps found inside).
        numeric_volatile_keys: keys holding durations/counters that vary run to run;
            ``canonicalize`` sets them to 0.
        volatile_headers: header names left out of cassettes and comparisons.
        patterns: extra ``(regex, placeholder)`` rewrites applied to every string.
    """

    volatile_keys: frozenset[str] = frozenset()
    numeric_volatile_keys: frozenset[str] = frozenset()
    volatile_headers: frozenset[str] = DEFAULT_VOLATILE_HEADERS
    patterns: tuple[tuple[str, str], ...] = ()
    _compiled: tuple[tuple[re.Pattern[str], str], ...] = field(init=False, repr=False,
                                                                compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple((re.compile(p), r) for p, r in self.patterns))

    # -- canonical form (stored) ---------------------------------------------------------
    def canonicalizer(self) -> Canonicalizer:
        """A stateful rewriter: one per cassette, so UUID numbering is consistent within it."""
        return Canonicalizer(self)

    # -- masked form (compared) -----------------------------------------------------------
    def mask_text(self, text: str) -> str:
        for pattern, _ in self._compiled:  # connector patterns first: they may contain UUIDs
            text = pattern.sub("<volatile>", text)
        text = _LOOPBACK.sub(CANONICAL_ORIGIN, text)
        text = _UUID.sub("<uuid>", text)
        return _TIMESTAMP.sub("<timestamp>", text)

    def mask(self, value: Any) -> Any:
        """``value`` with every volatile part replaced by a placeholder (for comparison)."""
        if isinstance(value, dict):
            return {
                key: ("<volatile>" if key in self.volatile_keys or key in self.numeric_volatile_keys
                      else self.mask(item))
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        if isinstance(value, str):
            return self.mask_text(value)
        return value

    def keep_header(self, name: str) -> bool:
        return name.lower() not in self.volatile_headers


class Canonicalizer:
    """Rewrites volatile values to stable canonical ones, consistently within one cassette."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self._uuids: dict[str, str] = {}

    def _uuid(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if _CANONICAL_UUID.match(value):
            return value
        key = value.lower()
        if key not in self._uuids:
            self._uuids[key] = f"00000000-0000-4000-8000-{len(self._uuids) + 1:012d}"
        return self._uuids[key]

    def text(self, text: str) -> str:
        for pattern, replacement in self.normalizer._compiled:
            text = pattern.sub(replacement, text)
        text = _LOOPBACK.sub(CANONICAL_ORIGIN, text)
        text = _UUID.sub(self._uuid, text)
        return _TIMESTAMP.sub(TIMESTAMP_PLACEHOLDER, text)

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key in self.normalizer.numeric_volatile_keys and isinstance(item, (int, float)):
                    out[key] = 0
                else:
                    out[key] = self.value(item)
            return out
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


# -- per-connector rule lists -------------------------------------------------------------

GENERIC = Normalizer()

LANGGRAPH = Normalizer(
    volatile_keys=frozenset({"thread_id", "run_id", "id", "created_at", "updated_at",
                             "assistant_id_resolved", "checkpoint_id", "checkpoint_ns"}),
    patterns=((r"lc_run--[0-9a-fA-F-]{36}(?:-\d+)?", "lc_run--<run>"),),
)

LANGFLOW = Normalizer(
    volatile_keys=frozenset({"id", "run_id", "graph_run_id", "timestamp", "flow_id"}),
    numeric_volatile_keys=frozenset({"duration", "build_duration"}),
    patterns=((r"call_[0-9a-f]{8,}", "call_<id>"),),
)

_BY_NAME: dict[str, Normalizer] = {"langgraph": LANGGRAPH, "langflow": LANGFLOW}


def normalizer_for(connector_class: type[Any] | None, framework: str | None = None) -> Normalizer:
    """The connector's own list (class attribute ``normalizer``), else its framework's."""
    own = getattr(connector_class, "normalizer", None)
    if isinstance(own, Normalizer):
        return own
    if framework and framework in _BY_NAME:
        return _BY_NAME[framework]
    return GENERIC


def register_normalizer(framework: str, normalizer: Normalizer) -> None:
    """Give a framework (e.g. a contributor's) its volatile-field list."""
    _BY_NAME[framework] = normalizer

