"""Typed operations and the executor interface, against a real scripted loopback server.

The server (``FaultServer``) answers by path here (a router), so each test states what the
framework would answer and checks what the connector sent and made of it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from connector_kit.connectors import (
    ActionNotSupportedError,
    ConnectorConfig,
    ConnectorHTTPError,
    ConnectorRegistry,
    ConnectorStreamError,
    EntityNotFoundError,
    ExecutionConfig,
    ExecutionResult,
    ExecutorError,
    InvalidParameterError,
    LangflowConnector,
    LangGraphConnector,
    MissingParameterError,
    OperationParams,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

FAKE_KEY = "fake-key-for-tests-0000"
THREAD = "00000000-0000-4000-8000-000000000001"
RUN = "00000000-0000-4000-8000-000000000002"


Route = Reply | Callable[[ReceivedRequest], Reply]


def router(routes: dict[str, Route]) -> Callable[[ReceivedRequest], Reply]:
    """Answer ``"METHOD /path"`` from ``routes``; anything else is a 404 like a real server's."""

    def answer(request: ReceivedRequest) -> Reply:
        key = f"{request.method} {request.path.split('?')[0]}"
        reply = routes.get(key)
        if reply is None:
            return json_reply({"detail": f"no route {key}"}, 404)
        return reply(request) if callable(reply) else reply

    return answer


@pytest.fixture
def graph(server: FaultServer, closing: Callable[[Any], Any]) -> LangGraphConnector:
    return closing(LangGraphConnector(config=ConnectorConfig(url=server.url, api_key=FAKE_KEY,
                                                             max_retries=0, timeout=5)))


INFO = json_reply({"version": "0.16.7"})


# -- validation: refused before any request ------------------------------------------------

@pytest.mark.parametrize(("entity", "action", "params", "error", "field"), [
    ("threads", "get", {"thread_id": "not-a-uuid"}, InvalidParameterError, "thread_id"),
    ("threads", "get", {}, MissingParameterError, "thread_id"),
    ("threads", "search", {"limit": 0}, InvalidParameterError, "limit"),
    ("threads", "search", {"status": "sleepy"}, InvalidParameterError, "status"),
    ("threads", "search", {"colour": "red"}, InvalidParameterError, "colour"),
    ("runs", "wait", {"thread_id": THREAD, "messages": [{"content": "no role"}]}, InvalidParameterError,
     "messages"),
    ("runs", "cancel", {"thread_id": THREAD}, MissingParameterError, "run_id"),
    ("runs", "stream", {"thread_id": THREAD, "stream_mode": ["everything"]}, InvalidParameterError,
     "stream_mode"),
])
def test_bad_params_are_execution_errors_and_nothing_is_sent(
        graph: LangGraphConnector, server: FaultServer, entity: str, action: str,
        params: dict[str, Any], error: type[ExecutorError], field: str) -> None:
    result = graph.execute(entity, action, params=params)
    assert not result.success and result.data == {}
    assert isinstance(result.exception, error) and result.exception.field == field  # type: ignore[attr-defined]
    assert field in (result.error or "") and result.meta == {"error_type": error.__name__, "field": field}
    assert server.requests == []
    with pytest.raises(error):
        result.raise_for_error()


def test_unknown_entity_and_action_list_what_exists(graph: LangGraphConnector, server: FaultServer) -> None:
    missing = graph.execute("invoices", "list", params={})
    assert isinstance(missing.exception, EntityNotFoundError)
    assert "threads" in (missing.error or "") and "assistants" in (missing.error or "")
    unsupported = graph.execute(ExecutionConfig("threads", "fly"))
    assert isinstance(unsupported.exception, ActionNotSupportedError)
    assert "search" in (unsupported.error or "")
    assert server.requests == []


def test_params_must_be_a_dict(graph: LangGraphConnector) -> None:
    result = graph.execute("threads", "get", params=["x"])  # type: ignore[arg-type]
    assert isinstance(result.exception, InvalidParameterError)


# -- running operations -------------------------------------------------------------------------

