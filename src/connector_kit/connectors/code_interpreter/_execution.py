"""One Monty execution: a fresh session, the print sink, and every failure as a message.

* :func:`run_fields` checks a worker out of the pool (a fresh session, so nothing leaks
  between snippets and a session stopped by a limit is never fed again), feeds the code with
  the resolved limits and the printed output capped in the host, and answers with the run's
  fields (:func:`as_result` makes them a :class:`CodeExecutionResult`).
* Nothing user code or inputs can cause escapes it: every failure, including pydantic-monty's
  own exceptions and Rust panics (``BaseException`` subclasses), becomes ``success=False`` with
  ``"ExceptionType: message"`` (:func:`describe_failure`, capped at ``max_output_chars``). Only
  ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit`` and asyncio cancellation propagate.
* :func:`reject_arguments`: arguments that can never run fail without touching the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from .base import CodeExecutionResult, K
from .limits import MontyLimits

if TYPE_CHECKING:
    import pydantic_monty

    from ._pool import WorkerPool

PASSTHROUGH: tuple[type[BaseException], ...] = (
    KeyboardInterrupt,
    SystemExit,
    GeneratorExit,
    asyncio.CancelledError,
)
_OS_POLICY: pydantic_monty.OSPolicy = {"sleep": "system"}  # sleeps capped by max_total_sleep_secs


class _OutputLimitExceeded(MemoryError):
    """Raised by the print sink; the sandbox reports it as ``MemoryError: <message>``."""


class _OutputSink:
    """``print_callback`` keeping at most ``max_chars`` characters of stdout and stderr."""

    __slots__ = ("_max_chars", "_parts", "_size", "exceeded")

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._parts: list[str] = []
        self._size = 0
        self.exceeded = False

    def __call__(self, stream: Literal["stdout", "stderr"], text: str) -> None:
        if self.exceeded:
            raise _OutputLimitExceeded(self._message())
        self._size += len(text)
        if self._size > self._max_chars:
            self.exceeded = True
            keep = self._max_chars - (self._size - len(text))
            if keep > 0:
                self._parts.append(text[:keep])
            raise _OutputLimitExceeded(self._message())
        self._parts.append(text)

    def _message(self) -> str:
        return (
            f"printed output exceeded max_output_chars={self._max_chars}; "
            "output was truncated and the run failed"
        )

    def text(self) -> str:
        parts = self._parts
        return "" if not parts else parts[0] if len(parts) == 1 else "".join(parts)



#: ``on_outcome(key, success, output, error, return_value, execution_time_ms)``: one run's
#: fields, handed over without building a :class:`CodeExecutionResult` (see :func:`run_snippets`).
OnOutcome = Callable[[K, bool, str, "str | None", Any, "float | None"], None]


def as_result(success: bool, output: str, error: str | None, value: Any,
              ms: float | None) -> CodeExecutionResult:
    """The :class:`CodeExecutionResult` of one run's fields (the validating constructor:
    measured 1.4 us against ``model_construct``'s 4.6 us)."""
    return CodeExecutionResult(success=success, output=output, error=error, return_value=value,
                               execution_time_ms=ms)


def run_fields(
    pool: WorkerPool,
    code: str,
    inputs: dict[str, Any] | None,
    limits: MontyLimits,
    resource_limits: pydantic_monty.ResourceLimits,
    max_output_chars: int,
    error_traceback: bool,
) -> tuple[bool, str, str | None, Any, float]:
    """Run ``code`` once in a fresh session on ``pool``; never raises for what the code does.

    Returns ``(success, output, error, return_value, ms)``.

    Why fields, not a :class:`CodeExecutionResult`: on tiny snippets the threads feeding the
    pool are bound by the GIL they share, and building the pydantic model per run measured
    ~6 % of a raw pool loop's throughput (``benchmarks/code_blocks.py``); a batch caller that
    wants another shape (``PythonInterpreterBlock``'s cell dicts) builds it from the fields.
    """
    start = time.perf_counter()
    sink = _OutputSink(max_output_chars)
    try:
        with pool.monty.checkout(limits=resource_limits, os_policy=_OS_POLICY) as session:
            pid = session.worker_pid
            if pid is not None:
                pool.served_by.add(pid)
            value = session.feed_run(code, inputs=inputs, print_callback=sink)
    except PASSTHROUGH:
        raise
    except BaseException as exc:  # user code must never crash the caller; see module doc
        return (False, sink.text(),
                describe_failure(pool.pm, exc, limits, max_output_chars, error_traceback), None,
                (time.perf_counter() - start) * 1000)
    return True, sink.text(), None, value, (time.perf_counter() - start) * 1000


