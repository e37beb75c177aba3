"""BaseBlock: a pydantic-configured step that turns a DataFrame into a DataFrame.

Every block follows the same contract:

1. ``generate(df)`` first checks the block's input columns exist (and that its output columns
   do not), raising :class:`~connector_kit.blocks.errors.MissingColumnError` /
   :class:`~connector_kit.blocks.errors.OutputColumnCollisionError` **before any row is
   processed or any request sent**.
2. Each row ends with its result or with an error message in the block's error column;
   one failing row never costs the others their results (``fail_fast=True`` raises instead).
3. The input DataFrame is not modified; the output is a copy with the block's columns added,
   in the same row order with the same index (an extractor with ``expand_lists`` repeats a
   row's index label once per response). Cells hold the documented Python values (dicts,
   lists) as sdg-hub writes them; ``arrow_safe=True`` writes nested cells as JSON text and
   mixed columns as text instead, so ``pyarrow.Table.from_pandas`` / Parquet accept the frame
   (:func:`~connector_kit.blocks.sanitize_frame` does the same for any frame before export).
4. ``block.last_summary`` holds rows / ok / failed / the errors, and the summary is logged
   (logger ``connector_kit.blocks``) with credentials masked.
5. An interrupt (``KeyboardInterrupt``, task cancellation) loses nothing: the exception is
   re-raised carrying ``.partial``, a DataFrame of every input row -- finished rows with their
   outputs, the others with an error value saying they were cancelled -- and ``last_summary``
   describes that partial frame.

Configuration errors -- a bad field, an unknown field -- raise
:class:`~connector_kit.blocks.errors.BlockConfigError` naming the block and the field, with
credential values never shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..connectors._secrets import MASK, is_secret_name
from ..connectors.base import BaseConnector
from ._masking import mask_value, redact_deep, scrub, secret_values_in
from ._progress import progress_bar
from ._sanitize import arrow_accepts, dedupe_columns, flatten_columns, sanitize_values
from .errors import BlockConfigError, MissingColumnError, OutputColumnCollisionError
from .results import BlockSummary, RowFailure, RowResults, describe_validation_error

C = TypeVar("C", bound=BaseConnector)

logger = logging.getLogger("connector_kit.blocks")

#: How many row errors a summary log line shows.
_LOGGED_ERRORS = 3


class BaseBlock(BaseModel, ABC):
    """Base of every block: ``generate(df) -> df`` with validation, summary and masking."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, arbitrary_types_allowed=True)

    #: What kind of block this is; ``flow.set_agent_config()`` targets blocks of type "agent".
    block_type: ClassVar[str] = "block"

    block_name: str = Field(..., description="Unique name of this block within a flow.")
    input_cols: list[str] | dict[str, str] = Field(
        default_factory=list, description="Input columns: a name, a list of names, or a mapping."
    )
    output_cols: list[str] | dict[str, str] = Field(
        default_factory=list, description="Output columns: a name, a list of names, or a mapping."
    )
    show_progress: bool | None = Field(
        default=None,
        description="Progress bar: None = on a terminal outside CI, False = never, True = on a terminal.",
    )
    arrow_safe: bool = Field(
        default=False,
        description=("False: cells hold the documented Python values (dicts, lists), as sdg-hub "
                     "writes them. True: nested cells as JSON text and mixed columns as text, so "
                     "pyarrow / Parquet accept the frame."),
    )

    _last_summary: BlockSummary | None = PrivateAttr(default=None)
    _connector: BaseConnector | None = PrivateAttr(default=None)
    _connector_key: tuple[Any, ...] | None = PrivateAttr(default=None)
    _live: RowResults | None = PrivateAttr(default=None)

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise BlockConfigError(describe_validation_error(
                exc, model=type(self), kind=type(self).__name__, name=data.get("block_name"),
                secrets=secret_values_in(None, data),
            )) from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise BlockConfigError(describe_validation_error(
                exc, model=type(self), kind=type(self).__name__, name=self.block_name,
                secrets=[*self.secret_values(), *secret_values_in(name, value)],
            )) from None

    # -- validation -----------------------------------------------------------------------
    @field_validator("block_name")
    @classmethod
    def _non_empty_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("block_name must be a non-empty string")
        return value

    @field_validator("input_cols", "output_cols", mode="before")
    @classmethod
    def _normalize_columns(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, list | Mapping):
            return value
        raise ValueError(
            f"expected a column name, a list of column names or a mapping, got {type(value).__name__}"
        )

    # -- masking --------------------------------------------------------------------------
    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_value(name, value)
        for name, info in type(self).model_fields.items():
            if info.repr is False and is_secret_name(name) and getattr(self, name, None):
                yield name, MASK

    def secret_values(self) -> list[str]:
        """Every credential value the block's fields hold, for masking messages."""
        found: list[str] = []
        for name in type(self).model_fields:
            found.extend(secret_values_in(name, getattr(self, name, None)))
        return found

    def _scrub(self, text: str) -> str:
        return scrub(text, self.secret_values())

    # -- what a block declares ------------------------------------------------------------
    @abstractmethod
    def required_columns(self) -> list[str]:
        """Columns ``generate`` reads; missing ones raise before anything runs."""

    @abstractmethod
    def output_columns(self) -> list[str]:
        """Columns ``generate`` adds (result and error columns)."""

    @abstractmethod
    def _process(self, frame: pd.DataFrame) -> RowResults:
        """Compute the new columns for every row of ``frame`` (already validated)."""

    def _cached_connector(self, key: tuple[Any, ...], build: Callable[[], C]) -> C:
        """The connector cached for ``key``; rebuilt (and the old one closed) when it changed."""
        if self._connector is not None and self._connector_key == key:
            return cast(C, self._connector)
        self.close()
        connector = build()
        self._connector, self._connector_key = connector, key
        return connector

    def close(self) -> None:
        """Release the cached connector (HTTP pools, worker processes). Safe to call twice."""
        connector, self._connector, self._connector_key = self._connector, None, None
        if connector is not None:
            connector.close()

    # -- running --------------------------------------------------------------------------
    @property
    def last_summary(self) -> BlockSummary | None:
        """The summary of the last ``generate`` call (None before the first)."""
        return self._last_summary

    def check_columns(self, columns: Iterable[Hashable]) -> None:
        """Raise if a required column is missing or an output column already exists."""
        present = {str(column) for column in columns}
        missing = [column for column in self.required_columns() if column not in present]
        if missing:
            raise MissingColumnError(self.block_name, missing, list(columns))
        clashing = [column for column in self.output_columns() if column in present]
        if clashing:
            raise OutputColumnCollisionError(self.block_name, clashing)

    def generate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Run the block on every row of ``df``; return a copy with the block's columns added.

        On ``KeyboardInterrupt`` or task cancellation the exception is re-raised with a
        ``.partial`` attribute: every input row, finished ones with their outputs, the rest
        with an error saying they were cancelled (``last_summary`` describes it).
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{type(self).__name__}.generate() takes a pandas DataFrame, got "
                            f"{type(df).__name__}")
        frame = self._prepare(df)
        self.check_columns(frame.columns)
        started = time.perf_counter()
        self._live = None
        try:
            results = self._process(frame)
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            partial = self._finish(frame, self._cancelled_results(len(frame), exc), started)
            setattr(exc, "partial", partial)  # noqa: B010 - documented attribute on a builtin exception
            raise
        finally:
            self._live = None
        return self._finish(frame, results, started)

    def _begin(self, results: RowResults) -> RowResults:
        """Register ``results`` as the ones being filled (read on an interrupt); return them."""
        self._live = results
        return results

    def _mark_failed(self, results: RowResults, position: int, message: str) -> None:
        """Set row ``position`` of ``results`` to a failure with ``message`` (1:1 results)."""
        results.errors[position] = message
        for name, values in results.columns.items():
            values[position] = message if name == results.error_col else None
        if results.ok is not None:
            results.ok[position] = False

    def _cancelled_results(self, rows: int, exc: BaseException) -> RowResults:
        """A consistent snapshot of the live results, unfinished rows marked cancelled."""
        message = (f"Cancelled: generate() was interrupted ({type(exc).__name__}) before this row "
                   "finished; run this row again")
        live = self._live
        if live is None:
            blank = RowResults.blank(rows, self.output_columns())
            blank.error_col = next((c for c in self.output_columns() if c.endswith("error")), None)
            live = blank
        # done first, then the values: a row's values are written before its done flag.
        done = bytes(live.done) if live.done is not None else bytes(rows)
        columns = {name: list(values) for name, values in live.columns.items()}
        snap = RowResults(columns=columns, errors=list(live.errors),
                          ok=list(live.ok) if live.ok is not None else None,
                          source=list(live.source) if live.source is not None else None,
                          error_col=live.error_col, dtypes=dict(live.dtypes))
        if snap.source is None:
            for position in range(rows):
                if not done[position]:
                    self._mark_failed(snap, position, message)
            return snap
        # Expanded results are appended in input order: cut a half-appended row, then add one
        # cancelled row per unfinished input row.
        finished = [position for position in range(rows) if done[position]]
        length = min([len(snap.source), len(snap.errors), *map(len, snap.columns.values())])
        keep = set(finished)
        cut = [i for i in range(length) if snap.source[i] in keep]
        snap.source = [snap.source[i] for i in cut]
        snap.errors = [snap.errors[i] for i in cut]
        snap.ok = None
        snap.columns = {name: [values[i] for i in cut] for name, values in snap.columns.items()}
        for position in range(rows):
            if not done[position]:
                snap.source.append(position)
                snap.errors.append(message)
                for name, values in snap.columns.items():
                    values.append(message if name == snap.error_col else None)
        order = sorted(range(len(snap.source)), key=snap.source.__getitem__)
        snap.source = [snap.source[i] for i in order]
        snap.errors = [snap.errors[i] for i in order]
        snap.columns = {name: [values[i] for i in order] for name, values in snap.columns.items()}
        return snap

    def _finish(self, frame: pd.DataFrame, results: RowResults, started: float) -> pd.DataFrame:
        """Add the result columns to ``frame``, set ``last_summary``; return the output frame."""
        seconds = time.perf_counter() - started
        if results.source is not None:  # expanded: a row per response, its input row repeated
            frame = frame.iloc[results.source].copy()
        secrets = self.secret_values()
        for name, values in results.columns.items():
            if secrets and name not in results.redacted:
                # a credential echoed back by a server or an error never leaves the block
                values = [redact_deep(v, secrets) for v in values]
            if len(values) != len(frame):
                raise AssertionError(f"block '{self.block_name}' produced {len(values)} values for "
                                     f"{len(frame)} rows in column '{name}'")
            dtype = results.dtypes.get(name)
            if dtype is not None:
                frame[name] = pd.Series(values, index=frame.index, dtype=dtype)
                continue
            if self.arrow_safe and not arrow_accepts(values):
                values = sanitize_values(values)
            # object dtype: None stays None (pandas 3 would turn a str column's None into NaN)
            frame[name] = pd.Series(values, index=frame.index, dtype=object)
        if self.arrow_safe:
            self._make_inputs_arrow_safe(frame, exclude=set(results.columns))
        errors = [None if e is None else self._scrub(e) for e in results.errors]
        ok_flags = results.ok if results.ok is not None else [e is None for e in errors]
        failures = tuple(
            RowFailure(position, frame.index[position], error or "failed")
            for position, (error, ok) in enumerate(zip(errors, ok_flags, strict=True)) if not ok
        )
        summary = BlockSummary(
            block_name=self.block_name, block_type=self.block_type, rows=len(frame),
            ok=len(frame) - len(failures), failed=len(failures), seconds=seconds, failures=failures,
        )
        self._last_summary = summary
        self._log_summary(summary)
        return frame

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        return self.generate(df)

    def _prepare(self, df: pd.DataFrame) -> pd.DataFrame:
        frame = df.copy()
        before = list(frame.columns)
        flatten_columns(frame)
        dedupe_columns(frame)
        if list(frame.columns) != before:
            logger.warning("block '%s': input column names made unique/flat for Arrow: %s",
                           self.block_name, [str(c) for c in frame.columns])
        return frame

    def _make_inputs_arrow_safe(self, frame: pd.DataFrame, exclude: set[str]) -> None:
        """Sanitise passed-through object columns that Arrow cannot convert (in place).

        Columns Arrow already accepts are left exactly as they are (a list-of-dicts messages
        column stays a list of dicts), so blocks can be chained over the same inputs.
        """
        changed = []
        for position, name in enumerate(list(frame.columns)):
            if name in exclude or frame.dtypes.iloc[position] != np.dtype(object):
                continue
            values = frame.iloc[:, position].tolist()
            if arrow_accepts(values):
                continue
            frame[name] = pd.Series(sanitize_values(values), index=frame.index, dtype=object)
            changed.append(str(name))
        if changed:
            logger.warning("block '%s': input column(s) %s mixed types Arrow cannot store; written "
                           "out as text (nested values as JSON)", self.block_name, changed)

    def _progress(self, total: int) -> AbstractContextManager[Callable[[], None]]:
        return progress_bar(total, self.block_name, requested=self.show_progress)

    def _log_summary(self, summary: BlockSummary) -> None:
        if summary.failed:
            shown = "; ".join(f"row {f.row}: {f.error[:300]}" for f in summary.failures[:_LOGGED_ERRORS])
            more = (f" (+{summary.failed - _LOGGED_ERRORS} more in last_summary)"
                    if summary.failed > _LOGGED_ERRORS else "")
            logger.warning("%s. Failed rows -- %s%s", summary, shown, more)
        else:
            logger.info("%s", summary)


__all__ = [
    "BaseBlock",
    "BlockSummary",
    "RowFailure",
    "RowResults",
    "describe_validation_error",
]
