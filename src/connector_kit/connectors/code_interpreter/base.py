"""CodeExecutionResult and BaseCodeInterpreterConnector: the code-sandbox side of the connectors.

A code interpreter connector runs a snippet of (untrusted) Python and always answers with a
:class:`CodeExecutionResult`. Anything the *code or its inputs* can cause -- a syntax error, an
exception, a time or memory limit, a value that cannot cross into the sandbox -- ends as
``success=False`` with a message in ``error``. Only *caller configuration* errors raise: a bad
``timeout`` (0, negative, NaN, infinite, not a number) raises
:class:`~connector_kit.connectors.exceptions.ConnectorConfigError`, and an ``execute()`` request
that is not ``{"code": ..., "inputs"?: ..., "timeout"?: ...}`` raises
:class:`~connector_kit.connectors.exceptions.ConnectorRequestError`, before anything runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field

from ..base import BaseConnector
from ..exceptions import CodeExecutionSetupError, ConnectorConfigError, ConnectorRequestError
from ..health import HealthCheckResult

DEFAULT_TIMEOUT_SECS = 120.0
"""The last step of the timeout cascade: call ``timeout`` > ``config.timeout`` > this."""

K = TypeVar("K")

_REQUEST_KEYS = frozenset({"code", "inputs", "timeout"})
_PROBE = "1 + 1"


class CodeExecutionResult(BaseModel):
    """The outcome of one code execution, the same shape for every interpreter backend."""

    success: bool = Field(..., description="Whether the code executed successfully without errors.")
    output: str | None = Field(default=None, description="Captured stdout/stderr output.")
    error: str | None = Field(default=None, description="Error message if execution failed.")
    return_value: Any = Field(default=None, description="Return value from execution.")
    execution_time_ms: float | None = Field(
        default=None, description="Execution time in milliseconds."
    )


def validate_timeout(value: Any, *, source: str) -> float:
    """Return ``value`` as seconds, or raise :class:`ConnectorConfigError` if it is unusable.

    ``source`` names where the value came from (``"the timeout argument"``,
    ``"config.timeout"``) so the message points at what to fix.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConnectorConfigError(
            f"{source} must be a number of seconds greater than 0, got {type(value).__name__} "
            f"{value!r}"
        )
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float, e.g. 10**400
        raise ConnectorConfigError(
            f"{source} must be a finite number of seconds greater than 0, got an int of "
            f"{int(value).bit_length()} bits (too large for a float)"
        ) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConnectorConfigError(
            f"{source} must be a finite number of seconds greater than 0, got {value!r}"
        )
    return seconds


