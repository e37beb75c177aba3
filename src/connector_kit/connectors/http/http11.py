"""The async HTTP/1.1 connection pool under httpx's transport: asyncio + httptools.

Why it exists: at hundreds of calls in flight a client's event loop is CPU-bound, and under
asyncio httpcore's pool spends most of it on machinery these calls do not use -- anyio cancel
scopes around every read and write, a pool-wide scan of every connection at every request's
start and end, shielded locks, trace hooks -- and h11, pure Python, costs ~75 us a
request/response cycle where httptools' C parser (llhttp, what uvicorn parses with) costs
~7 us (figures in ``docs/architecture.md``, "Async CPU per row").

What it keeps: httpcore's pool *interface* (``handle_async_request(httpcore.Request) ->
httpcore.Response``, ``aclose()``) and exceptions, so it is installed as an
``httpx.AsyncHTTPTransport``'s pool and httpx's request/response models, its exception
mapping and the patch point vcrpy records and replays at are all unchanged; and httpcore's
HTTP/1.1 behaviour: 1xx answers skipped (101 refused), a response head limited to 100 KiB, a
request whose body could not be written still reads the server's answer, a connection
reused only when the server keeps it alive, the body was read to its end and it is neither
expired nor readable while idle, a body delimited by the end of the connection read to it.
The bytes of each exchange (the head written and checked, the answer parsed) are
:mod:`._http11_messages`'s. The kit's own plain
calls may also skip httpx's transport and httpcore's models and hand the pool their bytes
(:meth:`Http11Pool.open`), but only while nothing is patched in between (:func:`direct_pool`).

Sockets come from the network backend it is given (the deadline backend over
:class:`._asyncio_backend.AsyncioBackend`), so every socket operation stays bounded by the
call's deadline, connects are counted and a dead loop's sockets can still be closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
import time
from collections import deque

import httpcore
import httpx

from ._asyncio_backend import AsyncioBackend
from ._http11_messages import Connection, Reply, read_head
from .deadline import AsyncDeadlineBackend


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


class Http11Pool:
    """httpcore's async pool interface over :class:`Connection` (see the module docstring)."""

    def __init__(self, *, network_backend: httpcore.AsyncNetworkBackend,
                 ssl_context: ssl.SSLContext, max_connections: int | None,
                 max_keepalive_connections: int | None, keepalive_expiry: float | None) -> None:
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._max = max_connections if max_connections is not None else 1 << 30
        self._max_idle = min(max_keepalive_connections if max_keepalive_connections is not None
                             else self._max, self._max)
        self._expiry = keepalive_expiry
        self._idle: dict[tuple[bytes, bytes, int], list[Connection]] = {}
        self._idle_count = 0
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- httpcore's interface -----------------------------------------------------------------
    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        _check_url(request.url.scheme, request.url.host)
        timeouts = request.extensions.get("timeout", {})
        connection = await self._checkout(request.url.origin, timeouts)
        try:
            response = await self._exchange(connection, request, timeouts)
        except BaseException:
            self.discard(connection)
            raise
        return response

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    async def __aenter__(self) -> Http11Pool:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    # -- one exchange ---------------------------------------------------------------------------
    async def _exchange(self, connection: Connection, request: httpcore.Request,
                        timeouts: dict[str, float | None]) -> httpcore.Response:
        read = timeouts.get("read")
        # As httpcore: a server may close early and still answer (413, 401...); read it.
        with contextlib.suppress(httpcore.WriteError):
            await connection.write_request(request, timeouts.get("write"))
        parse = await read_head(connection, read)
        if request.method == b"HEAD":  # no body follows, whatever the headers say
            parse.done, parse.body = True, []
            connection.reusable = False
        else:
            connection.reusable = parse.keep_alive
        body = Reply(self, connection, parse, read)
        return httpcore.Response(
            status=parse.status, headers=parse.headers, content=body,
            extensions={"http_version": body.http_version, "reason_phrase": parse.reason,
                        "network_stream": connection.stream},
        )

    # -- the kit's plain calls ------------------------------------------------------------------
    async def open(self, origin: httpcore.Origin, message: bytes, timeout: float | None) -> Reply:
        """Write ``message`` (a request head, and its body) and read the response head.

        What :meth:`handle_async_request` does, less httpcore's request and response objects
        and httpx's transport around them: the kit's plain calls (``_attempts.py``) come here
        when nothing is patched in between (vcrpy, the kit's recorder; see
        :func:`direct_pool`). At 500 calls in flight those wrappers were ~20% of a call's CPU
        (``docs/architecture.md``, "Async CPU per row"). Not for HEAD (no body follows it).
        """
        _check_url(origin.scheme, origin.host)
        timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        connection = await self._checkout(origin, timeouts)
        try:
            with contextlib.suppress(httpcore.WriteError):  # as _exchange: read the answer
                await connection.stream.write(message, timeout)
            parse = await read_head(connection, timeout)
        except BaseException:
            self.discard(connection)
            raise
        connection.reusable = parse.keep_alive
        return Reply(self, connection, parse, timeout)

    # -- connections --------------------------------------------------------------------------
    async def _checkout(self, origin: httpcore.Origin,
                        timeouts: dict[str, float | None]) -> Connection:
        while True:
            idle = self._idle.get(_key(origin))
            while idle:
                connection = idle.pop()
                self._idle_count -= 1
                if self._usable(connection):
                    return connection
                self.discard(connection)
            if self._open >= self._max and self._idle_count:
                self._evict_one()
            if self._open < self._max:
                self._open += 1
                try:
                    return await self._connect(origin, timeouts.get("connect"))
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: the freed slot goes to the next one
                else:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                if isinstance(exc, TimeoutError):
                    raise httpcore.PoolTimeout("timed out waiting for a free connection") from None
                raise

    async def _connect(self, origin: httpcore.Origin, timeout: float | None) -> Connection:
        host = origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, origin.port, timeout)
        if origin.scheme == b"https":
            try:
                stream = await stream.start_tls(self._ssl_context, server_hostname=host,
                                                timeout=timeout)
            except BaseException:
                await stream.aclose()
                raise
        return Connection(origin, stream)

    def _usable(self, connection: Connection) -> bool:
        if self._expiry is not None and time.monotonic() - connection.idle_since > self._expiry:
            return False
        # Readable while idle: the server closed it (or sent something unasked).
        return not connection.stream.get_extra_info("is_readable")

    def _evict_one(self) -> None:
        for connections in self._idle.values():
            if connections:
                self._idle_count -= 1
                self.discard(connections.pop(0))
                return

    def release(self, connection: Connection) -> None:
        """The response was read to its end: keep the connection for the next request."""
        if self._closed or self._idle_count >= self._max_idle:
            self.discard(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(_key(connection.origin), []).append(connection)
        self._idle_count += 1
        self._wake()

    def discard(self, connection: Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


def _check_url(scheme: bytes, host: bytes) -> None:
    if scheme not in (b"http", b"https"):
        raise httpcore.UnsupportedProtocol(
            f"Request URL has an unsupported protocol '{scheme.decode('ascii', 'replace')}://'.")
    if not host:
        raise httpcore.UnsupportedProtocol("Request URL has no host (e.g. 'http://127.0.0.1:8000/').")


def install_http11_pool(transport: httpx.AsyncHTTPTransport, verify: bool | ssl.SSLContext,
                        limits: httpx.Limits) -> AsyncDeadlineBackend:
    """Give ``transport`` (built here: plain HTTP/1.1, no proxy) an :class:`Http11Pool`.

    httpx takes no pool, so its ``_pool`` is replaced, as the deadline backend replaces a
    pool's ``_network_backend``; ``tests/testhttp11.py`` fails if that stops working.
    Returns the deadline backend its sockets come from (connects counted, sockets tracked).
    """
    backend = AsyncDeadlineBackend(AsyncioBackend())
    context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
    transport._pool = Http11Pool(  # type: ignore[assignment]
        network_backend=backend, ssl_context=context, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry)
    return backend


#: httpx's own transport method (vcrpy's patch keeps it as ``__wrapped__``), and the pool's.
_HTTPX_HANDLE: object = inspect.unwrap(httpx.AsyncHTTPTransport.handle_async_request)
if getattr(_HTTPX_HANDLE, "__module__", None) != "httpx._transports.default":
    _HTTPX_HANDLE = None  # imported under some other patch: every call goes through httpx
_POOL_HANDLE = Http11Pool.handle_async_request


def direct_pool(transport: httpx.AsyncBaseTransport) -> Http11Pool | None:
    """``transport``'s :class:`Http11Pool` when a call may go to it directly (:meth:`Http11Pool.open`).

    Only while httpx's ``AsyncHTTPTransport.handle_async_request`` and the pool's
    ``handle_async_request`` are their own: a recorder or mock patched in there (vcrpy, the
    kit's wire recorder, a test's) must see every call, so then calls go through them.
    """
    if (type(transport).handle_async_request is _HTTPX_HANDLE
            and isinstance(pool := getattr(transport, "_pool", None), Http11Pool)
            and type(pool).handle_async_request is _POOL_HANDLE):
        return pool
    return None
