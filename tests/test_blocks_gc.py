"""AgentBlock keeps finished rows out of full GC collections and leaves the GC as it found it.

While ``generate`` runs, finished rows are frozen (``gc.freeze()``) every
``_gc.FREEZE_EVERY`` rows so CPython's full collections stop re-scanning them; when it
returns -- normally, with an error, or on Ctrl-C -- nothing of ours is frozen any more and
the GC's switches and thresholds are the ones it had before. The loopback server observes the
freeze from inside the run (it shares the process), so these tests fail if no freeze happens
as well as if one is left behind. Every test also checks that no row was lost.
"""

from __future__ import annotations

import copy
import gc
import os
import signal
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from connector_kit.blocks import AgentBlock, RowFailedError, _gc
from connector_kit.connectors import LangflowConnector
from connector_kit.testkit.faults.samples import LANGFLOW_BENCH_SAMPLE as RESPONSE
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

QUESTIONS = [f"q{i}" for i in range(12)]


class _Recorder:
    """Answers like Langflow; notes the freeze count and thresholds as each request arrives."""

    def __init__(self, *, interrupt_at: str | None = None, fail_at: str | None = None,
                 retune_at: str | None = None) -> None:
        self.frozen_seen: list[int] = []
        self.thresholds_seen: list[tuple[int, ...]] = []
        self.interrupt_at, self.fail_at, self.retune_at = interrupt_at, fail_at, retune_at

    def __call__(self, request: ReceivedRequest) -> Reply:
        self.frozen_seen.append(gc.get_freeze_count())
        self.thresholds_seen.append(gc.get_threshold())
        text = str((request.json() or {}).get("input_value"))
        if text == self.retune_at:
            gc.set_threshold(5000, 20, 20)  # the application tunes its GC in the middle of a run
        if text == self.interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while this row is in flight
            return Reply(hang=True)  # never answered: only the interrupt ends the batch
        if text == self.fail_at:
            return Reply(status=500, body=b'{"detail": "LLM down"}')
        response = copy.deepcopy(RESPONSE)
        response["outputs"][0]["outputs"][0]["results"]["message"]["text"] = f"echo: {text}"
        return json_reply(response)


