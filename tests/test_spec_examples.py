"""Every code example of the spec's agent parts, run as written.

The snippets below are copied verbatim from ``spec/connector-system.md``; the only changes made
when running them are the import path (``sdg_hub.core.connectors`` -> ``connector_kit.connectors``)
and, where the example talks to a server, its host (``http://localhost:<port>`` -> a loopback
FaultServer).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import connector_kit.connectors as connectors
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply

pytestmark = pytest.mark.usefixtures("restore_registry")


def run_example(source: str, **hosts: str) -> dict[str, Any]:
    """Exec a spec snippet with our import path (and hosts swapped); return its namespace."""
    code = textwrap.dedent(source).replace("sdg_hub.core.connectors", "connector_kit.connectors")
    for old, new in hosts.items():
        code = code.replace(old, new)
    namespace: dict[str, Any] = {"__name__": "spec_example"}
    exec(compile(code, "<spec example>", "exec"), namespace)
    return namespace


LANGFLOW_REPLY = {
    "session_id": "session-123",
    "outputs": [{"outputs": [{"results": {"message": {"text": "Hi!", "data": {"content_blocks": []}}}}]}],
}


# -- imports ------------------------------------------------------------------------------------

IMPORTS = """
from sdg_hub.core.connectors import (
    BaseConnector,
    ConnectorConfig,
    BaseAgentConnector,
    LangflowConnector,
    LangGraphConnector,
    ConnectorRegistry,
    HttpClient,
    ConnectorError,
    ConnectorHTTPError,
)
"""


def test_imports_from_the_top_level_package() -> None:
    ns = run_example(IMPORTS)
    for name in ("BaseConnector", "ConnectorConfig", "BaseAgentConnector", "LangflowConnector",
                 "LangGraphConnector", "ConnectorRegistry", "HttpClient", "ConnectorError",
                 "ConnectorHTTPError"):
        assert ns[name] is getattr(connectors, name)
    assert issubclass(ns["ConnectorHTTPError"], ns["ConnectorError"])
    assert issubclass(ns["BaseAgentConnector"], ns["BaseConnector"])
    assert issubclass(ns["LangflowConnector"], ns["BaseAgentConnector"])
    assert issubclass(ns["LangGraphConnector"], ns["BaseAgentConnector"])


# -- ConnectorConfig ----------------------------------------------------------------------------


def test_connector_config_example() -> None:
    ns = run_example("""
        from sdg_hub.core.connectors import ConnectorConfig

        config = ConnectorConfig(
            url="http://localhost:7860/api/v1/run/my-flow",
            api_key="your-api-key",
            timeout=60.0,
            max_retries=5,
        )
    """)
    config = ns["config"]
    assert (config.url, config.api_key, config.timeout, config.max_retries) == (
        "http://localhost:7860/api/v1/run/my-flow", "your-api-key", 60.0, 5)


# -- ConnectorRegistry --------------------------------------------------------------------------


def test_registry_register_example() -> None:
    ns = run_example("""
        from sdg_hub.core.connectors import ConnectorRegistry, BaseConnector

        @ConnectorRegistry.register("my_connector")
        class MyConnector(BaseConnector):
            def execute(self, request):
                return {"result": request.get("input")}
    """)
    cls = connectors.ConnectorRegistry.get("my_connector")
    assert cls is ns["MyConnector"]
    with cls(config=connectors.ConnectorConfig()) as connector:
        assert connector.execute({"input": 7}) == {"result": 7}


def test_registry_get_example() -> None:
    ns = run_example(IMPORTS + """
connector_class = ConnectorRegistry.get("langflow")
config = ConnectorConfig(url="http://localhost:7860/api/v1/run/flow")
connector = connector_class(config=config)
""")
    assert isinstance(ns["connector"], connectors.LangflowConnector)
    assert ns["connector"].config.url == "http://localhost:7860/api/v1/run/flow"
    ns["connector"].close()


def test_registry_list_all_example() -> None:
    for name in connectors.ConnectorRegistry.list_all():  # only the built-ins, as in the spec
        if name not in ("langflow", "langgraph"):
            del connectors.ConnectorRegistry._connectors[name]
    ns = run_example(IMPORTS + """
