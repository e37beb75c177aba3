"""MontyConnector: run Python snippets in pydantic-monty's sandboxed worker processes.

Design (pydantic-monty 1.4, a pool of ``monty`` worker processes):

* **One pool per connector**, a sync :class:`pydantic_monty.Monty` started lazily on the first
  execution and reused. ``execute_code`` checks a worker out in the calling thread;
  ``aexecute_code`` hands the call to one of a few long-lived threads (one per worker, see
  ``_dispatch.py``: one queue put there, results back to the loop several per wake-up), so N
  concurrent calls really run on N worker processes. ``feed_run`` releases the GIL, and this
  measured faster than a second ``AsyncMonty`` pool at every concurrency (see
  ``benchmarks/monty.py``) while starting half the processes.
* **Every execution is a fresh session** (``checkout()``), so nothing leaks between snippets and
  a session stopped mid-operation by a limit is never fed again.
* **Limits on every execution**: ``max_feed_duration_secs`` (the resolved timeout), a host-side
  backstop that kills the worker ``kill_grace_secs`` after that (stops one huge single operation
  such as ``7**(10**8)``), ``max_memory``, a cap on real sleeping (``max_total_sleep_secs``: a
  ``time.sleep(10**6)`` fails at once), the default recursion depth, and a cap on printed output
  kept in the host.
* **Nothing user code or inputs can cause escapes** ``execute_code``: every failure, including
  pydantic-monty's own exceptions and Rust panics (``BaseException`` subclasses), becomes
  ``success=False`` with ``"ExceptionType: message"`` in ``error``. Only ``KeyboardInterrupt``,
  ``SystemExit``, ``GeneratorExit`` and asyncio cancellation propagate. Caller configuration
  errors (a bad timeout) raise :class:`ConnectorConfigError` before anything runs; a missing
  pydantic-monty or a pool that cannot start raises :class:`CodeExecutionSetupError`.
* **Shutdown**: ``close()``/``aclose()``/the context managers stop the workers. Executions still
  in flight finish first (the last one out shuts the pool), so no worker is left behind, not
  even as a zombie. A ``weakref.finalize`` closes a forgotten connector's pool when it is
  garbage collected or at interpreter exit.

``pydantic_monty`` is imported when the first pool starts, not when this module is imported.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import Field, PrivateAttr, field_validator

from ..base import ConnectorConfig
from ..exceptions import CodeExecutionSetupError
from ..registry import ConnectorRegistry
from ._execution import as_result, reject_arguments, run_fields, run_snippets
from ._pool import FORK_ORPHANS, INSTALL_HINT, Runtime, WorkerPool, default_pool_size, load_monty
from .base import BaseCodeInterpreterConnector, CodeExecutionResult, K
from .limits import MontyLimits

if TYPE_CHECKING:
    import pydantic_monty


@ConnectorRegistry.register("monty")
class MontyConnector(BaseCodeInterpreterConnector):
    """Runs Python code in pydantic-monty's sandbox: no filesystem, network or environment.

    ``print()`` output goes to ``result.output``, the value of the final expression to
    ``result.return_value``. The time limit cascades: the call's ``timeout`` >
    ``config.timeout`` > 120 s, capped at :attr:`MAX_TIMEOUT_SECS`.
    """

    MAX_TIMEOUT_SECS: ClassVar[float | None] = 3600.0

    config: ConnectorConfig = Field(
        default_factory=ConnectorConfig, description="Connector configuration."
    )
    pool_size: int = Field(
        default_factory=default_pool_size,
        ge=1,
        le=256,
        description="Worker processes in the pool (default: CPU count, at most 4).",
    )
    max_memory_bytes: int = Field(
        default=256 * 2**20,
        ge=2**20,
        description="Heap limit per execution; exceeding it raises MemoryError in the sandbox.",
    )
    max_output_chars: int = Field(
        default=2**20,
        ge=1,
        description=(
            "Printed output (stdout and stderr, in characters) kept per execution; printing "
            "more fails the run with MemoryError and keeps the first max_output_chars."
        ),
    )
    max_total_sleep_secs: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Real sleeping (time.sleep, asyncio.sleep) allowed per execution, further capped by "
            "the timeout; a sleep beyond it fails at once with TimeoutError."
        ),
    )
    max_recursion_depth: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="Call depth limit; None keeps monty's default (1000). Deep limits unwind slowly.",
    )
    kill_grace_secs: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description=(
            "Host-side backstop: the worker is killed this long after the time limit when the "
            "sandbox cannot stop itself (one huge single operation)."
        ),
    )
    # 20,000 (was 1,000): a worker's RSS stayed flat over 15,000 executions, while respawning a
    # worker every 1,000 cost tiny snippets a third of their throughput on a loaded machine
    # (``benchmarks/monty.py``).
    max_checkouts_per_worker: int | None = Field(
        default=20_000,
        ge=1,
        description="Recycle a worker process after this many executions (returns its memory).",
    )
    error_traceback: bool = Field(
        default=False,
        description="Put the sandbox traceback in result.error instead of 'Type: message'.",
    )

    _runtime: Runtime = PrivateAttr(default_factory=Runtime)

    @field_validator("max_total_sleep_secs", "kill_grace_secs")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number of seconds")
        return value

    def _rt(self) -> Runtime:
        # Direct lookup: pydantic's __getattr__ for private attributes costs ~µs per access.
        private = self.__pydantic_private__
        if private is None:  # pragma: no cover - pydantic always sets it for models with privates
            raise RuntimeError("MontyConnector private state is missing")
        return cast(Runtime, private["_runtime"])

    def __copy__(self) -> MontyConnector:
        new = super().__copy__()
        new._runtime = Runtime()
        return new

    # -- limits ---------------------------------------------------------------------------

    def resolve_limits(self, timeout: float | None = None) -> MontyLimits:
        """The limits an execution with this ``timeout`` argument runs under.

        Raises :class:`ConnectorConfigError` for an unusable timeout (see
        :meth:`resolve_timeout`).
        """
        return self._limits(timeout)[0]

    def _limits(self, timeout: Any) -> tuple[MontyLimits, pydantic_monty.ResourceLimits]:
        """:meth:`resolve_limits` and its ``ResourceLimits``, memoised on every input."""
        key = (
            timeout,
            self.config.timeout,
            self.max_memory_bytes,
            self.max_total_sleep_secs,
            self.max_recursion_depth,
            self.kill_grace_secs,
        )
        return self._rt().limits.get(key, self._compute_limits)

    def _compute_limits(self, timeout: Any) -> MontyLimits:
        seconds = self.resolve_timeout(timeout)
        return MontyLimits(
            timeout_secs=seconds,
            kill_after_secs=seconds + self.kill_grace_secs,
            max_memory_bytes=self.max_memory_bytes,
            max_total_sleep_secs=min(self.max_total_sleep_secs, seconds),
            max_recursion_depth=self.max_recursion_depth,
        )

    # -- the pool -------------------------------------------------------------------------

    def _request_timeout(self) -> float:
        # A ceiling for every worker turn. Feeds are stopped earlier, at their own
        # limit + kill_grace_secs (the pool's feed_duration_limit_grace); sleeping is
        # excluded from feed duration, hence twice the largest timeout.
        assert self.MAX_TIMEOUT_SECS is not None
        return 2 * self.MAX_TIMEOUT_SECS + self.kill_grace_secs

    def _acquire(self) -> WorkerPool:
        """The running pool (started on first use), with this execution counted in it."""
        rt = self._rt()
        with rt.lock:
            pool = rt.pool
            if pool is not None and pool.pid != os.getpid():
                # Inherited through fork(): its workers belong to the parent. Never close it
                # (that would kill the parent's workers); start our own.
                if rt.finalizer is not None:
                    rt.finalizer.detach()
                FORK_ORPHANS.append(pool)
                pool = rt.pool = rt.finalizer = None
            if pool is None or pool.closing:
                pool = self._start_pool()
                rt.pool = pool
                rt.finalizer = weakref.finalize(self, pool.close)
            pool.enter()
            return pool

    def _start_pool(self) -> WorkerPool:
        pm = load_monty()
        try:
            return WorkerPool(
                pm,
                size=self.pool_size,
                kill_grace_secs=self.kill_grace_secs,
                request_timeout=self._request_timeout(),
                max_checkouts_per_worker=self.max_checkouts_per_worker,
            )
        except Exception as exc:
            raise CodeExecutionSetupError(
                f"could not start the monty worker pool: {type(exc).__name__}: {exc} "
                f"(is the `monty` binary installed? {INSTALL_HINT})"
            ) from exc

    def worker_pids(self) -> set[int]:
        """PIDs of the worker processes that served executions of the current pool.

        Diagnostics and tests: empty before the first execution and after :meth:`close`;
        a worker replaced after a crash or recycled stays listed.
        """
        pool = self._rt().pool
        return set(pool.served_by) if pool is not None else set()

    def close(self) -> None:
        """Stop the worker pool. In-flight executions finish first. Safe to call twice;
        a later execution starts a new pool."""
        rt = self._rt()
        with rt.lock:
            finalizer, rt.pool, rt.finalizer = rt.finalizer, None, None
        if finalizer is not None:
            finalizer()  # runs pool.close() once

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> MontyConnector:
        return self

    async def __aenter__(self) -> MontyConnector:
        return self

    # -- execution ------------------------------------------------------------------------

    def execute_code(
        self,
        code: str,
        inputs: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> CodeExecutionResult:
        """Run ``code`` in a fresh sandbox session on a pooled worker process.

        Raises :class:`ConnectorConfigError` for a bad timeout and
        :class:`CodeExecutionSetupError` when pydantic-monty is missing; every other failure
        is a result with ``success=False``.
        """
        limits, resource_limits = self._limits(timeout)
        rejected = reject_arguments(code, inputs)
        if rejected is not None:
            return rejected
        pool = self._acquire()
        return self._run(pool, code, inputs, limits, resource_limits)

    async def aexecute_code(
        self,
        code: str,
        inputs: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> CodeExecutionResult:
        """Async :meth:`execute_code`: concurrent calls run on different worker processes."""
        limits, resource_limits = self._limits(timeout)
        if type(code) is not str or inputs is not None:
            rejected = reject_arguments(code, inputs)
            if rejected is not None:
                return rejected
        pool = self._acquire()
        try:
            future, job = pool.dispatcher.submit(_run_fields_and_leave, pool, code, inputs,
                                                 limits, resource_limits, self.max_output_chars,
                                                 self.error_traceback)
        except BaseException:
            pool.leave()
            raise
        try:
            fields = await future
        except asyncio.CancelledError:
            # Not started yet: it never will, so give its slot back. Already running: it
            # finishes within its time limit and releases the slot itself.
            if pool.dispatcher.cancel(job):
                pool.leave()
            raise
        return as_result(*fields)

    def execute_many(
        self,
        jobs: Iterable[tuple[K, str]],
        on_result: Callable[[K, CodeExecutionResult], None],
        *,
        timeout: float | None = None,
    ) -> None:
        """:meth:`execute_code` for a batch fed from this thread: the limits are resolved and
        the pool entered once per batch, not once per snippet (each still gets a fresh
        session). ``close()`` during a batch lets the batch finish first."""

        def deliver(key: K, success: bool, output: str, error: str | None, value: Any,
                    ms: float | None) -> None:
            on_result(key, as_result(success, output, error, value, ms))

        self.execute_many_fields(jobs, deliver, timeout=timeout)

    def execute_many_fields(
        self,
        jobs: Iterable[tuple[K, str]],
        on_outcome: Callable[[K, bool, str, str | None, Any, float | None], None],
        *,
        timeout: float | None = None,
    ) -> None:
        """:meth:`execute_many` without a ``CodeExecutionResult`` per run (see the base class):
        one loop over the batch in this thread, the pool entered once."""
        limits, resource_limits = self._limits(timeout)
        todo = iter(jobs)
        for key, code in todo:  # rejected jobs before the first runnable one need no pool
            if type(code) is str:  # the common case, without a call
                break
            rejected = reject_arguments(code, None)
            if rejected is None:
                break
            _report(on_outcome, key, rejected)
        else:
            return  # nothing to run: no pool started
        pool = self._acquire()
        try:
            run_snippets(pool, itertools.chain(((key, code),), todo), on_outcome, limits,
                         resource_limits, self.max_output_chars, self.error_traceback)
        finally:
            pool.leave()

    def _run(
        self,
        pool: WorkerPool,
        code: str,
        inputs: dict[str, Any] | None,
        limits: MontyLimits,
        resource_limits: pydantic_monty.ResourceLimits,
    ) -> CodeExecutionResult:
        """One execution on ``pool``, which it leaves afterwards."""
        try:
            return as_result(*run_fields(pool, code, inputs, limits, resource_limits,
                                         self.max_output_chars, self.error_traceback))
        finally:
            pool.leave()


def _report(on_outcome: Callable[[K, bool, str, str | None, Any, float | None], None], key: K,
            result: CodeExecutionResult) -> None:
    on_outcome(key, result.success, result.output or "", result.error, result.return_value,
               result.execution_time_ms)


def _run_fields_and_leave(pool: WorkerPool, code: str, inputs: dict[str, Any] | None,
                          limits: MontyLimits, resource_limits: pydantic_monty.ResourceLimits,
                          max_output_chars: int, error_traceback: bool
                          ) -> tuple[bool, str, str | None, Any, float]:
    """``aexecute_code``'s job on a dispatcher thread: the run's fields (the model is built on
    the caller's loop), then the pool slot given back."""
    try:
        return run_fields(pool, code, inputs, limits, resource_limits, max_output_chars,
                          error_traceback)
    finally:
        pool.leave()
