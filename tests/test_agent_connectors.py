"""Langflow and LangGraph connectors end to end against real loopback servers."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import ValidationError

from connector_kit.connectors import (
    AgentRunError,
    BaseAgentConnector,
    BatchItem,
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    FakeClock,
    HealthCheckResult,
    HttpClient,
    LangflowConnector,
    LangGraphConnector,
    RetryPolicy,
)
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from fixtures.recordings import recorded_body

T = TypeVar("T")

FLOW = "/api/v1/run/my-flow"
KEY = "lf-test-key-0123"
USER = [{"role": "user", "content": "Hello!"}]


_OPEN: list[BaseAgentConnector] = []
C = TypeVar("C", bound=BaseAgentConnector)


def track(connector: C) -> C:
    """Close ``connector`` (its pooled clients) when the test ends."""
    _OPEN.append(connector)
    return connector


@pytest.fixture(autouse=True)
def _close_connectors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def arun(connector: BaseAgentConnector, awaitable: Awaitable[T]) -> T:
    """Await on a fresh loop, then release the connector's pool of that loop (it ends with it)."""
    async def main() -> T:
        try:
            return await awaitable
        finally:
            await connector.aclose()

    return asyncio.run(main())


def langflow(server_url: str, **config: Any) -> LangflowConnector:
    return track(LangflowConnector(config=ConnectorConfig(url=server_url + FLOW, **config)))


def langgraph(server_url: str, **kwargs: Any) -> LangGraphConnector:
    config = kwargs.pop("config", {})
    return track(LangGraphConnector(config=ConnectorConfig(url=server_url, **config), **kwargs))


def thread_then_run(thread_id: str = "t-1", run: Any = None) -> list[Reply]:
    run = {"messages": [{"type": "ai", "content": "hi"}]} if run is None else run
    return [json_reply({"thread_id": thread_id, "metadata": {}}), json_reply(run)]


class BearerConnector(BaseAgentConnector):
    """The base class's own headers and single POST."""

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        return {"messages": messages, "session": session_id}

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        return response


class SpecStyleConnector(BaseAgentConnector):
    """A connector written the spec's way: the async core in ``_send_async``."""

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        return {"text": messages[-1]["content"], "sid": session_id}

    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        if "reply" not in response:
            raise ConnectorResponseError("no reply")
        return response

    async def _send_async(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        assert self.config.url is not None
        response = await self._get_http_client().post(
            self.config.url, self.build_request(messages, session_id), self._build_headers())
        return self.parse_response(response)


# -- Langflow ---------------------------------------------------------------------------------


def test_langflow_sends_the_last_user_message(server: FaultServer) -> None:
    connector = langflow(server.url, api_key=KEY)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "pending"},
    ]
    server.script(json_reply({"session_id": "session-123", "outputs": []}))
    result = connector.send(messages=messages, session_id="session-123")
    assert result == {"session_id": "session-123", "outputs": []}
    [request] = server.requests
    assert (request.method, request.path) == ("POST", FLOW)
    assert request.json() == {"output_type": "chat", "input_type": "chat",
                              "input_value": "second question", "session_id": "session-123"}


def test_langflow_joins_content_parts(server: FaultServer) -> None:
    content = [{"type": "text", "text": "what is "}, {"type": "image_url", "image_url": "x"},
               {"type": "text", "text": "(4*5)/2?"}]
    langflow(server.url).send([{"role": "user", "content": content}], "s")
    assert server.requests[0].json()["input_value"] == "what is (4*5)/2?"


def test_langflow_build_request_directly() -> None:
    connector = LangflowConnector(config=ConnectorConfig(url="http://x/api/v1/run/f"))
    assert connector.build_request([{"role": "user", "content": None}], "s") == {
        "output_type": "chat", "input_type": "chat", "input_value": "", "session_id": "s"}


@pytest.mark.parametrize("messages", [[], [{"role": "system", "content": "x"}],
                                      [{"role": "assistant", "content": "y"}]])
def test_langflow_without_a_user_message_is_a_request_error(server: FaultServer,
                                                           messages: list[dict[str, Any]]) -> None:
    with pytest.raises(ConnectorRequestError, match="user"):
        langflow(server.url).send(messages, "s")
    assert server.requests == []


