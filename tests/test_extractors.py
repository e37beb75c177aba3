"""extract_text / extract_session_id / extract_tool_trace: on real responses, on malformed ones, on anything.

The real responses are read from the shared reference folder (nothing is copied into the repo);
the tests that need them skip with a reason when it is absent.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_kit.connectors import BaseAgentConnector, LangflowConnector, LangGraphConnector

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"shared samples not found at {SAMPLES}")

LANGFLOW_ANSWER = 'The answer is 5. (tool said: {"result": "5"})'
CONNECTORS: list[type[BaseAgentConnector]] = [LangflowConnector, LangGraphConnector]


def load(path: Path) -> tuple[int, Any]:
    """(status, decoded JSON body) of a recorded response file: status line, headers, blank line, body."""
    raw = path.read_bytes()
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = raw.partition(b"\n\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def check_types(connector: type[BaseAgentConnector], response: Any) -> tuple[Any, Any, Any]:
    """Run the three extractors; each must return its documented type or None."""
    text = connector.extract_text(response)
    session_id = connector.extract_session_id(response)
    trace = connector.extract_tool_trace(response)
    assert text is None or isinstance(text, str)
    assert session_id is None or isinstance(session_id, str)
    assert trace is None or (isinstance(trace, list) and all(isinstance(e, dict) for e in trace))
    return text, session_id, trace


# -- the real Langflow responses ------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize(("name", "session_id"), [
    ("agent_with_key", "session-123"),
    ("agent_by_endpoint_name", "session-123"),
    ("agent_key_in_query", "session-123"),
    ("empty_body", "4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
    ("wrong_types_body", "4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
])
def test_langflow_agent_samples(name: str, session_id: str) -> None:
    status, response = load(SAMPLES / "langflow" / f"{name}.http")
    assert status == 200
    text, sid, trace = check_types(LangflowConnector, response)
    assert text == LANGFLOW_ANSWER
    assert sid == session_id
    assert trace is not None
    message = response["outputs"][0]["outputs"][0]["results"]["message"]
    # The first path of the spec: message.data.content_blocks -> the "Agent Steps" block's contents.
    assert trace == message["data"]["content_blocks"][0]["contents"]
    assert [entry["type"] for entry in trace] == ["tool_use", "text", "text"]
    tool_use = trace[0]
    assert tool_use["name"] == "evaluate_expression"
    assert tool_use["tool_input"] == {"expression": "2+3"}
    assert tool_use["output"]["status"] == "success"
    assert tool_use["output"]["content"] == '{"result": "5"}'


@needs_samples
def test_langflow_echo_sample_has_text_and_no_tool_trace() -> None:
    _, response = load(SAMPLES / "langflow" / "echo_with_key.http")
    assert check_types(LangflowConnector, response) == ("what is 2+3?", "session-123", None)


@needs_samples
def test_langflow_second_content_block_path_is_used_when_data_has_none() -> None:
    _, response = load(SAMPLES / "langflow" / "agent_with_key.http")
    message = response["outputs"][0]["outputs"][0]["results"]["message"]
    del message["data"]["content_blocks"]
    trace = LangflowConnector.extract_tool_trace(response)
    assert trace == message["content_blocks"][0]["contents"]
    assert len(trace) == 4  # this copy holds the duplicate "Output" text block too


@needs_samples
@pytest.mark.parametrize("name", ["agent_llm_down", "agent_no_key", "agent_wrong_key", "malformed_json",
                                  "run_by_flow_display_name", "run_get_method", "unknown_flow_name",
                                  "unknown_flow_uuid"])
def test_langflow_error_samples_extract_nothing(name: str) -> None:
    status, response = load(SAMPLES / "langflow" / f"{name}.http")
    assert status >= 400
    assert check_types(LangflowConnector, response) == (None, None, None)


# -- the real LangGraph responses -----------------------------------------------------------------

CALC_USE = {"type": "tool_use", "tool_calls": [
    {"name": "calculator", "args": {"expression": "2+3"}, "id": "call_calc_1", "type": "tool_call"}]}
CALC_RESULT = {"type": "tool_result", "name": "calculator", "content": "5", "tool_call_id": "call_calc_1",
               "status": "success"}


@needs_samples
@pytest.mark.parametrize("name", ["05_runs_wait", "74_auth_good_key_run"])
def test_langgraph_tool_run_samples(name: str) -> None:
    status, response = load(SAMPLES / "langgraph" / f"{name}.txt")
    assert status == 200
    assert check_types(LangGraphConnector, response) == ("The answer to 2+3 is 5.", None,
                                                         [CALC_USE, CALC_RESULT])


@needs_samples
def test_langgraph_content_parts_are_joined_not_repr() -> None:
    _, response = load(SAMPLES / "langgraph" / "12_runs_wait_config_parts.txt")
    text, session_id, trace = check_types(LangGraphConnector, response)
    assert text == "The answer to (4*5)/2 is 10."
    assert session_id is None
    assert trace == [
        {"type": "tool_use", "tool_calls": [{"name": "calculator", "args": {"expression": "(4*5)/2"},
                                             "id": "call_calc_1", "type": "tool_call"}]},
        {"type": "tool_result", "name": "calculator", "content": "10", "tool_call_id": "call_calc_1",
         "status": "success"},
    ]


@needs_samples
def test_langgraph_no_tool_sample() -> None:
    _, response = load(SAMPLES / "langgraph" / "15_runs_wait_no_tool.txt")
    assert check_types(LangGraphConnector, response) == ("You said: hello there", None, [])


@needs_samples
def test_langgraph_tool_error_sample_keeps_the_error_status() -> None:
    _, response = load(SAMPLES / "langgraph" / "17b_runs_wait_tool_error_message.txt")
    text, _, trace = check_types(LangGraphConnector, response)
    assert text is not None and text.startswith("The answer to 1/0 is Error: ZeroDivisionError")
    assert trace is not None and [e["type"] for e in trace] == ["tool_use", "tool_result"]
    assert trace[1]["status"] == "error"
    assert trace[1]["content"] == "Error: ZeroDivisionError('division by zero')\n Please fix your mistakes."


@needs_samples
@pytest.mark.parametrize("name", ["17a_runs_wait_tool_raises_default_toolnode", "00_ok", "04_thread_create",
                                  "13_runs_wait_config_and_context", "20_unknown_assistant_name",
                                  "21_unknown_assistant_uuid", "22_malformed_json", "23_missing_assistant_id",
                                  "26_unknown_thread", "71_auth_no_key"])
def test_langgraph_non_run_samples_extract_nothing(name: str) -> None:
    _, response = load(SAMPLES / "langgraph" / f"{name}.txt")
    assert check_types(LangGraphConnector, response) == (None, None, None)


@needs_samples
@pytest.mark.parametrize("connector", CONNECTORS, ids=["langflow", "langgraph"])
def test_every_json_sample_is_safe_for_both_connectors(connector: type[BaseAgentConnector]) -> None:
    files = sorted(SAMPLES.glob("langflow/*.http")) + sorted(
        p for p in SAMPLES.glob("langgraph/*.txt") if not p.name.endswith(".req.txt"))
    decoded = 0
    for path in files:
        try:
            _, response = load(path)
        except ValueError:  # event streams and NDJSON bodies are not one JSON value
            continue
        decoded += 1
        check_types(connector, response)
    assert decoded >= 25


# -- malformed shapes (each one sdg-hub 0.9.4 crashes on or silently loses) ------------------------


def lf(message: Any) -> dict[str, Any]:
    """A Langflow response whose outputs[0].outputs[0].results.message is ``message``."""
    return {"session_id": "s", "outputs": [{"outputs": [{"results": {"message": message}}]}]}


def lf_blocks(blocks: Any) -> dict[str, Any]:
    return lf({"text": "t", "data": {"content_blocks": blocks}})


@pytest.mark.parametrize("response", [
    {}, {"outputs": []}, None, "str", 123, [], [{"outputs": []}],
    {"outputs": [{"outputs": [{"results": None}]}]},
    {"outputs": None}, {"outputs": "abc"}, {"outputs": [None]}, {"outputs": [{"outputs": [None]}]},
    lf("str"), lf(None), lf(123), lf([]),
], ids=repr)
def test_langflow_missing_or_broken_paths_give_none(response: Any) -> None:
    assert LangflowConnector.extract_text(response) is None
    assert LangflowConnector.extract_tool_trace(response) is None


@pytest.mark.parametrize(("text", "expected"), [
    (None, ""),
    ("plain", "plain"),
    ("", ""),
    (123, "123"),
    (1.5, "1.5"),
    (True, "true"),
    ({"text": "inner"}, "inner"),
    ({"k": 1}, '{"k": 1}'),
    ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "ab"),
    (["x", "y"], "xy"),
    ([None, {"type": "image_url"}, {"type": "text", "text": "c"}], "c"),
], ids=repr)
def test_langflow_text_of_any_type_is_a_string(text: Any, expected: str) -> None:
    assert LangflowConnector.extract_text(lf({"text": text})) == expected


def test_langflow_text_falls_back_to_data_text() -> None:
    assert LangflowConnector.extract_text(lf({"data": {"text": "from data"}})) == "from data"
    assert LangflowConnector.extract_text(lf({"data": {"text": None}})) == ""
    assert LangflowConnector.extract_text(lf({"data": "x"})) is None


@pytest.mark.parametrize(("response", "expected"), [
    ({"session_id": "abc"}, "abc"),
    ({"session_id": None}, ""),
    ({"session_id": 42}, "42"),
    ({"session_id": {"a": 1}}, None),
    ({"session_id": [1]}, None),
    ({"session_id": True}, None),
    ({}, None),
    (None, None),
    ("session_id", None),
    ([{"session_id": "x"}], None),
], ids=repr)
def test_langflow_session_id(response: Any, expected: str | None) -> None:
    assert LangflowConnector.extract_session_id(response) == expected


@pytest.mark.parametrize("blocks", ["abc", {"k": 1}, [None], ["str"], None, 5, [], [{"title": "x"}],
                                    [{"contents": "abc"}], [{"contents": None}]], ids=repr)
def test_langflow_broken_content_blocks_give_none(blocks: Any) -> None:
    assert LangflowConnector.extract_tool_trace(lf_blocks(blocks)) is None


@pytest.mark.parametrize("contents", [["str"], [None], [None, "x", 3, []]], ids=repr)
def test_langflow_non_dict_contents_are_dropped(contents: Any) -> None:
    assert LangflowConnector.extract_tool_trace(lf_blocks([{"contents": contents}])) == []


def test_langflow_contents_keep_only_dicts_and_tool_use_without_name() -> None:
    contents = [None, {"type": "tool_use"}, "junk", {"type": "text", "text": "ok"}]
    assert LangflowConnector.extract_tool_trace(lf_blocks([{"contents": contents}])) == [
        {"type": "tool_use"}, {"type": "text", "text": "ok"}]


def test_langflow_first_block_with_contents_wins() -> None:
    blocks = [None, {"title": "no contents"}, {"contents": [{"n": 1}]}, {"contents": [{"n": 2}]}]
    assert LangflowConnector.extract_tool_trace(lf_blocks(blocks)) == [{"n": 1}]


def test_langflow_a_lone_block_dict_counts() -> None:
    assert LangflowConnector.extract_tool_trace(lf_blocks({"contents": [{"n": 1}]})) == [{"n": 1}]


def lg(*messages: Any) -> dict[str, Any]:
    return {"messages": list(messages)}


@pytest.mark.parametrize("response", [
    {"messages": None}, {"messages": 123}, {"messages": "abc"}, {"messages": {"type": "ai"}},
    {}, None, "str", 5, [], [{"type": "ai", "content": "x"}],
], ids=repr)
def test_langgraph_messages_not_a_list_give_none(response: Any) -> None:
    assert LangGraphConnector.extract_text(response) is None
    assert LangGraphConnector.extract_tool_trace(response) is None
    assert LangGraphConnector.extract_session_id(response) is None


@pytest.mark.parametrize("messages", [[None], ["abc"], [1, [], None], []], ids=repr)
def test_langgraph_non_dict_messages_are_skipped(messages: list[Any]) -> None:
    response = {"messages": messages}
    assert LangGraphConnector.extract_text(response) is None
    assert LangGraphConnector.extract_tool_trace(response) == []


@pytest.mark.parametrize(("content", "expected"), [
    (None, ""),
    ("hi", "hi"),
    ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "ab"),
    ([{"type": "text", "text": "a"}, {"type": "tool_use", "id": "x", "name": "calc", "input": {}}], "a"),
    (["a", "b"], "ab"),
    ([], ""),
    (7, "7"),
], ids=repr)
def test_langgraph_content_shapes(content: Any, expected: str) -> None:
    text = LangGraphConnector.extract_text(lg({"type": "ai", "content": content}))
    assert text == expected
    assert text != "None" and not text.startswith("[{")


def test_langgraph_last_ai_or_assistant_message_wins() -> None:
    response = lg({"type": "ai", "content": "first"}, {"role": "assistant", "content": "second"},
                  {"type": "human", "content": "question"}, None, {"type": "tool", "content": "5"})
    assert LangGraphConnector.extract_text(response) == "second"
    assert LangGraphConnector.extract_text(lg({"type": "human", "content": "q"})) is None


@pytest.mark.parametrize(("tool_calls", "expected"), [
    ("abc", []),
    ([None], []),
    (None, []),
    (5, []),
    ({"name": "calc", "id": "1"}, [{"type": "tool_use", "tool_calls": [{"name": "calc", "id": "1"}]}]),
    ([None, "x", {"name": "calc", "id": None}],
     [{"type": "tool_use", "tool_calls": [{"name": "calc", "id": None}]}]),
], ids=repr)
def test_langgraph_broken_tool_calls(tool_calls: Any, expected: list[dict[str, Any]]) -> None:
    response = lg({"type": "ai", "content": "", "tool_calls": tool_calls})
    assert LangGraphConnector.extract_tool_trace(response) == expected


def test_langgraph_tool_results_with_odd_fields() -> None:
    trace = LangGraphConnector.extract_tool_trace(lg(
        {"type": "tool", "content": None, "name": None, "tool_call_id": None},
        {"type": "tool", "content": [{"type": "text", "text": "ten"}], "name": 3, "tool_call_id": {"x": 1},
         "status": 5},
        {"role": "tool", "content": "r", "name": "n", "tool_call_id": "c", "status": "error"},
    ))
    assert trace == [
        {"type": "tool_result", "name": None, "content": "", "tool_call_id": None},
        {"type": "tool_result", "name": "3", "content": "ten", "tool_call_id": None},
        {"type": "tool_result", "name": "n", "content": "r", "tool_call_id": "c", "status": "error"},
    ]


def test_langgraph_session_id_is_always_none() -> None:
    assert LangGraphConnector.extract_session_id({"session_id": "x", "messages": []}) is None


def test_deep_nesting_does_not_raise() -> None:
    deep: Any = "leaf"
    for _ in range(5000):
        deep = [deep]
    for connector in CONNECTORS:
        check_types(connector, lf({"text": deep, "data": {"content_blocks": deep}}))
        check_types(connector, lg({"type": "ai", "content": deep, "tool_calls": deep}))
        check_types(connector, {"messages": deep, "outputs": deep, "session_id": deep})


# -- property: any JSON, never raises, right types, deterministic, input untouched -----------------

_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_json = st.recursive(
    _leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "content", "type", "role", "messages", "outputs", "results", "message",
                         "data", "content_blocks", "contents", "tool_calls", "name", "tool_call_id",
                         "session_id", "status", "__error__"]) | st.text(max_size=6),
        children, max_size=5),
    max_leaves=30,
)
_role = st.sampled_from(["ai", "assistant", "human", "user", "tool", "system", None, 3])
_message = st.fixed_dictionaries(
    {}, optional={"type": _role, "role": _role, "content": _json, "tool_calls": _json, "name": _json,
                  "tool_call_id": _json, "status": _json})
_langgraph_shaped = st.fixed_dictionaries({"messages": st.lists(_message | _json, max_size=5)})
_langflow_shaped = st.builds(
    lambda text, blocks, blocks2, data, sid: {
        "session_id": sid,
        "outputs": [{"outputs": [{"results": {"message": {
            "text": text, "content_blocks": blocks2, "data": data if data is not None else {
                "content_blocks": blocks}}}}]}]},
    _json, st.lists(st.fixed_dictionaries({}, optional={"contents": _json, "title": _json}) | _json,
                    max_size=3),
    _json, st.none() | _json, _json)
ANY_RESPONSE = _json | _langgraph_shaped | _langflow_shaped


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=ANY_RESPONSE)
def test_extractors_are_total_on_any_json(response: Any) -> None:
    before = repr(response)
    for connector in CONNECTORS:
        first = check_types(connector, response)
        again = check_types(connector, copy.deepcopy(response))
        assert repr(first) == repr(again)  # deterministic (repr: NaN != NaN)
        if connector is LangGraphConnector:
            assert first[1] is None
            for entry in first[2] or []:
                assert entry["type"] in ("tool_use", "tool_result")
                if entry["type"] == "tool_use":
                    assert entry["tool_calls"] and all(isinstance(c, dict) for c in entry["tool_calls"])
                else:
                    assert isinstance(entry["content"], str)
        if first[0] is not None:
            assert first[0] != "None"
    assert repr(response) == before  # the extractors never modify the response