available = ConnectorRegistry.list_all()
# ['langflow', 'langgraph']
""")
    assert ns["available"] == ["langflow", "langgraph"]


def test_registry_clear_example() -> None:
    run_example(IMPORTS + """
ConnectorRegistry.clear()
""")
    assert connectors.ConnectorRegistry.list_all() == []


def test_exception_example(capsys: pytest.CaptureFixture[str]) -> None:
    run_example(IMPORTS + """
from sdg_hub.core.connectors import ConnectorError

try:
    connector = ConnectorRegistry.get("nonexistent")
except ConnectorError as e:
    print(e)  # "Connector 'nonexistent' not found. Available: langflow, langgraph"
""")
    available = ", ".join(connectors.ConnectorRegistry.list_all())
    assert capsys.readouterr().out == f"Connector 'nonexistent' not found. Available: {available}\n"
    assert available.startswith("langflow, langgraph")


def test_connector_http_error_example() -> None:
    error = connectors.ConnectorHTTPError("http://localhost:7860/api/v1/run/f", 404, "Flow not found")
    assert error.url == "http://localhost:7860/api/v1/run/f"
    assert error.status_code == 404
    assert str(error) == "HTTP 404 error from 'http://localhost:7860/api/v1/run/f': Flow not found"
    params = list(inspect.signature(connectors.ConnectorHTTPError.__init__).parameters)
    assert params[:4] == ["self", "url", "status_code", "message"]
    assert connectors.ConnectorHTTPError("u", 500).status_code == 500  # message is optional


# -- the agent connectors -----------------------------------------------------------------------


def test_langflow_configuration_example(server: FaultServer) -> None:
    server.script(json_reply(LANGFLOW_REPLY))
    ns = run_example("""
        from sdg_hub.core.connectors import ConnectorConfig, LangflowConnector

        config = ConnectorConfig(
            url="http://localhost:7860/api/v1/run/my-flow",
            api_key="your-api-key",
        )
        connector = LangflowConnector(config=config)
        response = connector.send(
            messages=[{"role": "user", "content": "Hello!"}],
            session_id="session-123",
        )
    """, **{"http://localhost:7860": server.url})
    ns["connector"].close()
    assert ns["response"] == LANGFLOW_REPLY
    assert connectors.LangflowConnector.extract_text(ns["response"]) == "Hi!"
    [request] = server.requests
    assert request.path == "/api/v1/run/my-flow"
    assert request.headers["x-api-key"] == "your-api-key"
    assert request.json() == {"output_type": "chat", "input_type": "chat", "input_value": "Hello!",
                              "session_id": "session-123"}


def test_langgraph_configuration_example(server: FaultServer) -> None:
    run_reply = {"messages": [{"type": "human", "content": "Hello!"}, {"type": "ai", "content": "Hey"}]}
    server.script(json_reply({"thread_id": "thread-1"}), json_reply(run_reply))
    ns = run_example("""
        from sdg_hub.core.connectors import ConnectorConfig, LangGraphConnector

        config = ConnectorConfig(
            url="http://localhost:2024",
            api_key="your-api-key",
        )
        connector = LangGraphConnector(
            config=config,
            assistant_id="my-agent",
            run_config={"configurable": {"model": "gpt-4o"}},
        )
        response = connector.send(
            messages=[{"role": "user", "content": "Hello!"}],
            session_id="session-123",
        )
    """, **{"http://localhost:2024": server.url})
    ns["connector"].close()
    assert ns["response"] == run_reply
    assert connectors.LangGraphConnector.extract_text(ns["response"]) == "Hey"
    create, run = server.requests
    assert (create.path, create.json()) == ("/threads", {"metadata": {"session_id": "session-123"}})
    assert run.path == "/threads/thread-1/runs/wait"
    assert run.json() == {"assistant_id": "my-agent",
                          "input": {"messages": [{"role": "user", "content": "Hello!"}]},
                          "config": {"configurable": {"model": "gpt-4o"}}}
    assert all(r.headers["x-api-key"] == "your-api-key" for r in server.requests)


def test_http_client_example(server: FaultServer) -> None:
    ns = run_example("""
        from sdg_hub.core.connectors import HttpClient

        client = HttpClient(timeout=60.0, max_retries=3)
    """)
    client = ns["client"]
    assert (client.timeout, client.max_retries) == (60.0, 3)
    assert client.post_sync(server.url, {"a": 1}) == {"ok": True}
    for method in (client.post, client.post_sync):
        assert list(inspect.signature(method).parameters) == ["url", "payload", "headers"]
    assert inspect.iscoroutinefunction(client.post)
    client.close()


def test_documented_signatures() -> None:
    base = connectors.BaseAgentConnector
    assert list(inspect.signature(base.send).parameters) == ["self", "messages", "session_id", "async_mode"]
    assert inspect.signature(base.send).parameters["async_mode"].default is False
    assert list(inspect.signature(base.asend).parameters) == ["self", "messages", "session_id"]
    assert inspect.iscoroutinefunction(base.asend)
    # The spec's execute(request); the executor forms (issue 19) add only optional parameters.
    execute = inspect.signature(base.execute).parameters
    assert list(execute)[:2] == ["self", "request"]
    assert all(p.default is not inspect.Parameter.empty for p in list(execute.values())[2:])
    assert inspect.iscoroutinefunction(base.aexecute)
    assert base.__abstractmethods__ == {"build_request", "parse_response"}
    assert connectors.BaseConnector.__abstractmethods__ == {"execute"}
    for name in ("extract_text", "extract_session_id", "extract_tool_trace"):
        assert isinstance(inspect.getattr_static(base, name), classmethod)
    lg_fields = connectors.LangGraphConnector.model_fields
    assert lg_fields["assistant_id"].default == "agent"
    assert lg_fields["run_config"].default_factory is not None


# -- Creating Custom Connectors: the complete example --------------------------------------------

# The spec's example is kept verbatim (import path aside) in examples/, where the contributor
# guide uses it; this runs that very text.
MY_FRAMEWORK = (Path(__file__).resolve().parents[1] / "examples" / "my_framework" /
                "connector.py").read_text(encoding="utf-8")


def _my_framework_reply(request: ReceivedRequest) -> Reply:
    body = request.json()
    return json_reply({"conversation_id": body["conversation_id"],
                       "reply": {"text": f"echo: {body['messages'][-1]['text']}"}})


def test_custom_connector_example(server: FaultServer, closing: Callable[[Any], Any]) -> None:
    ns = run_example(MY_FRAMEWORK)
    ns2 = run_example(IMPORTS + """
