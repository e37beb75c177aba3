"""PythonInterpreterBlock: run each row's Python code in a sandbox and keep the result.

Output layout (sdg-hub 0.9.4's documented contract)
---------------------------------------------------
``output_cols[0]`` holds one CodeExecutionResult dict per row::

    {"success": bool, "output": str | None, "error": str | None,
     "return_value": <the Python value of the last expression>, "execution_time_ms": float | None}

and ``<output_col>_success`` is a flat boolean column, for filtering
(``df[df["result_success"]]``). A row whose code failed -- or could not be run at all (not a
string, empty, NaN) -- has ``success=False`` and ``"ExceptionType: message"`` in ``error``;
it counts as failed in the block's summary. A return value that cannot be stored (an int
with more digits than Python converts to text, e.g. ``10**5000``) is that row's error.

``arrow_safe=True`` writes ``return_value`` as JSON text instead: return values differ in
type from row to row, which one Arrow column cannot hold; the dict then has fixed types and
Arrow stores the column as a struct.

Rows run on ``min(max_concurrency, pool_size)`` threads that each feed their share of rows
to the sandbox synchronously (see :mod:`connector_kit.blocks._threads`).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from ..connectors import BaseConnector, ConnectorError, ConnectorRegistry
from ._sanitize import is_missing, to_json_text
from ._threads import run_in_threads
from .base import BaseBlock
from .errors import BlockConfigError, RowFailedError
from .registry import BlockRegistry
from .results import RowResults, describe_validation_error

if TYPE_CHECKING:
    from ..connectors.code_interpreter.base import BaseCodeInterpreterConnector

logger = logging.getLogger("connector_kit.blocks")

RESULT_KEYS = ("success", "output", "error", "return_value", "execution_time_ms")


def _load_code_interpreters() -> type[BaseCodeInterpreterConnector]:
    """Import the code-interpreter connectors (registers "monty"); return their base class."""
    module = importlib.import_module("connector_kit.connectors.code_interpreter")
    base: type[BaseCodeInterpreterConnector] = module.BaseCodeInterpreterConnector
    return base


def result_row(
    *,
    success: bool,
    output: str | None = None,
    error: str | None = None,
    return_value: Any = None,
    execution_time_ms: float | None = None,
    arrow_safe: bool = False,
) -> dict[str, Any]:
    """One row of the output column (see the module doc for the layout).

    A return value that cannot be stored (see :func:`unstorable`) turns the row into a
    failure naming why.
    """
    problem = unstorable(return_value)
    if problem is None and arrow_safe:
        try:
            return_value = to_json_text(return_value)
        except (ValueError, TypeError, RecursionError) as exc:
            problem = f"{type(exc).__name__}: the return value cannot be written as JSON text ({exc})"
    if problem is not None:
        success, error, return_value = False, problem, None
    return {
        "success": bool(success),
        "output": output,
        "error": error,
        "return_value": return_value,
        "execution_time_ms": (float(execution_time_ms) if execution_time_ms is not None
                              and math.isfinite(execution_time_ms) else None),
    }


#: An int of at most this many bits converts to text under any ``sys.set_int_max_str_digits``
#: limit (its floor is 640 digits), so the block's fast path for a plain result needs no check.
_SMALL_INT_BITS = 64

#: Above this many bits an int surely has more decimal digits than Python converts to text.
def _max_int_bits() -> int:
    digits = sys.get_int_max_str_digits()
    return 0 if digits == 0 else int(digits * 3.3219280948873626)  # log2(10)


def unstorable(value: Any, _depth: int = 0) -> str | None:
    """Why ``value`` cannot be kept in a cell (printed, exported), or None when it can.

    The case that matters: an int too large for ``str()`` (``10**5000``), which would make
    every later display or export of the frame raise ``ValueError``.
    """
    kind = type(value)
    if value is None or kind is str or kind is float or kind is bool:  # the common cases first
        return None
    if isinstance(value, bool | str | float):
        return None
    if isinstance(value, int):
        limit = _max_int_bits()
        if limit and value.bit_length() > limit:
            return (f"ValueError: the return value holds an int of {value.bit_length():,} bits, more "
                    f"digits than Python converts to text (sys.get_int_max_str_digits() = "
                    f"{sys.get_int_max_str_digits()}); return str() of a smaller value instead")
        return None
    if _depth > 100:
        return "ValueError: the return value is nested deeper than 100 levels"
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = unstorable(key, _depth + 1) or unstorable(item, _depth + 1)
            if problem is not None:
                return problem
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            problem = unstorable(item, _depth + 1)
            if problem is not None:
                return problem
    return None


@BlockRegistry.register("PythonInterpreterBlock")
class PythonInterpreterBlock(BaseBlock):
    """Execute the code in ``input_cols[0]`` of every row; write a result dict to ``output_cols[0]``.

    The time limit cascades: this block's ``timeout`` > the connector config's timeout >
    120 s. Rows run concurrently (``max_concurrency``) on one cached interpreter connector.
    """

    block_type: ClassVar[str] = "code"

    interpreter_framework: str = Field(default="monty", description="Code interpreter connector name.")
    timeout: float | None = Field(
        default=30.0, gt=0,
        description="Seconds per snippet (sdg-hub's default, 30); None = the connector config's timeout.",
    )
    max_concurrency: int = Field(default=10, ge=1, le=10_000, description="Snippets in flight at once.")
    connector_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra connector fields, e.g. {'pool_size': 2}."
    )
    fail_fast: bool = Field(default=False, description="Raise at the first row that does not succeed.")


    @field_validator("timeout")
    @classmethod
    def _finite_timeout(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("timeout must be a finite number of seconds greater than 0")
        return value

    @model_validator(mode="after")
    def _one_column_each(self) -> PythonInterpreterBlock:
        for name in ("input_cols", "output_cols"):
            cols = getattr(self, name)
            if isinstance(cols, Mapping) or len(cols) != 1:
                raise ValueError(f"{name} must be a list with exactly one column name")
        return self

    @property
    def code_col(self) -> str:
        cols = self.input_cols
        return cols[0] if isinstance(cols, list) else next(iter(cols))

    @property
    def output_col(self) -> str:
        cols = self.output_cols
        return cols[0] if isinstance(cols, list) else next(iter(cols))

    def required_columns(self) -> list[str]:
        return [self.code_col]

    @property
    def success_col(self) -> str:
        """The flat boolean column, ``<output_col>_success``."""
        return f"{self.output_col}_success"

    def output_columns(self) -> list[str]:
        return [self.output_col, self.success_col]

    # -- the connector --------------------------------------------------------------------
    def _get_connector(self) -> BaseCodeInterpreterConnector:
        key = (self.interpreter_framework, json.dumps(self.connector_kwargs, sort_keys=True, default=str))
        return self._cached_connector(key, self._build_connector)

    def _build_connector(self) -> BaseCodeInterpreterConnector:
        base = _load_code_interpreters()
        try:
            connector_class: type[BaseConnector] = ConnectorRegistry.get(self.interpreter_framework)
        except ConnectorError as exc:
            raise BlockConfigError(
                f"Block '{self.block_name}': field 'interpreter_framework': {exc}"
            ) from None
        if not issubclass(connector_class, base):
            raise BlockConfigError(
                f"Block '{self.block_name}': field 'interpreter_framework': "
                f"{self.interpreter_framework!r} ({connector_class.__name__}) is not a code interpreter"
            )
        try:
            connector = connector_class(**self.connector_kwargs)
        except ValidationError as exc:
            raise BlockConfigError(describe_validation_error(
                exc, model=connector_class,
                kind=f"connector_kwargs ({connector_class.__name__}) of PythonInterpreterBlock",
                name=self.block_name, secrets=self.secret_values(),
            )) from None
        assert isinstance(connector, base)
        return connector

    # -- running --------------------------------------------------------------------------
    def _process(self, frame: pd.DataFrame) -> RowResults:
        connector = self._get_connector()
        try:  # a timeout the backend refuses is a config error: say so once, not per row
            connector.resolve_timeout(self.timeout)
        except ConnectorError as exc:
            raise BlockConfigError(f"Block '{self.block_name}': field 'timeout': {exc}") from None
        rows = len(frame)
        results = self._begin(RowResults.blank(rows, self.output_columns(),
                                               dtypes={self.success_col: "bool"}))
        runnable: list[tuple[int, str]] = []
        column = self.code_col
        for position, code in enumerate(frame[column].tolist()):
            if type(code) is str and code.strip():  # the common case, without a call
                runnable.append((position, code))
                continue
            problem = _unrunnable(code, column)
            if problem is None:
                runnable.append((position, code))
                continue
            if self.fail_fast:
                raise RowFailedError(self.block_name, position, problem)
            self._store(results, position, result_row(success=False, error=problem))
        if runnable:
            threads = min(self.max_concurrency, len(runnable),
                          getattr(connector, "pool_size", self.max_concurrency))
            with self._progress(len(runnable)) as advance:
                # Locals, not properties: this runs once per row (see bench monty).
                values, flags, errors = results.columns[self.output_col], results.columns[
                    self.success_col], results.errors
                done = results.done
                assert done is not None
                arrow_safe, fail_fast = self.arrow_safe, self.fail_fast

                def on_outcome(position: int, success: bool, output: str, error: str | None,
                               value: Any, ms: float | None) -> None:
                    # The fields, not a CodeExecutionResult: see execute_many_fields.
                    kind = type(value)
                    if success and not arrow_safe and (
                            value is None or kind is str or kind is float or kind is bool
                            or (kind is int and value.bit_length() <= _SMALL_INT_BITS)):
                        row = {"success": True, "output": output, "error": None,
                               "return_value": value,
                               "execution_time_ms": ms if ms is None or math.isfinite(ms) else None}
                    else:  # every check of result_row (an unstorable value fails the row)
                        row = result_row(success=success, output=output, error=error,
                                         return_value=value, execution_time_ms=ms,
                                         arrow_safe=arrow_safe)
                        if not row["success"]:
                            if fail_fast:
                                raise RowFailedError(self.block_name, position,
                                                     row["error"] or "execution failed")
                            errors[position] = row["error"] or "failed"
                    values[position], flags[position] = row, row["success"]
                    done[position] = 1  # last: the values above are complete
                    advance()

                def run(share: Iterator[tuple[int, str]]) -> None:
                    # One call per thread: the connector pays its per-call setup once per batch.
                    connector.execute_many_fields(share, on_outcome, timeout=self.timeout)

                run_in_threads(run, runnable, threads=threads)
        return results

    def _store(self, results: RowResults, position: int, row: dict[str, Any]) -> None:
        results.columns[self.output_col][position] = row
        results.columns[self.success_col][position] = row["success"]
        results.errors[position] = None if row["success"] else (row["error"] or "failed")
        assert results.done is not None
        results.done[position] = 1  # last: the values above are complete

    def _mark_failed(self, results: RowResults, position: int, message: str) -> None:
        results.columns[self.output_col][position] = result_row(success=False, error=message)
        results.columns[self.success_col][position] = False
        results.errors[position] = message


def _unrunnable(code: Any, column: str) -> str | None:
    """Why a cell's code cannot be run, or None when it can."""
    if isinstance(code, str):
        return None if code.strip() else f"ValueError: column '{column}' holds empty code"
    if code is None or is_missing(code):
        return f"ValueError: column '{column}' has no code in this row (None/NaN)"
    return f"TypeError: code in column '{column}' must be a str, got {type(code).__name__}"


__all__ = ["RESULT_KEYS", "PythonInterpreterBlock", "result_row"]
