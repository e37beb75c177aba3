"""Batch execution: many requests through one pooled connector, concurrently, nothing lost.

Each request gets a :class:`BatchItem` holding its value or its error, in input order, so
one bad request never costs the others their results.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class BatchItem:
    """One request's result: ``ok`` with a ``value``, or the ``error`` it raised."""

    index: int
    ok: bool
    value: Any = None
    error: BaseException | None = None

    @property
    def error_message(self) -> str | None:
        if self.error is None:
            return None
        return f"{type(self.error).__name__}: {self.error}"


async def run_batch(
    call: Callable[[Any], Awaitable[Any]],
    requests: Sequence[Any],
    *,
    max_concurrency: int = 10,
    fail_fast: bool = False,
    on_result: Callable[[BatchItem], None] | None = None,
    collect: bool = True,
) -> list[BatchItem]:
    """Run ``call`` on every request with at most ``max_concurrency`` in flight.

    Errors (any ``Exception``) become per-item errors; with ``fail_fast`` the first error
    cancels what is still running and is raised. ``collect=False`` keeps no item once
    ``on_result`` has seen it (returns ``[]``): a caller that stores results as they finish
    then holds each response once, not twice until the batch ends.
    """
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
    results: list[BatchItem | None] = [None] * len(requests)
    queue = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in queue:
            try:
                item = BatchItem(index, True, value=await call(request))
            except Exception as exc:
                item = BatchItem(index, False, error=exc)
                if fail_fast:
                    raise
            if collect:
                results[index] = item
            if on_result is not None:
                on_result(item)

    workers = min(max_concurrency, len(requests))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
    except BaseExceptionGroup as group_error:
        # fail_fast: surface the first failure itself, not a group wrapping it.
        raise group_error.exceptions[0] from None
    return [item for item in results if item is not None]


#: How often a sync caller waiting on other threads checks for an interrupt (seconds).
POLL_INTERVAL_S = 0.05
#: How long an interrupted wait lets the cancelled work wind down before re-raising.
WIND_DOWN_S = 0.5


def wait_interruptibly(done: threading.Event, cancel: Callable[[], None]) -> None:
    """Block until ``done`` is set, but give up at once on an interrupt.

    Interrupts are ``KeyboardInterrupt`` (raised in this thread by the signal handler) and,
    when called from inside a task of a running event loop, a pending cancellation of that
    task (``Task.cancelling()``: the loop cannot deliver it while sync code blocks it, so
    it is polled). On either, ``cancel()`` is called, the work gets :data:`WIND_DOWN_S` to
    stop, and the interrupt is raised (``asyncio.CancelledError`` for a cancelled task).
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    try:
        while not done.wait(POLL_INTERVAL_S):
            if task is not None and task.cancelling():
                raise asyncio.CancelledError()
    except BaseException:
        cancel()
        done.wait(WIND_DOWN_S)
        raise


def run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when a loop already runs here.

    Inside a running loop the coroutine runs on a fresh loop in a worker thread; its
    exceptions pass through unchanged (no RuntimeError about asyncio.run hides them). An
    interrupt of the waiting caller (see :func:`wait_interruptibly`) cancels the coroutine
    and is raised within a second, without waiting for the whole batch.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    outcome: dict[str, Any] = {}
    started = threading.Event()
    done = threading.Event()

    async def main() -> T:
        outcome["loop"], outcome["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        return await make()

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            started.set()
            done.set()

    def cancel() -> None:
        started.wait(WIND_DOWN_S)
        loop, task = outcome.get("loop"), outcome.get("task")
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed: the work is over
                loop.call_soon_threadsafe(task.cancel)

    # A daemon thread: an interrupted caller must not wait for it at interpreter exit.
    threading.Thread(target=target, name="connector-kit-run-blocking", daemon=True).start()
    wait_interruptibly(done, cancel)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


class KeptLoop:
    """One event loop per calling thread, kept across sync calls (``asyncio.Runner``).

    ``asyncio.run`` makes a loop per call, and an async connection belongs to its loop, so
    every batch run that way opens all its connections anew: at 500 in flight that is 500
    connects and first requests in a burst before the batch gets going. A block that keeps
    one loop per thread keeps its pools between ``generate`` calls. Called from inside a
    running loop it falls back to :func:`run_blocking` (a fresh loop in a worker thread),
    and a loop whose run was interrupted is closed rather than kept. :meth:`close` (also run
    when the owner is garbage-collected) closes every loop it kept, their pools with them.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._runners: list[asyncio.Runner] = []
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_runners, self._runners)

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``make()`` on this thread's kept loop (a fresh one inside a running loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return run_blocking(make)
        runner: asyncio.Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = self._local.runner = asyncio.Runner()
            with self._lock:
                self._runners.append(runner)
        try:
            return runner.run(make())
        except BaseException as exc:
            if not isinstance(exc, Exception):  # interrupted: do not keep a loop in that state
                self._local.runner = None
                with self._lock:
                    if runner in self._runners:
                        self._runners.remove(runner)
                _close_runners([runner])
            raise

    def holds(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether ``loop`` is one this object keeps (so its pools should stay open)."""
        with self._lock:
            return any(runner.get_loop() is loop for runner in self._runners)

    def close(self) -> None:
        """Close every kept loop (their pools close with them). Safe to call twice."""
        with self._lock:
            runners, self._runners[:] = list(self._runners), []
        self._local = threading.local()
        _close_runners(runners)


def _close_runners(runners: list[asyncio.Runner]) -> None:
    for runner in list(runners):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            with contextlib.suppress(RuntimeError):
                runner.close()
            continue
        # A loop runs in this thread, so an idle kept loop cannot be run here to shut down.
        closer = threading.Thread(target=runner.close, name="connector-kit-close-loop", daemon=True)
        closer.start()
        closer.join(timeout=10)
