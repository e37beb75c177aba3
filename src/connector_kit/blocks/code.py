"""PythonInterpreterBlock: run each row's Python code in a sandbox and keep the result.

Output layout
-------------
``output_cols[0]`` holds one dict per row, the shape sdg-hub 0.9.4 writes, with fixed keys
(so Arrow stores the column as a struct)::

    {"success": bool, "output": str | None, "error": str | None,
     "return_value": str | None, "execution_time_ms": float | None}

``return_value`` is the **JSON text** of the value of the code's last expression (``None`` when
it is ``None``): return values differ in type from row to row, which one Arrow column cannot
hold. A row whose code failed -- or could not be run at all (not a string, empty) -- has
``success=False`` and ``"ExceptionType: message"`` in ``error``; it counts as failed in the
block's summary. There is no separate error column: the error is in the dict.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
from pydantic import Field, ValidationError, field_validator, model_validator

from ..connectors import BaseConnector, CodeExecutionSetupError, ConnectorError, ConnectorRegistry
from ..connectors.batch import BatchItem, run_batch, run_blocking
from ._sanitize import is_missing, to_json_text
from .base import BaseBlock, RowResults, describe_validation_error
from .errors import BlockConfigError, RowFailedError
from .registry import BlockRegistry

if TYPE_CHECKING:
    from ..connectors.code_interpreter.base import BaseCodeInterpreterConnector, CodeExecutionResult

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
) -> dict[str, Any]:
    """One row of the output column (see the module doc for the layout)."""
    return {
        "success": bool(success),
        "output": output,
        "error": error,
        "return_value": to_json_text(return_value),
        "execution_time_ms": (float(execution_time_ms) if execution_time_ms is not None
                              and math.isfinite(execution_time_ms) else None),
    }


def _from_result(result: CodeExecutionResult) -> dict[str, Any]:
    return result_row(success=result.success, output=result.output, error=result.error,
                      return_value=result.return_value, execution_time_ms=result.execution_time_ms)


@BlockRegistry.register("PythonInterpreterBlock")
class PythonInterpreterBlock(BaseBlock):
    """Execute the code in ``input_cols[0]`` of every row; write a result dict to ``output_cols[0]``.

    The time limit cascades: this block's ``timeout`` > the connector config's timeout >
    120 s. Rows run concurrently (``max_concurrency``) on one cached interpreter connector.
    """

    block_type: ClassVar[str] = "code"

    interpreter_framework: str = Field(default="monty", description="Code interpreter connector name.")
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds per snippet; None = connector config (120 s default)."
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

    def output_columns(self) -> list[str]:
        return [self.output_col]

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
        results: list[dict[str, Any] | None] = [None] * rows
        runnable: list[tuple[int, str]] = []
        for position, code in enumerate(frame[self.code_col].tolist()):
            problem = _unrunnable(code, self.code_col)
            if problem is None:
                runnable.append((position, code))
                continue
            if self.fail_fast:
                raise RowFailedError(self.block_name, position, problem)
            results[position] = result_row(success=False, error=problem)
        if runnable:
            items = run_blocking(lambda: self._run_batch(connector, runnable))
            for item in items:  # the sandbox cannot start: a setup problem, not a row's
                if isinstance(item.error, CodeExecutionSetupError):
                    raise item.error
            for (position, _code), item in zip(runnable, items, strict=True):
                if item.ok:
                    results[position] = _from_result(item.value)
                else:  # the connector itself raised: the row still gets a result
                    results[position] = result_row(success=False, error=item.error_message)
        final = [row if row is not None else result_row(success=False, error="not run") for row in results]
        errors = [None if row["success"] else (row["error"] or "failed") for row in final]
        return RowResults(columns={self.output_col: list(final)}, errors=errors)

    async def _run_batch(
        self, connector: BaseCodeInterpreterConnector, runnable: list[tuple[int, str]]
    ) -> list[BatchItem]:
        async def call(entry: tuple[int, str]) -> CodeExecutionResult:
            position, code = entry
            result = await connector.aexecute_code(code, timeout=self.timeout)
            if self.fail_fast and not result.success:
                raise RowFailedError(self.block_name, position, result.error or "execution failed")
            return result

        with self._progress(len(runnable)) as advance:
            def on_result(_item: BatchItem) -> None:
                advance()

            return await run_batch(call, runnable, max_concurrency=self.max_concurrency,
                                   fail_fast=self.fail_fast, on_result=on_result)


def _unrunnable(code: Any, column: str) -> str | None:
    """Why a cell's code cannot be run, or None when it can."""
    if isinstance(code, str):
        return None if code.strip() else f"ValueError: column '{column}' holds empty code"
    if code is None or is_missing(code):
        return f"ValueError: column '{column}' has no code in this row (None/NaN)"
    return f"TypeError: code in column '{column}' must be a str, got {type(code).__name__}"


__all__ = ["RESULT_KEYS", "PythonInterpreterBlock", "result_row"]
