"""The started pydantic-monty pool a MontyConnector owns, and how it is loaded and started.

* ``load_monty`` imports pydantic-monty when the first pool starts (not at import time), and
  caches a missing OpenTelemetry so pydantic-monty's per-run import of it fails fast.
* :class:`WorkerPool`: one sync ``pydantic_monty.Monty`` pool and the long-lived threads
  ``aexecute_code`` feeds it from (``_dispatch.py``), with the executions in flight counted
  so that ``close()`` lets them finish and the last one out shuts the workers down.
* :class:`Runtime`: a connector's mutable state (pool, finalizer, memoised limits); copies
  and unpickled connectors get a fresh one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import weakref
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..._missing import cache_missing
from ..exceptions import CodeExecutionSetupError
from ._dispatch import Dispatcher
from .limits import LimitsMemo

if TYPE_CHECKING:
    import pydantic_monty

OPENTELEMETRY_MODULES = ("opentelemetry", "opentelemetry.context")  # imported per run
INSTALL_HINT = "pip install 'connector-kit[code]'"
MONTY_DEFAULT_GRACE_SECS = 1.0  # pydantic-monty 1.4's feed/turn_duration_limit_grace default
FORK_ORPHANS: list[WorkerPool] = []  # pools inherited through fork(): never touched again

def default_pool_size() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def load_monty() -> ModuleType:
    try:
        pm = importlib.import_module("pydantic_monty")
    except ImportError as exc:
        raise CodeExecutionSetupError(
            f"MontyConnector needs pydantic-monty, which is not installed: {INSTALL_HINT}"
        ) from exc
    cache_missing_opentelemetry()
    return pm


def cache_missing_opentelemetry() -> None:
    """Make pydantic-monty's per-run ``import opentelemetry.context`` (twice a run, ~0.2 ms
    when OpenTelemetry is not installed: more than the rest of a warm execution) fail fast;
    see :mod:`connector_kit._missing`."""
    cache_missing(OPENTELEMETRY_MODULES)


class WorkerPool:
    """One started ``pydantic_monty.Monty`` pool and the threads ``aexecute_code`` feeds it from.

    Counts executions in flight: ``close()`` shuts the workers down at once when none is
    running, otherwise the last execution to finish does, so every worker is reaped.
    """

    def __init__(
        self,
        pm: ModuleType,
        *,
        size: int,
        kill_grace_secs: float,
        request_timeout: float,
        max_checkouts_per_worker: int | None,
    ) -> None:
        self.pm = pm
        self.size = size
        self.pid = os.getpid()
        # The kill backstop: pydantic-monty's default grace is 1.0 s, and passing the grace
        # explicitly -- even 1.0 -- measured ~10x slower per tiny execution on a loaded
        # machine (50 vs 600 us; the default kills a runaway feed just the same, at limit +
        # 1 s). So it is passed only when it differs from that default.
        grace: dict[str, float] = {}
        if kill_grace_secs != MONTY_DEFAULT_GRACE_SECS:
            grace = {"feed_duration_limit_grace": kill_grace_secs,
                     "turn_duration_limit_grace": kill_grace_secs}
        monty = pm.Monty(
            min_processes=1,
            max_processes=size,
            request_timeout=request_timeout,
            max_checkouts_per_worker=max_checkouts_per_worker,
            **grace,
        )
        monty.__enter__()
        self.monty: pydantic_monty.Monty = monty
        self.dispatcher = Dispatcher(size, "connector-kit-monty")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closing = False
        self._shut = False
        self.served_by: set[int] = set()

    @property
    def closing(self) -> bool:
        return self._closing

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            shut = self._closing and self._in_flight == 0 and not self._shut
            self._shut = self._shut or shut
        if shut:
            self._shutdown()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            shut = self._in_flight == 0 and not self._shut
            self._shut = self._shut or shut
        if shut:
            self._shutdown()

    def _shutdown(self) -> None:
        # Best effort: __exit__ does not raise in practice, and workers die with the host.
        with contextlib.suppress(Exception):
            self.monty.__exit__(None, None, None)
        self.dispatcher.shutdown()


class Runtime:
    """Per-connector mutable state. Copies and unpickled connectors get a fresh one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.limits = LimitsMemo()
        self.pool: WorkerPool | None = None
        self.finalizer: weakref.finalize[..., Any] | None = None

    def __reduce__(self) -> tuple[type[Runtime], tuple[()]]:
        return (Runtime, ())

