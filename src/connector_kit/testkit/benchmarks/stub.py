"""A delayed agent stub for benchmarks: asyncio HTTP/1.1 keep-alive server, run in its own process.

Every POST waits ``--delay`` seconds (an agent thinking, without using CPU) and answers a
Langflow-shaped JSON body; ``GET /__stats`` answers ``{"connects": n, "requests": m}`` so a
benchmark can count the TCP connections a client opened per batch. One asyncio loop, no
threads: hundreds of concurrent connections cost it little CPU, so the client is what is
measured. Binds 127.0.0.1 only; prints its URL, serves until its stdin closes.

Run: ``python -m connector_kit.testkit.benchmarks.stub --delay 0.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .agent import LANGFLOW_RESPONSE

#: Largest request head or body accepted (bounded reads).
MAX_REQUEST = 1024 * 1024


class _Stub:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.connects = 0
        self.requests = 0
        body = json.dumps(LANGFLOW_RESPONSE).encode()
        self.answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connects += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_REQUEST:
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = min(int(value.strip() or 0), MAX_REQUEST)
                if length:
                    await reader.readexactly(length)
                if head.startswith(b"GET /__stats"):
                    stats = json.dumps({"connects": self.connects, "requests": self.requests}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(stats)).encode() + b"\r\n\r\n" + stats)
                else:
                    self.requests += 1
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    writer.write(self.answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            return
        except asyncio.CancelledError:  # the stub is shutting down: nothing to report
            return
        finally:
            writer.close()


async def _main(delay: float) -> None:
    stub = _Stub(delay)
    server = await asyncio.start_server(stub.serve, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.delay))


if __name__ == "__main__":
    main()
