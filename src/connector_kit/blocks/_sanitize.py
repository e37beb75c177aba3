"""Making DataFrames Arrow-safe: the lessons of the data-connector guide, as functions.

``pyarrow.Table.from_pandas`` (and Parquet, datasets, display layers built on Arrow) fails on:

- ``MultiIndex`` columns -> :func:`flatten_columns` joins the levels with ``" | "``;
- duplicate column names -> :func:`dedupe_columns` suffixes repeats with ``_2``, ``_3``...;
- nested values (dicts, lists) whose shapes differ from row to row -> :func:`to_json_text`
  writes them as JSON strings, which keep their structure and can be parsed back
  (``json.loads``), never as ``str(dict)``;
- object columns mixing types (strings and numbers, ...) -> :func:`sanitize_series` turns the
  values into strings, keeping missing values as ``None``.

:func:`sanitize_frame` applies all of them. Blocks use these on the columns they add; you can
use :func:`sanitize_frame` on any DataFrame before writing it out.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import decimal
import json
import math
import uuid
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

_NESTED = (dict, list, tuple, set, frozenset, np.ndarray, Mapping)
_MAX_DEPTH = 100
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError,
                 TypeError, ValueError)


def is_missing(value: Any) -> bool:
    """True for None, NaN (float or numpy), ``pd.NA`` and ``pd.NaT``; False for containers."""
    if value is None:
        return True
    if isinstance(value, (*_NESTED, str, bytes)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_nested(value: Any) -> bool:
    """True for dicts, lists, tuples, sets and numpy arrays (values Arrow may not infer)."""
    return isinstance(value, _NESTED)


def json_safe(value: Any, _depth: int = 0) -> Any:
    """``value`` as plain JSON data: dicts with str keys, lists, str, int, finite float, bool, None.

    Tuples and sets become lists, numpy scalars Python numbers, non-finite floats ``None``,
    bytes UTF-8 text (base64 if not UTF-8), dates ISO strings, pydantic models and dataclasses
    their fields; anything else its ``str()``. Never raises.
    """
    if _depth > _MAX_DEPTH:
        return f"<{type(value).__name__} nested deeper than {_MAX_DEPTH} levels>"
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return json_safe(value.item(), _depth + 1)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, set | frozenset):
        items = [json_safe(v, _depth + 1) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump(mode="json"), _depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value), _depth + 1)
    if is_missing(value):
        return None
    return str(value)


def to_json_text(value: Any) -> str | None:
    """``value`` as a JSON string (``None`` stays ``None``); see :func:`json_safe`."""
    if value is None:
        return None
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False)


def flatten_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Join ``MultiIndex`` column levels with ``" | "`` (empty levels skipped). In place."""
    if isinstance(df.columns, pd.MultiIndex):
        flat = []
        for column in df.columns:
            parts = [str(level) for level in column if not is_missing(level) and str(level).strip()]
            flat.append(" | ".join(parts))
        df.columns = pd.Index(flat, dtype=object)
    return df


def dedupe_column_names(columns: Iterable[Hashable]) -> list[Hashable]:
    """Names made unique: repeats get ``_2``, ``_3``... (never clashing with an existing name).

    Names are compared as strings (Arrow's view); when nothing repeats the names are returned
    unchanged, non-string labels included.
    """
    names = list(columns)
    as_text = [str(name) for name in names]
    if len(set(as_text)) == len(as_text):
        return names
    taken = set(as_text)
    seen: dict[str, int] = {}
    result: list[Hashable] = []
    for text in as_text:
        if text not in seen:
            seen[text] = 1
            result.append(text)
            continue
        count = seen[text]
        while True:
            count += 1
            candidate = f"{text}_{count}"
            if candidate not in taken:
                break
        seen[text] = count
        taken.add(candidate)
        result.append(candidate)
    return result


def dedupe_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Rename duplicate columns (see :func:`dedupe_column_names`). In place."""
    new = dedupe_column_names(df.columns)
    if new != list(df.columns):
        df.columns = pd.Index(new, dtype=object)
    return df


def arrow_accepts(values: list[Any]) -> bool:
    if _plain_text(values):
        # Text and None only: accepted as they are. Building the Arrow array to find that out
        # copied the whole column (a 100,000-row run's JSON text: ~57 MB more peak RSS).
        return True
    try:
        pa.array(values, from_pandas=True)
    except _ARROW_ERRORS:
        return False
    return True


def _plain_text(values: list[Any]) -> bool:
    """Only ``None`` and strings Arrow can encode (UTF-8: no lone surrogates)."""
    for value in values:
        if value is None:
            continue
        if type(value) is not str:
            return False
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def sanitize_values(values: list[Any]) -> list[Any]:
    """One column's values made Arrow-safe (see :func:`sanitize_series`)."""
    present = [v for v in values if not is_missing(v)]
    if not present:
        return [None] * len(values)
    out = [None if is_missing(v) else v for v in values]
    if any(is_nested(v) for v in present):
        out = [to_json_text(v) if is_nested(v) else v for v in out]
    if not arrow_accepts(out):
        out = [v if v is None or isinstance(v, str) else _scalar_text(v) for v in out]
    return out


def _scalar_text(value: Any) -> str:
    safe = json_safe(value)
    return safe if isinstance(safe, str) else json.dumps(safe, ensure_ascii=False)


def sanitize_series(series: pd.Series) -> pd.Series:
    """An object column made Arrow-safe; other dtypes are returned unchanged.

    Nested values become JSON strings; if the values still mix types Arrow cannot put in one
    column (e.g. strings and numbers), every present value becomes a string. Missing values
    are ``None``.
    """
    if series.dtype != object:
        return series
    values = series.tolist()
    cleaned = sanitize_values(values)
    if all(a is b for a, b in zip(values, cleaned, strict=True)):
        return series
    return pd.Series(cleaned, index=series.index, dtype=object, name=series.name)


def sanitize_frame(df: pd.DataFrame, columns: Iterable[Hashable] | None = None) -> pd.DataFrame:
    """A copy of ``df`` that ``pyarrow.Table.from_pandas`` accepts.

    Flattens ``MultiIndex`` columns, renames duplicates, and sanitises the object columns in
    ``columns`` (default: all) with :func:`sanitize_series`.
    """
    out = df.copy()
    flatten_columns(out)
    dedupe_columns(out)
    names: list[Hashable] = list(out.columns)
    wanted = None if columns is None else set(columns)
    for position, name in enumerate(names):
        if wanted is not None and name not in wanted:
            continue
        current = out.iloc[:, position]
        cleaned = sanitize_series(current)
        if cleaned is not current:
            out.isetitem(position, cleaned.to_numpy(dtype=object))
    return out


__all__ = [
    "arrow_accepts",
    "dedupe_column_names",
    "dedupe_columns",
    "flatten_columns",
    "is_missing",
    "is_nested",
    "json_safe",
    "sanitize_frame",
    "sanitize_series",
    "sanitize_values",
    "to_json_text",
]
