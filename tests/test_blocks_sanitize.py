"""The Arrow-safety helpers (blocks/_sanitize.py): every lesson of the data-connector guide."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import BaseModel

from connector_kit.blocks import sanitize_frame, sanitize_series, to_json_text
from connector_kit.blocks._sanitize import (
    arrow_accepts,
    dedupe_column_names,
    dedupe_columns,
    flatten_columns,
    is_missing,
    json_safe,
    sanitize_values,
)


def test_multiindex_columns_are_flattened_skipping_empty_levels() -> None:
    df = pd.DataFrame([[1, 2, 3]], columns=pd.MultiIndex.from_tuples(
        [("2023", "amount"), ("2023", ""), ("total", None)]))
    flatten_columns(df)
    assert list(df.columns) == ["2023 | amount", "2023", "total"]


def test_duplicate_names_get_suffixes_that_never_clash() -> None:
    assert dedupe_column_names(["a", "b", "a", "a_2", "a"]) == ["a", "b", "a_3", "a_2", "a_4"]
    assert dedupe_column_names(["x", 1, 2]) == ["x", 1, 2]  # unique: labels untouched
    assert dedupe_column_names([1, "1"]) == ["1", "1_2"]  # equal as text, as Arrow sees them
    df = pd.DataFrame([[1, 2]], columns=["v", "v"])
    dedupe_columns(df)
    assert list(df.columns) == ["v", "v_2"]


def test_mixed_type_column_becomes_text_and_keeps_nulls() -> None:
    series = pd.Series(["$1,234", 12.5, None, float("nan"), 7, True], dtype=object)
    assert not arrow_accepts(series.tolist())
    cleaned = sanitize_series(series)
    assert cleaned.tolist() == ["$1,234", "12.5", None, None, "7", "true"]
    assert pa.array(cleaned, from_pandas=True).type == pa.string()


@pytest.mark.parametrize("values, accepted", [
    (["plain", None, "caf\u00e9 \u2603"], True),  # text and None: taken as they are
    (["plain", "half a pair \ud800"], False),  # a lone surrogate: no UTF-8 for Arrow
    (["text", 1], False),  # mixed kinds
    ([1, 2.5, None], True),  # not text: Arrow itself is asked
    ([], True),
])
def test_arrow_accepts_text_without_converting_it_and_asks_arrow_otherwise(
        values: list[object], accepted: bool) -> None:
    assert arrow_accepts(values) is accepted
    try:
        pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        arrow_says = False
    else:
        arrow_says = True
    assert arrow_says is accepted  # the same answer Arrow gives


def test_nested_values_become_json_text_that_parses_back() -> None:
    values: list[object] = [{"k": [1, 2]}, [{"a": None}], "plain", None, (1, "x")]
    cleaned = sanitize_values(values)
    assert json.loads(cleaned[0]) == {"k": [1, 2]}
    assert json.loads(cleaned[1]) == [{"a": None}]
    assert cleaned[2] == "plain" and cleaned[3] is None
    assert json.loads(cleaned[4]) == [1, "x"]
    assert arrow_accepts(cleaned)


def test_arrow_safe_and_non_object_columns_are_returned_unchanged() -> None:
    ints = pd.Series([1, 2, 3])
    assert sanitize_series(ints) is ints
    texts = pd.Series(["a", None, "c"], dtype=object)
    assert sanitize_series(texts) is texts


def test_json_safe_handles_the_awkward_values() -> None:
    class Point(BaseModel):
        x: int

    value = {
        1: (1, 2), "set": {3, 1}, "np": np.int64(4), "f": np.float32(0.5), "nan": float("nan"),
        "inf": math.inf, "bytes": b"hi", "bin": b"\xff\xfe", "when": dt.date(2024, 1, 2),
        "model": Point(x=1), "arr": np.array([1, 2]), "obj": object,
    }
    safe = json_safe(value)
    text = json.dumps(safe, allow_nan=False)  # strict JSON: no NaN/Infinity tokens
    assert json.loads(text)["1"] == [1, 2]
    assert safe["set"] == [1, 3] and safe["np"] == 4 and safe["f"] == 0.5
    assert safe["nan"] is None and safe["inf"] is None
    assert safe["bytes"] == "hi" and safe["bin"] == "//4="
    assert safe["when"] == "2024-01-02" and safe["model"] == {"x": 1} and safe["arr"] == [1, 2]
    assert isinstance(safe["obj"], str)
    assert to_json_text(None) is None and to_json_text("x") == '"x"'


def test_deep_nesting_does_not_blow_up() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(1000):
        child: list[object] = []
        node.append(child)
        node = child
    assert isinstance(to_json_text(deep), str)


def test_is_missing() -> None:
    missing: list[object] = [None, float("nan"), pd.NA, pd.NaT, np.float64("nan")]
    present: list[object] = ["", 0, [], {}, np.array([np.nan])]
    assert all(is_missing(v) for v in missing)
    assert not any(is_missing(v) for v in present)


def test_sanitize_frame_fixes_everything_at_once_for_arrow() -> None:
    df = pd.DataFrame(
        [[1, {"a": 1}, "x", [1]], [2, {"a": "b"}, 3.5, None]],
        columns=pd.MultiIndex.from_tuples([("id", ""), ("meta", "raw"), ("v", ""), ("v", "")]),
    )
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError)):
        pa.Table.from_pandas(df)
    out = sanitize_frame(df)
    table = pa.Table.from_pandas(out)
    assert table.column_names[:4] == ["id", "meta | raw", "v", "v_2"]
    assert out["meta | raw"].tolist() == ['{"a": 1}', '{"a": "b"}']
    assert out["v"].tolist() == ["x", "3.5"]
    assert isinstance(df.columns, pd.MultiIndex)  # the input is not modified


def test_sanitize_frame_can_target_columns() -> None:
    df = pd.DataFrame({"keep": [[1], ["a"]], "fix": [1, "a"]})
    out = sanitize_frame(df, columns=["fix"])
    assert out["keep"].tolist() == [[1], ["a"]]
    assert out["fix"].tolist() == ["1", "a"]
