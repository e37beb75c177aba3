"""Rows through a few threads, each running its share synchronously: one hop per worker, not per row.

Why not asyncio here: a code interpreter's sync API (``execute_code``) blocks in native code
with the GIL released, so N threads pulling rows from one queue keep N sandbox workers busy.
Routing every row through an event loop instead costs two thread hops per row (loop ->
executor -> loop), which measured 0.32-0.39x a raw sync pool loop on tiny snippets (issue 17);
see ``connector_kit.testkit.benchmarks.monty`` for the figures of this design.

Interrupts: the caller waits with :func:`~connector_kit.connectors.batch.wait_interruptibly`,
so ``KeyboardInterrupt`` or a cancelled calling task takes effect at once; the threads stop
taking rows, and a row still running finishes (within its own time limit) in the background.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..connectors.batch import wait_interruptibly


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
    queue = iter(items)
    lock = threading.Lock()
    stop = threading.Event()
    done = threading.Event()
    failures: list[BaseException] = []
    running = [max(1, threads)]

    def share() -> Iterator[tuple[int, Any]]:
        while not stop.is_set():
            with lock:
                entry = next(queue, None)
            if entry is None:
                return
            yield entry

    def loop() -> None:
        try:
            run(share())
        except BaseException as exc:  # handed to the caller's thread
            failures.append(exc)
            stop.set()
        finally:
            with lock:
                running[0] -= 1
                last = running[0] == 0
            if last:
                done.set()

    for number in range(running[0]):
        # Daemon threads: an interrupted caller must not wait for a long snippet at exit.
        threading.Thread(target=loop, name=f"connector-kit-rows-{number}", daemon=True).start()
    wait_interruptibly(done, stop.set)
    if failures:
        raise failures[0]


__all__ = ["run_in_threads"]
