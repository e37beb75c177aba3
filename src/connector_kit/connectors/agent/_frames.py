"""Frames of a streamed answer: Server-Sent Events (LangGraph) and NDJSON events (Langflow).

Both parsers are push-based (``feed(line)`` returns a finished event or None, ``finish()``
checks the end), so the sync and async drivers share them. Written here rather than taken
from httpx-sse because a connector must treat a broken stream as an error, not skip it:
httpx-sse drops an event the stream cut before its blank line and reads lines of any length;
here a cut event, bad JSON and an oversized line (bounded in :mod:`..http.streaming`) each end
in :class:`ConnectorStreamError`. The SSE rules followed are the WHATWG ones: ``event``,
``data`` (several lines joined by newlines), ``id``, ``retry`` and ``:`` comments; an event
with no ``data`` line is not dispatched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..exceptions import ConnectorStreamError


@dataclass(frozen=True)
class StreamEvent:
    """One event of a stream: its name and decoded JSON ``data``.

    ``at`` is when it arrived, in seconds after the stream was opened; ``id`` is the SSE id
    (older LangGraph servers send one).
    """

    event: str
    data: Any
    at: float = 0.0
    id: str | None = None


def _decode(text: str, event: str, safe_url: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConnectorStreamError(
            f"Event '{event}' of the stream from '{safe_url}' holds data that is not valid JSON "
            f"({exc}); it starts with {text[:80]!r}.", url=safe_url) from None


class SSEParser:
    """Lines of a ``text/event-stream`` body -> :class:`StreamEvent`."""

    def __init__(self, safe_url: str) -> None:
        self.safe_url = safe_url
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._open = False

    def feed(self, raw: bytes, at: float) -> StreamEvent | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConnectorStreamError(
                f"The stream from '{self.safe_url}' holds a line that is not UTF-8.",
                url=self.safe_url) from None
        if not line:
            return self._dispatch(at)
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._open = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None  # "retry" and unknown fields are ignored, as the SSE rules say

    def _dispatch(self, at: float) -> StreamEvent | None:
        event, data, ident = self._event or "message", self._data, self._id
        self._event, self._data, self._open = None, [], False
        if not data:
            return None
        return StreamEvent(event, _decode("\n".join(data), event, self.safe_url), at, ident)

    def finish(self) -> None:
        if self._open:
            raise ConnectorStreamError(
                f"The stream from '{self.safe_url}' ended in the middle of an event "
                f"('{self._event or 'message'}' had no closing blank line): it was cut off.",
                url=self.safe_url)


class NDJSONParser:
    """Lines of a Langflow ``stream=true`` body (``{"event": ..., "data": ...}`` per line)."""

    def __init__(self, safe_url: str) -> None:
        self.safe_url = safe_url

    def feed(self, raw: bytes, at: float) -> StreamEvent | None:
        text = raw.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        value = _decode(text, "?", self.safe_url)
        if not isinstance(value, dict) or not isinstance(value.get("event"), str):
            raise ConnectorStreamError(
                f"A line of the stream from '{self.safe_url}' is not an event object "
                f"{{\"event\": ..., \"data\": ...}}: it starts with {text[:80]!r}.",
                url=self.safe_url)
        return StreamEvent(value["event"], value.get("data"), at)

    def finish(self) -> None:
        return None


Parser = SSEParser | NDJSONParser


def parser_for(fmt: str, safe_url: str) -> Parser:
    return SSEParser(safe_url) if fmt == "sse" else NDJSONParser(safe_url)