connector_class = ConnectorRegistry.get("my_framework")
""")
    cls = ns2["connector_class"]
    assert cls is ns["MyFrameworkConnector"]
    assert "my_framework" in connectors.ConnectorRegistry.list_all()

    server.set_default(_my_framework_reply)
    connector = closing(cls(config=connectors.ConnectorConfig(url=server.url + "/api/chat",
                                                              api_key="your-api-key")))
    messages = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "Hello!"}]
    response = connector.send(messages=messages, session_id="conv-1")
    assert response == {"conversation_id": "conv-1", "reply": {"text": "echo: Hello!"}}
    assert cls.extract_text(response) == "echo: Hello!"
    assert cls.extract_session_id(response) == "conv-1"
    assert cls.extract_tool_trace(response) is None  # inherited from the base class

    [request] = server.requests
    assert request.path == "/api/chat"
    assert request.headers["authorization"] == "Bearer your-api-key"
    assert request.json() == {"conversation_id": "conv-1", "messages": [
        {"sender": "system", "text": "be nice"}, {"sender": "user", "text": "Hello!"}]}


def test_custom_connector_example_async_execute_and_errors(server: FaultServer) -> None:
    import asyncio

    cls = run_example(MY_FRAMEWORK)["MyFrameworkConnector"]
    server.set_default(_my_framework_reply)
    connector = cls(config=connectors.ConnectorConfig(url=server.url + "/api/chat"))
    user = [{"role": "user", "content": "a"}]

    async def asend() -> dict[str, Any]:
        async with connector:
            return await connector.asend(user, "c2")  # type: ignore[no-any-return]

    assert asyncio.run(asend())["reply"]["text"] == "echo: a"
    assert connector.execute({"messages": user, "session_id": "c3"})["conversation_id"] == "c3"
    assert "authorization" not in server.requests[0].headers  # no key, no header
    server.set_default(lambda request: json_reply({"detail": "nope"}, status=404))
    with pytest.raises(connectors.ConnectorHTTPError) as info:
        connector.send(user, "c4")
    assert info.value.status_code == 404
    connector.close()
