"""Errors raised by blocks. All are :class:`~connector_kit.connectors.ConnectorError` subclasses.

Configuration problems (a bad field, a missing column, an output column that already exists)
are :class:`BlockConfigError`, a :class:`~connector_kit.connectors.ConnectorConfigError`; they
are raised before any row is processed. Per-row failures are *not* raised: they are written to
the block's error column, unless the block runs with ``fail_fast=True``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..connectors.exceptions import ConnectorConfigError, ConnectorError


class BlockConfigError(ConnectorConfigError):
    """A block was configured with values it cannot work with (names the block and the field)."""


class MissingColumnError(BlockConfigError, KeyError):
    """The DataFrame lacks input columns the block reads. Raised before any request is sent."""

    def __init__(self, block_name: str, missing: Sequence[str], available: Sequence[object]) -> None:
        self.block_name = block_name
        self.missing = list(missing)
        self.available = [str(column) for column in available]
        shown = ", ".join(repr(c) for c in self.available[:20])
        more = f" and {len(self.available) - 20} more" if len(self.available) > 20 else ""
        super().__init__(
            f"Block '{block_name}' needs input column(s) {', '.join(repr(m) for m in self.missing)} "
            f"that the DataFrame does not have. Available columns: {shown or '(none)'}{more}."
        )

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class OutputColumnCollisionError(BlockConfigError):
    """The block would overwrite columns that already exist in the DataFrame."""

    def __init__(self, block_name: str, columns: Sequence[str]) -> None:
        self.block_name = block_name
        self.columns = list(columns)
        super().__init__(
            f"Block '{block_name}' would overwrite existing column(s) "
            f"{', '.join(repr(c) for c in self.columns)}. Rename the block's output columns "
            "(output_cols / field_prefix) or drop these columns first."
        )


class RowFailedError(ConnectorError):
    """``fail_fast=True``: the first row that failed, raised instead of being recorded."""

    def __init__(self, block_name: str, row: int | None, message: str) -> None:
        self.block_name = block_name
        self.row = row
        self.message = message
        where = f"row {row}" if row is not None else "a row"
        super().__init__(f"Block '{block_name}' failed on {where} (fail_fast=True): {message}")


__all__ = ["BlockConfigError", "MissingColumnError", "OutputColumnCollisionError", "RowFailedError"]
