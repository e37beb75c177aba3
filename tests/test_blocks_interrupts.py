"""No finished row is ever lost: an interrupt during generate() hands back every row.

The interrupt is a real one: ``os.kill(os.getpid(), signal.SIGINT)`` delivers SIGINT's Python handler to
the main thread, exactly as Ctrl-C does (asyncio.run's own handler included). It is fired
from the loopback server when a chosen request arrives, or once chosen rows have finished,
so the point of interruption is deterministic. Each test shows the interrupt took effect at
once: the row in flight hangs (or loops) far longer than the test runs, and the rows after
it were never started.
"""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from connector_kit.blocks import AgentBlock, AgentResponseExtractorBlock, BaseBlock, PythonInterpreterBlock
from connector_kit.connectors import ConnectorRegistry, LangflowConnector
from connector_kit.testkit.faults.samples import LANGFLOW_BENCH_SAMPLE as RESPONSE
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

QUESTIONS = ["a", "b", "c", "stop", "d", "e"]


def _handler(request: ReceivedRequest) -> Reply:
    text = str((request.json() or {}).get("input_value"))
    if text == "stop":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while this row is in flight
        return Reply(hang=True)  # never answered: only the interrupt ends the batch
    response = copy.deepcopy(RESPONSE)
    response["outputs"][0]["outputs"][0]["results"]["message"]["text"] = f"echo: {text}"
    return json_reply(response)


@pytest.fixture
def srv() -> Iterator[FaultServer]:
    with FaultServer(_handler) as server:  # its own server: the hanging reply ends with it
        yield server


def _agent(srv: FaultServer) -> AgentBlock:
    # max_concurrency=1: rows go one after another, so a, b, c are finished when "stop" is sent
    return AgentBlock(block_name="qa", agent_framework="langflow", agent_url=f"{srv.url}/api/v1/run/f",
                      input_cols={"messages": "q"}, output_cols=["response"], max_retries=0,
                      timeout=60, max_concurrency=1, show_progress=False)


def _check_partial(partial: pd.DataFrame, block: BaseBlock, srv: FaultServer) -> None:
    assert list(partial.index) == [10, 11, 12, 13, 14, 15]  # every input row, in order
    assert partial["q"].tolist() == QUESTIONS
    responses = partial["response"].tolist()
    texts = [r["outputs"][0]["outputs"][0]["results"]["message"]["text"] for r in responses[:3]]
    assert texts == ["echo: a", "echo: b", "echo: c"]  # finished rows keep their outputs
    assert responses[3:] == [None, None, None]
    errors = partial["response_error"].tolist()
    assert errors[:3] == [None, None, None]
    assert all(e.startswith("Cancelled: generate() was interrupted") for e in errors[3:])
    assert len(srv.requests) == 4  # d and e were never sent: the interrupt stopped the batch
    summary = block.last_summary
    assert summary is not None and (summary.rows, summary.ok, summary.failed) == (6, 3, 3)


def test_ctrl_c_during_agent_block_returns_every_finished_row(srv: FaultServer) -> None:
    block = _agent(srv)
    frame = pd.DataFrame({"q": QUESTIONS}, index=range(10, 16))
    with pytest.raises(KeyboardInterrupt) as info:
        block.generate(frame)
    _check_partial(info.value.partial, block, srv)  # type: ignore[attr-defined]


def test_ctrl_c_inside_a_running_loop_cancels_at_once(srv: FaultServer) -> None:
    """asyncio.run's SIGINT handler only cancels the main task, which is blocked in generate."""
    block = _agent(srv)
    frame = pd.DataFrame({"q": QUESTIONS}, index=range(10, 16))
    seen: dict[str, Any] = {}

    async def main() -> None:
        try:
            block.generate(frame)
        except asyncio.CancelledError as exc:
            seen["partial"] = exc.partial  # type: ignore[attr-defined]
            raise

    with pytest.raises(KeyboardInterrupt):  # asyncio.run turns the cancelled main task into this
        asyncio.run(main())
    _check_partial(seen["partial"], block, srv)


