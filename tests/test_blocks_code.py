"""PythonInterpreterBlock with the real Monty sandbox: every row gets a result dict."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("pydantic_monty")

from connector_kit.blocks import (
    BlockConfigError,
    BlockRegistry,
    MissingColumnError,
    PythonInterpreterBlock,
    RowFailedError,
)
from connector_kit.blocks.code import RESULT_KEYS
from connector_kit.connectors import CodeExecutionSetupError, ConnectorRegistry
from connector_kit.connectors.code_interpreter import (
    BaseCodeInterpreterConnector,
    CodeExecutionResult,
    MontyConnector,
)


@pytest.fixture(scope="module")
def block() -> Iterator[PythonInterpreterBlock]:
    """One block (one Monty worker pool) shared by the module's tests."""
    shared = PythonInterpreterBlock(block_name="run_code", input_cols=["code"], output_cols=["result"],
                                    timeout=5, connector_kwargs={"pool_size": 2}, show_progress=False)
    yield shared
    shared.close()


def test_good_and_bad_code_side_by_side(block: PythonInterpreterBlock) -> None:
    codes: list[Any] = [
        "print('hello')\n1 + 1",
        "1 / 0",
        5,
        None,
        "   ",
        "x = [1, 'a', {'k': (1, 2)}]\nx",
        "def broken(:\n  pass",
        "{'nan': float('nan'), 's': {3, 1}}",
    ]
    df = pd.DataFrame({"code": pd.Series(codes, dtype=object, index=[f"r{i}" for i in range(len(codes))])})
    out = block.generate(df)
    assert list(out.index) == list(df.index)
    results = out["result"].tolist()
    assert all(set(r) == set(RESULT_KEYS) for r in results)
    assert [r["success"] for r in results] == [True, False, False, False, False, True, False, True]
    assert results[0]["output"] == "hello\n" and results[0]["return_value"] == 2
    assert results[0]["execution_time_ms"] > 0
    assert results[1]["error"].startswith("ZeroDivisionError")
    assert "must be a str, got int" in results[2]["error"] and "None/NaN" in results[3]["error"]
    assert "empty code" in results[4]["error"]
    assert results[5]["return_value"] == [1, "a", {"k": (1, 2)}]  # the Python value itself
    assert results[6]["error"] and "Syntax" in results[6]["error"]
    nan_and_set = results[7]["return_value"]
    assert nan_and_set["nan"] != nan_and_set["nan"] and nan_and_set["s"] == {1, 3}
    summary = block.last_summary
    assert summary is not None and (summary.rows, summary.ok, summary.failed) == (8, 3, 5)
    assert [f.index for f in summary.failures] == ["r1", "r2", "r3", "r4", "r6"]
    assert out["result_success"].dtype == bool
    assert out["result_success"].tolist() == [r["success"] for r in results]
    assert len(out[out["result_success"]]) == 3  # sdg-hub's filter idiom


def test_every_kind_of_return_value_gets_the_same_cell_shape(block: PythonInterpreterBlock) -> None:
    """The block builds a plain result's cell directly and sends the rest through
    ``result_row``'s checks: both give the same layout, one cell per row, in row order."""
    codes = ["None", "'text'", "2.5", "True", "2**63", "2**64 + 1", "2**200", "[1, 2]",
             "{'k': None}", "10**5000", "-(2**63)"]
    out = block.generate(pd.DataFrame({"code": codes * 3}))  # 33 rows over 2 threads
    cells = out["result"].tolist()
    expected = [None, "text", 2.5, True, 2**63, 2**64 + 1, 2**200, [1, 2], {"k": None}, None, -(2**63)]
    for position, cell in enumerate(cells):
        assert set(cell) == set(RESULT_KEYS)
        assert isinstance(cell["execution_time_ms"], float) and cell["execution_time_ms"] >= 0
        want = expected[position % len(codes)]
        if position % len(codes) == 9:  # 10**5000: more digits than Python prints
            assert not cell["success"]
            assert cell["error"].startswith("ValueError: the return value holds an int")
        else:
            assert cell["success"] and cell["error"] is None and cell["output"] == ""
            assert cell["return_value"] == want and type(cell["return_value"]) is type(want)
    assert out["result_success"].tolist() == [cell["success"] for cell in cells]


