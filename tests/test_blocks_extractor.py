"""AgentResponseExtractorBlock: the connector class's extract_* over every row, no row dropped."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from connector_kit.blocks import (
    AgentBlock,
    AgentResponseExtractorBlock,
    BlockConfigError,
    MissingColumnError,
    RowFailedError,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from fixtures.recordings import recorded_response

#: A real Langflow /run answer with a tool call, recorded from the project's rig
#: (cassettes/langflow/tool_call.yaml): the repo's own recording.
LANGFLOW: dict[str, Any] = recorded_response("langflow", "tool_call")[1]
LANGGRAPH = {"messages": [
    {"type": "human", "content": "what is 2+3?"},
    {"type": "ai", "content": "", "tool_calls": [{"name": "add", "args": {"a": 2, "b": 3}, "id": "c1"}]},
    {"type": "tool", "name": "add", "content": "5", "tool_call_id": "c1"},
    {"type": "ai", "content": "The answer is 5."},
]}


def extractor(**overrides: Any) -> AgentResponseExtractorBlock:
    config: dict[str, Any] = dict(block_name="ex", agent_framework="langflow", input_cols=["response"],
                                  extract_text=True, extract_session_id=True, extract_tool_trace=True,
                                  field_prefix="agent_", show_progress=False)
    config.update(overrides)
    return AgentResponseExtractorBlock(**config)


def test_extracts_from_dicts_and_json_text() -> None:
    df = pd.DataFrame({"response": [LANGFLOW, json.dumps(LANGFLOW)]})
    out = extractor().generate(df)
    assert list(out.columns) == ["response", "agent_text", "agent_session_id", "agent_tool_trace",
                                 "agent_error"]
    text = LANGFLOW["outputs"][0]["outputs"][0]["results"]["message"]["text"]
    assert out["agent_text"].tolist() == [text, text]
    assert out["agent_session_id"].tolist() == ["session-123", "session-123"] or all(
        isinstance(s, str) for s in out["agent_session_id"])
    trace = out["agent_tool_trace"][0]  # a list of dicts, as sdg-hub documents
    assert isinstance(trace, list) and trace and all(isinstance(step, dict) for step in trace)
    assert out["agent_error"].tolist() == [None, None]
    pa.Table.from_pandas(out[[c for c in out.columns if c != "response"]])
    safe = extractor(arrow_safe=True).generate(df)
    assert json.loads(safe["agent_tool_trace"][0]) == trace  # arrow_safe: the same trace as JSON text
    pa.Table.from_pandas(safe)


def test_default_prefix_is_the_block_name() -> None:
    block = AgentResponseExtractorBlock(block_name="lf", agent_framework="langflow",
                                        input_cols="response")
    assert block.output_columns() == ["lf_text", "lf_error"]
    out = block.generate(pd.DataFrame({"response": [json.dumps(LANGFLOW)]}))
    assert isinstance(out["lf_text"][0], str)


def test_bad_rows_get_errors_and_good_rows_keep_their_values() -> None:
    cells: list[object] = [json.dumps(LANGFLOW), None, "not json", "[1, 2]", 42, {"unrelated": True},
             {"outputs": []}, json.dumps(LANGFLOW)]
    df = pd.DataFrame({"response": pd.Series(cells, dtype=object)})
    block = extractor(extract_tool_trace=False)
    out = block.generate(df)
    # "[1, 2]" is the JSON text of a list of two responses: expanded to two (failing) rows
    assert list(out.index) == [0, 1, 2, 3, 3, 4, 5, 6, 7]
    ok = out["agent_error"].isna().tolist()
    assert ok == [True, False, False, False, False, False, False, False, True]
    errors = out["agent_error"].tolist()
    assert "no response in this row" in errors[1]
    assert "not JSON" in errors[2] and "got int" in errors[3] and "got int" in errors[5]
    assert "none of the requested fields" in errors[6] and "unrelated" in errors[6]
    assert out["agent_text"].iloc[0] is not None and out["agent_text"].iloc[1] is None
    summary = block.last_summary
    assert summary is not None and (summary.ok, summary.failed) == (2, 7)
    safe = extractor(extract_tool_trace=False, arrow_safe=True).generate(df)
    pa.Table.from_pandas(safe)  # arrow_safe: the mixed input column is written out as text


def test_fail_fast_raises() -> None:
    with pytest.raises(RowFailedError) as info:
        extractor(fail_fast=True).generate(pd.DataFrame({"response": [LANGFLOW, "oops"]}))
    assert info.value.row == 1


def test_langgraph_framework() -> None:
    out = extractor(agent_framework="langgraph").generate(pd.DataFrame({"response": [json.dumps(LANGGRAPH)]}))
    assert out["agent_text"][0] == "The answer is 5."
    assert out["agent_session_id"][0] is None  # LangGraph responses carry none
    trace = out["agent_tool_trace"][0]
    assert [step["type"] for step in trace] == ["tool_use", "tool_result"]
    assert out["agent_error"][0] is None


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"extract_text": False, "extract_session_id": False, "extract_tool_trace": False}, "at least one"),
    ({"agent_framework": "nope"}, "unknown agent framework"),
    ({"agent_framework": "monty"}, "'monty'.*langflow"),
    ({"input_cols": ["a", "b"]}, "exactly one"),
    ({"expand_list": True}, "did you mean 'expand_lists'"),
])
def test_invalid_config(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(BlockConfigError, match=expected) as info:
        extractor(**overrides)
    assert "'ex'" in str(info.value)


def test_missing_input_column() -> None:
    with pytest.raises(MissingColumnError, match="'response'"):
        extractor().generate(pd.DataFrame({"other": [1]}))


def test_chained_after_an_agent_block_on_a_real_server() -> None:
    def langflow(request: ReceivedRequest) -> Reply:
        body = request.json()
        if body["input_value"] == "fail":
            return Reply(status=503, body=b"{}")
        response = copy.deepcopy(LANGFLOW)
        response["session_id"] = body["session_id"]
        return json_reply(response)

    with FaultServer(langflow) as srv:
        agent = AgentBlock(block_name="agent", agent_framework="langflow", agent_url=srv.url,
                           input_cols={"messages": "q"}, max_retries=0, show_progress=False)
        df = pd.DataFrame({"q": ["a", "fail", "b"], "sid": ["s1", "s2", "s3"]})
        responses = agent.generate(df)
    out = extractor(input_cols=["agent_response"]).generate(responses)
    assert out["agent_error"].isna().tolist() == [True, False, True]
    assert out["agent_response_error"].isna().tolist() == [True, False, True]
    assert all(isinstance(s, str) and s for s in out["agent_session_id"][[0, 2]])
    pa.Table.from_pandas(out)


# -- sdg-hub's documented list handling (expand_lists) and auto-derived output_cols -----------

def _other(text: str) -> dict[str, Any]:
    response = copy.deepcopy(LANGFLOW)
    response["outputs"][0]["outputs"][0]["results"]["message"]["text"] = text
    return response


def test_output_cols_are_derived_from_the_enabled_fields_and_prefix() -> None:
    block = AgentResponseExtractorBlock(block_name="lf", agent_framework="langflow",
                                        input_cols=["response"], extract_session_id=True)
    assert block.output_cols == ["lf_text", "lf_session_id"]
    assert extractor().output_cols == ["agent_text", "agent_session_id", "agent_tool_trace"]


def test_a_list_of_responses_expands_to_one_row_per_response_by_default() -> None:
    cells: list[object] = [
        [LANGFLOW, _other("second")],
        json.dumps(_other("alone")),
        np.array([_other("from parquet")], dtype=object),
        json.dumps([_other("json list a"), _other("json list b")]),
        [],
        [_other("fine"), "broken"],
    ]
    index = [10, 11, 12, 13, 14, 15]
    df = pd.DataFrame({"response": pd.Series(cells, dtype=object, index=index), "id": list("ABCDEF")},
                      index=index)
    block = extractor(extract_session_id=False, extract_tool_trace=False)
    assert block.expand_lists is True
    out = block.generate(df)
    first = LANGFLOW["outputs"][0]["outputs"][0]["results"]["message"]["text"]
    assert list(out.index) == [10, 10, 11, 12, 13, 13, 14, 15, 15]  # the input row's label repeated
    assert out["id"].tolist() == list("AABCDDEFF")  # the other columns repeated with it
    assert out["agent_text"].tolist() == [first, "second", "alone", "from parquet", "json list a",
                                          "json list b", None, "fine", None]
    errors = out["agent_error"].tolist()
    assert "empty list of responses" in errors[6] and "not JSON" in errors[8]
    assert [e is None for e in errors] == [True] * 6 + [False, True, False]
    summary = block.last_summary
    assert summary is not None and (summary.rows, summary.ok, summary.failed) == (9, 7, 2)


def test_expand_lists_false_keeps_one_row_with_lists() -> None:
    df = pd.DataFrame({"response": pd.Series([[LANGFLOW, _other("second")], LANGFLOW,
                                              [_other("ok"), 42]], dtype=object)})
    out = extractor(expand_lists=False, extract_session_id=False).generate(df)
    first = LANGFLOW["outputs"][0]["outputs"][0]["results"]["message"]["text"]
    assert len(out) == 3
    assert out["agent_text"].tolist() == [[first, "second"], first, ["ok", None]]
    traces = out["agent_tool_trace"][0]
    assert isinstance(traces, list) and len(traces) == 2 and isinstance(traces[0], list)
    assert out["agent_error"][0] is None and out["agent_error"][1] is None
    assert out["agent_error"][2].startswith("response[1]: ConnectorResponseError") and "got int" in \
        out["agent_error"][2]
