"""A scripted HTTP server on 127.0.0.1 with real sockets, for fault injection.

Each request takes the next :class:`Reply` from the script (or the default handler once
the script is empty): a status and body, or a fault -- a delay, a hang, a reset before or
in the middle of the body, a truncated body, a slow trickle of the body or of the headers,
``103 Early Hints`` before the answer (or forever). Raw sockets, so a reset is a
real TCP RST and a truncated body is really short; the client under test meets exactly
what it would meet in production.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Upper bound on any hang or delay, so a forgotten server never holds a test forever.
MAX_STALL = 60.0


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """One scripted answer. Plain fields describe a response; the fault fields break it."""

    status: int = 200
    body: bytes | str | Any = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before anything is sent
    hang: bool = False  # never answer (until the server stops or MAX_STALL)
    reset_before: bool = False  # TCP RST before any byte of the response
    reset_after_bytes: int | None = None  # send this many body bytes, then RST
    truncate_to: int | None = None  # announce the full length, send this many bytes, close
    trickle: float | None = None  # seconds between body pieces of ``trickle_bytes`` bytes
    trickle_bytes: int = 1  # size of each trickled piece (1 = byte by byte)
    close: bool = False  # Connection: close after this reply
    trickle_head: float | None = None  # seconds between the bytes of the status line and headers
    early_hints: int = 0  # ``103 Early Hints`` sent before the answer; -1: forever (MAX_STALL)
    early_hints_every: float = 0.05  # seconds between two of them
    repeat: int = 1  # send the body this many times (a large answer without holding it in memory)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def json_reply(value: Any, status: int = 200, **kwargs: Any) -> Reply:
    return Reply(status=status, body=json.dumps(value).encode(),
                 headers={"Content-Type": "application/json", **kwargs.pop("headers", {})}, **kwargs)


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 422: "Unprocessable Entity", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}


class FaultServer:
    """``with FaultServer() as server:`` -> ``server.url``; ``server.script(Reply(...), ...)``."""

    def __init__(self, default: Callable[[ReceivedRequest], Reply] | None = None) -> None:
        self._default = default or (lambda request: json_reply({"ok": True}))
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests: list[ReceivedRequest] = []
        self.connections = 0  # TCP connections accepted (a client's connection reuse, counted)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)

    def script(self, *replies: Reply) -> FaultServer:
        with self._lock:
            self._script.extend(replies)
        return self

    def set_default(self, handler: Callable[[ReceivedRequest], Reply]) -> None:
        self._default = handler

    def reset(self, default: Callable[[ReceivedRequest], Reply] | None = None) -> None:
        """Forget the script and the requests seen; install ``default`` (or ``{"ok": true}``)."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.connections = 0
            self._default = default or (lambda request: json_reply({"ok": True}))

    def start(self) -> FaultServer:
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._accept_thread.is_alive():
            # Wake the accept() at once instead of waiting out its 0.2 s poll.
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                pass
        self._accept_thread.join(timeout=5)
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _next_reply(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.popleft()
        return self._default(request)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = _read_request(conn, buffer, self._stop)
                if request is None:
                    return
                reply = self._next_reply(request)
                if not self._answer(conn, reply):
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _stall(self, seconds: float) -> None:
        self._stop.wait(min(seconds, MAX_STALL))

    def _answer(self, conn: socket.socket, reply: Reply) -> bool:
        """Send ``reply``; return whether the connection stays open."""
        if reply.delay:
            self._stall(reply.delay)
        if reply.hang:
            self._stall(MAX_STALL)
            return False
        if reply.reset_before:
            _reset(conn)
            return False
        body = reply.payload()
        headers = {"Content-Length": str(len(body) * max(1, reply.repeat)), **reply.headers}
        if "Content-Type" not in headers and body[:1] in (b"{", b"["):
            headers["Content-Type"] = "application/json"
        if reply.close:
            headers["Connection"] = "close"
        if reply.early_hints and not self._early_hints(conn, reply):
            return False
        head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        if reply.trickle_head is not None:
            if not self._trickle(conn, head.encode("latin-1"), reply.trickle_head, 1):
                return False
        else:
            conn.sendall(head.encode("latin-1"))
        if reply.reset_after_bytes is not None:
            conn.sendall(body[: reply.reset_after_bytes])
            _reset(conn)
            return False
        if reply.truncate_to is not None:
            conn.sendall(body[: reply.truncate_to])
            return False
        if reply.trickle is not None:
            return self._trickle(conn, body, reply.trickle, reply.trickle_bytes) and not reply.close
        for _ in range(max(1, reply.repeat)):
            if self._stop.is_set():
                return False
            conn.sendall(body)
        return not reply.close

    def _trickle(self, conn: socket.socket, data: bytes, every: float, size: int) -> bool:
        """Send ``data`` ``size`` bytes at a time, ``every`` seconds apart (bounded by MAX_STALL)."""
        started = time.monotonic()
        step = max(1, size)
        for index in range(0, len(data), step):
            if self._stop.is_set() or time.monotonic() - started > MAX_STALL:
                return False
            conn.sendall(data[index:index + step])
            self._stall(every)
        return True

    def _early_hints(self, conn: socket.socket, reply: Reply) -> bool:
        """Send the ``103 Early Hints`` of ``reply``; False if the server stopped meanwhile."""
        hint = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
        started = time.monotonic()
        sent = 0
        while reply.early_hints < 0 or sent < reply.early_hints:
            if self._stop.is_set() or time.monotonic() - started > MAX_STALL:
                return False
            conn.sendall(hint)
            sent += 1
            self._stall(reply.early_hints_every)
        return True


def _reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _read_request(
    conn: socket.socket, buffer: bytes, stop: threading.Event
) -> tuple[ReceivedRequest | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = _recv(conn, stop)
        if not chunk:
            return None, b""
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = _recv(conn, stop)
        if not chunk:
            return None, b""
        rest += chunk
    return ReceivedRequest(method, path, headers, rest[:length]), rest[length:]


def _recv(conn: socket.socket, stop: threading.Event) -> bytes:
    while not stop.is_set():
        try:
            return conn.recv(65536)
        except TimeoutError:
            continue
    return b""

