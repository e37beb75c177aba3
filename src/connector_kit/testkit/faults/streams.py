"""Streamed answers and the ways to break them: a body's frames, a cut mid-event, a stall.

A stream body (LangGraph's SSE, Langflow's NDJSON) is a run of frames, each ending in a blank
line. The faults here break a recorded body on the wire, through the :class:`Reply` fault
fields the FaultServer already plays: :func:`cut_mid_event` announces the whole body and
drops the connection inside its last frame; :func:`stall_between_events` sends the first
frame, then waits ``gap`` seconds before each further piece.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .server import Reply

SSE_TYPE = "text/event-stream"
#: Seconds the server waits between events in a stall: far past any stream timeout the checks
#: set, and still finite (a stopped server ends it at once).
STALL_GAP_S = 5.0

_FRAME = re.compile(rb".*?(?:\r\n\r\n|\n\n|\r\r|$)", re.S)


def sse(*events: tuple[str, Any]) -> bytes:
    """An SSE body: one ``event:``/``data:`` frame per ``(name, data)``, CRLF as LangGraph sends."""
    return b"".join(f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n".encode()
                    for name, data in events)


def ndjson(*events: tuple[str, Any]) -> bytes:
    """A Langflow ``stream=true`` body: one ``{"event", "data"}`` object per line, blank-line apart."""
    return b"".join(json.dumps({"event": n, "data": d}).encode() + b"\n\n" for n, d in events)


def is_sse(body: bytes) -> bool:
    """Whether ``body`` is SSE (field lines) rather than NDJSON (JSON objects)."""
    return not body.lstrip().startswith(b"{")


def frames(body: bytes) -> list[bytes]:
    """The frames of a stream body, each with its closing blank line (the last maybe without)."""
    return [frame for frame in _FRAME.findall(body) if frame]


def stream_reply(body: bytes, content_type: str = SSE_TYPE, **faults: Any) -> Reply:
    """A 200 answer streaming ``body``, with any of the Reply fault fields."""
    return Reply(200, body, {"Content-Type": content_type}, **faults)


def cut_mid_event(body: bytes, content_type: str = SSE_TYPE) -> Reply:
    """The whole body announced, the connection closed halfway through its last frame."""
    last = frames(body)[-1] if body else b""
    return stream_reply(body, content_type, truncate_to=len(body) - max(1, len(last) // 2))


def stall_between_events(body: bytes, content_type: str = SSE_TYPE, gap: float = STALL_GAP_S) -> Reply:
    """The first frame at once, then ``gap`` seconds before each further piece of that size."""
    first = frames(body)[0] if body else b""
    return stream_reply(body, content_type, trickle=gap, trickle_bytes=max(1, len(first)))


__all__ = ["SSE_TYPE", "STALL_GAP_S", "cut_mid_event", "frames", "is_sse", "ndjson", "sse",
           "stall_between_events", "stream_reply"]
