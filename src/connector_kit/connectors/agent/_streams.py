"""Streams of agent events: what ``stream()`` / ``astream()`` return.

An :class:`AgentStream` is lazy: iterating it opens the connection (after the connector's
set-up calls, e.g. LangGraph's thread), yields each :class:`StreamEvent` as it arrives and,
at the end, folds the events into the same response dict ``send()`` returns, so the usual
extractors give the final text and tool trace::

    with connector.stream("what is 2+3?", "s1") as events:
        for event in events:
            print(event.event, event.data)
    print(events.text, events.tool_trace, events.first_event_after)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..exceptions import ConnectorStreamError
from ._frames import StreamEvent, parser_for

if TYPE_CHECKING:
    from ..http import AsyncHttpStream, HttpClient, HttpStream
    from .base import BaseAgentConnector
    from .exchange import HttpCall


@dataclass(frozen=True)
class StreamCall:
    """The streamed request that ends a stream exchange, and what its events mean.

    ``context`` is handed back to the connector's ``_finish_stream`` (e.g. the thread id).
    """

    url: str
    json: Any
    headers: Mapping[str, str]
    format: Literal["sse", "ndjson"]
    method: str = "POST"
    context: dict[str, Any] = field(default_factory=dict)


StreamExchange = Generator["HttpCall", Any, StreamCall]


class _Recorder:
    """What both stream kinds keep: the events, the first event's delay, the folded response."""

    def __init__(self, connector: BaseAgentConnector) -> None:
        self.connector = connector
        self.events: list[StreamEvent] = []
        self.response: dict[str, Any] | None = None
        self.first_event_after: float | None = None
        self.started: float | None = None
        self.call: StreamCall | None = None

    @property
    def text(self) -> str | None:
        return None if self.response is None else self.connector.extract_text(self.response)

    @property
    def tool_trace(self) -> list[dict[str, Any]] | None:
        return None if self.response is None else self.connector.extract_tool_trace(self.response)

    @property
    def thread_id(self) -> str | None:
        return None if self.call is None else self.call.context.get("thread_id")

    def _event(self, raw: bytes, parser: Any, stream: HttpStream | AsyncHttpStream) -> StreamEvent | None:
        assert self.started is not None and self.call is not None
        event: StreamEvent | None = parser.feed(raw, time.perf_counter() - self.started)
        if event is None:
            return None
        stream.mark()
        if self.first_event_after is None:
            self.first_event_after = event.at
        self.connector._check_event(event, self.call)
        self.events.append(event)
        return event

    def _end(self, parser: Any) -> Generator[HttpCall, Any, dict[str, Any]]:
        """Check the end of the stream; the connector's closing exchange folds the events
        (and may make calls of its own, e.g. LangGraph's pause check)."""
        assert self.call is not None
        parser.finish()
        if not self.events:
            raise ConnectorStreamError(
                f"The stream from '{self.connector._get_http_client().safe_url(self.call.url)}' "
                "ended without a single event.")
        return self.connector._stream_outcome(self.events, self.call)


class AgentStream(_Recorder):
    """A sync stream of events; see the module docstring."""

    def __init__(self, connector: BaseAgentConnector, exchange: StreamExchange,
                 drive: Callable[[StreamExchange], StreamCall]) -> None:
        super().__init__(connector)
        self._exchange = exchange
        self._drive = drive
        self._iterator: Iterator[StreamEvent] | None = None

    def __iter__(self) -> Iterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[StreamEvent]:
        self.started = time.perf_counter()
        self.call = self._drive(self._exchange)
        client: HttpClient = self.connector._get_http_client()
        parser = parser_for(self.call.format, client.safe_url(self.call.url))
        with client.stream(self.call.method, self.call.url, json=self.call.json,
                           headers=self.call.headers) as stream:
            for raw in stream.lines():
                event = self._event(raw, parser, stream)
                if event is not None:
                    yield event
        self.response = self.connector._drive_sync(self._end(parser))

    def result(self) -> dict[str, Any]:
        """Read the rest of the stream; return the folded response (as ``send()`` would)."""
        for _ in self:
            pass
        assert self.response is not None
        return self.response

    def close(self) -> None:
        if self._iterator is not None and hasattr(self._iterator, "close"):
            self._iterator.close()

    def __enter__(self) -> AgentStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncAgentStream(_Recorder):
    """An async stream of events: ``async with connector.astream(...) as events``."""

    def __init__(self, connector: BaseAgentConnector, exchange: StreamExchange) -> None:
        super().__init__(connector)
        self._exchange = exchange
        self._iterator: AsyncIterator[StreamEvent] | None = None

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def _run(self) -> AsyncIterator[StreamEvent]:
        self.started = time.perf_counter()
        self.call = await self.connector._drive_stream_async(self._exchange)
        client: HttpClient = self.connector._get_http_client()
        parser = parser_for(self.call.format, client.safe_url(self.call.url))
        async with client.astream(self.call.method, self.call.url, json=self.call.json,
                                  headers=self.call.headers) as stream:
            async for raw in stream.lines():
                event = self._event(raw, parser, stream)
                if event is not None:
                    yield event
        self.response = await self.connector._drive_async(self._end(parser))

    async def result(self) -> dict[str, Any]:
        async for _ in self:
            pass
        assert self.response is not None
        return self.response

    async def aclose(self) -> None:
        iterator = self._iterator
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()

    async def __aenter__(self) -> AsyncAgentStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
