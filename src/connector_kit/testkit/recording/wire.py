"""What vcrpy cannot keep: the timing of streamed frames, and answers lost half-way.

vcrpy stores a response as one body (the exact bytes, so plain vcrpy still replays a stream),
and it reads the whole body before handing it on, so a stream's timing must be taken below
it; and a response whose body broke (a read timeout after the headers) is not stored at all,
so a connector that reacts to it -- LangGraph joins the run its ``location`` header names --
could not be replayed. While recording, :func:`watching` wraps the connection pools under
httpx's transports (httpcore's, and the kit's async ``Http11Pool``; vcrpy patches neither)
and notes, for every response, when each chunk
arrived and whether the body broke. From that the recorder keeps, in the cassette's
``connector_kit.metadata``:

* ``streams``: per streamed response, in order, its frames ``{"at": s, "event": name}``
  (parsed by the connector's own SSE/NDJSON parsers; ``at`` is the time since the request);
* ``lost``: per broken answer, in order, its method, canonical uri, status, headers and the
  error, so replay can break it the same way.

While replaying, :func:`replaying` wraps the transport vcrpy answers from: a request whose
answer was lost breaks with the recorded error, before any response (as it did under vcrpy,
which reads the body before httpx returns the headers); a streamed
response is served frame by frame, in order, and with ``pace`` > 0 at the recorded pace
(``pace=1`` real time), so time-to-first-event can be tested offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from ...connectors.agent._frames import NDJSONParser, SSEParser
from ...connectors.exceptions import ConnectorError
from ...connectors.http.http11 import Http11Pool
from .cassettes import request_path

#: Content types kept as streams (Langflow's NDJSON is sent as text/event-stream too).
STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/jsonl")
#: httpx errors a lost answer can be replayed with.
_ERRORS: dict[str, type[httpx.TransportError]] = {
    "ReadTimeout": httpx.ReadTimeout, "RemoteProtocolError": httpx.RemoteProtocolError,
    "ReadError": httpx.ReadError, "WriteTimeout": httpx.WriteTimeout,
}


def is_stream(content_type: str | None) -> bool:
    lowered = str(content_type or "").lower()
    return any(kind in lowered for kind in STREAM_TYPES)


@dataclass
class Seen:
    """One response as it came off the wire."""

    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    error: str | None = None

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers if k.lower() == "content-type"), "")

    def frames(self) -> list[dict[str, Any]]:
        """Each frame's event name and the time (s) the chunk completing it arrived."""
        body = b"".join(chunk for _, chunk in self.chunks)
        parser = NDJSONParser("recording") if body.lstrip()[:1] == b"{" else SSEParser("recording")
        ends: list[tuple[int, float]] = []
        offset = 0
        for at, chunk in self.chunks:
            offset += len(chunk)
            ends.append((offset, at))
        frames: list[dict[str, Any]] = []
        position = 0
        for raw in body.split(b"\n"):
            position += len(raw) + 1
            try:
                event = parser.feed(raw[:-1] if raw.endswith(b"\r") else raw, 0.0)
            except ConnectorError:
                break
            if event is not None:
                at = next((t for end, t in ends if end >= min(position, len(body))), 0.0)
                frames.append({"at": round(at, 4), "event": event.event})
        return frames


@dataclass
class Watch:
    """Every response seen while :func:`watching` ran, in the order their requests left."""

    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Seen) -> Seen:
        with self.lock:
            self.seen.append(item)
        return item

    def streams(self) -> list[dict[str, Any]]:
        return [{"frames": s.frames()} for s in self.seen
                if s.error is None and is_stream(s.content_type)]

    def lost(self, canonical: Callable[[str], str]) -> list[dict[str, Any]]:
        """The broken answers, their uri and header values passed through ``canonical``."""
        return [{"method": s.method, "uri": canonical(s.url), "status": s.status,
                 "headers": {k: canonical(v) for k, v in s.headers
                             if k.lower() not in ("content-length", "transfer-encoding")},
                 "error": s.error} for s in self.seen if s.error is not None]


class _Watched:
    def __init__(self, stream: Any, seen: Seen, started: float) -> None:
        self._stream, self._seen, self._started = stream, seen, started

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._stream:
                self._seen.chunks.append((time.perf_counter() - self._started, chunk))
                yield chunk
        except Exception as exc:
            self._seen.error = _error_name(exc)
            raise

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                self._seen.chunks.append((time.perf_counter() - self._started, chunk))
                yield chunk
        except Exception as exc:
            self._seen.error = _error_name(exc)
            raise

    def close(self) -> None:
        closer = getattr(self._stream, "close", None)
        if callable(closer):
            closer()

    async def aclose(self) -> None:
        closer = getattr(self._stream, "aclose", None)
        if callable(closer):
            await closer()


def _error_name(exc: BaseException) -> str:
    names = {httpcore.ReadTimeout: "ReadTimeout", httpcore.RemoteProtocolError: "RemoteProtocolError",
             httpcore.ReadError: "ReadError"}
    for kind, name in names.items():
        if isinstance(exc, kind):
            return name
    return "ReadError"


