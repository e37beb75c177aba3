"""One deadline per call: a budget shared by every HTTP request and every socket operation of it.

A :class:`Deadline` is started by the first :meth:`HttpClient.budget` scope of a call (a
connector's ``send()`` opens one around its whole exchange, so LangGraph's two steps share
it) and is held in a context variable, so it follows the call through sync code, through
``await`` and into the socket layer without being passed around.

httpx gives each request a per-phase timeout (connect, each read, each write), not a total:
a server that trickles its headers a byte every 0.5 s, or that sends ``103 Early Hints``
forever, never trips a 3 s read timeout. httpcore's network backend is the one place that
sees every socket operation -- the connect, every read of a header byte, of a 1xx response
or of the body, every write -- so :class:`DeadlineBackend` and :class:`AsyncDeadlineBackend`
wrap it and shrink each operation's timeout to what is left of the current deadline (and
fail it at once when nothing is left). httpx exposes no hook for this, so the backend is
installed on the transport's httpcore pool (see :func:`install`).

The wrappers also remember the streams they open, so a pool whose event loop is gone can
still have its sockets closed (see ``_pools.py``).
"""

from __future__ import annotations

import ssl
import typing
import weakref
from contextvars import ContextVar, Token
from types import TracebackType

import httpcore
import httpx

from . import _asyncio_backend
from .clock import Clock

_CURRENT: ContextVar[Deadline | None] = ContextVar("connector_kit_http_deadline", default=None)


class Deadline:
    """The end of one call's budget, on the call's clock."""

    __slots__ = ("at", "budget", "clock")

    def __init__(self, clock: Clock, budget: float) -> None:
        self.clock = clock
        self.budget = budget
        self.at = clock.monotonic() + budget

    def remaining(self) -> float:
        """Seconds left (<= 0 once the deadline has passed)."""
        return self.at - self.clock.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def __repr__(self) -> str:
        return f"Deadline(budget={self.budget:g}, remaining={self.remaining():.3f})"


def current_deadline() -> Deadline | None:
    """The deadline of the call running in this context, if any."""
    return _CURRENT.get()


class DeadlineScope:
    """``with scope as deadline:`` -- the deadline every request inside it shares.

    An enclosing scope on the same clock that ends sooner wins, so an inner call never gets
    more time than its caller has left.
    """

    __slots__ = ("_budget", "_clock", "_token", "deadline")

    def __init__(self, clock: Clock, budget: float) -> None:
        self._clock = clock
        self._budget = budget
        self._token: Token[Deadline | None] | None = None
        self.deadline: Deadline | None = None

    def __enter__(self) -> Deadline:
        outer = _CURRENT.get()
        if outer is not None and outer.clock is self._clock and (
            outer.remaining() <= self._budget
        ):
            self.deadline = outer
            return outer
        self.deadline = Deadline(self._clock, self._budget)
        self._token = _CURRENT.set(self.deadline)
        return self.deadline

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


def _cap(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shrunk to what is left of the current deadline; raise ``expired`` at zero."""
    deadline = _CURRENT.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname,
                                             _cap(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every socket operation bounded by the current deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _cap(timeout, httpcore.ConnectTimeout),
                                               local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(
            path, _cap(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, owner: AsyncDeadlineBackend) -> None:
        self._inner = inner
        self._owner = owner
        owner.streams.add(self)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _cap(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _cap(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        self._owner.streams.discard(self)
        await self._inner.aclose()

    def close_now(self) -> None:
        """Close without awaiting (the h11 pool's streams; see ``_asyncio_backend``)."""
        self._owner.streams.discard(self)
        typing.cast("_asyncio_backend.AsyncioStream", self._inner).close_now()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname,
                                            _cap(timeout, httpcore.ConnectTimeout))
        self._owner.streams.discard(self)
        return _AsyncStream(inner, self._owner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async backend, deadline-bounded, remembering the streams it opened."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner
        self.streams: weakref.WeakSet[_AsyncStream] = weakref.WeakSet()
        self.connects = 0

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, _cap(timeout, httpcore.ConnectTimeout),
                                               local_address, socket_options)
        self.connects += 1
        return _AsyncStream(stream, self)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, _cap(timeout, httpcore.ConnectTimeout), socket_options)
        return _AsyncStream(stream, self)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    def abandon(self) -> int:
        """Close the raw sockets of every stream still open (their event loop is gone)."""
        closed = 0
        for stream in list(self.streams):
            sock = stream.get_extra_info("socket")
            # asyncio hands out a TransportSocket view; the socket it wraps is its ``_sock``.
            raw = getattr(sock, "_sock", sock)
            if raw is not None and hasattr(raw, "close") and raw.fileno() >= 0:
                raw.close()
                closed += 1
        self.streams = weakref.WeakSet()
        return closed


def _swap_backend(transport: httpx.HTTPTransport | httpx.AsyncHTTPTransport,
                  wrap: type[DeadlineBackend | AsyncDeadlineBackend]) -> typing.Any:
    # httpx builds the httpcore pool itself and takes no network backend, so the pool's
    # ``_network_backend`` (httpcore 1.x) is replaced; tests/test_http_deadlines.py fails
    # (the trickle and 1xx cases) if a release moves it.
    pool = transport._pool
    inner = getattr(pool, "_network_backend", None)
    if inner is None:  # pragma: no cover - guarded by the tests against the pinned versions
        raise RuntimeError("httpcore's connection pool has no _network_backend: pin httpcore 1.x")
    if isinstance(inner, wrap):  # a transport given to several clients is wrapped once
        return inner
    backend = wrap(inner)
    pool._network_backend = backend
    return backend


def install_sync(transport: httpx.HTTPTransport) -> DeadlineBackend:
    """Put a :class:`DeadlineBackend` under ``transport``'s httpcore pool."""
    backend: DeadlineBackend = _swap_backend(transport, DeadlineBackend)
    return backend


def install_async(transport: httpx.AsyncHTTPTransport) -> AsyncDeadlineBackend:
    """Put an :class:`AsyncDeadlineBackend` under ``transport``'s httpcore pool."""
    backend: AsyncDeadlineBackend = _swap_backend(transport, AsyncDeadlineBackend)
    return backend
