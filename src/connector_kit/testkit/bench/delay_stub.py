"""A delayed agent stub for benchmarks: asyncio HTTP/1.1 keep-alive server, run in its own process.

Every POST waits ``--delay`` seconds (an agent thinking, without using CPU) and answers
:data:`ANSWER` (the kit's trimmed Langflow sample ``faults.samples.LANGFLOW_BENCH_SAMPLE``,
which AgentBlock's langflow extractor reads); ``GET /__stats`` answers
``{"connects": n, "requests": m}`` so a benchmark can count the TCP connections a client
opened per batch. One asyncio loop, no threads, and an ``asyncio.Protocol`` rather than
streams (no task, reader or writer per connection; the wait is one timer): at 500 in flight
and 2,500 requests a second the stub must cost far less CPU than the client, which is what is
measured, on the same two cores. Binds 127.0.0.1 only; prints its URL, serves until its stdin
closes.

Run: ``python -m connector_kit.testkit.bench.delay_stub --delay 0.2`` (the AgentBlock-at-scale
benchmark starts it through :func:`.servers.server_process` with :data:`STUB_SCRIPT`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from ..faults.samples import LANGFLOW_BENCH_SAMPLE

#: What :func:`.servers.server_process` runs (``python -c``): the stub, from any working folder.
#: Ctrl-C reaches the stub too (same process group); it then exits quietly, no traceback.
STUB_SCRIPT = ("import sys; from connector_kit.testkit.bench.delay_stub import main; "
               "main(sys.argv[1:])")

#: The JSON body of every answer to a POST.
ANSWER = json.dumps(LANGFLOW_BENCH_SAMPLE).encode()

#: Largest request head or body accepted (bounded reads); a bigger one closes the connection.
MAX_REQUEST = 1024 * 1024


class _Counters:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.connects = 0
        self.requests = 0
        body = ANSWER
        self.answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n\r\n" + body)

    def stats(self) -> bytes:
        body = json.dumps({"connects": self.connects, "requests": self.requests}).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse each request, answer it after the delay."""

    def __init__(self, counters: _Counters) -> None:
        self.counters = counters
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.pending: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counters.connects += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_REQUEST:
                    self.transport.close()
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    value = value.strip()
                    length = int(value) if value.isdigit() else MAX_REQUEST + 1
            if length > MAX_REQUEST:
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return  # the body is still arriving
            self.buffer = self.buffer[end + 4 + length:]
            self._answer(head)

    def _answer(self, head: bytes) -> None:
        assert self.transport is not None
        if head.startswith(b"GET /__stats"):
            self.transport.write(self.counters.stats())
            return
        self.counters.requests += 1
        if not self.counters.delay:
            self.transport.write(self.counters.answer)
            return
        # Same delay for every request, so timers fire in request order (keep-alive order).
        loop = asyncio.get_running_loop()
        self.pending.append(loop.call_later(self.counters.delay, self._send_answer))

    def _send_answer(self) -> None:
        if self.pending:
            self.pending.pop(0)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.counters.answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for timer in self.pending:
            timer.cancel()
        self.pending.clear()


async def _main(delay: float) -> None:
    counters = _Counters(delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(counters), "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_main(args.delay))
    except KeyboardInterrupt:  # Ctrl-C in the terminal: the benchmark stops, and so do we
        sys.exit(130)


if __name__ == "__main__":
    main()