def test_langflow_authenticates_with_x_api_key(server: FaultServer) -> None:
    langflow(server.url, api_key=KEY).send(USER, "s")
    headers = server.requests[0].headers
    assert headers["x-api-key"] == KEY
    assert "authorization" not in headers
    assert headers["content-type"] == "application/json"
    assert LangflowConnector(config=ConnectorConfig(api_key=KEY))._build_headers() == {
        "Content-Type": "application/json", "x-api-key": KEY}


def test_langflow_without_key_sends_no_auth_header(server: FaultServer) -> None:
    langflow(server.url).send(USER, "s")
    assert "x-api-key" not in server.requests[0].headers
    assert "authorization" not in server.requests[0].headers


def test_langflow_parse_response() -> None:
    connector = LangflowConnector(config=ConnectorConfig())
    response = {"outputs": [], "anything": 1}
    assert connector.parse_response(response) is response
    for bad in ([], "x", None, 1):
        with pytest.raises(ConnectorResponseError):
            connector.parse_response(bad)  # type: ignore[arg-type]


def test_langflow_non_object_json_is_a_response_error(server: FaultServer) -> None:
    server.script(json_reply([{"text": "a list"}]))
    with pytest.raises(ConnectorResponseError, match="JSON object"):
        langflow(server.url).send(USER, "s")


def test_langflow_real_404_sample_is_an_http_error(server: FaultServer) -> None:
    server.script(json_reply({"detail": "Flow identifier no-such-flow not found"}, status=404))
    with pytest.raises(ConnectorHTTPError) as info:
        langflow(server.url).send(USER, "s")
    assert info.value.status_code == 404
    assert info.value.url == server.url + FLOW
    assert "Flow identifier no-such-flow not found" in str(info.value)


