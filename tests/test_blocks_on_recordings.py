"""AgentBlock -> AgentResponseExtractorBlock on the committed recordings, offline.

The rows are the recorded scenarios of one endpoint; the kit's replayer answers the
block's concurrent requests from the cassettes (matched on the masked request body), so
the blocks meet exactly what the real Langflow and LangGraph servers returned.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from connector_kit.blocks import AgentBlock, AgentResponseExtractorBlock
from connector_kit.flow import Flow
from connector_kit.testkit.recording.cassettes import Cassette
from connector_kit.testkit.recording.episode import REPLAY_KEY
from connector_kit.testkit.recording.normalize import normalizer_for
from connector_kit.testkit.recording.replay import replaying

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

# Scenarios sharing one endpoint and config, so one block serves them all; graph_error is
# the one bad row (LangGraph answers 200 with __error__).
ROWS = {
    "langgraph": ["plain_chat", "tool_call", "multi_turn", "tool_error", "graph_error"],
    "langflow": ["plain_chat", "tool_call", "multi_turn"],
}


def _paths(framework: str, names: list[str]) -> list[Path]:
    return [CASSETTES / framework / f"{name}.yaml" for name in names]


@pytest.mark.parametrize("framework", sorted(ROWS))
def test_blocks_reproduce_the_recorded_outcomes(framework: str) -> None:
    paths = _paths(framework, ROWS[framework])
    cassettes = [Cassette.load(path) for path in paths]
    first = cassettes[0].scenario
    frame = pd.DataFrame({
        "messages": [c.scenario["messages"] for c in cassettes],
        "session": [c.scenario["session_id"] for c in cassettes],
    })
    agent = AgentBlock(block_name="agent", agent_framework=framework, agent_url=first["url"],
                       agent_api_key=REPLAY_KEY, input_cols={"messages": "messages"},
                       output_cols=["response"], session_id_col="session", max_retries=0,
                       max_concurrency=4)
    extractor = AgentResponseExtractorBlock(block_name="extract", agent_framework=framework,
                                            input_cols=["response"], extract_text=True,
                                            extract_tool_trace=True, field_prefix="out_")
    with replaying(paths, normalizer_for(None, framework)):  # strict: every interaction used
        out = extractor.generate(agent.generate(frame))

    assert len(out) == len(cassettes)  # nothing dropped
    for row, cassette in zip(out.itertuples(index=False), cassettes, strict=True):
        recorded = cassette.outcome
        assert recorded is not None
        if recorded.ok:
            assert row.response_error is None
            assert row.out_text == recorded.text
            assert row.out_tool_trace == recorded.tool_trace  # a list of dicts (or None)
        else:
            assert row.response is None
            assert str(row.response_error).startswith(f"{recorded.error_type}: ")
    assert agent.last_summary is not None
    assert agent.last_summary.failed == sum(not c.outcome.ok for c in cassettes if c.outcome)
    pa.Table.from_pandas(out)  # Arrow-safe, error rows included


# An sdg-hub 0.9.4-style flow file, as people bring it: metadata + blocks, list-form input_cols,
# async_mode, the extractor's default prefix (<block_name>_) and auto-derived output_cols, and
# PythonInterpreterBlock's default timeout. Nothing in it is connector-kit specific.
SDG_HUB_FLOW = """
metadata:
  name: agent-then-code
  version: 1.0.0
blocks:
  - block_type: AgentBlock
    block_config:
      block_name: agent
      agent_framework: ${FRAMEWORK}
      agent_url: ${AGENT_URL}
      agent_api_key: ${AGENT_API_KEY}
      input_cols: [messages, session]
      output_cols: [agent_response]
      session_id_col: session
      async_mode: true
      max_concurrency: 4
      max_retries: 0
  - block_type: AgentResponseExtractorBlock
    block_config:
      block_name: extract
      agent_framework: ${FRAMEWORK}
      input_cols: [agent_response]
      extract_text: true
      extract_session_id: true
      extract_tool_trace: true
  - block_type: PythonInterpreterBlock
    block_config:
      block_name: run
      input_cols: [extract_text]
      output_cols: [exec_result]
"""


@pytest.mark.parametrize("framework", sorted(ROWS))
def test_an_sdg_hub_flow_yaml_runs_unchanged_on_the_recordings(framework: str, tmp_path: Path) -> None:
    pytest.importorskip("pydantic_monty")
    paths = _paths(framework, ROWS[framework])
    cassettes = [Cassette.load(p) for p in paths]
    # A one-message scenario is given as a single message dict (sdg-hub wraps it in a list).
    messages = [c.scenario["messages"][0] if len(c.scenario["messages"]) == 1 else c.scenario["messages"]
                for c in cassettes]
    frame = pd.DataFrame({"messages": messages, "session": [c.scenario["session_id"] for c in cassettes]})
    path = tmp_path / "flow.yaml"
    path.write_text(SDG_HUB_FLOW, encoding="utf-8")
    environ = {"FRAMEWORK": framework, "AGENT_URL": cassettes[0].scenario["url"],
               "AGENT_API_KEY": REPLAY_KEY}
    with Flow.from_yaml(path, environ=environ) as flow, \
            replaying(paths, normalizer_for(None, framework)):  # strict: every interaction used
        extract = flow.get_block("extract")
        assert extract.output_cols == ["extract_text", "extract_session_id", "extract_tool_trace"]
        out = flow.generate(frame)

    assert len(out) == len(cassettes) and list(out.index) == list(frame.index)  # nothing lost
    for position, cassette in enumerate(cassettes):
        recorded = cassette.outcome
        assert recorded is not None
        row = out.iloc[position]
        if not recorded.ok:  # the per-row error columns carry the failure through every block
            assert row["agent_response"] is None
            assert str(row["agent_response_error"]).startswith(f"{recorded.error_type}: ")
            assert row["extract_error"] is not None and not row["exec_result_success"]
            continue
        response = row["agent_response"]
        assert isinstance(response, dict)  # the raw response dict, as downstream code reads it
        if framework == "langflow":
            assert response["outputs"] and response["session_id"] == cassette.scenario["session_id"]
        else:
            assert response["messages"][-1]["type"] == "ai"
        assert row["extract_text"] == recorded.text and row["extract_error"] is None
        assert row["extract_tool_trace"] == recorded.tool_trace
        result = row["exec_result"]
        assert set(result) == {"success", "output", "error", "return_value", "execution_time_ms"}
        # The recorded answers are prose, not code: each is that row's SyntaxError, not a crash.
        assert result["success"] is False and not row["exec_result_success"]
        assert "Syntax" in result["error"]
    assert out["exec_result_success"].dtype == bool
    assert out[out["exec_result_success"]].empty  # sdg-hub's filter idiom works on the flat column
    summaries = {s.block_name: s for s in flow.last_summaries}
    assert summaries["agent"].rows == len(cassettes)
    assert summaries["agent"].failed == sum(not c.outcome.ok for c in cassettes if c.outcome)