def run_snippets(
    pool: WorkerPool,
    jobs: Iterable[tuple[K, str]],
    on_outcome: OnOutcome[K],
    limits: MontyLimits,
    resource_limits: pydantic_monty.ResourceLimits,
    max_output_chars: int,
    error_traceback: bool,
) -> None:
    """:func:`run_fields` for each ``(key, code)`` job in turn: ``on_outcome(key, *fields)``.

    Each job gets its own fresh session, limits, output cap and outcome; a job whose code is
    not a str fails without running (:func:`reject_arguments`).
    """
    for key, code in jobs:
        if type(code) is not str:  # checked here, not by a filter: one generator less per job
            rejected = reject_arguments(code, None)
            if rejected is not None:
                on_outcome(key, False, rejected.output or "", rejected.error, None,
                           rejected.execution_time_ms)
                continue
        on_outcome(key, *run_fields(pool, code, None, limits, resource_limits, max_output_chars,
                                    error_traceback))


def describe_failure(pm: ModuleType, exc: BaseException, limits: MontyLimits, max_output_chars: int,
                     error_traceback: bool) -> str:
    """``"ExceptionType: message"`` for any failure of one execution, capped like output.

    ``raise ValueError('x' * 10**8)`` must not hand the caller a 100 MB string: the text is
    cut at ``max_output_chars`` characters, with a note saying so.
    """
    text = _describe_uncapped(pm, exc, limits, error_traceback)
    limit = max_output_chars
    if len(text) <= limit:
        return text
    return (f"{text[:limit]}... [error text truncated: {len(text):,} characters, "
            f"max_output_chars={limit}]")


def _describe_uncapped(pm: ModuleType, exc: BaseException, limits: MontyLimits,
                       error_traceback: bool) -> str:
    try:
        if isinstance(exc, pm.MontyCrashedError):
            if exc.timed_out:
                return (
                    f"TimeoutError: execution exceeded the {limits.timeout_secs:g} s time "
                    f"limit and the sandbox worker was killed ({exc})"
                )
            return f"MontyCrashedError: the sandbox worker crashed and was replaced ({exc})"
        if isinstance(exc, pm.MontyRuntimeError | pm.MontySyntaxError):
            text = exc.display("traceback" if error_traceback else "type-msg")
            return str(text)
        if isinstance(exc, pm.MontyTypingError):
            return f"TypeError: {exc.display()}"
        if isinstance(exc, pm.MontyConversionError):
            return f"TypeError: an input value cannot be passed into the sandbox: {exc}"
        if isinstance(exc, pm.MontyError):
            return f"{type(exc).__name__}: {exc}"
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # pragma: no cover - a message must always come out
        return f"{type(exc).__name__}: {exc!r}"



def reject_arguments(code: Any, inputs: Any) -> CodeExecutionResult | None:
    """A failed result for arguments that can never run, else ``None`` (no pool needed)."""
    try:
        return _check_arguments(code, inputs)
    except PASSTHROUGH:
        raise
    except BaseException as exc:  # e.g. a dict subclass whose iteration raises
        return CodeExecutionResult(
            success=False,
            output="",
            error=f"TypeError: inputs could not be read: {type(exc).__name__}: {exc}",
            execution_time_ms=0.0,
        )


def _check_arguments(code: Any, inputs: Any) -> CodeExecutionResult | None:
    error: str | None = None
    if not isinstance(code, str):
        error = f"TypeError: code must be a str, got {type(code).__name__}"
    elif inputs is not None and not isinstance(inputs, dict):
        error = (
            "TypeError: inputs must be a dict of variable names to values, got "
            f"{type(inputs).__name__}"
        )
    elif inputs:
        bad = [name for name in inputs if not (isinstance(name, str) and name.isidentifier())]
        if bad:
            error = f"TypeError: input names must be valid identifiers, got {bad[:5]!r}"
    if error is None:
        return None
    return CodeExecutionResult(success=False, output="", error=error, execution_time_ms=0.0)

