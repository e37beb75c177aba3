"""The async pools of one HttpClient: per event loop, sharded, kept alive, closed with their loop.

An ``httpx.AsyncClient``'s connections belong to the loop they were opened on, so each loop
gets its own clients. Three things keep them honest:

- **Small shards, chosen stably.** httpcore's pool runs ``_assign_requests_to_connections``
  on every request start and end; it polls every connection's socket (``has_expired``) and,
  for each idle one, lists all of them again, so its cost grows with the square of the
  connections in one client (cProfile at 200 in flight: that scan was most of the CPU).
  Calls are therefore spread over ``1 + (peak - 1) // PER_SHARD`` clients (at most
  :data:`MAX_SHARDS`), ``peak`` being the most calls seen in flight on the loop, each call
  going to the client with the fewest in flight. Measured at 200 in flight on loopback
  (2 shared cores): CPU per request ~3.0 ms with 24 per client, ~1.3 ms with 8, ~1.0 ms with
  4, about raw httpx's with 8 per client. The count only grows and the load stays even, so a
  connection opened in one burst is there for the next (choosing the shard count by the
  *current* in-flight count reshuffled calls after every burst, and a client keeping fewer
  idle connections than it carried closed the rest: ~one TCP connect per row).
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

PER_SHARD = 4
MAX_SHARDS = 128
SHARD_CONNECTIONS = 16
KEEPALIVE_EXPIRY = 5.0

#: The deadline backend under each AsyncClient's pool (for connects counted, sockets abandoned).
BACKENDS: weakref.WeakKeyDictionary[httpx.AsyncClient, AsyncDeadlineBackend] = (
    weakref.WeakKeyDictionary()
)


#: The transport under each client (calls that need none of the client's features go to
#: it), and whether the HttpClient built it (then async ones are the kit's ``Http11Pool``, which
#: bounds every wait by the deadline itself, and their responses are always unread streams).
TRANSPORTS: weakref.WeakKeyDictionary[
    httpx.Client | httpx.AsyncClient, tuple[httpx.BaseTransport | httpx.AsyncBaseTransport, bool]] = (
    weakref.WeakKeyDictionary()
)


def default_limits() -> httpx.Limits:
    return httpx.Limits(max_connections=SHARD_CONNECTIONS, max_keepalive_connections=SHARD_CONNECTIONS,
                        keepalive_expiry=KEEPALIVE_EXPIRY)


@dataclass(eq=False)
class LoopClients:
    """The AsyncClients of one event loop."""

    clients: list[httpx.AsyncClient] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # calls in flight per client
    inflight: int = 0
    peak: int = 0
    closed: bool = False
    max_shards: int = MAX_SHARDS
    guard: AsyncGenerator[None, None] | None = None

    def pick(self, make: Callable[[], httpx.AsyncClient]) -> int:
        """The shard for the next call: the least busy one (call :meth:`release` after)."""
        self.inflight += 1
        if self.inflight > self.peak:
            self.peak = self.inflight
            wanted = min(1 + (self.peak - 1) // PER_SHARD, self.max_shards)
            while len(self.clients) < wanted:
                self.clients.append(make())
                self.busy.append(0)
        busy = self.busy
        index = busy.index(min(busy)) if len(busy) > 1 else 0
        busy[index] += 1
        return index

    def release(self, index: int) -> None:
        self.inflight -= 1
        if index < len(self.busy):
            self.busy[index] -= 1

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
        clients, self.clients, self.busy = self.clients, [], []
        for client in clients:
            await client.aclose()
        self._end_guard()

    def abandon(self) -> None:
        """The loop is gone: close the sockets themselves (nothing can be awaited on it)."""
        self.closed = True
        clients, self.clients, self.busy = self.clients, [], []
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
