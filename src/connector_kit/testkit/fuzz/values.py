"""Arbitrary JSON with nasty leaves: NUL, lone surrogates, NaN/inf, huge integers and strings.

Half of the object keys drawn are keys agent responses really use, so arbitrary JSON still
reaches the extractors' interesting branches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

#: Keys agent responses really use: arbitrary JSON draws from them half of the time.
AGENT_KEYS = (
    "text", "content", "output", "outputs", "message", "messages", "response", "result", "results",
    "answer", "data", "choices", "session_id", "thread_id", "id", "tool_calls", "tool_call_id",
    "content_blocks", "contents", "type", "role", "name", "args", "status", "error", "__error__",
    "delta", "parts", "steps", "metadata", "detail", "reply", "conversation_id", "chat_id",
    "completion", "generated_text", "usage",
)

NASTY_STRINGS = (
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "\ufeff", "\u202e", "\U0001f600",
    "null", "None", "true", "{}", "[]", "NaN", "0", "-1", "\r\n", "'", '"', "\\", "\t",
    "\u0085", "\u2028", "ﬁ", "<html>", "{\"text\": \"x\"}",
)
NASTY_NUMBERS = (math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 2**53 + 1, 2**63, 2**64,
                 -(2**63), 10**30)
HUGE_SIZES = (10_000, 300_000)
DEEP_LEVELS = (3, 30, 400)  # json.loads itself refuses beyond ~990 levels


# -- scalars and arbitrary JSON ---------------------------------------------------------------

def texts(max_size: int = 16) -> SearchStrategy[str]:
    """Short strings of any code point (lone surrogates and NUL included), or a known nasty one
    (NUL, lone surrogates, BOM, RTL override, emoji, "null", "None", ...)."""
    return st.one_of(st.text(st.characters(exclude_categories=()), max_size=max_size),
                     st.sampled_from(NASTY_STRINGS))


def huge_texts() -> SearchStrategy[str]:
    return st.sampled_from(HUGE_SIZES).map(lambda n: "x" * n)


def integers() -> SearchStrategy[int]:
    return st.one_of(st.integers(-1000, 1000), st.sampled_from([n for n in NASTY_NUMBERS
                                                                if isinstance(n, int)]))


def floats() -> SearchStrategy[float]:
    return st.one_of(st.floats(), st.sampled_from([n for n in NASTY_NUMBERS if isinstance(n, float)]))


def scalars() -> SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), integers(), floats(), texts())


def keys() -> SearchStrategy[str]:
    return st.one_of(st.sampled_from(AGENT_KEYS), texts(8))


def json_values(max_leaves: int = 12) -> SearchStrategy[Any]:
    """Any JSON value: scalars, lists and objects nested at random (at most ``max_leaves`` leaves)."""
    return st.recursive(
        scalars(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(keys(), children, max_size=4)),
        max_leaves=max_leaves,
    )


def json_objects(max_leaves: int = 12) -> SearchStrategy[dict[str, Any]]:
    """A JSON object at the top (what an HTTP client hands a parser) with anything inside."""
    return st.dictionaries(keys(), json_values(max_leaves), max_size=6)


def junk() -> SearchStrategy[Any]:
    """Any small JSON value; one time in 16 a huge string."""
    small, huge = json_values(4), huge_texts()

    @st.composite
    def pick(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        return draw(huge if draw(st.integers(0, 15)) == 15 else small)

    result: SearchStrategy[Any] = pick()
    return result


__all__ = ["AGENT_KEYS", "DEEP_LEVELS", "HUGE_SIZES", "NASTY_NUMBERS", "NASTY_STRINGS", "floats",
           "huge_texts", "integers", "json_objects", "json_values", "junk", "keys", "scalars", "texts"]