def test_config_and_shorthand_forms_send_the_same_request(graph: LangGraphConnector,
                                                         server: FaultServer) -> None:
    thread = {"thread_id": THREAD, "status": "idle", "metadata": {"session_id": "s1"}}
    server.reset(router({"GET /info": INFO, f"GET /threads/{THREAD}": json_reply(thread)}))
    by_config = graph.execute(ExecutionConfig("threads", "get", params={"thread_id": THREAD}))
    by_name = graph.execute("threads", "get", params={"thread_id": THREAD})
    assert by_config.success and by_config.data == thread == by_name.data
    assert [r.path for r in server.requests] == ["/info", f"/threads/{THREAD}", f"/threads/{THREAD}"]
    assert server.requests[1].headers.get("x-api-key") == FAKE_KEY
    assert by_name.provenance is not None
    assert by_name.provenance.connector == "langgraph" and by_name.provenance.operation == "threads.get"
    assert by_name.provenance.server_version == "0.16.7"


def test_runs_wait_reports_text_thread_and_interrupts(graph: LangGraphConnector, server: FaultServer) -> None:
    state = {"messages": [{"type": "human", "content": "hi"}, {"type": "ai", "content": "hello!"}],
             "__interrupt__": [{"value": "approve?", "id": "i1"}]}
    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/wait": json_reply(state)}))
    result = graph.execute("runs", "wait", params={"thread_id": THREAD, "messages": "hi",
                                                   "config": {"configurable": {"x": 1}}})
    assert result.success and result.meta is not None
    assert result.meta["text"] == "hello!" and result.meta["thread_id"] == THREAD
    assert result.meta["interrupted"] is True
    sent = server.requests[-1].json()
    assert sent == {"assistant_id": "agent", "input": {"messages": [{"role": "user", "content": "hi"}]},
                    "config": {"configurable": {"x": 1}}}


def test_runs_wait_at_a_static_breakpoint_reads_the_state(graph: LangGraphConnector,
                                                          server: FaultServer) -> None:
    # HAND-MADE answers in the server's shapes: runs/wait shows no mark of the pause
    state = {"messages": [{"type": "human", "content": "2+3"},
                          {"type": "ai", "content": "", "tool_calls": [{"name": "calculator"}]}]}
    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/wait": json_reply(state),
                         f"GET /threads/{THREAD}/state": json_reply({"values": state,
                                                                     "next": ["tools"]})}))
    paused = graph.execute("runs", "wait", params={"thread_id": THREAD, "messages": "2+3",
                                                   "interrupt_before": ["tools"]})
    assert paused.meta is not None
    assert paused.meta["interrupted"] is True and paused.meta["next"] == ["tools"]
    assert [r.path for r in server.requests][-1] == f"/threads/{THREAD}/state"
    server.requests.clear()
    plain = graph.execute("runs", "wait", params={"thread_id": THREAD, "messages": "2+3"})
    assert plain.meta is not None and "interrupted" not in plain.meta
    assert [r.path for r in server.requests] == [f"/threads/{THREAD}/runs/wait"]  # no extra call


def test_runs_resume_sends_a_command(graph: LangGraphConnector, server: FaultServer) -> None:
    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/wait":
                         json_reply({"messages": [{"type": "ai", "content": "approved=yes"}]})}))
    result = graph.execute("runs", "resume", params={"thread_id": THREAD, "resume": "yes"})
    assert result.meta is not None and result.meta["text"] == "approved=yes"
    assert server.requests[-1].json() == {"assistant_id": "agent", "command": {"resume": "yes"}}


def test_a_graph_error_and_an_http_error_raise_connector_errors(graph: LangGraphConnector,
                                                                 server: FaultServer) -> None:
    from connector_kit.connectors import AgentRunError

    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/wait":
                         json_reply({"__error__": {"error": "ValueError", "message": "boom"}})}))
    with pytest.raises(AgentRunError, match="boom"):
        graph.execute("runs", "wait", params={"thread_id": THREAD, "messages": "explode"})
    with pytest.raises(ConnectorHTTPError) as caught:
        graph.execute("threads", "get", params={"thread_id": str(uuid.uuid4())})
    assert caught.value.status_code == 404


