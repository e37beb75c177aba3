"""Streamed bodies compared as what the framework guarantees: the order of each producer's events.

A recorded stream (LangGraph SSE, Langflow NDJSON) is split into its events by the agent
connectors' own parsers (:mod:`connector_kit.connectors.agent._frames`), so drift reads a
stream exactly as a connector does. Then the events are compared **lane by lane**:

- a *lane* is the events of one producer, in the order it sent them, whatever their names:
  the value at the first of the normaliser's ``stream_lanes`` paths the event has (Langflow:
  ``data.component_id`` of a ``log``, ``data.id`` of a component's ``build_start``/``build_end``,
  the message id -- masked, so all messages are one lane -- of ``add_message`` and ``token``);
  an event with none of them (``end``) is a lane of its own name. With no ``stream_lanes``
  (LangGraph, whose run loop emits one ordered sequence) the whole stream is one lane.
- inside a lane the order is kept: the events are aligned (``difflib``), so a missing event is
  one ``removed`` finding, an extra one one ``added``, a changed payload its field paths, and
  two events of one lane that swapped places are a change;
- a finding names its event by what it is, not by where it fell in the stream:
  ``body[log 4 from Agent-bbbb2]`` is the fourth ``log`` event of that producer,
  ``body[end 1]`` the first ``end`` (with no lanes: ``body[values 2]``). The stream's own
  index moves with the interleaving, so the same change would get another path in every
  recording, and two reports (or two versions in a matrix) could not be matched;
- across lanes, the interleaving is what concurrent producers happened to do (measured on the
  Langflow rig: the Agent's ``Tool End`` log and the Calculator tool's own ``log`` and
  ``build_*`` events, and the Agent's logs against its ``add_message`` updates, come in a
  different order from one run to the next), so a different interleaving is reported as
  informational, never as drift (beside the real differences, when there are some and every
  lane kept its number of events).
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ...connectors.agent._frames import NDJSONParser, Parser, SSEParser
from ...connectors.exceptions import ConnectorStreamError
from ..jsondiff import Difference, diff
from ..recording.normalize import Normalizer

#: At most this many differences per compared stream (as for any body).
LIMIT = 200
#: Longest event name or producer shown in a finding's path.
LABEL_CHARS = 80


@dataclass(frozen=True)
class StreamComparison:
    """What two recordings of one stream differ in: ``differences`` (drift) and whether the
    lanes only interleave differently (``interleaving``: the two orders of lanes, else None)."""

    differences: list[Difference]
    interleaving: tuple[list[str], list[str]] | None = None


def stream_events(text: str) -> list[dict[str, Any]] | None:
    """The events of a streamed body (``{"event", "data"}``, plus ``id`` when SSE sent one),
    or None when the body is not a well-formed stream (a JSON document, plain text, a cut
    stream: compared as a whole instead)."""
    lines = text.replace("\r\n", "\n").split("\n")
    filled = [line for line in lines if line.strip()]
    if not filled:
        return None
    try:
        json.loads(text)
        return None  # one JSON document, not a stream
    except ValueError:
        pass
    parser: Parser
    if all(line.lstrip().startswith("{") for line in filled):
        parser = NDJSONParser("recorded stream")
    elif any(line.startswith(("data:", "event:")) for line in filled):
        parser = SSEParser("recorded stream")
        lines = [*lines, ""]  # a recorded body may end without the last blank line
    else:
        return None
    events: list[dict[str, Any]] = []
    try:
        for line in lines:
            event = parser.feed(line.encode("utf-8"), 0.0)
            if event is not None:
                events.append({"event": event.event, "data": event.data,
                               **({"id": event.id} if event.id is not None else {})})
        parser.finish()
    except ConnectorStreamError:
        return None
    return events or None


def lane_of(event: dict[str, Any], normalizer: Normalizer) -> str:
    """The lane an event belongs to: its producer (see the module docstring)."""
    if not normalizer.stream_lanes:
        return ""
    for path in normalizer.stream_lanes:
        value: Any = event
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return f"from {normalizer.mask_text(str(value))}"
    return f"event {event.get('event', '')}"


def compare_streams(before: list[dict[str, Any]], after: list[dict[str, Any]],
                    normalizer: Normalizer, path: str = "body") -> StreamComparison:
    """Lane-by-lane differences of two event lists (masked); see the module docstring."""
    old, new = normalizer.mask(before), normalizer.mask(after)
    old_lanes = [lane_of(e, normalizer) for e in before]
    new_lanes = [lane_of(e, normalizer) for e in after]
    # Named from the masked events: an event name holding an id reads the same every run.
    old_paths = [f"{path}[{label}]" for label in event_labels(old, old_lanes)]
    new_paths = [f"{path}[{label}]" for label in event_labels(new, new_lanes)]
    out: list[Difference] = []
    for lane in dict.fromkeys([*old_lanes, *new_lanes]):
        a = [i for i, name in enumerate(old_lanes) if name == lane]
        b = [i for i, name in enumerate(new_lanes) if name == lane]
        out += _aligned(old, new, a, b, (old_paths, new_paths), LIMIT - len(out))
        if len(out) >= LIMIT:
            return StreamComparison(out[:LIMIT])
    if old == new or (out and not _reinterleaved(old_lanes, new_lanes)):
        return StreamComparison(out)
    return StreamComparison(out, (old_lanes, new_lanes))


def _reinterleaved(old_lanes: list[str], new_lanes: list[str]) -> bool:
    """The same events per lane came in another order of lanes. Said beside real differences
    too, or a changed payload would hide that the producers also interleaved differently;
    not when events were added or removed (the lanes' orders cannot be told apart then)."""
    return old_lanes != new_lanes and Counter(old_lanes) == Counter(new_lanes)


def event_labels(events: list[dict[str, Any]], lanes: list[str]) -> list[str]:
    """Each event's name in a finding's path: its event name, its number among the events
    of that name in its lane, and the producer (``log 4 from Agent-bbbb2``, ``end 1``)."""
    seen: Counter[tuple[str, str]] = Counter()
    labels = []
    for event, lane in zip(events, lanes, strict=True):
        name = str(event.get("event", "")) or "message"
        seen[lane, name] += 1
        producer = f" {_clip(lane)}" if lane.startswith("from ") else ""
        labels.append(f"{_clip(name)} {seen[lane, name]}{producer}")
    return labels


def _clip(text: str) -> str:
    """A name as a path shows it: the server chooses event names and producer ids, and a
    path must stay a line a reader can take in (the full name still counts the events)."""
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _aligned(old: list[Any], new: list[Any], a: list[int], b: list[int],
             paths: tuple[list[str], list[str]], limit: int) -> list[Difference]:
    """One lane: its events aligned in order; ``paths`` name each event (``event_labels``)."""
    old_paths, new_paths = paths
    keys_a = [json.dumps(old[i], sort_keys=True) for i in a]
    keys_b = [json.dumps(new[i], sort_keys=True) for i in b]
    out: list[Difference] = []
    matcher = difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and a2 - a1 == b2 - b1:
            for i, j in zip(a[a1:a2], b[b1:b2], strict=True):
                out += diff(old[i], new[j], new_paths[j], limit=limit - len(out))
            continue
        out += [Difference(old_paths[i], "removed", before=old[i]) for i in a[a1:a2]]
        out += [Difference(new_paths[j], "added", after=new[j]) for j in b[b1:b2]]
    return out[:limit]


def compare_event_names(before: list[str] | None, after: list[str] | None,
                        normalizer: Normalizer) -> StreamComparison:
    """An outcome's event names. With lanes, names alone cannot say which producer sent an
    event, so the count of each name is compared (the wire comparison keeps each lane's
    order); without lanes, the sequence."""
    if not normalizer.stream_lanes or before is None or after is None:
        return StreamComparison(diff(before, after, "events", limit=LIMIT))
    counts_a, counts_b = Counter(before), Counter(after)
    out = [Difference(f"events[{name!r}]", "changed", counts_a[name], counts_b[name])
           for name in dict.fromkeys([*before, *after]) if counts_a[name] != counts_b[name]]
    if out or before == after:
        return StreamComparison(out)
    return StreamComparison([], (before, after))
