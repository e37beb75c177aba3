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
The request head is written here (one line per header, checked as h11 checks it: no CR, LF
or NUL, names are tokens) and goes out with a small body in one write.

Sockets come from the network backend it is given (the deadline backend over
:class:`._asyncio_backend.AsyncioBackend`), so every socket operation stays bounded by the
call's deadline, connects are counted and a dead loop's sockets can still be closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import time
import typing
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httptools
import httpx

from ._asyncio_backend import AsyncioBackend
from .deadline import AsyncDeadlineBackend

_READ = 64 * 1024  # httpcore's READ_NUM_BYTES
_MAX_HEAD = 100 * 1024  # httpcore's limit on a response head (h11's max_incomplete_event_size)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VALUE = re.compile(rb"[^\x00\r\n]*")
_JOIN_BELOW = 256 * 1024  # a body this small goes out in the same write as the head


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


def request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request line and headers, checked as h11 checks them (no header injection)."""
    if not _TOKEN.fullmatch(method) or not _TARGET.fullmatch(target):
        raise httpcore.LocalProtocolError(f"invalid request line: {method!r} {target!r}")
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            raise httpcore.LocalProtocolError(f"invalid header {name!r}: a name must be a token "
                                              "and a value may not hold CR, LF or NUL")
        parts += (name, b": ", value.strip(b" \t"), b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class _ClosesNow(typing.Protocol):
    def close_now(self) -> None: ...


class _Parse:
    """httptools' callbacks for one response: its head, the body pieces not yet handed on."""

    __slots__ = ("body", "done", "framed", "head_done", "headers", "informational", "keep_alive",
                 "parser", "reason", "status")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.reason = b""
        self.head_done = self.done = self.informational = self.framed = self.keep_alive = False
        self.status = 0
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, reason: bytes) -> None:
        self.reason = bytes(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((bytes(name), bytes(value)))
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.informational = True  # skipped, as httpcore skips 1xx answers
            self.headers, self.reason, self.framed = [], b"", False
        else:
            # Asked now: once the message is complete llhttp has reset and answers False.
            self.status, self.keep_alive = status, self.parser.should_keep_alive()
            self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(bytes(body))

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
        else:
            self.done = True

    def detach(self) -> None:
        """Drop the parser once the response is over.

        The parser holds this object's bound callbacks and this object holds the parser: a
        reference cycle per response, ~10 objects only the garbage collector could free. At
        hundreds in flight they survived into the oldest generation and made up all of
        ``generate``'s cyclic garbage (``docs/architecture.md``, "Garbage per row").
        """
        with contextlib.suppress(AttributeError):  # detached already
            del self.parser


class _Connection:
    __slots__ = ("idle_since", "origin", "reusable", "stream")

    def __init__(self, origin: httpcore.Origin, stream: httpcore.AsyncNetworkStream) -> None:
        self.origin = origin
        self.stream = stream
        self.idle_since = 0.0
        self.reusable = False

    def close(self) -> None:
        # asyncio's transport.close() is synchronous underneath ``aclose``: nothing to await,
        # so closing works from a cancelled task or a generator's finally too.
        typing.cast("_ClosesNow", self.stream).close_now()

    async def write_request(self, request: httpcore.Request, timeout: float | None) -> None:
        head = request_head(request.method, request.url.target, request.headers)
        chunked = any(name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
                      for name, value in request.headers)
        stream = request.stream
        assert isinstance(stream, AsyncIterable)
        pending, size = [head], len(head)
        async for chunk in stream:
            if not chunk:
                continue
            if chunked:
                chunk = b"%x\r\n%b\r\n" % (len(chunk), chunk)
            pending.append(chunk)
            size += len(chunk)
            if size >= _JOIN_BELOW:
                await self.stream.write(b"".join(pending), timeout)
                pending, size = [], 0
        if chunked:
            pending.append(b"0\r\n\r\n")
        if pending:
            await self.stream.write(b"".join(pending), timeout)

    async def feed(self, parse: _Parse, timeout: float | None, seen: int) -> int:
        """Read once and parse it; returns the bytes read so far (``seen`` + this read)."""
        data = await self.stream.read(_READ, timeout)
        if not data:
            if not parse.head_done:
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response." if seen == 0 else
                    "Server disconnected in the middle of the response head.")
            if parse.framed:
                raise httpcore.RemoteProtocolError(
                    "peer closed connection without sending complete message body")
            parse.done = True  # a body delimited by the end of the connection
            self.reusable = False
            return seen
        seen += len(data)
        if not parse.head_done and seen > _MAX_HEAD:
            raise httpcore.RemoteProtocolError(
                f"the response head is larger than {_MAX_HEAD // 1024} KiB")
        try:
            parse.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise httpcore.RemoteProtocolError(
                "the server switched protocols (101), which this client does not do") from None
        except httptools.HttpParserError as exc:
            raise httpcore.RemoteProtocolError(f"malformed response: {exc}") from exc
        return seen


