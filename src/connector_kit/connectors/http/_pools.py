"""The async pools of one HttpClient: per event loop, sharded, kept alive, closed with their loop.

An ``httpx.AsyncClient``'s connections belong to the loop they were opened on, so each loop
gets its own clients. Three things keep them honest:

- **Shards chosen stably.** httpcore's pool scans every connection and queued request on
  each request start and end, so one client carrying hundreds in flight spends its time in
  that scan. Calls are spread round-robin over ``1 + (peak - 1) // PER_SHARD`` clients
  (at most :data:`MAX_SHARDS`), where ``peak`` is the most calls seen in flight on the loop.
  The count only grows, so a connection opened in one burst is still there for the next
  (choosing by the *current* in-flight count reshuffled calls onto other clients after every
  burst, and a client keeping fewer idle connections than it carried closed the rest:
  ~one TCP connect per row at 200 in flight).
- **Everything opened is kept alive**: each shard keeps as many idle connections as it may
  open (:data:`SHARD_CONNECTIONS`).
- **Closed with the loop.** A tiny async generator is started on the loop; ``asyncio.run``
  (and any runner that calls ``loop.shutdown_asyncgens()``) closes it as the loop ends, and
  its ``finally`` closes the loop's clients. A loop closed without that has its sockets
  closed directly (their streams are tracked by the deadline backend) the next time the
  client is used or closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

import httpx

from .deadline import AsyncDeadlineBackend

PER_SHARD = 24
MAX_SHARDS = 24
SHARD_CONNECTIONS = 64
KEEPALIVE_EXPIRY = 5.0

#: The deadline backend under each AsyncClient's pool (for connects counted, sockets abandoned).
BACKENDS: weakref.WeakKeyDictionary[httpx.AsyncClient, AsyncDeadlineBackend] = (
    weakref.WeakKeyDictionary()
)


def default_limits() -> httpx.Limits:
    return httpx.Limits(max_connections=SHARD_CONNECTIONS, max_keepalive_connections=SHARD_CONNECTIONS,
                        keepalive_expiry=KEEPALIVE_EXPIRY)


@dataclass(eq=False)
class LoopClients:
    """The AsyncClients of one event loop."""

    clients: list[httpx.AsyncClient] = field(default_factory=list)
    inflight: int = 0
    peak: int = 0
    turn: int = 0
    closed: bool = False
    guard: AsyncGenerator[None, None] | None = None

    def pick(self, make: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
        """The client for the next call (call with ``inflight`` already counting it)."""
        if self.inflight > self.peak:
            self.peak = self.inflight
        wanted = min(1 + max(0, self.peak - 1) // PER_SHARD, MAX_SHARDS)
        clients = self.clients
        while len(clients) < wanted:
            clients.append(make())
        if wanted == 1:
            return clients[0]
        self.turn = turn = (self.turn + 1) % wanted
        return clients[turn]

    @property
    def connects(self) -> int:
        return sum(backend.connects for client in self.clients
                   if (backend := BACKENDS.get(client)) is not None)

    async def start_guard(self, forget: Callable[[], None]) -> None:
        """Have the running loop close these clients when it shuts down."""
        guard = _guard(self, forget)
        self.guard = guard
        await guard.__anext__()

    async def aclose(self) -> None:
        self.closed = True
        clients, self.clients = self.clients, []
        for client in clients:
            await client.aclose()
        self._end_guard()

    def abandon(self) -> None:
        """The loop is gone: close the sockets themselves (nothing can be awaited on it)."""
        self.closed = True
        clients, self.clients = self.clients, []
        for client in clients:
            backend = BACKENDS.pop(client, None)
            if backend is not None:
                backend.abandon()
        self._end_guard()

    def _end_guard(self) -> None:
        # Finish the guard now (its finally sees ``closed`` and awaits nothing), so it is not
        # finalised later through a loop that may be closed by then.
        guard, self.guard = self.guard, None
        if guard is not None:
            with contextlib.suppress(StopIteration, StopAsyncIteration, RuntimeError):
                guard.aclose().send(None)


async def _guard(clients: LoopClients, forget: Callable[[], None]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if not clients.closed:
            forget()
            clients.guard = None  # this generator is finishing itself
            await clients.aclose()


def close_everywhere(entries: list[tuple[asyncio.AbstractEventLoop, LoopClients]]) -> None:
    """Close each loop's clients from sync code, wherever we are called from."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, clients in entries:
        if clients.closed:
            continue
        if loop.is_closed():
            clients.abandon()
        elif loop is running:
            # We are inside this loop's own sync code and cannot await: close on its next turn
            # (``await aclose()`` instead to have it done on return).
            task = loop.create_task(clients.aclose())
            _PENDING.add(task)
            task.add_done_callback(_PENDING.discard)
        elif loop.is_running():  # another thread's loop
            future = asyncio.run_coroutine_threadsafe(clients.aclose(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5)
        elif running is None:
            loop.run_until_complete(clients.aclose())
        else:
            # An idle loop, but this thread already runs one: drive it from a helper thread.
            worker = threading.Thread(target=loop.run_until_complete, args=(clients.aclose(),),
                                      daemon=True)
            worker.start()
            worker.join(timeout=10)


_PENDING: set[asyncio.Task[None]] = set()