def test_arrow_safe_writes_return_values_as_json_text() -> None:
    safe = PythonInterpreterBlock(block_name="safe", input_cols=["code"], output_cols=["result"],
                                  arrow_safe=True, connector_kwargs={"pool_size": 1})
    try:
        out = safe.generate(pd.DataFrame({"code": ["1 + 1", "[1, 'a', (2, 3)]", "{'s': {3, 1}}", "1/0"]}))
    finally:
        safe.close()
    values = [r["return_value"] for r in out["result"]]
    assert [json.loads(v) if v is not None else None for v in values] == [2, [1, "a", [2, 3]],
                                                                          {"s": [1, 3]}, None]
    table = pa.Table.from_pandas(out)
    assert pa.types.is_struct(table.schema.field("result").type)
    assert table.schema.field("result_success").type == pa.bool_()


def test_a_return_value_too_big_to_print_is_that_rows_error(block: PythonInterpreterBlock) -> None:
    out = block.generate(pd.DataFrame({"code": ["10**5000", "[1, 10**5000]", "7"]}))
    huge, nested, fine = out["result"].tolist()
    assert not huge["success"] and huge["error"].startswith("ValueError:") and "digits" in huge["error"]
    assert huge["return_value"] is None and not nested["success"]
    assert fine["success"] and fine["return_value"] == 7
    assert out["result_success"].tolist() == [False, False, True]
    repr(out)  # the frame can still be shown


def test_all_failing_rows_are_arrow_safe(block: PythonInterpreterBlock) -> None:
    out = block.generate(pd.DataFrame({"code": ["raise ValueError('x')", "1/0"]}))
    assert [r["success"] for r in out["result"]] == [False, False]
    pa.Table.from_pandas(out)


def test_timeout_stops_one_row_only() -> None:
    quick = PythonInterpreterBlock(block_name="t", input_cols=["code"], output_cols=["r"], timeout=0.3,
                                   connector_kwargs={"pool_size": 2, "kill_grace_secs": 0.5})
    try:
        out = quick.generate(pd.DataFrame({"code": ["while True:\n    pass", "40 + 2"]}))
    finally:
        quick.close()
    looped, fine = out["r"].tolist()
    assert not looped["success"] and "Timeout" in looped["error"]
    assert fine["success"] and fine["return_value"] == 42


def test_fail_fast_raises_at_the_first_failure() -> None:
    strict = PythonInterpreterBlock(block_name="strict", input_cols=["code"], output_cols=["r"],
                                    fail_fast=True, max_concurrency=1, connector_kwargs={"pool_size": 1})
    try:
        with pytest.raises(RowFailedError) as info:
            strict.generate(pd.DataFrame({"code": ["1", "1/0", "2"]}))
        assert info.value.row == 1 and "ZeroDivisionError" in str(info.value)
        with pytest.raises(RowFailedError, match="got int"):
            strict.generate(pd.DataFrame({"code": ["1", 3]}))
    finally:
        strict.close()


def test_connector_is_cached_and_rebuilt_on_change(block: PythonInterpreterBlock) -> None:
    block.generate(pd.DataFrame({"code": ["1"]}))
    first = block._get_connector()
    assert block._get_connector() is first
    block.connector_kwargs = {"pool_size": 1}
    second = block._get_connector()
    assert second is not first
    assert isinstance(first, MontyConnector) and first.worker_pids() == set()  # old pool shut down
    block.connector_kwargs = {"pool_size": 2}


def test_timeout_cascade_and_bad_timeouts() -> None:
    default = PythonInterpreterBlock(block_name="d", input_cols=["c"], output_cols=["r"])
    assert default.timeout == 30.0  # sdg-hub's documented default
    assert default._get_connector().resolve_timeout(default.timeout) == 30.0
    default.close()
    unset = PythonInterpreterBlock(block_name="u", input_cols=["c"], output_cols=["r"], timeout=None,
                                   connector_kwargs={"config": {"timeout": 12}})
    assert unset._get_connector().resolve_timeout(unset.timeout) == 12.0  # None: the connector's
    unset.close()
    too_long = PythonInterpreterBlock(block_name="long", input_cols=["c"], output_cols=["r"], timeout=7200)
    with pytest.raises(BlockConfigError, match=r"'long'.*timeout"):
        too_long.generate(pd.DataFrame({"c": ["1"]}))
    too_long.close()
    with pytest.raises(BlockConfigError, match="timeout"):
        PythonInterpreterBlock(block_name="neg", input_cols=["c"], output_cols=["r"], timeout=-1)


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"interpreter_framework": "nope"}, "not found"),
    ({"interpreter_framework": "langflow"}, "not a code interpreter"),
    ({"connector_kwargs": {"pool_size": 0}}, "pool_size"),
])
def test_bad_interpreter_config_is_reported_before_running(overrides: dict[str, Any], expected: str) -> None:
    bad = PythonInterpreterBlock(block_name="bad", input_cols=["c"], output_cols=["r"], **overrides)
    with pytest.raises(BlockConfigError, match=expected):
        bad.generate(pd.DataFrame({"c": ["1"]}))