class Http11Pool:
    """httpcore's async pool interface over :class:`_Connection` (see the module docstring)."""

    def __init__(self, *, network_backend: httpcore.AsyncNetworkBackend,
                 ssl_context: ssl.SSLContext, max_connections: int | None,
                 max_keepalive_connections: int | None, keepalive_expiry: float | None) -> None:
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._max = max_connections if max_connections is not None else 1 << 30
        self._max_idle = min(max_keepalive_connections if max_keepalive_connections is not None
                             else self._max, self._max)
        self._expiry = keepalive_expiry
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._idle_count = 0
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    # -- httpcore's interface -----------------------------------------------------------------
    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme.decode('ascii', 'replace')}://'.")
        if not request.url.host:
            raise httpcore.UnsupportedProtocol("Request URL has no host (e.g. 'http://127.0.0.1:8000/').")
        timeouts = request.extensions.get("timeout", {})
        connection = await self._checkout(request.url.origin, timeouts)
        try:
            response = await self._exchange(connection, request, timeouts)
        except BaseException:
            self._discard(connection)
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
    async def _exchange(self, connection: _Connection, request: httpcore.Request,
                        timeouts: dict[str, float | None]) -> httpcore.Response:
        read = timeouts.get("read")
        # As httpcore: a server may close early and still answer (413, 401...); read it.
        with contextlib.suppress(httpcore.WriteError):
            await connection.write_request(request, timeouts.get("write"))
        parse = _Parse()
        seen = 0
        try:
            while not parse.head_done:
                seen = await connection.feed(parse, read, seen)
        except BaseException:
            parse.detach()
            raise
        if request.method == b"HEAD":  # no body follows, whatever the headers say
            parse.done, parse.body = True, []
            connection.reusable = False
        else:
            connection.reusable = parse.keep_alive
        return httpcore.Response(
            status=parse.status, headers=parse.headers,
            content=_Body(self, connection, parse, read),
            extensions={"http_version": b"HTTP/" + parse.parser.get_http_version().encode(),
                        "reason_phrase": parse.reason, "network_stream": connection.stream},
        )

    # -- connections --------------------------------------------------------------------------
    async def _checkout(self, origin: httpcore.Origin,
                        timeouts: dict[str, float | None]) -> _Connection:
        while True:
            idle = self._idle.get(_key(origin))
            while idle:
                connection = idle.pop()
                self._idle_count -= 1
                if self._usable(connection):
                    return connection
                self._discard(connection)
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

    async def _connect(self, origin: httpcore.Origin, timeout: float | None) -> _Connection:
        host = origin.host.decode("ascii")
        stream = await self._backend.connect_tcp(host, origin.port, timeout)
        if origin.scheme == b"https":
            try:
                stream = await stream.start_tls(self._ssl_context, server_hostname=host,
                                                timeout=timeout)
            except BaseException:
                await stream.aclose()
                raise
        return _Connection(origin, stream)

    def _usable(self, connection: _Connection) -> bool:
        if self._expiry is not None and time.monotonic() - connection.idle_since > self._expiry:
            return False
        # Readable while idle: the server closed it (or sent something unasked).
        return not connection.stream.get_extra_info("is_readable")

    def _evict_one(self) -> None:
        for connections in self._idle.values():
            if connections:
                self._idle_count -= 1
                self._discard(connections.pop(0))
                return

    def release(self, connection: _Connection) -> None:
        """The response was read to its end: keep the connection for the next request."""
        if self._closed or self._idle_count >= self._max_idle:
            self._discard(connection)
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(_key(connection.origin), []).append(connection)
        self._idle_count += 1
        self._wake()

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class _Body:
    """The response body as it is parsed; the connection goes back once it is all read."""

    __slots__ = ("_connection", "_finished", "_parse", "_pool", "_timeout")

    def __init__(self, pool: Http11Pool, connection: _Connection, parse: _Parse,
                 timeout: float | None) -> None:
        self._pool = pool
        self._connection = connection
        self._parse = parse
        self._timeout = timeout
        self._finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parse, connection = self._parse, self._connection
        try:
            while True:
                if parse.body:
                    pieces, parse.body = parse.body, []
                    for piece in pieces:
                        yield piece
                if parse.done:
                    break
                await connection.feed(parse, self._timeout, 0)
            self._finish(keep=True)
        except BaseException:
            self._finish(keep=False)
            raise

    async def aclose(self) -> None:
        self._finish(keep=False)

    def _finish(self, *, keep: bool) -> None:
        if self._finished:
            return
        self._finished = True
        self._parse.detach()
        if keep and self._connection.reusable:
            self._pool.release(self._connection)
        else:
            self._pool._discard(self._connection)


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