def test_base_connector_uses_bearer_auth(server: FaultServer) -> None:
    connector = track(BearerConnector(config=ConnectorConfig(url=server.url + "/chat", api_key=KEY)))
    assert connector._build_headers() == {"Content-Type": "application/json",
                                          "Authorization": f"Bearer {KEY}"}
    assert connector.send(USER, "s-9") == {"ok": True}
    request = server.requests[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in request.headers
    assert request.json() == {"messages": USER, "session": "s-9"}
    assert BearerConnector(config=ConnectorConfig())._build_headers() == {"Content-Type": "application/json"}


def test_base_extractors_return_none() -> None:
    response = {"outputs": [], "messages": [], "session_id": "x"}
    assert BearerConnector.extract_text(response) is None
    assert BearerConnector.extract_session_id(response) is None
    assert BearerConnector.extract_tool_trace(response) is None


# -- LangGraph --------------------------------------------------------------------------------


def test_langgraph_creates_a_thread_then_waits_for_the_run(server: FaultServer) -> None:
    run = {"messages": [{"type": "human", "content": "Hello!"}, {"type": "ai", "content": "Hi there"}]}
    server.script(*thread_then_run("01a2-thread", run))
    connector = langgraph(server.url, config={"api_key": KEY})
    result = connector.send(USER, "session-123")
    assert result == run
    create, wait = server.requests
    assert (create.method, create.path) == ("POST", "/threads")
    assert create.json() == {"metadata": {"session_id": "session-123"}}
    assert (wait.method, wait.path) == ("POST", "/threads/01a2-thread/runs/wait")
    assert wait.json() == {"assistant_id": "agent", "input": {"messages": USER}}
    for request in (create, wait):
        assert request.headers["x-api-key"] == KEY
        assert "authorization" not in request.headers


def test_langgraph_sends_assistant_id_and_run_config(server: FaultServer) -> None:
    server.script(*thread_then_run())
    connector = langgraph(server.url + "/", assistant_id="my-agent",
                          run_config={"configurable": {"model": "gpt-4o"}})
    connector.send(USER, "s")
    assert [r.path for r in server.requests] == ["/threads", "/threads/t-1/runs/wait"]
    assert server.requests[1].json() == {"assistant_id": "my-agent", "input": {"messages": USER},
                                         "config": {"configurable": {"model": "gpt-4o"}}}


def test_langgraph_each_send_creates_a_new_thread(server: FaultServer) -> None:
    server.script(*thread_then_run("t-a"), *thread_then_run("t-b"))
    connector = langgraph(server.url)
    connector.send(USER, "same-session")
    connector.send(USER, "same-session")
    assert [r.path for r in server.requests] == ["/threads", "/threads/t-a/runs/wait", "/threads",
                                                 "/threads/t-b/runs/wait"]


def test_langgraph_fields_and_validation() -> None:
    connector = LangGraphConnector(config=ConnectorConfig(url="http://localhost:2024"))
    assert connector.assistant_id == "agent"
    assert connector.run_config == {}
    assert "config" not in connector.build_request(USER, "s")
    for bad in ("", "   "):
        with pytest.raises(ValidationError, match="assistant_id"):
            LangGraphConnector(config=ConnectorConfig(url="http://x"), assistant_id=bad)


def test_langgraph_thread_without_id_is_a_response_error(server: FaultServer) -> None:
    server.script(json_reply({"status": "idle"}))
    with pytest.raises(ConnectorResponseError, match="thread_id"):
        langgraph(server.url).send(USER, "s")
    assert len(server.requests) == 1


def test_langgraph_error_in_a_200_is_an_agent_run_error(server: FaultServer) -> None:
    body = recorded_body("langgraph", "graph_error")  # the real 200 answer of a graph that raised
    server.script(json_reply({"thread_id": "t"}), Reply(body=body))
    with pytest.raises(AgentRunError) as info:
        langgraph(server.url).send(USER, "s")
    assert isinstance(info.value, ConnectorError)
    assert info.value.error_type == "ValueError"
    assert "ValueError" in str(info.value)
    assert "graph exploded on purpose" in str(info.value)


def test_langgraph_parse_response_rules(caplog: pytest.LogCaptureFixture) -> None:
    connector = LangGraphConnector(config=ConnectorConfig(url="http://x"))
    good = {"messages": []}
    assert connector.parse_response(good) is good
    for bad in ({}, [], None, "x"):
        with pytest.raises(ConnectorResponseError):
            connector.parse_response(bad)  # type: ignore[arg-type]
    with pytest.raises(AgentRunError, match="boom"):
        connector.parse_response({"__error__": "boom"})
    with pytest.raises(AgentRunError, match="ValueError"):
        connector.parse_response({"__error__": {"error": "ValueError", "message": None}, "messages": []})
    with caplog.at_level(logging.WARNING, logger="connector_kit"):
        odd = {"values": {"x": 1}}
        assert connector.parse_response(odd) is odd
    assert any("messages" in record.getMessage() for record in caplog.records)


# -- send / asend / execute / aexecute ----------------------------------------------------------


def test_send_asend_execute_aexecute_give_the_same_result(server: FaultServer) -> None:
    server.set_default(lambda request: json_reply({"echo": request.json()["input_value"]}))
    connector = langflow(server.url)
    assert connector.send(USER, "s") == {"echo": "Hello!"}
    assert arun(connector, connector.asend(USER, "s")) == {"echo": "Hello!"}
    assert connector.execute({"messages": USER, "session_id": "s"}) == {"echo": "Hello!"}
    assert arun(connector, connector.aexecute({"messages": USER, "session_id": "s"})) == {"echo": "Hello!"}
    assert [r.json()["session_id"] for r in server.requests] == ["s"] * 4


def test_execute_without_session_id_makes_one(server: FaultServer) -> None:
    langflow(server.url).execute({"messages": USER})
    session_id = server.requests[0].json()["session_id"]
    assert isinstance(session_id, str) and len(session_id) >= 8


@pytest.mark.parametrize("request_", [None, "hello", {"session_id": "s"}, [USER]])
def test_execute_rejects_a_malformed_request(server: FaultServer, request_: Any) -> None:
    with pytest.raises(ConnectorRequestError, match="messages"):
        langflow(server.url).execute(request_)
    assert server.requests == []


@pytest.mark.parametrize("messages", [None, 42, [None], ["hi"], [{"content": "no role"}]])
def test_send_rejects_malformed_messages(server: FaultServer, messages: Any) -> None:
    with pytest.raises(ConnectorRequestError):
        langflow(server.url).send(messages, "s")
    assert server.requests == []


def test_send_async_mode_returns_a_coroutine(server: FaultServer) -> None:
    connector = langflow(server.url)
    coroutine = connector.send(USER, "s", async_mode=True)
    assert inspect.iscoroutine(coroutine)
    assert arun(connector, coroutine) == {"ok": True}
    assert len(server.requests) == 1


@pytest.mark.parametrize("make", [
    lambda url: LangflowConnector(config=ConnectorConfig(url=url + FLOW)),
    lambda url: SpecStyleConnector(config=ConnectorConfig(url=url + "/chat")),
], ids=["builtin", "spec-style-_send_async"])
def test_send_inside_a_running_event_loop(server: FaultServer, make: Any) -> None:
    server.set_default(lambda request: json_reply({"reply": "fine"}))
    connector = track(make(server.url))

    async def main() -> Any:
        return connector.send(USER, "s")

    assert asyncio.run(main()) == {"reply": "fine"}


@pytest.mark.parametrize("make", [
    lambda url: LangflowConnector(config=ConnectorConfig(url=url + FLOW)),
    lambda url: LangGraphConnector(config=ConnectorConfig(url=url)),
    lambda url: SpecStyleConnector(config=ConnectorConfig(url=url + "/chat")),
], ids=["langflow", "langgraph", "spec-style-_send_async"])
def test_send_inside_a_running_loop_lets_the_real_error_through(server: FaultServer, make: Any) -> None:
    server.set_default(lambda request: json_reply({"detail": "Not Found"}, status=404))
    connector = track(make(server.url))

    async def main() -> None:
        connector.send(USER, "s")

    with pytest.raises(ConnectorHTTPError) as info:
        asyncio.run(main())
    assert info.value.status_code == 404
    assert "asyncio.run() cannot be called" not in str(info.value)


def test_spec_style_connector_works_through_every_entry_point(server: FaultServer) -> None:
    server.set_default(lambda request: json_reply({"reply": request.json()["text"]}))
    connector = track(SpecStyleConnector(config=ConnectorConfig(url=server.url + "/chat", api_key=KEY)))
    assert connector.send(USER, "s1") == {"reply": "Hello!"}
    assert arun(connector, connector.asend(USER, "s2")) == {"reply": "Hello!"}
    assert connector.execute({"messages": USER, "session_id": "s3"}) == {"reply": "Hello!"}
    assert [r.json()["sid"] for r in server.requests] == ["s1", "s2", "s3"]
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    server.set_default(lambda request: json_reply({"other": 1}))
    with pytest.raises(ConnectorResponseError, match="no reply"):
        connector.send(USER, "s")


def test_langgraph_send_inside_a_running_loop(server: FaultServer) -> None:
    server.script(*thread_then_run())
    connector = langgraph(server.url)

    async def main() -> Any:
        return connector.send(USER, "s")

    assert asyncio.run(main())["messages"][0]["content"] == "hi"


def test_langgraph_asend(server: FaultServer) -> None:
    server.script(*thread_then_run("t-async"))
    connector = langgraph(server.url)
    result = arun(connector, connector.asend(USER, "s"))
    assert result["messages"][0]["content"] == "hi"
    assert server.requests[1].path == "/threads/t-async/runs/wait"


# -- execute_batch ----------------------------------------------------------------------------


def _batch_handler(request: ReceivedRequest) -> Reply:
    value = request.json()["input_value"]
    if value == "bad":
        return json_reply({"detail": "Flow identifier not found"}, status=404)
    return json_reply({"echo": value})


def _batch(values: list[str]) -> list[dict[str, Any]]:
    return [{"messages": [{"role": "user", "content": v}], "session_id": f"s{i}"}
            for i, v in enumerate(values)]


def test_execute_batch_keeps_the_others_when_one_fails(server: FaultServer) -> None:
    server.set_default(_batch_handler)
    values = [f"q{i}" for i in range(12)]
    values[5] = "bad"
    seen: list[BatchItem] = []
    items = langflow(server.url).execute_batch(_batch(values), max_concurrency=4, on_result=seen.append)
    assert [item.index for item in items] == list(range(12))
    assert len(seen) == 12
    for i, item in enumerate(items):
        if i == 5:
            assert not item.ok and isinstance(item.error, ConnectorHTTPError)
            assert item.error.status_code == 404
            assert item.error_message is not None and item.error_message.startswith("ConnectorHTTPError")
        else:
            assert item.ok and item.value == {"echo": f"q{i}"} and item.error is None
    assert len(server.requests) == 12


def test_execute_batch_fail_fast_raises(server: FaultServer) -> None:
    server.set_default(_batch_handler)
    with pytest.raises(ConnectorHTTPError):
        langflow(server.url).execute_batch(_batch(["a", "bad", "c"]), fail_fast=True, max_concurrency=1)


def test_aexecute_batch_and_batch_inside_a_loop(server: FaultServer) -> None:
    server.set_default(_batch_handler)
    connector = langflow(server.url)

    async def main() -> tuple[list[BatchItem], list[BatchItem]]:
        return (await connector.aexecute_batch(_batch(["a", "bad"])),
                connector.execute_batch(_batch(["c"])))

    first, second = arun(connector, main())
    assert [item.ok for item in first] == [True, False]
    assert second[0].value == {"echo": "c"}


class TrackingHttpClient(HttpClient):
    """An HttpClient that remembers every AsyncClient it makes, to see that each gets closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.made: list[httpx.AsyncClient] = []

    def _new_async_client(self) -> httpx.AsyncClient:
        client = super()._new_async_client()
        self.made.append(client)
        return client


@pytest.mark.parametrize("in_loop", [False, True], ids=["no-loop", "inside-a-loop"])
def test_private_loops_leave_no_open_async_pool(server: FaultServer, in_loop: bool) -> None:
    # send() of a _send_async connector and execute_batch() run on a loop of their own that ends
    # with the call: the async pool made on it must be closed then, not left to the GC.
    server.set_default(lambda request: json_reply({"reply": "r", "echo": "e"}))
    spec_style = track(SpecStyleConnector(config=ConnectorConfig(url=server.url + "/chat")))
    builtin = langflow(server.url)
    for connector in (spec_style, builtin):
        connector._http_client = TrackingHttpClient(timeout=5)

    def calls() -> None:
        spec_style.send(USER, "s")
        spec_style.send(USER, "s")
        builtin.execute_batch(_batch(["a", "b", "c"]))

    if in_loop:
        async def main() -> None:
            calls()

        asyncio.run(main())
    else:
        calls()
    for connector in (spec_style, builtin):
        made = connector._get_http_client().made  # type: ignore[attr-defined]
        assert made and all(client.is_closed for client in made)
    assert len(server.requests) == 5


# -- check() ----------------------------------------------------------------------------------


def test_langflow_check_probes_health(server: FaultServer) -> None:
    server.script(json_reply({"status": "ok"}))
    result = langflow(server.url, api_key=KEY).check()
    assert isinstance(result, HealthCheckResult)
    assert result.status == "healthy" and result.healthy and result.error is None
    assert result.latency_ms is not None and result.latency_ms >= 0
    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/health")
    assert request.headers["x-api-key"] == KEY


def test_langgraph_check_probes_ok(server: FaultServer) -> None:
    server.script(json_reply({"ok": True, "services": {}}))
    result = langgraph(server.url + "/").check()
    assert result.status == "healthy"
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/ok")]


def test_acheck(server: FaultServer) -> None:
    connector = langgraph(server.url)
    assert arun(connector, connector.acheck()).healthy
    assert server.requests[0].path == "/ok"


@pytest.mark.parametrize("make", [
    lambda url: LangflowConnector(config=ConnectorConfig(url=url + FLOW)),
    lambda url: LangGraphConnector(config=ConnectorConfig(url=url)),
], ids=["langflow", "langgraph"])
def test_check_of_an_unreachable_server_is_unhealthy(closed_port_url: str, make: Any) -> None:
    connector = track(make(closed_port_url))
    result = connector.check()
    assert result.status == "unhealthy" and not result.healthy
    assert result.error is not None and "ConnectorConnectionError" in result.error
    aresult = arun(connector, connector.acheck())
    assert aresult.status == "unhealthy"


def test_check_does_not_retry_and_reports_the_status(server: FaultServer) -> None:
    server.set_default(lambda request: Reply(status=503, body="starting"))
    result = langflow(server.url, max_retries=5).check()
    assert result.status == "unhealthy"
    assert result.error is not None and "503" in result.error
    assert len(server.requests) == 1


def test_check_of_a_hanging_server_is_unhealthy(server: FaultServer) -> None:
    server.set_default(lambda request: Reply(hang=True))
    result = langflow(server.url, timeout=0.3).check()
    assert result.status == "unhealthy"
    assert result.error is not None and "ConnectorTimeoutError" in result.error


@pytest.mark.parametrize("url", [None, "", "ftp://x/y", "localhost:7860/api"])
def test_check_with_a_bad_url_is_unhealthy_not_raised(url: str | None) -> None:
    result = LangflowConnector(config=ConnectorConfig(url=url)).check()
    assert result.status == "unhealthy"
    assert result.error is not None and "ConnectorConfigError" in result.error


@pytest.mark.parametrize("url", [None, "ftp://x/y"])
def test_send_with_a_bad_url_is_a_config_error(url: str | None) -> None:
    with pytest.raises(ConnectorConfigError):
        LangflowConnector(config=ConnectorConfig(url=url)).send(USER, "s")


# -- the pooled client and its lifecycle -----------------------------------------------------


def test_the_http_client_is_created_lazily_and_reused(server: FaultServer) -> None:
    connector = track(LangflowConnector(config=ConnectorConfig(url=server.url + FLOW, timeout=7.5,
                                                               max_retries=2)))
    assert connector._http_client is None
    client = connector._get_http_client()
    assert isinstance(client, HttpClient)
    assert (client.timeout, client.max_retries) == (7.5, 2)
    for _ in range(5):
        connector.send(USER, "s")
    assert connector._get_http_client() is client
    assert len(server.requests) == 5
    assert server.connections == 1
    connector.close()


def test_asend_reuses_one_connection(server: FaultServer) -> None:
    async def main() -> None:
        async with LangflowConnector(config=ConnectorConfig(url=server.url + FLOW)) as connector:
            for _ in range(5):
                await connector.asend(USER, "s")

    asyncio.run(main())
    assert server.connections == 1


def test_close_and_context_managers(server: FaultServer) -> None:
    with langflow(server.url) as connector:
        connector.send(USER, "s")
        assert connector._http_client is not None
    assert connector._http_client is None
    connector.close()  # twice is fine
    assert connector.send(USER, "s") == {"ok": True}  # a new pool is made on demand
    connector.close()

    async def main() -> LangflowConnector:
        async with langflow(server.url) as aconnector:
            await aconnector.asend(USER, "s")
            assert aconnector._http_client is not None
        return aconnector

    assert asyncio.run(main())._http_client is None


def test_max_retries_from_the_config_reaches_the_client(server: FaultServer) -> None:
    server.script(Reply(status=503), json_reply({"ok": True}))
    with pytest.raises(ConnectorHTTPError):
        langflow(server.url, max_retries=0).send(USER, "s")
    assert len(server.requests) == 1


def test_retries_through_a_connector_with_an_injected_clock(server: FaultServer) -> None:
    clock = FakeClock()
    connector = langflow(server.url)
    connector.resend_on_failure = True  # a 502 or a reset may follow a processed run: opt in
    connector._http_client = HttpClient(timeout=30, policy=RetryPolicy(max_retries=3, jitter=0), clock=clock)
    server.script(Reply(status=502), Reply(reset_before=True), json_reply({"done": 1}))
    assert connector.send(USER, "s") == {"done": 1}
    assert clock.sleeps == [0.5, 1.0]
    stats = connector._get_http_client().last_stats
    assert stats is not None and stats.attempts == 3


def test_retry_settings_from_config_extras(server: FaultServer) -> None:
    connector = langflow(server.url, deadline=5.0, retry_on_500=True, jitter=0)
    client = connector._get_http_client()
    assert client.deadline == 5.0 and client.policy.retry_on_500 and client.policy.jitter == 0
    with pytest.raises(ConnectorConfigError, match="retry"):
        langflow(server.url, jitter=7).send(USER, "s")


def test_connector_timeout_error_type(server: FaultServer) -> None:
    server.set_default(lambda request: Reply(hang=True))
    with pytest.raises(ConnectorTimeoutError):
        langflow(server.url, timeout=0.3, max_retries=3).send(USER, "s")
    assert len(server.requests) == 1


def test_connection_refused_through_a_connector(closed_port_url: str) -> None:
    connector = track(LangflowConnector(config=ConnectorConfig(url=closed_port_url + FLOW, max_retries=0)))
    with pytest.raises(ConnectorConnectionError):
        connector.send(USER, "s")