@pytest.fixture(autouse=True)
def _freeze_every_two_rows(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Freeze after every 2 rows (the default 1000 needs a large frame) from a clean GC state."""
    monkeypatch.setattr(_gc, "FREEZE_EVERY", 2)
    assert gc.get_freeze_count() == 0
    state = (gc.isenabled(), gc.get_threshold())
    yield
    assert (gc.isenabled(), gc.get_threshold()) == state


def _block(srv: FaultServer, **overrides: Any) -> AgentBlock:
    # max_concurrency=1: rows finish one after another, so the freeze points are deterministic
    config: dict[str, Any] = dict(
        block_name="qa", agent_framework="langflow", agent_url=f"{srv.url}/api/v1/run/f",
        input_cols={"messages": "q"}, output_cols=["response"], max_retries=0, timeout=60,
        max_concurrency=1, show_progress=False)
    config.update(overrides)
    return AgentBlock(**config)


def _generate(recorder: _Recorder, **overrides: Any) -> pd.DataFrame:
    with FaultServer(recorder) as srv:
        block = _block(srv, **overrides)
        try:
            return block.generate(pd.DataFrame({"q": QUESTIONS}))
        finally:
            block.close()


def _texts(frame: pd.DataFrame) -> list[str | None]:
    return [None if cell is None else LangflowConnector.extract_text(cell) for cell in frame["response"]]


def test_rows_are_frozen_during_the_run_and_unfrozen_after() -> None:
    recorder = _Recorder()
    out = _generate(recorder)
    assert _texts(out) == [f"echo: {q}" for q in QUESTIONS]  # every row, in order
    assert out["response_error"].tolist() == [None] * len(QUESTIONS)
    assert gc.get_freeze_count() == 0 and recorder.frozen_seen[0] > 0  # frozen from the start
    # finished rows join the freeze every FREEZE_EVERY rows (2 here): the count grows
    assert recorder.frozen_seen[3] > recorder.frozen_seen[1]
    assert gc.get_freeze_count() == 0  # and handed back


def test_arrow_safe_output_is_the_same_json_text_with_freezing() -> None:
    out = _generate(_Recorder(), arrow_safe=True)
    expected = []
    for q in QUESTIONS:
        response = copy.deepcopy(RESPONSE)
        response["outputs"][0]["outputs"][0]["results"]["message"]["text"] = f"echo: {q}"
        expected.append(response)
    from connector_kit.blocks import to_json_text

    assert out["response"].tolist() == [to_json_text(r) for r in expected]
    assert gc.get_freeze_count() == 0


def test_a_failing_row_raising_with_fail_fast_leaves_nothing_frozen() -> None:
    recorder = _Recorder(fail_at="q5")
    with FaultServer(recorder) as srv:
        block = _block(srv, fail_fast=True)
        try:
            with pytest.raises(RowFailedError):
                block.generate(pd.DataFrame({"q": QUESTIONS}))
        finally:
            block.close()
    assert max(recorder.frozen_seen) > 0  # the freeze happened before the failure
    assert gc.get_freeze_count() == 0


def test_ctrl_c_keeps_every_finished_row_and_leaves_nothing_frozen() -> None:
    recorder = _Recorder(interrupt_at="q7")
    with FaultServer(recorder) as srv:
        block = _block(srv)
        try:
            with pytest.raises(KeyboardInterrupt) as info:
                block.generate(pd.DataFrame({"q": QUESTIONS}))
        finally:
            block.close()
    assert recorder.frozen_seen[-1] > 0  # rows q0..q6 finished: frozen when Ctrl-C came
    assert gc.get_freeze_count() == 0
    partial: pd.DataFrame = info.value.partial  # type: ignore[attr-defined]
    assert _texts(partial)[:7] == [f"echo: q{i}" for i in range(7)]
    assert _texts(partial)[7:] == [None] * 5
    assert all(e.startswith("Cancelled:") for e in partial["response_error"].tolist()[7:])


def test_a_freeze_made_by_the_caller_is_kept_and_not_added_to() -> None:
    recorder = _Recorder()
    gc.freeze()  # e.g. a server process that froze its heap before forking
    try:
        before = gc.get_freeze_count()
        out = _generate(recorder)
        # The caller's freeze is still there (a frozen object may still be freed by its
        # reference count, so the count can drop by a few, never by the whole freeze).
        assert gc.get_freeze_count() > before // 2 > 0
        assert _texts(out) == [f"echo: {q}" for q in QUESTIONS]
    finally:
        gc.unfreeze()
    assert max(recorder.frozen_seen) <= before  # no freeze of ours added to it


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    """Known thresholds for the test (CPython's defaults), the process's own restored after."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_only_the_young_generation_is_collected_automatically_during_the_run(
        thresholds: tuple[int, int, int]) -> None:
    recorder = _Recorder()
    out = _generate(recorder)
    assert _texts(out) == [f"echo: {q}" for q in QUESTIONS]
    # generation 0 as before; 1 and 2 left to the block's own collect-and-freeze steps
    assert set(recorder.thresholds_seen) == {(700, _gc._NEVER, _gc._NEVER)}
    assert gc.get_threshold() == thresholds  # restored when generate returns


def test_thresholds_are_restored_after_a_failed_row_and_after_ctrl_c(
        thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RowFailedError):
        _generate(_Recorder(fail_at="q3"), fail_fast=True)
    assert gc.get_threshold() == thresholds
    recorder = _Recorder(interrupt_at="q4")
    with pytest.raises(KeyboardInterrupt):
        _generate(recorder)
    assert (700, _gc._NEVER, _gc._NEVER) in recorder.thresholds_seen
    assert gc.get_threshold() == thresholds


def test_automatic_collection_turned_off_by_the_process_stays_off(
        thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(0, 10, 10)
    recorder = _Recorder()
    _generate(recorder)
    assert set(recorder.thresholds_seen) == {(0, 10, 10)}
    assert gc.get_threshold() == (0, 10, 10)


def test_thresholds_the_application_sets_during_the_run_are_kept(
        thresholds: tuple[int, int, int]) -> None:
    recorder = _Recorder(retune_at="q5")
    _generate(recorder)
    assert recorder.thresholds_seen[6] == (5000, 20, 20)
    assert gc.get_threshold() == (5000, 20, 20)  # not overwritten with the ones from before


def test_nested_scopes_unfreeze_once_the_outermost_ends() -> None:
    with _gc.frozen_as_finished(every=1) as outer_row:
        with _gc.frozen_as_finished(every=1) as inner_row:
            inner_row()
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() > 0  # the outer scope still runs: still frozen
        outer_row()
    assert gc.get_freeze_count() == 0