def test_columns_config_and_missing_columns() -> None:
    with pytest.raises(BlockConfigError, match="exactly one"):
        PythonInterpreterBlock(block_name="x", input_cols=["a", "b"], output_cols=["r"])
    with pytest.raises(BlockConfigError, match="output_cols"):
        PythonInterpreterBlock(block_name="x", input_cols=["a"])
    block = PythonInterpreterBlock(block_name="x", input_cols=["a"], output_cols=["r"])
    with pytest.raises(MissingColumnError, match="'a'"):
        block.generate(pd.DataFrame({"b": ["1"]}))
    assert BlockRegistry.get("PythonInterpreterBlock") is PythonInterpreterBlock
    assert PythonInterpreterBlock.block_type == "code"


class _EvalOnly(BaseCodeInterpreterConnector):
    """Hand-made test double: 'runs' integer literals; raises on anything else (a buggy backend)."""

    def execute_code(self, code: str, inputs: dict[str, Any] | None = None,
                     timeout: float | None = None) -> CodeExecutionResult:
        if code == "setup":
            raise CodeExecutionSetupError("the sandbox binary is missing")
        return CodeExecutionResult(success=True, output="", return_value=int(code))


def test_a_backend_raising_for_one_row_costs_only_that_row(restore_registry: None) -> None:
    ConnectorRegistry.register("eval_only")(_EvalOnly)
    block = PythonInterpreterBlock(block_name="b", input_cols=["code"], output_cols=["r"],
                                   interpreter_framework="eval_only", connector_kwargs={"config": {}},
                                   show_progress=False)
    out = block.generate(pd.DataFrame({"code": ["1", "oops", "3"]}))
    assert [r["return_value"] for r in out["r"]] == [1, None, 3]
    assert out["r_success"].tolist() == [True, False, True]
    assert out["r"][1]["error"].startswith("ValueError: invalid literal")
    with pytest.raises(CodeExecutionSetupError, match="binary is missing"):  # every row's problem
        block.generate(pd.DataFrame({"code": ["1", "setup"]}))


def test_row_threads_are_reused_and_a_busy_one_is_not_waited_for() -> None:
    """``run_in_threads`` runs each call's shares on long-lived threads (no thread start per
    ``generate``); a thread still busy with an earlier call's row is not counted as free, so a
    new call gets another thread instead of waiting behind it."""
    from connector_kit.blocks._threads import run_in_threads

    def idents(count: int) -> tuple[set[threading.Thread], list[int]]:
        seen: set[threading.Thread] = set()
        taken: list[int] = []
        lock = threading.Lock()

        def run(share: Iterator[tuple[int, Any]]) -> None:
            for position, _item in share:
                with lock:
                    seen.add(threading.current_thread())
                    taken.append(position)

        run_in_threads(run, ((i, None) for i in range(count)), threads=2)
        return seen, taken

    _first, taken = idents(50)
    assert sorted(taken) == list(range(50))
    existing = set(threading.enumerate())
    second, _ = idents(50)
    assert second <= existing  # threads that were already there served the second call

    release = threading.Event()
    holding = threading.Event()
    outcome: list[BaseException | None] = []

    def stuck(share: Iterator[tuple[int, Any]]) -> None:
        for _entry in share:
            holding.set()
            release.wait(60)  # a hang guard only: the test releases it below

    def call_that_blocks() -> None:
        try:
            run_in_threads(stuck, [(0, None)], threads=1)
            outcome.append(None)
        except BaseException as exc:  # pragma: no cover - reported by the assert below
            outcome.append(exc)

    blocker = threading.Thread(target=call_that_blocks, daemon=True)
    blocker.start()
    assert holding.wait(60)
    try:
        _served, taken = idents(20)  # one crew thread is busy: this call must still finish
        assert sorted(taken) == list(range(20))
        assert outcome == []  # ... while the earlier call is still stuck: it did not wait for it
    finally:
        release.set()
        blocker.join(60)
    assert outcome == [None]
