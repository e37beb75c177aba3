"""Rows through a few threads, each running its share synchronously: one hop per worker, not per row.

Why not asyncio here: a code interpreter's sync API (``execute_code``) blocks in native code
with the GIL released, so N threads pulling rows from one queue keep N sandbox workers busy.
Routing every row through an event loop instead costs two thread hops per row (loop ->
executor -> loop), which measured 0.32-0.39x a raw sync pool loop on tiny snippets (issue 17);
see ``benchmarks/monty.py`` for the figures of this design.

Interrupts: the caller waits with :func:`~connector_kit.connectors.batch.wait_interruptibly`,
so ``KeyboardInterrupt`` or a cancelled calling task takes effect at once; the threads stop
taking rows, and a row still running finishes (within its own time limit) in the background.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..connectors.batch import wait_interruptibly


class _Crew:
    """Long-lived daemon threads that run the shares of every ``run_in_threads`` call.

    Starting two threads per ``generate`` cost ~0.5 ms (start + join), a few percent of a
    200-row batch of tiny snippets (issue 17); these threads wait for the next call instead.
    A thread still busy (an interrupted call's row finishing in the background) is not
    counted as idle, so a new call starts extra threads rather than waiting for it.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every thread: after ``fork()`` the child has none of them."""
        self._tasks: queue.SimpleQueue[tuple[Callable[[], None], Callable[[], None]]] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._idle = 0
        self._started = 0

    def run(self, task: Callable[[], None], copies: int, after: Callable[[], None]) -> None:
        """Run ``task`` on ``copies`` threads of the crew, starting threads when too few are
        idle; each copy calls ``after()`` once its thread counts as idle again (so a caller
        woken by ``after`` finds the crew ready for its next call)."""
        with self._lock:
            missing = max(0, copies - self._idle)
            self._idle -= copies - missing
            numbers = range(self._started, self._started + missing)
            self._started += missing
        for number in numbers:
            # Daemon threads: an interrupted caller must not wait for a long snippet at exit.
            threading.Thread(target=self._serve, name=f"connector-kit-rows-{number}",
                             daemon=True).start()
        for _ in range(copies):
            self._tasks.put((task, after))

    def _serve(self) -> None:
        while True:
            task, after = self._tasks.get()
            try:
                task()
            finally:
                with self._lock:
                    self._idle += 1
                after()


_CREW = _Crew()
os.register_at_fork(after_in_child=_CREW.reset)


def run_in_threads(
    run: Callable[[Iterator[tuple[int, Any]]], None],
    items: Iterable[tuple[int, Any]],
    *,
    threads: int,
) -> None:
    """Call ``run(share)`` on ``threads`` threads; each ``share`` yields the items it takes.

    The threads take items from one shared queue, so a slow row never holds up the others'
    rows. An exception from ``run`` (e.g. ``fail_fast``'s ``RowFailedError``, a setup error)
    stops the other threads from taking new items and is raised here once they stopped.
    """
    source = iter(items)
    lock = threading.Lock()
    stop = threading.Event()
    done = threading.Event()
    failures: list[BaseException] = []
    running = [max(1, threads)]

    def share() -> Iterator[tuple[int, Any]]:
        while not stop.is_set():
            with lock:
                entry = next(source, None)
            if entry is None:
                return
            yield entry

    def loop() -> None:
        try:
            run(share())
        except BaseException as exc:  # handed to the caller's thread
            failures.append(exc)
            stop.set()

    def after() -> None:
        with lock:
            running[0] -= 1
            last = running[0] == 0
        if last:
            done.set()

    _CREW.run(loop, running[0], after)
    wait_interruptibly(done, stop.set)
    if failures:
        raise failures[0]


__all__ = ["run_in_threads"]
