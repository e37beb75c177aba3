"""LangGraph ``runs/stream`` events: which names a stream mode sends, and folding them.

A stream is folded into the run's final state (``{"messages": [...]}``, plus
``__interrupt__`` when the run paused), so the connector's usual extractors read it:

* ``values``: the last ``values`` event is the state;
* ``updates``: the messages of every node's update, in order;
* ``messages-tuple`` (``messages`` events of ``[message chunk, metadata]``) and the legacy
  ``messages`` mode (``messages/partial`` and ``messages/complete``): messages by id, chunks
  joined (tuple mode sends deltas; the legacy mode sends the whole message so far);
* ``events``: the output of the root ``on_chain_end`` (the event of the run itself);
* ``debug``: the values of the last checkpoint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._secrets import redact
from ..exceptions import AgentRunError, ConnectorStreamError
from ._frames import StreamEvent
from ._json import dicts_only, scalar_text, text_of

STREAM_MODES = ("values", "updates", "messages-tuple", "messages", "events", "debug", "custom",
                "tasks", "checkpoints")
#: The mode whose fold is used when several were asked for, best first.
_FOLD_ORDER = ("values", "updates", "messages-tuple", "messages", "events", "debug")
_ALWAYS = {"metadata", "error", "end", "feedback"}


@functools.lru_cache(maxsize=64)
def event_names(modes: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Exact event names and name prefixes the asked-for modes may send."""
    names = set(_ALWAYS)
    prefixes: list[str] = []
    for mode in modes:
        name = "messages" if mode == "messages-tuple" else mode
        names.add(name)
        prefixes += [f"{name}/", f"{name}|"]  # messages/partial, updates|subgraph:ns
    return frozenset(names), tuple(prefixes)


def check_event(event: StreamEvent, modes: list[str], safe_url: Callable[[], str],
                secrets: list[str]) -> None:
    """Raise for an ``error`` event (the graph raised) or a name no asked-for mode sends."""
    names, prefixes = event_names(tuple(modes))
    if event.event in names and event.event != "error":
        return
    if event.event == "error":
        data = event.data if isinstance(event.data, dict) else {"message": event.data}
        kind = scalar_text(data.get("error")) or "error"
        detail = redact(text_of(data.get("message")) or "", secrets)
        raise AgentRunError(
            f"The LangGraph run failed inside the graph while streaming: {kind}: {detail}. "
            "Check the graph's logs.", error_type=kind, url=safe_url())
    if not event.event.startswith(prefixes):
        raise ConnectorStreamError(
            f"The stream from '{safe_url()}' sent an event '{event.event}' that stream_mode "
            f"{modes} does not produce; the server and the connector disagree on the protocol.",
            url=safe_url())


def fold(events: list[StreamEvent], modes: list[str]) -> dict[str, Any]:
    """The final state of a streamed run (see the module docstring)."""
    mode = next((m for m in _FOLD_ORDER if m in modes), modes[0])
    state: dict[str, Any]
    if mode == "values":
        values = [e.data for e in events if e.event == "values" and isinstance(e.data, dict)]
        state = dict(values[-1]) if values else {}
    elif mode == "updates":
        state = {"messages": _update_messages(events)}
    elif mode in ("messages-tuple", "messages"):
        state = {"messages": _joined_messages(events, deltas=mode == "messages-tuple")}
    elif mode == "events":
        state = _root_output(events)
    else:
        checkpoints = [dig_values(e.data) for e in events if e.event == "debug"]
        found = [c for c in checkpoints if c is not None]
        state = dict(found[-1]) if found else {}
    interrupts = _interrupts(events)
    if interrupts is not None:
        state["__interrupt__"] = interrupts
    if not state:
        raise ConnectorStreamError(
            f"The LangGraph stream (stream_mode {modes}) ended without any state to read the "
            "answer from: it sent only "
            + ", ".join(sorted({e.event for e in events})) + ".")
    return state


def _update_messages(events: list[StreamEvent]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for event in events:
        if event.event != "updates" or not isinstance(event.data, dict):
            continue
        for node, update in event.data.items():
            if node != "__interrupt__" and isinstance(update, dict):
                messages += dicts_only(update.get("messages"))
    return messages


def _joined_messages(events: list[StreamEvent], *, deltas: bool) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        if not (event.event == "messages" or event.event.startswith("messages/")):
            continue
        if event.event == "messages/metadata":
            continue
        data = event.data
        chunks = data[:1] if deltas and isinstance(data, list) else data
        for chunk in dicts_only(chunks if isinstance(chunks, list) else [chunks]):
            key = scalar_text(chunk.get("id")) or str(len(by_id))
            seen = by_id.get(key)
            if seen is None or not deltas:
                by_id[key] = dict(chunk)
                continue
            if isinstance(seen.get("content"), str) and isinstance(chunk.get("content"), str):
                seen["content"] += chunk["content"]
            for name in ("tool_calls", "status", "tool_call_id", "name"):
                if chunk.get(name):
                    seen[name] = chunk[name]
    return list(by_id.values())


def _root_output(events: list[StreamEvent]) -> dict[str, Any]:
    run_ids = [scalar_text(e.data.get("run_id")) for e in events
               if e.event == "metadata" and isinstance(e.data, dict)]
    for event in reversed(events):
        data = event.data
        if event.event != "events" or not isinstance(data, dict):
            continue
        if data.get("event") == "on_chain_end" and (
                data.get("run_id") in run_ids or data.get("parent_ids") == []):
            output = data.get("data", {}).get("output") if isinstance(data.get("data"), dict) else None
            if isinstance(output, dict):
                return dict(output)
    return {}


def dig_values(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and data.get("type") == "checkpoint":
        payload = data.get("payload")
        values = payload.get("values") if isinstance(payload, dict) else None
        return values if isinstance(values, dict) else None
    return None


def _interrupts(events: list[StreamEvent]) -> list[Any] | None:
    found: list[Any] | None = None
    for event in events:
        if isinstance(event.data, dict) and isinstance(event.data.get("__interrupt__"), list):
            found = event.data["__interrupt__"]
    return found
