"""Feeding async callers' jobs to a few long-lived threads, with one cheap hop each way.

``MontyConnector.aexecute_code`` used a ``ThreadPoolExecutor`` + ``asyncio.wrap_future``: per
call a ``concurrent.futures.Future`` with its condition variable, an executor work item, a
chained asyncio future and two cross-thread callbacks. On tiny snippets that machinery cost
more host CPU than the sandbox run itself (issue 17: 0.62x a raw sync pool loop at 8 in flight).
Here a call is one ``SimpleQueue.put`` of a small job, and its result one
``loop.call_soon_threadsafe``; results that finish while the loop is busy are handed over in one
batch (one wake-up of the loop for all of them). ``connector_kit.testkit.benchmarks.monty``
measures it against the raw pool loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

_QUEUED, _RUNNING, _CANCELLED = 0, 1, 2


class _Job:
    __slots__ = ("args", "fn", "future", "mailbox", "state")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], future: asyncio.Future[Any],
                 mailbox: _Mailbox) -> None:
        self.fn, self.args, self.future, self.mailbox = fn, args, future, mailbox
        self.state = _QUEUED


class _Mailbox:
    """Results for one event loop: posted from worker threads, settled on the loop in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []

    def post(self, future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
        with self._lock:
            self._items.append((future, result, error))
            if len(self._items) > 1:
                return  # a drain is already scheduled and will take this one too
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        for future, result, error in items:
            if future.cancelled():
                continue
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
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._state_lock:
                if job.state == _CANCELLED:
                    continue
                job.state = _RUNNING
            try:
                result, error = job.fn(*job.args), None
            except BaseException as exc:  # handed to the awaiting caller
                result, error = None, exc
            job.mailbox.post(job.future, result, error)


__all__ = ["Dispatcher"]
