"""Volatile values (ids, timestamps, ports): one rule list per connector, used everywhere.

The same :class:`Normalizer` serves three purposes, so they can never disagree:

- ``canonicalize`` rewrites a recording before it is saved: the k-th distinct UUID becomes
  ``00000000-0000-4000-8000-<k>``, timestamps a fixed placeholder, the server origin
  ``http://localhost``. Relations survive (the thread id in a path still equals the one in
  the earlier response), and re-recording yields a minimal diff.
- ``mask`` erases volatile values entirely, for matching a live request to a recorded one
  and for diffing two connector versions.
- ``volatile_headers`` are kept in cassettes with their values normalised (a date becomes a
  fixed date, a request id canonical), so a recording still says which server made it but
  re-recording gives a minimal diff; they are never compared.
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

#: Header values that change every run. Dates become ``DATE_PLACEHOLDER``, timings "0",
#: anything else goes through the canonicaliser (ids, origins); ``host`` becomes the
#: canonical origin's host.
DEFAULT_VOLATILE_HEADERS = frozenset({
    "date", "expires", "last-modified", "etag", "x-request-id", "x-process-time",
    "x-response-time", "server-timing", "location", "content-location", "host",
})
DATE_PLACEHOLDER = "Sat, 01 Jan 2000 00:00:00 GMT"
_DATE_HEADERS = frozenset({"date", "expires", "last-modified"})
_TIMING_HEADERS = frozenset({"x-process-time", "x-response-time", "server-timing"})


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
        stream_lanes: dotted paths in a streamed event (``data.component_id``) whose value,
            with the event's name, names the producer the framework keeps in order; events
            of different producers may interleave differently in each run, so drift compares
            a stream lane by lane (:mod:`..diff.streams`). Empty: the stream is one sequence.
    """

    volatile_keys: frozenset[str] = frozenset()
    numeric_volatile_keys: frozenset[str] = frozenset()
    volatile_headers: frozenset[str] = DEFAULT_VOLATILE_HEADERS
    patterns: tuple[tuple[str, str], ...] = ()
    stream_lanes: tuple[str, ...] = ()
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

    def is_volatile_header(self, name: str) -> bool:
        return name.lower() in self.volatile_headers


class Canonicalizer:
    """Rewrites volatile values to stable canonical ones, consistently within one cassette."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self._uuids: dict[str, str] = {}
        self._highest = 0  # the highest canonical number in use (seen or given out)
        numeric = "|".join(re.escape(k) for k in sorted(normalizer.numeric_volatile_keys))
        self._numeric = re.compile(
            rf'("(?:{numeric})"\s*:\s*)-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?') if numeric else None

    def _uuid(self, match: re.Match[str]) -> str:
        value = match.group(0)
        if _CANONICAL_UUID.match(value):
            # Already canonical (a loaded recording, or a replayed id sent back): keep it, and
            # number new ids after it so appended interactions never reuse its number.
            self._highest = max(self._highest, int(value[-12:]))
            return value
        key = value.lower()
        if key not in self._uuids:
            self._highest += 1
            self._uuids[key] = f"00000000-0000-4000-8000-{self._highest:012d}"
        return self._uuids[key]

    def body(self, text: str) -> str:
        """A JSON (or any) body as text, canonicalised in place: not re-serialised, so the
        stored bytes are the server's except for the volatile values."""
        text = self.text(text)
        if self._numeric is not None:
            text = self._numeric.sub(lambda m: m.group(1) + "0", text)
        return text

    def header(self, name: str, value: str) -> str:
        """A volatile header's stable stand-in; other headers as they were sent."""
        lowered = name.lower()
        if lowered not in self.normalizer.volatile_headers:
            return value
        if lowered in _DATE_HEADERS:
            return DATE_PLACEHOLDER
        if lowered in _TIMING_HEADERS:
            return "0"
        if lowered == "host":
            return CANONICAL_ORIGIN.split("://", 1)[1] if _LOOPBACK.fullmatch(f"http://{value}") else value
        return self.text(value)

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
    # a run's listing (GET runs?limit=1, read before a join) carries when its request started
    numeric_volatile_keys=frozenset({"__request_start_time_ms__"}),
    patterns=((r"lc_run--[0-9a-fA-F-]{36}(?:-\d+)?", "lc_run--<run>"),),
)

LANGFLOW = Normalizer(
    volatile_keys=frozenset({"id", "run_id", "graph_run_id", "timestamp", "flow_id"}),
    numeric_volatile_keys=frozenset({"duration", "build_duration"}),
    patterns=((r"call_[0-9a-f]{8,}", "call_<id>"),),
    # A stream's components run concurrently (the Agent and the tool it calls): each one's
    # events keep their order (log: component_id; build_*: the component id; add_message and
    # token: the message id, masked), their interleaving changes from run to run.
    stream_lanes=("data.component_id", "data.id"),
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

