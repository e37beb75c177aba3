"""What a block run produced: each row's result or failure as rows finish, and the summary.

Also the one way a pydantic ``ValidationError`` becomes a block's configuration message
(field named, close names suggested, credentials never shown).
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ..connectors._secrets import is_secret_name
from ._masking import mask_value, scrub


@dataclass(frozen=True)
class RowFailure:
    """One row that failed: its position (0-based), its index label, and the error message."""

    row: int
    index: Hashable
    error: str


@dataclass(frozen=True)
class BlockSummary:
    """What one ``generate`` call did: rows, how many succeeded and failed, and why."""

    block_name: str
    block_type: str
    rows: int
    ok: int
    failed: int
    seconds: float
    failures: tuple[RowFailure, ...] = ()

    @property
    def errors(self) -> list[str]:
        """The error message of each failed row, in row order."""
        return [failure.error for failure in self.failures]

    def __str__(self) -> str:
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 and self.rows else ""
        return (f"block '{self.block_name}': {self.rows} rows, {self.ok} ok, {self.failed} failed "
                f"in {self.seconds:.2f} s{rate}")


@dataclass
class RowResults:
    """What a block's ``_process`` returns: the new columns and one error (or None) per row.

    Blocks fill it as rows finish (``done[position] = 1`` after a row's values are written),
    so an interrupted run can still return every finished row (see ``BaseBlock.generate``).
    """

    columns: dict[str, list[Any]]
    errors: list[str | None]
    ok: list[bool] | None = None  # default: a row is ok when its error is None
    #: Expanded output (one input row -> several output rows): each output row's input position.
    source: list[int] | None = None
    #: Per input row: 1 once the row is finished. None: every row is finished.
    done: bytearray | None = None
    #: The column holding the per-row error message, filled for cancelled rows.
    error_col: str | None = None
    #: Columns stored with a dtype other than object (e.g. the boolean ``<output>_success``).
    dtypes: dict[str, str] = field(default_factory=dict)
    #: Columns whose values were redacted as their rows finished: ``_finish`` skips them.
    redacted: set[str] = field(default_factory=set)

    @classmethod
    def blank(cls, rows: int, names: Iterable[str], *, error_col: str | None = None,
              dtypes: Mapping[str, str] | None = None) -> RowResults:
        """Results for ``rows`` rows, nothing finished yet (every value None)."""
        return cls(columns={name: [None] * rows for name in names}, errors=[None] * rows,
                   done=bytearray(rows), error_col=error_col, dtypes=dict(dtypes or {}))


def describe_validation_error(
    exc: ValidationError,
    *,
    model: type[BaseModel] | None,
    kind: str,
    name: Any,
    secrets: Iterable[str | None] = (),
) -> str:
    """A readable one-line message for a pydantic ValidationError, naming block and fields.

    Values are shown for ordinary fields (they help fix the config) but never for fields whose
    name looks like a credential; every known secret value is masked as well.
    """
    parts: list[str] = []
    valid = sorted(model.model_fields) if model is not None else []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        path = ".".join(str(p) for p in loc)
        top = str(loc[0]) if loc else ""
        kind_of = error.get("type", "")
        message = str(error.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        if kind_of == "extra_forbidden":
            close = difflib.get_close_matches(top, valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            message = f"unknown field{hint}; valid fields: {', '.join(valid)}"
        elif kind_of == "missing":
            message = "field required"
        elif "input" in error and not any(is_secret_name(str(p)) for p in loc):
            shown = repr(mask_value(None, error["input"]))
            if len(shown) > 80:
                shown = shown[:77] + "..."
            message = f"{message} (got {shown})"
        parts.append(f"field '{path}': {message}" if path else message)
    unique = list(dict.fromkeys(parts))
    label = f"'{name}'" if isinstance(name, str) and name else "(no block_name)"
    return scrub(f"Invalid config for {kind} {label}: " + "; ".join(unique), secrets)
