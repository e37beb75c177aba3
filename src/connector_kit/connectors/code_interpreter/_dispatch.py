"""Feeding async callers' jobs to a few long-lived threads, with cheap hops each way.

``MontyConnector.aexecute_code`` used a ``ThreadPoolExecutor`` + ``asyncio.wrap_future``: per
call a ``concurrent.futures.Future`` with its condition variable, an executor work item, a
chained asyncio future and two cross-thread callbacks. On tiny snippets that machinery cost
more host CPU than the sandbox run itself (issue 17: 0.62x a raw sync pool loop at 8 in flight).
Here a call is one ``SimpleQueue.put`` of a small job, and results go back through a per-loop
mailbox, several per ``loop.call_soon_threadsafe`` wake-up:

* results that finish while the loop is busy are settled in one batch;
* a worker **holds** a short run's result (no wake-up yet) while every thread still has a job
  queued: the loop then settles several results per wake-up (about a third of the wake-ups at
  8 in flight on 2 workers) and is woken once fewer jobs than threads are queued, in time to
  queue more. A held result waits at most ``_HOLD_SECS`` (1 ms): one flusher thread wakes
  the loop then, even when every worker has gone on to a long run.

``benchmarks/code_blocks.py`` measures it against the raw pool loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_QUEUED, _RUNNING, _CANCELLED = 0, 1, 2
#: Longest a finished result waits for a loop wake-up shared with later results (seconds).
_HOLD_SECS = 0.001


class _Job:
    __slots__ = ("args", "fn", "future", "mailbox", "state")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], future: asyncio.Future[Any],
                 mailbox: _Mailbox) -> None:
        self.fn, self.args, self.future, self.mailbox = fn, args, future, mailbox
        self.state = _QUEUED


class _Mailbox:
    """Results for one event loop: posted from worker threads, settled on the loop in batches.

    A result posted with ``wake=False`` is held until a later post or :meth:`flush` wakes the
    loop; one wake-up settles every result held so far.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        self._scheduled = False

    def post(self, future: asyncio.Future[Any], result: Any, error: BaseException | None,
             wake: bool) -> None:
        with self._lock:
            self._items.append((future, result, error))
            if self._scheduled or not wake:
                return  # a drain is already scheduled and will take this one too, or held
            self._scheduled = True
        self._schedule()

    def flush(self) -> None:
        """Wake the loop for held results, unless none are held or a drain is scheduled."""
        with self._lock:
            if self._scheduled or not self._items:
                return
            self._scheduled = True
        self._schedule()

    def _schedule(self) -> None:
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody waits
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        for future, result, error in items:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


class _Flusher:
    """One thread that wakes the loops for results held ``_HOLD_SECS``: the bound on holding.

    Idle (blocked) while nothing is held; with tiny runs held back-to-back it wakes about once
    per ``_HOLD_SECS``, far less often than a loop wake-up per result.
    """

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._held: set[_Mailbox] = set()
        self._deadline = 0.0
        self._stopped = False
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def hold(self, mailbox: _Mailbox, now: float) -> bool:
        """Register a held result of ``mailbox``; False (wake the loop now) once stopped."""
        with self._cond:
            if self._stopped:
                return False
            if not self._held:
                self._deadline = now + _HOLD_SECS
                self._cond.notify()
            self._held.add(mailbox)
            return True

    def stop(self) -> None:
        """Flush what is held and end the thread; later holds are refused."""
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._held and not self._stopped:
                    self._cond.wait()
                delay = self._deadline - time.perf_counter()
                if delay > 0 and not self._stopped:
                    self._cond.wait(delay)
                    continue
                held, self._held = self._held, set()
                stopped = self._stopped
            for mailbox in held:
                mailbox.flush()
            if stopped:
                return


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
        self._flusher = _Flusher(f"{name}-flush")

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
            self._flusher.stop()

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
        self._flusher.start()
        for number in range(self._threads):
            # Daemon threads: a hung snippet (bounded by the pool's own timeouts) must not
            # keep the interpreter from exiting.
            threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True).start()

    def _work(self) -> None:
        queue_, threads, flusher = self._queue, self._threads, self._flusher
        while True:
            job = queue_.get()
            if job is None:
                return
            with self._state_lock:
                if job.state == _CANCELLED:
                    continue
                job.state = _RUNNING
            started = time.perf_counter()
            try:
                result, error = job.fn(*job.args), None
            except BaseException as exc:  # handed to the awaiting caller
                result, error = None, exc
            # Hold the result (no loop wake-up yet) only while every thread still has queued
            # work and the run was short: the loop then settles several results per wake-up,
            # and is woken once fewer jobs than threads are queued, in time to queue more. The
            # flusher wakes it for anything held _HOLD_SECS, whatever the threads are running.
            now = time.perf_counter()
            hold = now - started < _HOLD_SECS and queue_.qsize() >= threads
            job.mailbox.post(job.future, result, error, not hold)
            if hold and not flusher.hold(job.mailbox, now):
                job.mailbox.flush()


__all__ = ["Dispatcher"]