def test_delete_and_cancel_accept_an_empty_204(graph: LangGraphConnector, server: FaultServer) -> None:
    server.reset(router({"GET /info": INFO, f"DELETE /threads/{THREAD}": Reply(204, b""),
                         f"POST /threads/{THREAD}/runs/{RUN}/cancel": Reply(204, b"")}))
    assert graph.execute("threads", "delete", params={"thread_id": THREAD}).data == {"deleted": THREAD}
    cancelled = graph.execute("runs", "cancel", params={"thread_id": THREAD, "run_id": RUN, "wait": True})
    assert cancelled.data == {"cancelled": RUN}
    assert server.requests[-1].path.endswith("/cancel?wait=true&action=interrupt")


def test_an_empty_body_where_json_is_expected_still_fails(graph: LangGraphConnector,
                                                          server: FaultServer) -> None:
    from connector_kit.connectors import ConnectorResponseError

    server.reset(router({"GET /info": INFO, f"GET /threads/{THREAD}": Reply(200, b"")}))
    with pytest.raises(ConnectorResponseError, match="Empty response body"):
        graph.execute("threads", "get", params={"thread_id": THREAD})


def test_search_reports_pagination(graph: LangGraphConnector, server: FaultServer) -> None:
    rows = [{"thread_id": str(uuid.uuid4())} for _ in range(2)]
    server.reset(router({"GET /info": INFO, "POST /threads/search": json_reply(rows)}))
    result = graph.execute("threads", "search", params={"limit": 2, "offset": 4,
                                                        "metadata": {"session_id": "s"}})
    assert result.data == rows and result.result_type == "table"
    assert result.meta == {"pagination": {"limit": 2, "offset": 4, "returned": 2, "next_offset": 6}}
    assert server.requests[-1].json() == {"limit": 2, "offset": 4, "metadata": {"session_id": "s"}}
    assert list(result.to_dataframe()["thread_id"]) == [r["thread_id"] for r in rows]


def test_to_dataframe_keeps_nested_values_as_json() -> None:
    frame = ExecutionResult(True, [{"id": "a", "metadata": {"k": [1, 2]}}, {"id": "b", "metadata": None}]
                            ).to_dataframe()
    assert frame["metadata"].tolist()[0] == '{"k": [1, 2]}'
    assert json.loads(frame["metadata"].tolist()[0]) == {"k": [1, 2]}
    assert frame["id"].tolist() == ["a", "b"]


def test_stream_collects_sse_events_and_names_the_run(graph: LangGraphConnector, server: FaultServer) -> None:
    sse = (f'event: metadata\r\ndata: {{"run_id": "{RUN}"}}\r\n\r\n'
           'event: values\r\ndata: {"messages": []}\r\n\r\n'
           'event: error\r\ndata: {"error": "ValueError", "message": "x"}\r\n\r\n')
    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/stream":
                         Reply(200, sse, {"Content-Type": "text/event-stream"})}))
    result = graph.execute("runs", "stream", params={"thread_id": THREAD, "messages": "hi"})
    assert [e["event"] for e in result.data] == ["metadata", "values", "error"]
    assert result.meta is not None and result.meta["run_id"] == RUN
    assert result.meta["error"] == {"error": "ValueError", "message": "x"}
    assert server.requests[-1].json()["stream_mode"] == ["values"]


def test_a_stream_is_sent_once_even_when_it_fails(server: FaultServer, closing: Callable[[Any], Any]) -> None:
    # 502: the run may have started behind the gateway, so it is not re-sent (as in stream())
    connector = closing(LangGraphConnector(config=ConnectorConfig(url=server.url, max_retries=3,
                                                                  backoff_initial=0.0)))
    server.reset(router({"GET /info": INFO, "POST /runs/stream": json_reply({"detail": "bad"}, 502)}))
    with pytest.raises(ConnectorHTTPError):
        connector.execute("stateless_runs", "stream", params={"messages": "hi"})
    assert [r.path for r in server.requests].count("/runs/stream") == 1


