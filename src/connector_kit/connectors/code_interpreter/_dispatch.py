"""Feeding async callers' jobs to a few long-lived threads, results back several per wake-up.

``MontyConnector.aexecute_code`` used a ``ThreadPoolExecutor`` + ``asyncio.wrap_future``: per
call a ``concurrent.futures.Future`` with its condition variable, an executor work item, a
chained asyncio future and two cross-thread callbacks. On tiny snippets that machinery cost
more host CPU than the sandbox run itself (issue 17). Here a call is one ``SimpleQueue.put`` of
a small job; threads take jobs one at a time (so a slow run never holds up jobs queued behind
it: the other threads take them), and results go back through a per-loop mailbox that settles
every result posted so far in one callback on the loop:

* a worker wakes the loop (one ``loop.call_soon_threadsafe``) only when fewer than
  ``_HOLD_QUEUED`` jobs per thread are queued -- the loop then has results to turn into new
  jobs before the threads run dry. With more queued it **holds** the result: posted, no
  wake-up;
* held results are settled by whichever comes first: the next wake-up, the loop's next
  ``submit`` (it settles what is posted, no wake-up needed), or a timer on the loop itself,
  armed while this loop has work in flight, that fires ``_HOLD_SECS`` (1 ms) after arming. A
  result is held only while that timer is armed, so none waits longer than 1 ms, whatever
  the threads are running -- and no extra thread is needed to bound it.

``benchmarks/code_blocks.py`` measures it against the raw pool loop (``docs/architecture.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_QUEUED, _RUNNING, _CANCELLED = 0, 1, 2
#: Longest a finished result waits for a loop wake-up shared with later results (seconds).
_HOLD_SECS = 0.001
#: A worker holds a result (no wake-up) while at least this many jobs per thread are queued.
#: One: the thread that wakes the loop still has a job to take, so no thread waits for the
#: loop's turn-around, and each wake-up settles more results. Measured against 2 on a quiet
#: machine (``aexecute_code`` x8, 30 interleaved rounds, twice): 0.68 / 0.68 of the raw loop
#: against 0.66 / 0.64, the loop thread's CPU 47 against 56 us a run; x32 unchanged.
_HOLD_QUEUED = 1

_Item = tuple[asyncio.Future[Any], Any, "BaseException | None"]


class _Job:
    __slots__ = ("args", "fn", "future", "mailbox", "state")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], future: asyncio.Future[Any],
                 mailbox: _Mailbox) -> None:
        self.fn, self.args, self.future, self.mailbox = fn, args, future, mailbox
        self.state = _QUEUED


class _Mailbox:
    """Results for one event loop: posted from worker threads, settled on the loop in batches.

    ``_armed`` (written under ``_lock``) means a timer on the loop will settle everything
    posted within ``_HOLD_SECS``; a post may skip the wake-up only then.
    """

    __slots__ = ("_armed", "_held", "_items", "_lock", "_scheduled", "_timer", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: list[_Item] = []
        self._scheduled = False  # a settle via call_soon_threadsafe is pending
        self._armed = False  # a timer on the loop will settle within _HOLD_SECS
        self._held = False  # a result was held since the timer last fired
        self._timer: asyncio.TimerHandle | None = None  # the loop's; set and read only there

    # -- worker threads ---------------------------------------------------------------------

    def post(self, future: asyncio.Future[Any], result: Any, error: BaseException | None,
             hold: bool) -> None:
        """Hand a result to the loop: held if ``hold`` and the timer is armed, else woken."""
        with self._lock:
            self._items.append((future, result, error))
            if self._scheduled:
                return  # a settle is pending and will take this one too
            if hold and self._armed:
                self._held = True
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self._drain)

    # -- the loop ---------------------------------------------------------------------------

    def on_submit(self) -> None:
        """On the loop, per submitted job: settle what is posted, keep the timer armed."""
        if self._items:  # a racy peek: a result posted just after is settled by its own path
            self._settle()
        if not self._armed:  # only the loop writes True/False here, so this read is exact
            with self._lock:
                self._armed = True
            self._timer = self.loop.call_later(_HOLD_SECS, self._tick)

    def _tick(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            rearm, self._held = self._held, False
            self._armed = rearm  # results held since the last tick: keep bounding the hold
        self._timer = self.loop.call_later(_HOLD_SECS, self._tick) if rearm else None
        _resolve(items)

    def _settle(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        _resolve(items)

    def _drain(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
            # Everything posted is settled now: disarm, so the timer does not wake the loop
            # for nothing (from here on a post wakes it, until the next submit re-arms).
            armed, self._armed, self._held = self._armed, False, False
        if armed and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        _resolve(items)


def _resolve(items: list[_Item]) -> None:
    for future, result, error in items:
        if future.cancelled():
            continue  # the caller was cancelled while it ran: its result is dropped
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class Dispatcher:
    """``threads`` daemon threads running submitted jobs; :meth:`submit` is called on a loop."""

    def __init__(self, threads: int, name: str) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = max(1, threads)
        self._name = name
        self._started = False
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()  # a job's queued -> running / cancelled step
        self._mailboxes: dict[asyncio.AbstractEventLoop, _Mailbox] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> tuple[asyncio.Future[Any], _Job]:
        """Queue ``fn(*args)``; return the future the running loop awaits, and the job."""
        loop = asyncio.get_running_loop()
        mailbox = self._mailboxes.get(loop)
        if mailbox is None:
            mailbox = self._mailbox(loop)
        if not self._started:
            self._start()
        job = _Job(fn, args, loop.create_future(), mailbox)
        self._queue.put(job)
        mailbox.on_submit()
        return job.future, job

    def cancel(self, job: _Job) -> bool:
        """Withdraw a job that has not started; True if it never will run."""
        with self._state_lock:
            if job.state == _QUEUED:
                job.state = _CANCELLED
                return True
        return False

    def shutdown(self) -> None:
        """Stop the threads once the jobs already queued have run."""
        with self._lock:
            started, self._started = self._started, False
            self._mailboxes.clear()
        if started:
            for _ in range(self._threads):
                self._queue.put(None)

    def _mailbox(self, loop: asyncio.AbstractEventLoop) -> _Mailbox:
        with self._lock:
            for old in [known for known in self._mailboxes if known.is_closed()]:
                del self._mailboxes[old]  # loops of finished asyncio.run calls
            return self._mailboxes.setdefault(loop, _Mailbox(loop))

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        for number in range(self._threads):
            # Daemon threads: a hung snippet (bounded by the pool's own timeouts) must not
            # keep the interpreter from exiting.
            threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()

    def _work(self) -> None:
        get, queued, state_lock = self._queue.get, self._queue.qsize, self._state_lock
        hold_at = _HOLD_QUEUED * self._threads
        while True:
            job = get()
            if job is None:
                return
            with state_lock:
                if job.state == _CANCELLED:
                    continue
                job.state = _RUNNING
            try:
                result, error = job.fn(*job.args), None
            except BaseException as exc:  # handed to the awaiting caller
                result, error = None, exc
            # Enough queued that the loop need not be woken to keep the threads busy: hold.
            job.mailbox.post(job.future, result, error, queued() >= hold_at)


__all__ = ["Dispatcher"]
