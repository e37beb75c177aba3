"""Where the kit meets the wire: httpx's transports, and a guard on sockets.

Recording wraps httpx's ``HTTPTransport.handle_request`` / ``AsyncHTTPTransport.
handle_async_request`` (as vcrpy does) so any connector built on httpx -- ours or a
contributor's own client -- is captured. Replaying replaces them with a lookup in the
cassette, and :func:`offline` makes any other attempt to open an internet socket fail loudly.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx

from ..connectors.exceptions import ConnectorKitError

_PATCH_LOCK = threading.RLock()

RequestHook = Callable[[httpx.Request], httpx.Response]
Exchange = Callable[[httpx.Request, int, httpx.Headers, bytes], None]


class OfflineError(ConnectorKitError):
    """A network connection was attempted while replaying, which is offline by design."""


def _plain_response(request: httpx.Request, status: int, headers: httpx.Headers | list[tuple[str, str]],
                    body: bytes) -> httpx.Response:
    """A response whose body is already decoded: encoding headers dropped, length fixed."""
    kept = [(k, v) for k, v in (headers.multi_items() if isinstance(headers, httpx.Headers) else headers)
            if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
    kept.append(("content-length", str(len(body))))
    return httpx.Response(status, headers=kept, content=body, request=request)


SyncHandle = Callable[[httpx.HTTPTransport, httpx.Request], httpx.Response]
AsyncHandle = Callable[[httpx.AsyncHTTPTransport, httpx.Request], Awaitable[httpx.Response]]


@contextlib.contextmanager
def _transports(sync_handle: SyncHandle, async_handle: AsyncHandle) -> Iterator[None]:
    """Install replacement request handlers on httpx's transports for the block's duration."""
    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request
    with _PATCH_LOCK:
        httpx.HTTPTransport.handle_request = sync_handle  # type: ignore[method-assign,assignment]
        httpx.AsyncHTTPTransport.handle_async_request = async_handle  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            httpx.HTTPTransport.handle_request = sync_original  # type: ignore[method-assign]
            httpx.AsyncHTTPTransport.handle_async_request = async_original  # type: ignore[method-assign]


@contextlib.contextmanager
def recording(on_exchange: Exchange) -> Iterator[None]:
    """Let traffic through to the real server and report each complete exchange."""
    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        response = sync_original(self, request)
        body = response.read()
        on_exchange(request, response.status_code, response.headers, body)
        return _plain_response(request, response.status_code, response.headers, body)

    async def ahandle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        response = await async_original(self, request)
        body = await response.aread()
        on_exchange(request, response.status_code, response.headers, body)
        return _plain_response(request, response.status_code, response.headers, body)

    with _transports(handle, ahandle):
        yield


@contextlib.contextmanager
def replaying(answer: RequestHook) -> Iterator[None]:
    """Answer every httpx request from ``answer`` (the cassette); nothing reaches a socket."""

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        request.read()
        return answer(request)

    async def ahandle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return answer(request)

    with offline(), _transports(handle, ahandle):
        yield


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Make any TCP/UDP connect fail with :class:`OfflineError` (Unix sockets still work)."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guard(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OfflineError(
                f"Replay is offline, but something tried to connect to {address!r}. A request the "
                "cassette cannot answer, or code that bypasses httpx, is talking to the network; "
                "record the scenario (connector-kit record) or remove the call."
            )
        return original_connect(self, address)

    def guard_ex(self: socket.socket, address: Any) -> Any:
        guard(self, address)
        return original_connect_ex(self, address)

    socket.socket.connect = guard  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guard_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