def test_a_stream_refused_before_any_work_is_retried_like_stream(
        server: FaultServer, closing: Callable[[Any], Any]) -> None:
    # 503 proves the run did not start: the HttpClient stream API opens it again
    connector = closing(LangGraphConnector(config=ConnectorConfig(url=server.url, max_retries=3,
                                                                  backoff_initial=0.0)))
    sse = 'event: metadata\r\ndata: {"run_id": "r"}\r\n\r\nevent: values\r\ndata: {}\r\n\r\n'
    replies = [json_reply({"detail": "busy"}, 503), Reply(200, sse, {"Content-Type": "text/event-stream"})]
    server.reset(router({"GET /info": INFO, "POST /runs/stream": lambda _: replies.pop(0)}))
    result = connector.execute("stateless_runs", "stream", params={"messages": "hi"})
    assert [e["event"] for e in result.data] == ["metadata", "values"]
    assert [r.path for r in server.requests].count("/runs/stream") == 2


@pytest.mark.parametrize(("body", "phrase"), [
    ('event: values\r\ndata: {"cut": \r\n\r\n', "not valid JSON"),
    ('event: values\r\ndata: {}\r\n', "middle of an event"),
    (": keep-alive only\r\n\r\n", "without a single event"),
])
def test_a_broken_operation_stream_is_a_stream_error(
        graph: LangGraphConnector, server: FaultServer, body: str, phrase: str) -> None:
    # the agent connectors' SSE parser: the operation no longer keeps bad data as text
    server.reset(router({"GET /info": INFO, f"POST /threads/{THREAD}/runs/stream":
                         Reply(200, body, {"Content-Type": "text/event-stream"})}))
    with pytest.raises(ConnectorStreamError, match=phrase):
        graph.execute("runs", "stream", params={"thread_id": THREAD, "messages": "hi"})


def test_provenance_masks_secrets(graph: LangGraphConnector, server: FaultServer) -> None:
    server.reset(router({"GET /info": INFO, "POST /threads": json_reply({"thread_id": THREAD})}))
    result = graph.execute("threads", "create", params={"metadata": {"api_key": "fake-secret-value",
                                                                     "note": f"key={FAKE_KEY}"}})
    assert result.meta == {"thread_id": THREAD}
    assert result.provenance is not None
    assert result.provenance.params == {"metadata": {"api_key": "***", "note": "key=***"}}
    assert FAKE_KEY not in json.dumps(result.to_dict())


def test_the_server_version_is_asked_once_and_its_failure_is_not_fatal(graph: LangGraphConnector,
                                                                       server: FaultServer) -> None:
    server.reset(router({"GET /ok": json_reply({"ok": True})}))  # no /info: 404
    first = graph.execute("health", "check")
    second = graph.execute("health", "check")
    assert first.success and second.success
    assert first.provenance is not None and first.provenance.server_version is None
    assert [r.path for r in server.requests] == ["/info", "/ok", "/ok"]


def test_aexecute_and_batch_keep_the_order(graph: LangGraphConnector, server: FaultServer) -> None:
    server.reset(router({"GET /info": INFO, "GET /ok": json_reply({"ok": True}),
                         f"GET /threads/{THREAD}": json_reply({"thread_id": THREAD})}))
    result = asyncio.run(graph.aexecute("threads", "get", params={"thread_id": THREAD}))
    assert isinstance(result, ExecutionResult) and result.data == {"thread_id": THREAD}
    items = graph.execute_batch([("health", "check", None), ("threads", "get", {"thread_id": THREAD}),
                                 ExecutionConfig("threads", "get", params={"thread_id": "bad"}),
                                 ("nothing", "here", {})])
    values = [item.value for item in items]
    assert [v.success for v in values] == [True, True, False, False]
    assert values[1].data == {"thread_id": THREAD}
    assert isinstance(values[3].exception, EntityNotFoundError)


def test_the_dict_request_form_still_works(graph: LangGraphConnector, server: FaultServer) -> None:
    server.reset(router({"POST /threads": json_reply({"thread_id": THREAD}),
                         f"POST /threads/{THREAD}/runs/wait":
                         json_reply({"messages": [{"type": "ai", "content": "ok"}]})}))
    response = graph.execute({"messages": [{"role": "user", "content": "hi"}], "session_id": "s"})
    assert LangGraphConnector.extract_text(response) == "ok"


