"""Streamed answers of the run-stream operations (LangGraph SSE, Langflow NDJSON) as a list.

The same reader as the agent connectors' ``stream()``: the body is read through the
connector's HttpClient stream API (``client.stream`` / ``client.astream``: opened once, only
an open that provably did no work -- a refused connection, 429, 503 -- is retried, because a
re-sent stream POST would start a second run; every gap between events bounded by the call's
deadline; every line bounded in size) and each line goes through the agent connectors' frame
parsers (:mod:`.agent._frames`), so a cut frame, bad JSON or a stream with no event ends in
:class:`ConnectorStreamError` here too. An operation keeps every event, so their number is
bounded (:data:`MAX_EVENTS`): a runaway stream ends in an error, never in a silently
shortened list.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from .agent._frames import Parser, parser_for
from .exceptions import ConnectorStreamError

if TYPE_CHECKING:
    from .http import AsyncHttpStream, HttpClient, HttpStream

#: At most this many events are kept from one stream (a runaway stream cannot exhaust memory).
MAX_EVENTS = 100_000

Frames = Literal["sse", "ndjson"]


def stream_sync(client: HttpClient, method: str, url: str, payload: Any, headers: dict[str, str],
                frames: Frames) -> list[dict[str, Any]]:
    """Open the stream, read it to its end, return its events as ``{"event", "data"}``."""
    events = _Events(client, url, frames)
    with client.stream(method, url, json=payload, headers=headers) as stream:
        for raw in stream.lines():
            events.feed(raw, stream)
    return events.finish()


async def stream_async(client: HttpClient, method: str, url: str, payload: Any,
                       headers: dict[str, str], frames: Frames) -> list[dict[str, Any]]:
    """Async :func:`stream_sync`."""
    events = _Events(client, url, frames)
    async with client.astream(method, url, json=payload, headers=headers) as stream:
        async for raw in stream.lines():
            events.feed(raw, stream)
    return events.finish()


class _Events:
    """One stream's parser and the events it produced so far."""

    def __init__(self, client: HttpClient, url: str, frames: Frames) -> None:
        self.safe_url = client.safe_url(url)
        self.parser: Parser = parser_for(frames, self.safe_url)
        self.events: list[dict[str, Any]] = []
        self.started = time.perf_counter()

    def feed(self, raw: bytes, stream: HttpStream | AsyncHttpStream) -> None:
        event = self.parser.feed(raw, time.perf_counter() - self.started)
        if event is None:
            return
        stream.mark()  # an event is complete: the next gap starts now
        if len(self.events) >= MAX_EVENTS:
            raise ConnectorStreamError(
                f"The stream from '{self.safe_url}' sent more than {MAX_EVENTS} events; "
                "stopped reading it. Use the connector's stream() to handle events as they "
                "arrive instead of collecting them.", url=self.safe_url)
        self.events.append({"event": event.event, "data": event.data})

    def finish(self) -> list[dict[str, Any]]:
        self.parser.finish()
        if not self.events:
            raise ConnectorStreamError(
                f"The stream from '{self.safe_url}' ended without a single event. Check that "
                "the URL is the framework's stream endpoint.", url=self.safe_url)
        return self.events
