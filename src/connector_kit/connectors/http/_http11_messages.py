"""One HTTP/1.1 exchange on one connection: the request written, the response parsed.

The parts of :mod:`.http11`'s pool that touch bytes: the request head written and checked as
h11 checks it (no CR, LF or NUL; names are tokens) and sent with a small body in one write;
the response parsed by httptools (llhttp, uvicorn's parser) with httpcore's rules: 1xx
answers skipped (101 refused), a head limited to 100 KiB, a body delimited by the end of the
connection read to it; the body handed on as it arrives, or read whole within a limit.
"""

from __future__ import annotations

import contextlib
import re
import typing
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httptools
import httpx

_READ = 64 * 1024  # httpcore's READ_NUM_BYTES
_MAX_HEAD = 100 * 1024  # httpcore's limit on a response head (h11's max_incomplete_event_size)
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_VALUE = re.compile(rb"[^\x00\r\n]*")
_JOIN_BELOW = 256 * 1024  # a body this small goes out in the same write as the head


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


class Owner(typing.Protocol):
    """Where a connection goes once its response is over (the pool)."""

    def release(self, connection: Connection) -> None: ...

    def discard(self, connection: Connection) -> None: ...


class _Parse:
    """httptools' callbacks for one response: its head, the body pieces not yet handed on."""

    __slots__ = ("body", "done", "encoded", "framed", "head_done", "headers", "informational",
                 "keep_alive", "length", "parser", "reason", "status", "version")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.reason = b""
        self.head_done = self.done = self.informational = self.framed = self.keep_alive = False
        self.encoded = False
        self.length: int | None = None
        self.status = 0
        self.version = "1.1"
        self.parser = httptools.HttpResponseParser(self)

    def on_status(self, reason: bytes) -> None:
        self.reason = bytes(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((bytes(name), bytes(value)))
        lowered = name.lower()
        if lowered == b"content-length":
            self.framed = True
            self.length = int(value) if value.isdigit() else None
        elif lowered == b"transfer-encoding":
            self.framed = True
        elif lowered == b"content-encoding":
            self.encoded = True

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.informational = True  # skipped, as httpcore skips 1xx answers
            self.headers, self.reason, self.framed, self.encoded = [], b"", False, False
            self.length = None
        else:
            # Asked now: once the message is complete llhttp has reset and answers False.
            self.status, self.keep_alive = status, self.parser.should_keep_alive()
            self.version = self.parser.get_http_version()
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


class Connection:
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


async def read_head(connection: Connection, timeout: float | None) -> _Parse:
    parse = _Parse()
    seen = 0
    try:
        while not parse.head_done:
            seen = await connection.feed(parse, timeout, seen)
    except BaseException:
        parse.detach()
        raise
    return parse


class ResponseTooLarge(Exception):
    """The body passed the limit :meth:`Reply.read` was given; reading stopped there."""


class Reply(httpx.AsyncByteStream):
    """A response as it is parsed; the connection goes back once its body is all read.

    Under :meth:`.Http11Pool.handle_async_request`, httpcore's response content; from
    :meth:`.Http11Pool.open`, the response itself: its head, and the body read whole
    (:meth:`read`) or, when encoded, streamed for httpx to decode.
    """

    __slots__ = ("_connection", "_finished", "_parse", "_pool", "_timeout")

    def __init__(self, pool: Owner, connection: Connection, parse: _Parse,
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

    @property
    def status(self) -> int:
        return self._parse.status

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return self._parse.headers

    @property
    def reason(self) -> bytes:
        return self._parse.reason

    @property
    def http_version(self) -> bytes:
        return b"HTTP/" + self._parse.version.encode()

    @property
    def encoded(self) -> bool:
        return self._parse.encoded

    @property
    def length(self) -> int | None:
        """The Content-Length the server announced, if any."""
        return self._parse.length

    async def read(self, limit: int) -> bytes:
        """The whole body, refused (:class:`ResponseTooLarge`) once it passes ``limit`` bytes."""
        parse, connection = self._parse, self._connection
        pieces: list[bytes] = []
        size = 0
        try:
            while True:
                if parse.body:
                    for piece in parse.body:
                        size += len(piece)
                    if size > limit:
                        raise ResponseTooLarge(limit)
                    pieces += parse.body
                    parse.body = []
                if parse.done:
                    break
                await connection.feed(parse, self._timeout, 0)
        except BaseException:
            self._finish(keep=False)
            raise
        self._finish(keep=True)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _finish(self, *, keep: bool) -> None:
        if self._finished:
            return
        self._finished = True
        self._parse.detach()
        if keep and self._connection.reusable:
            self._pool.release(self._connection)
        else:
            self._pool.discard(self._connection)
