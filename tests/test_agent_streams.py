"""Streams, sessions, interrupts, joins and options of the agent connectors, on real sockets.

The framework answers here are HAND-MADE fixtures in the shapes the real servers send (the
committed cassettes under cassettes/ hold the real ones, recorded from the rigs); the server
is a FaultServer on 127.0.0.1, so every byte really crosses a socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from connector_kit.blocks import AgentBlock
from connector_kit.connectors import (
    AgentInterruptedError,
    AgentRunError,
    ConnectorConfig,
    ConnectorConnectionError,
    ConnectorRequestError,
    ConnectorStreamError,
    ConnectorTimeoutError,
    HttpClient,
    LangflowConnector,
    LangGraphConnector,
    StreamEvent,
)
from connector_kit.connectors.agent._frames import NDJSONParser, SSEParser
from connector_kit.connectors.http.streaming import _Lines
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.faults.streams import (
    cut_mid_event,
    ndjson,
    sse,
    stall_between_events,
    stream_reply,
)

THREAD = "0000-thread-1"
RUN = "0000-run-1"
HUMAN = {"type": "human", "content": "what is 2+3?", "id": "h1"}
CALL = {"type": "ai", "content": "", "id": "a1",
        "tool_calls": [{"name": "calculator", "args": {"expression": "2+3"}, "id": "c1"}]}
TOOL = {"type": "tool", "content": "5", "name": "calculator", "tool_call_id": "c1",
        "status": "success", "id": "t1"}
ANSWER = {"type": "ai", "content": "The answer to 2+3 is 5.", "id": "a2", "tool_calls": []}
STATE = {"messages": [HUMAN, CALL, TOOL, ANSWER]}


VALUES_STREAM = sse(("metadata", {"run_id": RUN}), ("values", {"messages": [HUMAN]}),
                    ("values", {"messages": [HUMAN, CALL]}), ("values", STATE))


LANGFLOW_RESULT = {"session_id": "s1", "outputs": [{"outputs": [{"results": {"message": {
    "text": "You said: hi", "data": {"text": "You said: hi", "content_blocks": []}}}}]}]}
LANGFLOW_STREAM = ndjson(("add_message", {"text": "hi"}), ("token", {"chunk": "You"}),
                         ("token", {"chunk": " said: hi"}), ("end", {"result": LANGFLOW_RESULT}))


@pytest.fixture
def graph(server: FaultServer) -> Iterator[tuple[FaultServer, LangGraphConnector]]:
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=5, max_retries=2,
                                                          backoff_initial=0.0))
    yield server, connector
    connector.close()


@pytest.fixture
def flow(server: FaultServer) -> Iterator[tuple[FaultServer, LangflowConnector]]:
    connector = LangflowConnector(config=ConnectorConfig(url=server.url + "/api/v1/run/f",
                                                         api_key="fake-key", timeout=5,
                                                         max_retries=2, backoff_initial=0.0))
    yield server, connector
    connector.close()


def paths(server: FaultServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in server.requests]


def drain(stream: Any) -> list[StreamEvent]:
    with stream as events:
        return list(events)


# -- frames --------------------------------------------------------------------------------------


def test_sse_parser_follows_the_event_stream_rules() -> None:
    parser = SSEParser("u")
    lines = [b": keep-alive", b"id: 7", b"event: values", b"data: {\"a\":", b"data: 1}", b"",
             b"data: [1]", b"", b"event: nothing", b""]
    events = [e for e in (parser.feed(line, 0.0) for line in lines) if e is not None]
    # the last event id carries over to later events, as the SSE rules say
    assert events == [StreamEvent("values", {"a": 1}, 0.0, "7"),
                      StreamEvent("message", [1], 0.0, "7")]
    parser.finish()


@pytest.mark.parametrize(("lines", "phrase"), [
    ([b"event: values", b"data: {}"], "middle of an event"),
    ([b"event: values", b"data: {oops", b""], "not valid JSON"),
    ([b"data: \xff", b""], "not UTF-8"),
])
def test_sse_parser_refuses_broken_frames(lines: list[bytes], phrase: str) -> None:
    parser = SSEParser("u")
    with pytest.raises(ConnectorStreamError, match=phrase):
        for line in lines:
            parser.feed(line, 0.0)
        parser.finish()


def test_ndjson_parser_and_its_refusals() -> None:
    parser = NDJSONParser("u")
    assert parser.feed(b"", 0.0) is None
    assert parser.feed(b'{"event": "token", "data": {"chunk": "a"}}', 1.0) == StreamEvent(
        "token", {"chunk": "a"}, 1.0)
    for bad in (b"[1, 2]", b'{"data": 1}', b"{cut"):
        with pytest.raises(ConnectorStreamError):
            parser.feed(bad, 0.0)


def test_lines_are_bounded_and_a_cut_line_is_refused() -> None:
    lines = _Lines("u", max_line=8)
    assert lines.feed(b"ab\r\ncd\nef") == [b"ab", b"cd"]
    with pytest.raises(ConnectorStreamError, match="middle of a line"):
        lines.finish()
    with pytest.raises(ConnectorStreamError, match="longer than 8 bytes"):
        _Lines("u", max_line=8).feed(b"x" * 9)


# -- LangGraph streams ----------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "body"), [
    ("values", VALUES_STREAM),
    ("updates", sse(("metadata", {"run_id": RUN}), ("updates", {"agent": {"messages": [CALL]}}),
                    ("updates", {"tools": {"messages": [TOOL]}}),
                    ("updates", {"agent": {"messages": [ANSWER]}}))),
    ("messages-tuple", sse(("metadata", {"run_id": RUN}), ("messages", [CALL, {}]),
                           ("messages", [TOOL, {}]),
                           ("messages", [{**ANSWER, "content": "The answer to "}, {}]),
                           ("messages", [{**ANSWER, "content": "2+3 is 5."}, {}]))),
    ("events", sse(("metadata", {"run_id": RUN}),
                   ("events", {"event": "on_chain_start", "run_id": RUN, "data": {}}),
                   ("events", {"event": "on_chain_end", "run_id": RUN,
                               "data": {"output": STATE}}))),
])
def test_langgraph_stream_yields_events_and_folds_them_for_the_extractors(
        graph: tuple[FaultServer, LangGraphConnector], mode: str, body: bytes) -> None:
    server, _ = graph
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url), stream_mode=mode)
    server.script(json_reply({"thread_id": THREAD}), stream_reply(body))
    with connector.stream("what is 2+3?", "s1") as events:
        names = [event.event for event in events]
    connector.close()
    assert names[0] == "metadata" and len(names) >= 3
    assert events.text == "The answer to 2+3 is 5."
    assert events.tool_trace is not None and events.tool_trace[0]["type"] == "tool_use"
    assert events.first_event_after is not None and events.thread_id == THREAD
    run = server.requests[1]
    assert run.path == f"/threads/{THREAD}/runs/stream"
    assert run.json()["stream_mode"] == [mode]


def test_langgraph_astream(graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    server.script(json_reply({"thread_id": THREAD}), stream_reply(VALUES_STREAM))

    async def main() -> tuple[list[str], str | None]:
        try:
            async with connector.astream("what is 2+3?", "s1") as events:
                names = [event.event async for event in events]
            return names, events.text
        finally:
            await connector.aclose()

    assert asyncio.run(main()) == (["metadata", "values", "values", "values"],
                                   "The answer to 2+3 is 5.")


@pytest.mark.parametrize(("reply", "error", "phrase"), [
    (stream_reply(sse(("metadata", {}), ("error", {"error": "ValueError", "message": "boom"}))),
     AgentRunError, "ValueError: boom"),
    (stream_reply(sse(("metadata", {}), ("surprise", {}))), ConnectorStreamError, "surprise"),
    (stream_reply(VALUES_STREAM[:-30]), ConnectorStreamError, "middle of"),  # clean end, event cut
    (cut_mid_event(VALUES_STREAM), ConnectorStreamError, "cut off"),  # the connection drops mid-event
    (stream_reply(b""), ConnectorStreamError, "without a single event"),
    (stream_reply(sse(("metadata", {"run_id": RUN}))), ConnectorStreamError, "without any state"),
])
def test_langgraph_broken_streams_end_in_connector_errors(
        graph: tuple[FaultServer, LangGraphConnector], reply: Reply, error: type[Exception],
        phrase: str) -> None:
    server, connector = graph
    server.script(json_reply({"thread_id": THREAD}), reply)
    with pytest.raises(error, match=phrase):
        drain(connector.stream("hi", "s1"))
    assert paths(server).count(f"POST /threads/{THREAD}/runs/stream") == 1  # never re-sent


def test_a_stall_between_events_meets_the_deadline(server: FaultServer) -> None:
    first = sse(("metadata", {"run_id": RUN}))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=0.3))
    server.script(json_reply({"thread_id": THREAD}),
                  stall_between_events(first + sse(("values", STATE))))
    seen: list[str] = []
    with pytest.raises(ConnectorTimeoutError), connector.stream("hi", "s1") as events:
        for event in events:
            seen.append(event.event)
    connector.close()
    assert seen == ["metadata"]


def test_stream_refusals_are_http_errors_and_503_is_retried(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    server.script(json_reply({"thread_id": THREAD}), Reply(503, b"{}"), stream_reply(VALUES_STREAM))
    assert drain(connector.stream("hi", "s1"))[-1].data == STATE
    server.reset()
    server.script(json_reply({"thread_id": THREAD}), Reply(422, b'{"detail": "bad mode"}'))
    with pytest.raises(Exception, match="422") as caught:
        drain(connector.stream("hi", "s1"))
    assert type(caught.value).__name__ == "ConnectorHTTPError"


def test_an_interrupted_stream_raises_with_the_thread(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    asked = [{"value": {"question": "ok?"}, "id": "i1"}]
    server.script(json_reply({"thread_id": THREAD}),
                  stream_reply(sse(("metadata", {}), ("values", {"messages": [HUMAN],
                                                              "__interrupt__": asked}))))
    with pytest.raises(AgentInterruptedError) as caught:
        drain(connector.stream("hi", "s1"))
    assert (caught.value.thread_id, caught.value.interrupts) == (THREAD, asked)


# -- LangGraph: one run per send, joined when its answer is lost ---------------------------------


def test_a_read_timeout_on_runs_wait_joins_the_run_instead_of_running_it_twice(
        server: FaultServer) -> None:
    location = f"/threads/{THREAD}/runs/{RUN}/join"
    body = json.dumps(STATE).encode()
    server.script(
        json_reply({"thread_id": THREAD}),
        # headers (naming the run) at once, then one byte and a stall: a read timeout
        Reply(200, body, {"Content-Type": "application/json", "location": location},
              trickle=3.0, trickle_bytes=1),
        json_reply(STATE),
    )
    # timeout bounds each attempt; the call's deadline is longer, so the join fits in it
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=0.3,
                                                          deadline=5, max_retries=3))
    result = connector.send("what is 2+3?", "s1")
    connector.close()
    assert connector.extract_text(result) == "The answer to 2+3 is 5."
    assert paths(server) == ["POST /threads", f"POST /threads/{THREAD}/runs/wait",
                             f"GET {location}"]


def test_a_run_lost_before_its_headers_is_found_on_its_fresh_thread(server: FaultServer) -> None:
    server.script(json_reply({"thread_id": THREAD}), Reply(reset_before=True),
                  json_reply([{"run_id": RUN, "status": "running"}]), json_reply(STATE))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, max_retries=3))
    result = connector.send("what is 2+3?", "s1")
    connector.close()
    assert connector.extract_text(result) == "The answer to 2+3 is 5."
    assert paths(server) == ["POST /threads", f"POST /threads/{THREAD}/runs/wait",
                             f"GET /threads/{THREAD}/runs?limit=1",
                             f"GET /threads/{THREAD}/runs/{RUN}/join"]


def test_a_lost_run_with_no_trace_on_the_server_is_reported_not_resent(server: FaultServer) -> None:
    server.script(json_reply({"thread_id": THREAD}), Reply(reset_before=True), json_reply([]))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, max_retries=3))
    with pytest.raises(ConnectorConnectionError):
        connector.send("hi", "s1")
    connector.close()
    assert paths(server).count(f"POST /threads/{THREAD}/runs/wait") == 1


def test_a_location_on_another_host_is_never_followed(server: FaultServer) -> None:
    server.script(json_reply({"thread_id": THREAD}),
                  Reply(200, b"{}", {"location": "http://elsewhere.invalid/join"}, trickle=3.0),
                  json_reply([]))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url, timeout=0.3))
    with pytest.raises(ConnectorTimeoutError):
        connector.send("hi", "s1")
    connector.close()
    assert all("elsewhere" not in p for p in paths(server))


def test_503_on_a_run_is_still_retried(graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    server.script(json_reply({"thread_id": THREAD}), Reply(503, b"{}"), json_reply(STATE))
    assert connector.extract_text(connector.send("hi", "s1")) == "The answer to 2+3 is 5."
    assert paths(server).count(f"POST /threads/{THREAD}/runs/wait") == 2


def test_connection_refused_is_still_retried(closed_port_url: str) -> None:
    connector = LangflowConnector(config=ConnectorConfig(url=closed_port_url, max_retries=2,
                                                         backoff_initial=0.0))
    with pytest.raises(ConnectorConnectionError):
        connector.send("hi", "s1")
    stats = connector._get_http_client().last_stats
    connector.close()
    assert stats is not None and stats.attempts == 3


def test_langflow_does_not_resend_a_timed_out_run_unless_asked(
        flow: tuple[FaultServer, LangflowConnector]) -> None:
    server, connector = flow
    connector.config.timeout = 0.3
    server.set_default(lambda request: Reply(hang=True))
    with pytest.raises(ConnectorTimeoutError):
        connector.send("hi", "s1")
    assert len(server.requests) == 1
    resending = LangflowConnector(config=ConnectorConfig(url=server.url, timeout=0.2, max_retries=1,
                                                         backoff_initial=0.0, deadline=5.0),
                                  resend_on_failure=True)
    with pytest.raises(ConnectorTimeoutError):
        resending.send("hi", "s1")
    resending.close()
    assert len(server.requests) == 3


# -- LangGraph sessions, interrupts, options -------------------------------------------------------


def test_keep_thread_finds_the_session_thread_once_and_reuses_it(server: FaultServer) -> None:
    server.script(json_reply([]), json_reply({"thread_id": THREAD}), json_reply(STATE),
                  json_reply(STATE))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url), keep_thread=True)
    connector.send("hi", "s1")
    connector.send("again", "s1")
    connector.close()
    assert paths(server) == ["POST /threads/search", "POST /threads",
                             f"POST /threads/{THREAD}/runs/wait", f"POST /threads/{THREAD}/runs/wait"]
    assert server.requests[0].json() == {"metadata": {"session_id": "s1"}, "limit": 1}
    server.reset()
    server.script(json_reply([{"thread_id": THREAD}]), json_reply(STATE))
    other = LangGraphConnector(config=ConnectorConfig(url=server.url), keep_thread=True)
    other.send("third", "s1")
    other.close()
    assert paths(server) == ["POST /threads/search", f"POST /threads/{THREAD}/runs/wait"]


def test_interrupt_raises_with_thread_and_payload_then_resume_continues(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    asked = [{"value": {"question": "Approve?"}, "id": "i1"}]
    server.script(json_reply({"thread_id": THREAD}),
                  json_reply({"messages": [HUMAN], "__interrupt__": asked}))
    with pytest.raises(AgentInterruptedError) as caught:
        connector.send("need approval", "s1")
    error = caught.value
    assert (error.thread_id, error.interrupts) == (THREAD, asked)
    assert "resume" in str(error) and "Approve?" in str(error)
    server.script(json_reply({"messages": [HUMAN, {"type": "ai", "content": "approved=yes"}]}))
    result = connector.resume(THREAD, "yes")
    assert connector.extract_text(result) == "approved=yes"
    assert server.requests[-1].path == f"/threads/{THREAD}/runs/wait"
    assert server.requests[-1].json() == {"assistant_id": "agent", "command": {"resume": "yes"}}


PAUSED_STATE = {"values": {"messages": [HUMAN, CALL]}, "next": ["tools"],
                "tasks": [{"id": "t", "name": "tools", "interrupts": []}]}
DONE_STATE = {"values": STATE, "next": [], "tasks": []}


def test_a_static_breakpoint_raises_and_resume_runs_the_next_node(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, _ = graph
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url),
                                   interrupt_before=["tools"])
    # runs/wait answers the state so far, with no mark of the pause: only the state says
    server.script(json_reply({"thread_id": THREAD}), json_reply({"messages": [HUMAN, CALL]}),
                  json_reply(PAUSED_STATE))
    with pytest.raises(AgentInterruptedError, match="breakpoint") as caught:
        connector.send("what is 2+3?", "s1")
    paused = caught.value
    assert (paused.thread_id, paused.next_nodes, paused.interrupts) == (THREAD, ["tools"], [])
    assert paused.values == {"messages": [HUMAN, CALL]}
    assert f"connector.resume('{THREAD}')" in str(paused)
    assert paths(server) == ["POST /threads", f"POST /threads/{THREAD}/runs/wait",
                             f"GET /threads/{THREAD}/state"]
    assert server.requests[1].json()["interrupt_before"] == ["tools"]
    server.reset()
    server.script(json_reply(STATE), json_reply(DONE_STATE))
    assert connector.extract_text(connector.resume(THREAD)) == "The answer to 2+3 is 5."
    # no value: the run goes on ({"input": null}); the server fails a resume command of null
    assert server.requests[0].json() == {"assistant_id": "agent", "input": None,
                                         "interrupt_before": ["tools"]}
    assert paths(server)[-1] == f"GET /threads/{THREAD}/state"
    connector.close()


def test_only_runs_that_asked_for_a_pause_read_the_state(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    server.script(json_reply({"thread_id": THREAD}), json_reply(STATE))
    connector.send("what is 2+3?", "s1")
    assert paths(server) == ["POST /threads", f"POST /threads/{THREAD}/runs/wait"]
    server.reset()
    checked = LangGraphConnector(config=ConnectorConfig(url=server.url), check_pauses=True)
    server.script(json_reply({"thread_id": THREAD}), json_reply(STATE), json_reply(DONE_STATE))
    assert checked.extract_text(checked.send("hi", "s1")) == "The answer to 2+3 is 5."
    assert paths(server)[-1] == f"GET /threads/{THREAD}/state"
    checked.close()


def test_a_pause_the_state_shows_as_an_interrupt_is_raised_with_its_payload(
        server: FaultServer) -> None:
    asked = [{"value": "Approve?", "id": "i1"}]
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url), check_pauses=True)
    server.script(json_reply({"thread_id": THREAD}), json_reply({"messages": [HUMAN]}),
                  json_reply({"values": {"messages": [HUMAN]}, "next": ["agent"],
                              "tasks": [{"name": "agent", "interrupts": asked}]}))
    with pytest.raises(AgentInterruptedError, match="Approve") as caught:
        connector.send("need approval", "s1")
    assert caught.value.interrupts == asked
    connector.close()


def test_a_stream_announcing_a_static_pause_reads_the_state(server: FaultServer) -> None:
    # updates mode marks a static breakpoint with an empty __interrupt__ (even when the
    # breakpoint was compiled into the graph rather than asked for)
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url), stream_mode="updates")
    server.script(json_reply({"thread_id": THREAD}), stream_reply(sse(
        ("metadata", {"run_id": RUN}), ("updates", {"agent": {"messages": [CALL]}}),
        ("updates", {"__interrupt__": []}))), json_reply(PAUSED_STATE))
    with pytest.raises(AgentInterruptedError) as caught:
        drain(connector.stream("what is 2+3?", "s1"))
    assert caught.value.next_nodes == ["tools"]
    assert paths(server)[-1] == f"GET /threads/{THREAD}/state"
    connector.close()


def test_pauses_need_a_thread() -> None:
    with pytest.raises(ValidationError, match="stateless"):
        LangGraphConnector(config=ConnectorConfig(url="http://x"), stateless=True,
                           interrupt_before=["tools"])
    with pytest.raises(ValidationError, match="node names"):
        LangGraphConnector(config=ConnectorConfig(url="http://x"), interrupt_after=[""])


def test_an_interrupted_row_is_that_rows_error_saying_how_to_resume(server: FaultServer) -> None:
    asked = [{"value": "Approve?", "id": "i1"}]

    def answer(request: ReceivedRequest) -> Reply:
        if request.path == "/threads":
            return json_reply({"thread_id": THREAD})
        text = (request.json() or {})["input"]["messages"][-1]["content"]
        if "approval" in text:
            return json_reply({"messages": [HUMAN], "__interrupt__": asked})
        return json_reply(STATE)

    server.set_default(answer)
    block = AgentBlock(block_name="agent", agent_framework="langgraph", agent_url=server.url,
                       input_cols={"messages": "messages"}, output_cols=["response"])
    rows = pd.DataFrame({"messages": [[{"role": "user", "content": "2+3"}],
                                      [{"role": "user", "content": "needs approval"}]]})
    out = block.generate(rows)
    block.close()
    assert out["response_error"].iloc[0] is None
    assert out["response_error"].iloc[1].startswith("AgentInterruptedError: ")
    assert f"connector.resume('{THREAD}'" in out["response_error"].iloc[1]


def test_langgraph_options_reach_the_payload(server: FaultServer) -> None:
    server.script(json_reply(STATE))
    connector = LangGraphConnector(config=ConnectorConfig(url=server.url), stateless=True,
                                   context={"user": "u1"}, multitask_strategy="reject",
                                   run_config={"configurable": {"x": 1}})
    connector.send("hi", "s1")
    connector.close()
    assert paths(server) == ["POST /runs/wait"]  # stateless: no thread, no strategy
    assert server.requests[0].json() == {"assistant_id": "agent",
                                         "input": {"messages": [{"role": "user", "content": "hi"}]},
                                         "config": {"configurable": {"x": 1}},
                                         "context": {"user": "u1"}}
    with pytest.raises(ValidationError):
        LangGraphConnector(config=ConnectorConfig(url=server.url), multitask_strategy="twice")
    with pytest.raises(ValidationError, match="unknown stream_mode"):
        LangGraphConnector(config=ConnectorConfig(url=server.url), stream_mode=["value"])


def test_empty_messages_raise_before_anything_is_sent(
        graph: tuple[FaultServer, LangGraphConnector]) -> None:
    server, connector = graph
    with pytest.raises(ConnectorRequestError, match="empty"):
        connector.send([], "s1")
    with pytest.raises(ConnectorRequestError, match="empty"):
        connector.stream([], "s1")
    assert server.requests == []


# -- Langflow streams, tweaks ---------------------------------------------------------------------


def test_langflow_stream_reads_ndjson_events_to_the_end_result(
        flow: tuple[FaultServer, LangflowConnector]) -> None:
    server, connector = flow
    server.script(Reply(200, LANGFLOW_STREAM, {"Content-Type": "text/event-stream"}))
    with connector.stream("hi", "s1") as events:
        tokens = [e.data["chunk"] for e in events if e.event == "token"]
    assert "".join(tokens) == "You said: hi" and events.text == "You said: hi"
    assert events.response == LANGFLOW_RESULT
    assert server.requests[0].path == "/api/v1/run/f?stream=true"
    assert server.requests[0].headers["x-api-key"] == "fake-key"


@pytest.mark.parametrize(("body", "error", "phrase"), [
    (LANGFLOW_STREAM.rsplit(b"\n\n", 2)[0] + b"\n\n", ConnectorStreamError, "without its 'end'"),
    (ndjson(("add_message", {}), ("error", {"error": "LLM down"})), AgentRunError, "LLM down"),
    (ndjson(("mystery", {})), ConnectorStreamError, "unknown event 'mystery'"),
    (b'{"event": "token", "data": {"chunk"', ConnectorStreamError, "middle of a line"),
])
def test_langflow_broken_streams(flow: tuple[FaultServer, LangflowConnector], body: bytes,
                                 error: type[Exception], phrase: str) -> None:
    server, connector = flow
    server.script(Reply(200, body, {"Content-Type": "text/event-stream"}))
    with pytest.raises(error, match=phrase):
        drain(connector.stream("hi", "s1"))


def test_langflow_tweaks_are_validated_and_sent(flow: tuple[FaultServer, LangflowConnector]) -> None:
    server, _ = flow
    tweaks = {"Agent-abc12": {"system_prompt": "Be brief."}}
    connector = LangflowConnector(config=ConnectorConfig(url=server.url + "/run/f"), tweaks=tweaks)
    server.script(json_reply(LANGFLOW_RESULT))
    connector.send("hi", "s1")
    connector.close()
    assert server.requests[0].json()["tweaks"] == tweaks
    for bad in ({"ChatInput-x": {"input_value": "y"}}, {"Agent-x": {}}, {" ": {"a": 1}}):
        with pytest.raises(ValidationError):
            LangflowConnector(config=ConnectorConfig(url=server.url), tweaks=bad)


# -- the documented HttpClient is the one used ---------------------------------------------------


class CountingClient(HttpClient):
    """A client a user supplies through ``_get_http_client()`` (e.g. to add logging)."""

    def __init__(self) -> None:
        super().__init__(timeout=5, max_retries=0)
        self.posted: list[str] = []

    def post_sync(self, url: str, payload: dict[str, Any],
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
        self.posted.append(url)
        return super().post_sync(url, payload, headers)

    async def post(self, url: str, payload: dict[str, Any],
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        self.posted.append(url)
        return await super().post(url, payload, headers)


class SuppliedClientLangGraph(LangGraphConnector):
    def _get_http_client(self) -> HttpClient:
        if self._http_client is None:
            self._http_client = CountingClient()
        return self._http_client


def test_send_and_asend_go_through_a_supplied_clients_post_methods(server: FaultServer) -> None:
    server.set_default(lambda request: json_reply(
        {"thread_id": THREAD} if request.path == "/threads" else STATE))
    connector = SuppliedClientLangGraph(config=ConnectorConfig(url=server.url))
    connector.send("hi", "s1")

    async def main() -> None:
        try:
            await connector.asend("hi", "s2")
        finally:
            await connector.aclose()

    client = connector._get_http_client()
    asyncio.run(main())
    assert isinstance(client, CountingClient)
    assert client.posted == [f"{server.url}/threads", f"{server.url}/threads/{THREAD}/runs/wait"] * 2
