"""Responses with a framework's skeleton (Langflow, LangGraph, OpenAI-style) and random leaves.

Each level of a skeleton is right most of the time and now and then replaced by junk, so a
draw reaches deep into an extractor before something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .values import AGENT_KEYS, integers, junk, keys, scalars, texts

#: Shapes :func:`shaped_responses` knows; "generic" mixes all of them.
SHAPES = ("langflow", "langgraph", "openai", "generic")


def _w(good: SearchStrategy[Any], ratio: int = 4) -> SearchStrategy[Any]:
    """``good`` most of the time (about ratio:1), junk otherwise; shrinks towards ``good``."""
    bad = junk()

    @st.composite
    def weighted(draw: Callable[[SearchStrategy[Any]], Any]) -> Any:
        return draw(bad if draw(st.integers(0, ratio)) == ratio else good)

    result: SearchStrategy[Any] = weighted()
    return result


def _skel(good: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """A level of a framework skeleton: right most of the time (6:1), junk otherwise."""
    return _w(good, ratio=6)


def _some(item: SearchStrategy[Any], max_size: int) -> SearchStrategy[list[Any]]:
    """A non-empty list (empty lists come from the junk branch and from the mutations)."""
    return st.lists(item, min_size=1, max_size=max_size)


def _mostly(required: dict[str, SearchStrategy[Any]],
            optional: dict[str, SearchStrategy[Any]]) -> SearchStrategy[dict[str, Any]]:
    """An object with its ``required`` keys 3 times out of 4; with any subset of keys otherwise."""
    full = st.fixed_dictionaries(required, optional=optional)
    sparse = st.fixed_dictionaries({}, optional={**required, **optional})

    @st.composite
    def weighted(draw: Callable[[SearchStrategy[Any]], Any]) -> dict[str, Any]:
        chosen: dict[str, Any] = draw(sparse if draw(st.integers(0, 3)) == 3 else full)
        return chosen

    result: SearchStrategy[dict[str, Any]] = weighted()
    return result


def _ids() -> SearchStrategy[Any]:
    return st.one_of(st.uuids().map(str), texts(), integers(), st.none(), junk())


# -- framework shapes ---------------------------------------------------------------------------

def _langflow() -> SearchStrategy[dict[str, Any]]:
    item = _mostly(
        {"type": _w(st.sampled_from(["tool_use", "text", "code", "error", "json", "media"])),
         "name": _w(texts())},
        {"tool_input": _w(st.dictionaries(keys(), scalars(), max_size=3)), "output": junk(),
         "text": _w(texts())},
    )
    block = st.fixed_dictionaries(
        {"title": _w(st.one_of(st.just("Agent Steps"), texts())), "contents": _skel(_some(_skel(item), 3))},
        optional={"allow_markdown": junk()},
    )
    blocks = _skel(_some(_skel(block), 2))
    data = _mostly({"text": _w(texts())}, {"content_blocks": blocks, "session_id": _ids(),
                                          "sender": texts()})
    message = _mostly({"text": _w(texts())}, {"data": _skel(data), "content_blocks": blocks,
                                              "text_key": _w(st.just("text")), "session_id": _ids()})
    inner = st.fixed_dictionaries({"results": _skel(st.fixed_dictionaries({"message": _skel(message)}))},
                                  optional={"artifacts": junk()})
    outer = st.fixed_dictionaries({"outputs": _skel(_some(_skel(inner), 2))})
    return _mostly({"outputs": _skel(_some(_skel(outer), 2))}, {"session_id": _ids()})


_MESSAGE_KINDS = ["ai", "human", "tool", "system", "assistant", "user", "AIMessageChunk"]


def parts_contents() -> SearchStrategy[list[Any]]:
    """Message content as a list of parts, as Anthropic models return it."""
    part = st.one_of(
        st.fixed_dictionaries(
            {"type": _w(st.sampled_from(["text", "output_text", "tool_use", "image_url", "thinking"]))},
            optional={"text": _w(texts()), "id": _ids(), "name": texts(), "input": junk(),
                      "image_url": junk()}),
        texts(), junk())
    return st.lists(part, max_size=4)


def _langgraph_message() -> SearchStrategy[dict[str, Any]]:
    kinds = _w(st.sampled_from(_MESSAGE_KINDS))
    call = st.fixed_dictionaries({"name": _w(texts()), "args": _w(st.dictionaries(keys(), scalars(),
                                                                                  max_size=3)),
                                  "id": _ids()}, optional={"type": _w(st.just("tool_call"))})
    return _mostly({"type": kinds, "content": st.one_of(texts(), parts_contents(), st.none(), junk())},
                   {"role": kinds, "tool_calls": _skel(_some(_skel(call), 3)),
                    "tool_call_id": _ids(), "name": _w(texts()),
                    "status": _w(st.sampled_from(["success", "error"])), "id": _ids()})


def _langgraph() -> SearchStrategy[dict[str, Any]]:
    error = _w(st.fixed_dictionaries({}, optional={"error": _w(texts()), "message": _w(texts())}))
    return _mostly({"messages": _skel(_some(_skel(_langgraph_message()), 5))},
                   {"__error__": error, "thread_id": _ids(), "values": junk()})


def _openai() -> SearchStrategy[dict[str, Any]]:
    message = st.fixed_dictionaries({}, optional={
        "role": _w(st.sampled_from(["assistant", "user", "tool"])),
        "content": st.one_of(texts(), parts_contents(), st.none(), junk()),
        "tool_calls": _w(st.lists(junk(), max_size=2))})
    choice = st.fixed_dictionaries({"message": _skel(message)},
                                   optional={"finish_reason": junk(), "index": integers()})
    return _mostly({"choices": _skel(_some(_skel(choice), 2))}, {"id": _ids(), "object": texts()})


def _generic() -> SearchStrategy[dict[str, Any]]:
    values = st.recursive(st.one_of(scalars(), parts_contents()),
                          lambda c: st.one_of(st.lists(c, max_size=3),
                                              st.dictionaries(st.sampled_from(AGENT_KEYS), c, max_size=4)),
                          max_leaves=12)
    return st.dictionaries(st.sampled_from(AGENT_KEYS), values, min_size=1, max_size=6)


def shaped_responses(shape: str = "generic") -> SearchStrategy[dict[str, Any]]:
    """Responses with a framework's skeleton and random leaves ("generic": every known shape)."""
    builders: dict[str, Callable[[], SearchStrategy[dict[str, Any]]]] = {
        "langflow": _langflow, "langgraph": _langgraph, "openai": _openai}
    if shape in builders:
        return builders[shape]()
    return st.one_of(_generic(), _langflow(), _langgraph(), _openai())