# -- check ---------------------------------------------------------------------------------

def test_check_says_what_it_probed(graph: LangGraphConnector, server: FaultServer) -> None:
    health = graph.check()
    assert health.success and health.data == {"status": "healthy", "error": None,
                                               "checked_entity": "health", "checked_action": "check"}


def test_check_entities_probes_each_with_a_readonly_operation(graph: LangGraphConnector,
                                                              server: FaultServer) -> None:
    server.reset(router({"GET /info": INFO, "POST /threads/search": json_reply([]),
                         "POST /assistants/search": json_reply({"detail": "down"}, 500)}))
    result = graph.check_entities(["threads", "assistants", "invoices", "runs"])
    assert not result.success
    assert result.data["threads"] == {"status": "healthy", "error": None, "checked_entity": "threads",
                                      "checked_action": "search"}
    assert result.data["assistants"]["status"] == "unhealthy"
    assert "500" in result.data["assistants"]["error"]
    assert "EntityNotFoundError" in result.data["invoices"]["error"]
    assert result.data["runs"]["checked_action"] is None  # every runs action needs a thread id
    assert {r.path for r in server.requests} <= {"/info", "/threads/search", "/assistants/search"}


# -- to_llm --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [LangGraphConnector, LangflowConnector])
def test_to_llm_describes_every_operation_and_parameter(cls: type[LangGraphConnector]) -> None:
    text = cls.to_llm()
    assert cls.operations is not None and len(cls.operations) > 0
    for op in cls.operations:
        section = text.split(f"### {op.name}\n", 1)[1].split("\n### ", 1)[0]
        assert op.description in section and "result.data is" in section
        assert op.next_hint and f"Next: {op.next_hint}" in section
        for name, info in op.params_model.model_fields.items():
            assert f"`{name}`" in section and (info.description or "") in section


def test_registry_to_llm_covers_the_builtin_connectors() -> None:
    text = ConnectorRegistry.to_llm()
    assert "## langgraph (LangGraphConnector)" in text and "## langflow (LangflowConnector)" in text
    assert "### runs.wait" in text and "### flows.run" in text


# -- a contributor's own operation ----------------------------------------------------------

class CountParams(OperationParams):
    """Hand-made for this test: the params of a contributor's operation."""

    graph_id: str = "agent"


def test_a_contributed_operation_shows_up_runs_and_leaves_the_parent_alone(
        server: FaultServer, closing: Callable[[Any], Any], restore_registry: None) -> None:
    from connector_kit.connectors.operations import OpCall, OperationContext, OpOutput

    @ConnectorRegistry.register("my-langgraph")
    class MyGraph(LangGraphConnector):
        pass

    @MyGraph.operation("assistants", "count", readonly=True)
    def count(ctx: OperationContext, params: CountParams) -> Any:
        """Count the assistants of one graph.

        Next: assistants.search(graph_id=...) lists them.
        """
        found = yield OpCall("POST", "/assistants/search", {"graph_id": params.graph_id, "limit": 1000},
                             expect="json")
        return OpOutput({"count": len(found)}, {"graph_id": params.graph_id})

    assert "### assistants.count" in MyGraph.to_llm() and "`graph_id`" in MyGraph.to_llm()
    assert "assistants.count" not in LangGraphConnector.to_llm()
    assert "### threads.create" in MyGraph.to_llm()  # inherited operations stay
    server.reset(router({"GET /info": INFO, "POST /assistants/search": json_reply([{}, {}, {}])}))
    connector = closing(MyGraph(config=ConnectorConfig(url=server.url)))
    result = connector.execute("assistants", "count", params={"graph_id": "agent"})
    assert result.data == {"count": 3} and result.meta == {"graph_id": "agent"}
    assert result.provenance is not None and result.provenance.connector == "my-langgraph"
    assert isinstance(connector.execute("assistants", "count", params={"graph_id": 3}).exception,
                      InvalidParameterError)