class BaseCodeInterpreterConnector(BaseConnector):
    """Base for connectors that execute Python code and return a :class:`CodeExecutionResult`.

    Subclasses implement :meth:`execute_code`; :meth:`aexecute_code` defaults to running it in
    a worker thread. :meth:`execute`/:meth:`aexecute` accept ``{"code": ..., "inputs": ...,
    "timeout": ...}`` (``inputs`` and ``timeout`` optional).
    """

    DEFAULT_TIMEOUT_SECS: ClassVar[float] = DEFAULT_TIMEOUT_SECS
    MAX_TIMEOUT_SECS: ClassVar[float | None] = None
    """Upper bound a backend can put on timeouts (``None``: no bound beyond finiteness)."""

    @abstractmethod
    def execute_code(
        self,
        code: str,
        inputs: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> CodeExecutionResult:
        """Execute code and return a structured result.

        Parameters
        ----------
        code : str
            The Python code to execute.
        inputs : dict, optional
            Input variables to make available to the code.
        timeout : float, optional
            Maximum execution time in seconds.
        """

    def execute_many(
        self,
        jobs: Iterable[tuple[K, str]],
        on_result: Callable[[K, CodeExecutionResult], None],
        *,
        timeout: float | None = None,
    ) -> None:
        """Run each ``(key, code)`` job in turn in this thread; ``on_result(key, result)`` each.

        For callers that feed a batch of snippets from a few threads (``PythonInterpreterBlock``
        runs one such call per worker): a backend overrides it to pay its per-call setup once
        per batch. The default calls :meth:`execute_code` per job. A job whose
        ``execute_code`` raises gets a failed result (``"Type: message"``), so one bad job never
        ends the batch -- except for setup and configuration errors
        (:class:`CodeExecutionSetupError`, :class:`ConnectorConfigError`), which concern every
        job and propagate, as does an exception from ``on_result``.
        """
        for key, code in jobs:
            try:
                result = self.execute_code(code, timeout=timeout)
            except (CodeExecutionSetupError, ConnectorConfigError):
                raise
            except Exception as exc:  # this job's failure, not the batch's
                result = CodeExecutionResult(success=False, output="", error=f"{type(exc).__name__}: {exc}")
            on_result(key, result)

    def execute_many_fields(
        self,
        jobs: Iterable[tuple[K, str]],
        on_outcome: Callable[[K, bool, str, str | None, Any, float | None], None],
        *,
        timeout: float | None = None,
    ) -> None:
        """:meth:`execute_many`, reporting each job as
        ``on_outcome(key, success, output, error, return_value, execution_time_ms)``.

        For callers that build their own shape from a result (``PythonInterpreterBlock``'s
        cell dicts): a backend may override it to skip the :class:`CodeExecutionResult` per
        job, which on tiny snippets costs a measurable share of the throughput
        (``benchmarks/code_blocks.py``). The default unpacks :meth:`execute_many`'s results;
        errors propagate as there.
        """

        def unpack(key: K, result: CodeExecutionResult) -> None:
            on_outcome(key, result.success, result.output or "", result.error,
                       result.return_value, result.execution_time_ms)

        self.execute_many(jobs, unpack, timeout=timeout)

    async def aexecute_code(
        self,
        code: str,
        inputs: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> CodeExecutionResult:
        """Execute code asynchronously.

        The default runs :meth:`execute_code` via :func:`asyncio.to_thread`; subclasses
        override it for native async support.
        """
        return await asyncio.to_thread(self.execute_code, code, inputs, timeout)

    # -- timeouts -------------------------------------------------------------------------

    def resolve_timeout(self, timeout: float | None = None) -> float:
        """The time limit one execution gets: call ``timeout`` > ``config.timeout`` > 120 s.

        Raises :class:`ConnectorConfigError` for 0, negative, NaN, infinite or non-numeric
        values, and for values above :attr:`MAX_TIMEOUT_SECS` when the backend sets one.
        """
        if timeout is not None:
            seconds = validate_timeout(timeout, source="the timeout argument")
        else:
            configured = getattr(self.config, "timeout", None)
            if configured is None:
                seconds = self.DEFAULT_TIMEOUT_SECS
            else:
                seconds = validate_timeout(configured, source="config.timeout")
        limit = self.MAX_TIMEOUT_SECS
        if limit is not None and seconds > limit:
            raise ConnectorConfigError(
                f"timeout of {seconds:g} s is above the {limit:g} s maximum "
                f"{type(self).__name__} accepts"
            )
        return seconds

    # -- execute() / aexecute() -----------------------------------------------------------

    @staticmethod
    def parse_request(request: Any) -> tuple[Any, Any, Any]:
        """Split an ``execute()`` request into ``(code, inputs, timeout)``.

        The request must be a mapping with a ``code`` key and optionally ``inputs`` and
        ``timeout``; anything else (not a mapping, no ``code``, unknown keys such as a
        mistyped ``input``) is a caller error and raises :class:`ConnectorRequestError`
        (as the agent connectors do for a malformed request). The
        *values* are not checked here: a ``code`` that is not a string ends as a failed
        result, like any other bad code.
        """
        if not isinstance(request, Mapping):
            raise ConnectorRequestError(
                "a code interpreter request must be a dict like {'code': '...', 'inputs': {...}, "
                f"'timeout': 10.0}}, got {type(request).__name__}"
            )
        if "code" not in request:
            raise ConnectorRequestError(
                f"the code interpreter request has no 'code' key (keys: {sorted(map(str, request))})"
            )
        unknown = set(request) - _REQUEST_KEYS
        if unknown:
            raise ConnectorRequestError(
                f"unknown key(s) in the code interpreter request: {sorted(map(str, unknown))}; "
                "expected 'code' and optionally 'inputs' and 'timeout'"
            )
        return request["code"], request.get("inputs"), request.get("timeout")

    def execute(self, request: Any) -> CodeExecutionResult:
        """Run ``request["code"]`` with its optional ``inputs`` and ``timeout``."""
        code, inputs, timeout = self.parse_request(request)
        return self.execute_code(code, inputs=inputs, timeout=timeout)

    async def aexecute(self, request: Any) -> CodeExecutionResult:
        """Async counterpart of :meth:`execute`, via :meth:`aexecute_code`."""
        code, inputs, timeout = self.parse_request(request)
        return await self.aexecute_code(code, inputs=inputs, timeout=timeout)

    # -- health ---------------------------------------------------------------------------

    HEALTH_CHECK_TIMEOUT_SECS: ClassVar[float] = 10.0

    def _health_timeout(self) -> float:
        return min(self.HEALTH_CHECK_TIMEOUT_SECS, self.resolve_timeout())

    @staticmethod
    def _health_from(
        result: CodeExecutionResult | None, error: str | None, start: float
    ) -> HealthCheckResult:
        latency = (time.perf_counter() - start) * 1000
        if error is None and result is not None:
            if result.success and result.return_value == 2:
                return HealthCheckResult(status="healthy", latency_ms=latency, checked=_PROBE)
            error = result.error or f"'1 + 1' returned {result.return_value!r}, expected 2"
        return HealthCheckResult(status="unhealthy", error=error, latency_ms=latency, checked=_PROBE)

    def check(self) -> HealthCheckResult:
        """Run ``1 + 1`` and report healthy/unhealthy with the latency. Never raises."""
        start = time.perf_counter()
        try:
            result = self.execute_code(_PROBE, timeout=self._health_timeout())
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a health check reports, it does not raise
            return self._health_from(None, f"{type(exc).__name__}: {exc}", start)
        return self._health_from(result, None, start)

    async def acheck(self) -> HealthCheckResult:
        """Async counterpart of :meth:`check`. Never raises (cancellation still propagates)."""
        start = time.perf_counter()
        try:
            result = await self.aexecute_code(_PROBE, timeout=self._health_timeout())
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # a health check reports, it does not raise
            return self._health_from(None, f"{type(exc).__name__}: {exc}", start)
        return self._health_from(result, None, start)