def _seen(watch: Watch, request: httpcore.Request, response: httpcore.Response) -> Seen:
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers]
    url = request.url
    port = f":{url.port}" if url.port else ""
    full = f"{url.scheme.decode()}://{url.host.decode()}{port}{url.target.decode('latin-1')}"
    return watch.add(Seen(request.method.decode(), full, response.status, headers))


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """Note every response read through httpcore (chunk times, a broken body) while it runs."""
    watch = Watch()
    sync_handle = httpcore.ConnectionPool.handle_request
    async_handle = httpcore.AsyncConnectionPool.handle_async_request

    def handle(self: httpcore.ConnectionPool, request: httpcore.Request) -> httpcore.Response:
        started = time.perf_counter()
        response = sync_handle(self, request)
        response.stream = _Watched(response.stream, _seen(watch, request, response), started)
        return response

    async def ahandle(self: httpcore.AsyncConnectionPool,
                      request: httpcore.Request) -> httpcore.Response:
        started = time.perf_counter()
        response = await async_handle(self, request)
        response.stream = _Watched(response.stream, _seen(watch, request, response), started)
        return response

    async def ahandle_ours(self: Http11Pool, request: httpcore.Request) -> httpcore.Response:
        started = time.perf_counter()
        response = await our_handle(self, request)
        response.stream = _Watched(response.stream, _seen(watch, request, response), started)
        return response

    our_handle = Http11Pool.handle_async_request
    httpcore.ConnectionPool.handle_request = handle  # type: ignore[method-assign]
    httpcore.AsyncConnectionPool.handle_async_request = ahandle  # type: ignore[method-assign]
    Http11Pool.handle_async_request = ahandle_ours  # type: ignore[method-assign]
    try:
        yield watch
    finally:
        httpcore.ConnectionPool.handle_request = sync_handle  # type: ignore[method-assign]
        httpcore.AsyncConnectionPool.handle_async_request = async_handle  # type: ignore[method-assign]
        Http11Pool.handle_async_request = our_handle  # type: ignore[method-assign]


# -- replay ----------------------------------------------------------------------------------------

class _Paced(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A recorded stream served one frame per piece, each at its recorded time times ``pace``."""

    def __init__(self, body: bytes, frames: list[dict[str, Any]], pace: float) -> None:
        self._pieces = _split(body, [float(f.get("at") or 0.0) * pace for f in frames])

    def __iter__(self) -> Iterator[bytes]:
        started = time.perf_counter()
        for due, piece in self._pieces:
            wait = due - (time.perf_counter() - started)
            if wait > 0:
                time.sleep(wait)
            yield piece

    async def __aiter__(self) -> AsyncIterator[bytes]:
        started = time.perf_counter()
        for due, piece in self._pieces:
            wait = due - (time.perf_counter() - started)
            if wait > 0:
                await asyncio.sleep(wait)
            yield piece


def _split(body: bytes, times: list[float]) -> list[tuple[float, bytes]]:
    """The body cut after each frame (found by the same parsers), paired with its time."""
    parser = NDJSONParser("replay") if body.lstrip()[:1] == b"{" else SSEParser("replay")
    pieces: list[tuple[float, bytes]] = []
    start = position = 0
    for raw in body.split(b"\n"):
        position = min(position + len(raw) + 1, len(body))
        try:
            event = parser.feed(raw[:-1] if raw.endswith(b"\r") else raw, 0.0)
        except ConnectorError:
            break
        if event is not None:
            due = times[len(pieces)] if len(pieces) < len(times) else (times[-1] if times else 0.0)
            pieces.append((due, body[start:position]))
            start = position
    if start < len(body):
        pieces.append((pieces[-1][0] if pieces else 0.0, body[start:]))
    return pieces


@contextlib.contextmanager
def replaying(metadata: dict[str, Any], *, pace: float = 0.0) -> Iterator[None]:
    """Serve the recorded lost answers and streams (see the module docstring)."""
    lost = [entry for entry in metadata.get("lost") or [] if isinstance(entry, dict)]
    streams = [entry for entry in metadata.get("streams") or [] if isinstance(entry, dict)]
    if not lost and not streams:
        yield
        return
    lock = threading.Lock()
    sync_handle = httpx.HTTPTransport.handle_request
    async_handle = httpx.AsyncHTTPTransport.handle_async_request

    def broken(request: httpx.Request) -> None:
        """Break a request whose recorded answer broke, as it broke under vcrpy: vcrpy reads
        the body before httpx returns the response, so the headers never reached the client."""
        with lock:
            if not lost or lost[0].get("method") != request.method or request_path(
                    str(lost[0].get("uri", ""))) != request.url.raw_path.decode("ascii", "replace"):
                return
            entry = lost.pop(0)
        error = str(entry.get("error"))
        raise _ERRORS.get(error, httpx.ReadError)(
            f"replayed: the recorded answer broke here ({error})", request=request)

    def paced(response: httpx.Response, request: httpx.Request) -> httpx.Response:
        if not is_stream(response.headers.get("content-type")):
            return response
        with lock:
            entry = streams.pop(0) if streams else None
        if entry is None:
            return response
        body = response.read()
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Paced(body, list(entry.get("frames") or []), pace),
                              request=request, extensions=response.extensions)

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        broken(request)
        return paced(sync_handle(self, request), request)

    async def ahandle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        broken(request)
        return paced(await async_handle(self, request), request)

    httpx.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = ahandle  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = sync_handle  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_handle  # type: ignore[method-assign]