def test_ctrl_c_during_code_execution_keeps_finished_results() -> None:
    pytest.importorskip("pydantic_monty")
    block = PythonInterpreterBlock(block_name="run", input_cols=["code"], output_cols=["result"],
                                   timeout=5, max_concurrency=1, connector_kwargs={"pool_size": 1},
                                   show_progress=False)
    frame = pd.DataFrame({"code": ["1", "2", "while True:\n    pass", "3"]})
    stop_watching = threading.Event()

    def interrupt_after_two_rows() -> None:
        # Wait (bounded) until the block has finished rows 0 and 1, then press Ctrl-C.
        for _ in range(2000):
            live = block._live
            if live is not None and live.done is not None and live.done[0] and live.done[1]:
                os.kill(os.getpid(), signal.SIGINT)
                return
            if stop_watching.wait(0.005):
                return

    watcher = threading.Thread(target=interrupt_after_two_rows, daemon=True)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            block.generate(frame)
    finally:
        stop_watching.set()
        watcher.join(5)
        block.close()
    partial = info.value.partial  # type: ignore[attr-defined]
    results = partial["result"].tolist()
    assert [r["return_value"] for r in results[:2]] == [1, 2]
    assert partial["result_success"].tolist() == [True, True, False, False]
    assert all(r["error"].startswith("Cancelled: generate() was interrupted") for r in results[2:])
    summary = block.last_summary
    assert summary is not None and (summary.ok, summary.failed) == (2, 2)


class _StopAtMarker(LangflowConnector):
    """Hand-made test double: Langflow's parsers, but a Ctrl-C arrives on the 'stop' answer."""

    @classmethod
    def extract_text(cls, response: Any) -> str | None:
        text = super().extract_text(response)
        if text == "stop":
            raise KeyboardInterrupt  # what the signal handler raises at this point
        return text


def test_ctrl_c_during_the_extractor_keeps_expanded_rows(restore_registry: None) -> None:
    ConnectorRegistry.register("stop_at_marker")(_StopAtMarker)

    def response(text: str) -> dict[str, Any]:
        answer = copy.deepcopy(RESPONSE)
        answer["outputs"][0]["outputs"][0]["results"]["message"]["text"] = text
        return answer

    cells = [[response("a1"), response("a2")], response("b"), response("stop"), [response("d")]]
    frame = pd.DataFrame({"r": pd.Series(cells, dtype=object, index=list("ABCD"))})
    block = AgentResponseExtractorBlock(block_name="x", agent_framework="stop_at_marker",
                                        input_cols=["r"], show_progress=False)
    with pytest.raises(KeyboardInterrupt) as info:
        block.generate(frame)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert list(partial.index) == ["A", "A", "B", "C", "D"]  # every input row, expanded ones kept
    assert partial["x_text"].tolist() == ["a1", "a2", "b", None, None]
    errors = partial["x_error"].tolist()
    assert errors[:3] == [None, None, None]
    assert all(e.startswith("Cancelled: generate() was interrupted") for e in errors[3:])
    summary = block.last_summary
    assert summary is not None and (summary.rows, summary.ok, summary.failed) == (5, 3, 2)


def test_an_interrupted_flow_hands_back_the_interrupted_blocks_partial(srv: FaultServer) -> None:
    from connector_kit.flow import Flow

    extract = AgentResponseExtractorBlock(block_name="x", agent_framework="langflow",
                                          input_cols=["response"], show_progress=False)
    flow = Flow([_agent(srv), extract])
    with pytest.raises(KeyboardInterrupt) as info:
        flow.generate(pd.DataFrame({"q": QUESTIONS}, index=range(10, 16)))
    partial = info.value.partial  # type: ignore[attr-defined]
    assert len(partial) == 6 and partial["response_error"].notna().tolist() == [False] * 3 + [True] * 3
    assert [s.block_name for s in flow.last_summaries] == ["qa"]  # the extractor never ran
    assert extract.last_summary is None
