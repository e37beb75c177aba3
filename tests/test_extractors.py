"""extract_text / extract_session_id / extract_tool_trace: on real responses, on malformed ones, on anything.

The real responses are the repo's own recordings (``cassettes/<fw>/``, recorded from the
project's rigs by ``connector-kit record``): nothing outside the repository is read.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_kit.connectors import BaseAgentConnector, LangflowConnector, LangGraphConnector
from fixtures.recordings import all_recorded_responses, recorded_response

CONNECTORS: list[type[BaseAgentConnector]] = [LangflowConnector, LangGraphConnector]


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


@pytest.mark.parametrize(("scenario", "session_id", "expression", "result"), [
    ("tool_call", "ck-tool-call", "2+3", "5"),
    ("multi_turn", "ck-multi-turn", "6*7", "42"),
])
def test_langflow_agent_recordings(scenario: str, session_id: str, expression: str, result: str) -> None:
    status, response = recorded_response("langflow", scenario)
    assert status == 200
    text, sid, trace = check_types(LangflowConnector, response)
    assert text == f'The answer is {result}. (tool said: {{"result": "{result}"}})'
    assert sid == session_id
    assert trace is not None
    message = response["outputs"][0]["outputs"][0]["results"]["message"]
    # The first path of the spec: message.data.content_blocks -> the "Agent Steps" block's contents.
    assert trace == message["data"]["content_blocks"][0]["contents"]
    assert [entry["type"] for entry in trace] == ["tool_use", "text", "text"]
    tool_use = trace[0]
    assert tool_use["name"] == "evaluate_expression"
    assert tool_use["tool_input"] == {"expression": expression}
    assert tool_use["output"]["status"] == "success"
    assert tool_use["output"]["content"] == f'{{"result": "{result}"}}'


@pytest.mark.parametrize(("scenario", "expected"), [
    ("echo_flow", ("echo this back", "ck-echo-flow", None)),
    ("plain_chat", ("You said: hello there", "ck-plain-chat", None)),
    ("by_endpoint_name", ("You said: hello by name", "ck-by-endpoint-name", None)),
    ("empty_input", ("", "ck-empty-input", None)),
])
def test_langflow_recordings_without_tools_have_text_and_no_tool_trace(
        scenario: str, expected: tuple[Any, ...]) -> None:
    _, response = recorded_response("langflow", scenario)
    assert check_types(LangflowConnector, response) == expected


def test_langflow_second_content_block_path_is_used_when_data_has_none() -> None:
    _, response = recorded_response("langflow", "tool_call")
    message = response["outputs"][0]["outputs"][0]["results"]["message"]
    del message["data"]["content_blocks"]
    trace = LangflowConnector.extract_tool_trace(response)
    assert trace == message["content_blocks"][0]["contents"]
    assert len(trace) == 4  # this copy holds the duplicate "Output" text block too


@pytest.mark.parametrize("scenario", ["llm_down", "missing_key", "wrong_key", "unknown_flow"])
def test_langflow_error_recordings_extract_nothing(scenario: str) -> None:
    status, response = recorded_response("langflow", scenario)
    assert status >= 400
    assert check_types(LangflowConnector, response) == (None, None, None)


# -- the real LangGraph responses -----------------------------------------------------------------

CALC_USE = {"type": "tool_use", "tool_calls": [
    {"name": "calculator", "args": {"expression": "2+3"}, "id": "call_calc_1", "type": "tool_call"}]}
CALC_RESULT = {"type": "tool_result", "name": "calculator", "content": "5", "tool_call_id": "call_calc_1",
               "status": "success"}


def test_langgraph_tool_run_recording() -> None:
    status, response = recorded_response("langgraph", "tool_call")
    assert status == 200
    assert check_types(LangGraphConnector, response) == ("The answer to 2+3 is 5.", None,
                                                         [CALC_USE, CALC_RESULT])


def test_langgraph_content_parts_are_joined_not_repr() -> None:
    _, response = recorded_response("langgraph", "parts_content")
    assert any(isinstance(m.get("content"), list) for m in response["messages"])  # parts, really
    text, session_id, trace = check_types(LangGraphConnector, response)
    assert text == "The answer to (4*5)/2 is 10."
    assert session_id is None
    assert trace == [
        {"type": "tool_use", "tool_calls": [{"name": "calculator", "args": {"expression": "(4*5)/2"},
                                             "id": "call_calc_1", "type": "tool_call"}]},
        {"type": "tool_result", "name": "calculator", "content": "10", "tool_call_id": "call_calc_1",
         "status": "success"},
    ]


@pytest.mark.parametrize(("scenario", "text"), [("plain_chat", "You said: hello there"),
                                                ("multi_turn", "You said: tell me more (turn 2)")])
def test_langgraph_no_tool_recordings(scenario: str, text: str) -> None:
    _, response = recorded_response("langgraph", scenario)
    assert check_types(LangGraphConnector, response) == (text, None, None)  # no tool call: None


def test_langgraph_tool_error_recording_keeps_the_error_status() -> None:
    _, response = recorded_response("langgraph", "tool_error")
    text, _, trace = check_types(LangGraphConnector, response)
    assert text is not None and text.startswith("Sorry, I could not compute 1/0: ZeroDivisionError")
    assert trace is not None and [e["type"] for e in trace] == ["tool_use", "tool_result"]
    assert trace[1]["status"] == "error"
    assert trace[1]["content"] == "Error: ZeroDivisionError('division by zero')\n Please fix your mistakes."


@pytest.mark.parametrize(("scenario", "index"), [
    ("plain_chat", 0), ("tool_call", 0),  # thread creation answers
    ("graph_error", -1),  # the 200 of a graph that raised
    ("unknown_assistant", -1), ("missing_key", 0), ("wrong_key", 0),
])
def test_langgraph_non_run_recordings_extract_nothing(scenario: str, index: int) -> None:
    _, response = recorded_response("langgraph", scenario, index)
    assert check_types(LangGraphConnector, response) == (None, None, None)


@pytest.mark.parametrize("connector", CONNECTORS, ids=["langflow", "langgraph"])
def test_every_recorded_response_is_safe_for_both_connectors(connector: type[BaseAgentConnector]) -> None:
    responses = all_recorded_responses("langflow") + all_recorded_responses("langgraph")
    for _, _, response in responses:
        check_types(connector, response)
    assert len(responses) >= 20


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
    assert LangGraphConnector.extract_tool_trace(response) is None  # no tool call: None (sdg-hub)


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
    ("abc", None),
    ([None], None),
    (None, None),
    (5, None),
    ({"name": "calc", "id": "1"}, [{"type": "tool_use", "tool_calls": [{"name": "calc", "id": "1"}]}]),
    ([None, "x", {"name": "calc", "id": None}],
     [{"type": "tool_use", "tool_calls": [{"name": "calc", "id": None}]}]),
], ids=repr)
def test_langgraph_broken_tool_calls(tool_calls: Any, expected: list[dict[str, Any]] | None) -> None:
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
