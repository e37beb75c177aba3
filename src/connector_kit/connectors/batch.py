"""Batch execution: many requests through one pooled connector, concurrently, nothing lost.

Each request gets a :class:`BatchItem` holding its value or its error, in input order, so
one bad request never costs the others their results.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
) -> list[BatchItem]:
    """Run ``call`` on every request with at most ``max_concurrency`` in flight.

    Errors (any ``Exception``) become per-item errors; with ``fail_fast`` the first error
    cancels what is still running and is raised.
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


def run_blocking(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when a loop already runs here.

    Inside a running loop the coroutine runs on a fresh loop in a worker thread; its
    exceptions pass through unchanged (no RuntimeError about asyncio.run hides them).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
