"""httpcore's async network backend on asyncio's own transports, without anyio's layers.

httpcore picks anyio's backend under asyncio: every read and write enters a cancel scope
(``fail_after``), looks up the current task, maps exceptions, and every idle-connection check
builds anyio's attribute table and polls the socket. At 200 in flight that was the largest
single share of the client's CPU after httpx itself (see ``docs/architecture.md``, "Async CPU
per row"). httpcore documents the network backend as its extension point
(``httpcore.AsyncNetworkBackend``); this one implements it on an ``asyncio.Protocol``: the
bytes a socket delivers wait in a buffer, a read takes what is there or waits on one future
with one timer, a write goes straight to the transport (waiting only when asyncio's write
buffer is full), and "is this idle connection readable?" is answered from the buffer and the
connection state asyncio already keeps.

Errors are httpcore's own, as anyio's backend raises them (``ConnectError`` /
``ConnectTimeout`` / ``ReadError`` / ``ReadTimeout`` / ``WriteError`` / ``WriteTimeout``, the
``OSError`` kept as the cause), so httpx maps them as usual.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import typing

import httpcore

#: Bytes buffered from the socket before reading from it pauses (bounded memory per connection).
_HIGH_WATER = 256 * 1024


class _Protocol(asyncio.Protocol):
    __slots__ = (
        "buffer",
        "closed",
        "eof",
        "error",
        "loop",
        "paused",
        "transport",
        "waiter",
        "writable",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None
        self.eof = False
        self.closed = False
        self.paused = False
        self.error: BaseException | None = None

    # -- asyncio's callbacks ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.eof = True
        self.error = exc
        self._wake()
        writable, self.writable = self.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def pause_writing(self) -> None:
        if self.writable is None:
            self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        writable, self.writable = self.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def _wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _readable(fd: int) -> bool:
    if fd < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _wait(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None],
                timeout: float | None) -> None:
    """Await ``future``; TimeoutError after ``timeout`` seconds (one timer, no task)."""
    if timeout is None:
        await future
        return
    if timeout <= 0:
        future.cancel()
        raise TimeoutError()
    timer = loop.call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: the protocol's buffer read in pieces, writes straight to the transport."""

    def __init__(self, protocol: _Protocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        buffer = protocol.buffer
        if not buffer and not protocol.eof:
            waiter = protocol.waiter = protocol.loop.create_future()
            try:
                await _wait(protocol.loop, waiter, timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading from the server") from None
            finally:
                if protocol.waiter is waiter:
                    protocol.waiter = None
            buffer = protocol.buffer
        if buffer:
            if len(buffer) <= max_bytes:
                data = bytes(buffer)
                buffer.clear()
            else:
                data = bytes(buffer[:max_bytes])
                del buffer[:max_bytes]
            if protocol.paused and len(buffer) < _HIGH_WATER // 2 and not protocol.closed:
                protocol.paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__) \
                from protocol.error
        return b""  # end of stream, as a socket read returns it

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            cause = protocol.error
            raise httpcore.WriteError(str(cause) if cause else "the connection is closed") from cause
        self._transport.write(buffer)
        writable = protocol.writable
        if writable is not None:
            try:
                await _wait(protocol.loop, asyncio.shield(writable), timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out writing to the server") from None
            if protocol.closed and protocol.error is not None:
                raise httpcore.WriteError(str(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        self._transport.close()

    def close_now(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        protocol = self._protocol
        try:
            transport = await asyncio.wait_for(
                protocol.loop.start_tls(self._transport, protocol, ssl_context,
                                        server_hostname=server_hostname),
                timeout)
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # pragma: no cover - the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        protocol.transport = transport
        return AsyncioStream(protocol, transport)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            protocol = self._protocol
            # An idle keep-alive connection is "readable" when the server closed it or sent
            # something unasked: httpcore then drops it instead of reusing it.
            if protocol.buffer or protocol.eof or protocol.closed:
                return True
            # The server's FIN may be in the kernel before the loop has read it: ask the
            # socket itself, as httpcore does (one zero-timeout poll).
            sock = self._transport.get_extra_info("socket")
            return sock is not None and _readable(sock.fileno())
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections as asyncio transports + :class:`AsyncioStream` (see the module docstring)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        stream = await self._connect(
            loop, lambda protocol: loop.create_connection(lambda: protocol, host, port,
                                                          local_addr=local), timeout)
        if socket_options:
            sock = stream.get_extra_info("socket")
            for option in socket_options:
                sock.setsockopt(*option)
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        return await self._connect(
            loop, lambda protocol: loop.create_unix_connection(lambda: protocol, path), timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    @staticmethod
    async def _connect(loop: asyncio.AbstractEventLoop,
                       open_: typing.Callable[[_Protocol], typing.Awaitable[
                           tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]],
                       timeout: float | None) -> AsyncioStream:
        protocol = _Protocol(loop)
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await open_(protocol)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out connecting to the server") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(protocol, typing.cast(asyncio.Transport, transport))


__all__ = ["AsyncioBackend", "AsyncioStream"]
