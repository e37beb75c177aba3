"""The api_key never shows: not in repr/str, not in error messages, not in log records."""

from __future__ import annotations

import asyncio
import logging
import pprint
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from connector_kit.connectors import (
    AgentRunError,
    ConnectorConfig,
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    HttpClient,
    LangflowConnector,
    LangGraphConnector,
)
from connector_kit.testkit.faults.server import FaultServer, Reply, json_reply

KEY = "fake-test-key-SECRET-9f8e7d6c5b4a"
Closing = Callable[[Any], Any]
USER = [{"role": "user", "content": "hi"}]


def everything_about(error: BaseException) -> str:
    """All the text an error carries: str, repr, args and its public attributes."""
    parts = [str(error), repr(error), *map(str, error.args)]
    parts += [f"{name}={value!r}" for name, value in vars(error).items()]
    return "\n".join(parts)


def catch(call: Callable[[], Any]) -> ConnectorError:
    with pytest.raises(ConnectorError) as info:
        call()
    return info.value


# -- repr / str --------------------------------------------------------------------------------


def test_config_repr_and_str_hide_the_key() -> None:
    config = ConnectorConfig(url="http://localhost:7860/api/v1/run/f", api_key=KEY)
    for text in (repr(config), str(config), f"{config}", f"{config!r}", pprint.pformat(config)):
        assert KEY not in text
        assert "***" in text
    assert "http://localhost:7860/api/v1/run/f" in repr(config)
    assert config.api_key == KEY  # the value itself is untouched


def test_config_repr_without_key_shows_none() -> None:
    assert "api_key" not in repr(ConnectorConfig(url="http://x")) or "None" in repr(ConnectorConfig())


def test_credential_like_extras_are_hidden_too() -> None:
    config = ConnectorConfig(url="http://x", api_key=KEY, bearer_token="tok-SECRET-1234",
                             password="pw-SECRET-5678", flow_id="visible-flow")
    text = repr(config) + str(config)
    for secret in (KEY, "tok-SECRET-1234", "pw-SECRET-5678"):
        assert secret not in text
    assert "visible-flow" in text


@pytest.mark.parametrize("make", [
    lambda config: LangflowConnector(config=config),
    lambda config: LangGraphConnector(config=config, assistant_id="agent",
                                      run_config={"configurable": {"model": "m"}}),
], ids=["langflow", "langgraph"])
def test_connector_repr_and_str_hide_the_key(make: Any, closing: Closing) -> None:
    connector = closing(make(ConnectorConfig(url="http://localhost:2024", api_key=KEY)))
    connector._get_http_client()
    for text in (repr(connector), str(connector), pprint.pformat(connector),
                 repr(connector._get_http_client())):
        assert KEY not in text


def test_validation_errors_do_not_echo_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        ConnectorConfig(url="http://x", api_key=KEY, timeout=-1)
    assert KEY not in str(info.value)
    with pytest.raises(ValidationError) as info2:
        LangGraphConnector(config=ConnectorConfig(url="http://x", api_key=KEY), assistant_id="")
    assert KEY not in str(info2.value)


# -- error messages ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 500])
def test_key_echoed_in_an_error_body_is_masked(server: FaultServer, status: int,
                                               closing: Closing) -> None:
    server.script(json_reply({"detail": f"Invalid or missing API key: {KEY}"}, status=status))
    config = ConnectorConfig(url=server.url + "/api/v1/run/f", api_key=KEY)
    connector = closing(LangflowConnector(config=config))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, ConnectorHTTPError) and error.status_code == status
    assert KEY not in everything_about(error)
    assert "Invalid or missing API key: ***" in str(error)
    assert server.requests[0].headers["x-api-key"] == KEY  # it was sent, just never shown


def test_key_echoed_in_a_non_json_200_is_masked(server: FaultServer, closing: Closing) -> None:
    server.script(Reply(body=f"<html>key {KEY} rejected</html>"))
    connector = closing(LangflowConnector(config=ConnectorConfig(url=server.url + "/run", api_key=KEY)))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, ConnectorResponseError)
    assert KEY not in everything_about(error)


@pytest.mark.parametrize("query", ["x-api-key", "api_key", "token"])
def test_key_in_the_url_query_is_masked_in_http_errors(server: FaultServer, query: str,
                                                       closing: Closing) -> None:
    server.script(json_reply({"detail": "Flow identifier f not found"}, status=404))
    url = f"{server.url}/api/v1/run/f?stream=false&{query}={KEY}"
    connector = closing(LangflowConnector(config=ConnectorConfig(url=url)))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, ConnectorHTTPError)
    assert KEY not in everything_about(error)
    assert error.url == f"{server.url}/api/v1/run/f?stream=false&{query}=***"
    assert server.requests[0].path.endswith(f"{query}={KEY}")  # the server did get the key


def test_configured_key_anywhere_in_the_url_is_masked(server: FaultServer, closing: Closing) -> None:
    server.script(Reply(status=404, body="nope"))
    url = f"{server.url}/api/v1/run/f?k={KEY}"
    connector = closing(LangflowConnector(config=ConnectorConfig(url=url, api_key=KEY)))
    error = catch(lambda: connector.send(USER, "s"))
    assert KEY not in everything_about(error)


def test_key_in_the_url_is_masked_in_transport_errors(closed_port_url: str, closing: Closing) -> None:
    url = f"{closed_port_url}/api/v1/run/f?x-api-key={KEY}"
    connector = closing(LangflowConnector(config=ConnectorConfig(url=url, api_key=KEY, max_retries=0)))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, ConnectorConnectionError)
    assert KEY not in everything_about(error)
    result = connector.check()
    assert result.status == "unhealthy"
    assert KEY not in repr(result) and KEY not in (result.error or "")


def test_key_in_the_url_is_masked_in_timeouts(server: FaultServer, closing: Closing) -> None:
    server.set_default(lambda request: Reply(hang=True))
    url = f"{server.url}/api/v1/run/f?x-api-key={KEY}"
    client = closing(HttpClient(timeout=0.3, max_retries=1))
    error = catch(lambda: client.post_sync(url, {}))
    assert isinstance(error, ConnectorTimeoutError)
    assert KEY not in everything_about(error)


def test_key_in_a_langgraph_url_is_masked_in_its_own_errors(server: FaultServer, closing: Closing) -> None:
    server.script(json_reply({"no": "thread"}))
    config = ConnectorConfig(url=f"{server.url}/?api_key={KEY}", api_key=KEY)
    connector = closing(LangGraphConnector(config=config))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, ConnectorResponseError)
    assert KEY not in everything_about(error)


def test_key_echoed_in_a_langgraph_run_error_is_masked(server: FaultServer, closing: Closing) -> None:
    server.script(json_reply({"thread_id": "t"}),
                  json_reply({"__error__": {"error": "AuthError", "message": f"bad key {KEY}"}}))
    connector = closing(LangGraphConnector(config=ConnectorConfig(url=server.url, api_key=KEY)))
    error = catch(lambda: connector.send(USER, "s"))
    assert isinstance(error, AgentRunError) and "AuthError" in str(error)
    assert KEY not in everything_about(error)


def test_batch_errors_do_not_show_the_key(server: FaultServer, closing: Closing) -> None:
    server.set_default(lambda request: json_reply({"detail": f"key {KEY} refused"}, status=403))
    connector = closing(LangflowConnector(config=ConnectorConfig(url=server.url + "/run", api_key=KEY)))
    [item] = connector.execute_batch([{"messages": USER, "session_id": "s"}])
    assert not item.ok and item.error_message is not None
    assert KEY not in item.error_message


# -- log records -------------------------------------------------------------------------------


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(str(record.exc_info[1]))
    return "\n".join(lines)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_no_key_in_log_records_during_retries(server: FaultServer, caplog: pytest.LogCaptureFixture,
                                              mode: str, closing: Closing) -> None:
    server.script(Reply(status=503, body=f"overloaded ({KEY})"), Reply(reset_before=True),
                  json_reply({"session_id": "s", "outputs": []}))
    url = f"{server.url}/api/v1/run/f?x-api-key={KEY}"
    # backoff_initial=0: the retries happen at once, no real waiting.
    config = ConnectorConfig(url=url, api_key=KEY, backoff_initial=0.0, max_retries=3)
    # resend_on_failure: the reset follows a sent run, retried only when the user opts in
    connector = closing(LangflowConnector(config=config, resend_on_failure=True))
    with caplog.at_level(logging.DEBUG):
        if mode == "sync":
            connector.send(USER, "s")
        else:
            async def main() -> None:
                async with connector:
                    await connector.asend(USER, "s")

            asyncio.run(main())
    assert len(server.requests) == 3
    text = _all_log_text(caplog)
    assert "retrying" in text  # the retries were logged...
    assert KEY not in text  # ...without the key


def test_no_key_in_log_records_of_a_langgraph_run(server: FaultServer, caplog: pytest.LogCaptureFixture,
                                                  closing: Closing) -> None:
    server.script(json_reply({"thread_id": "t"}), json_reply({"values": {}, "echo": KEY}))
    connector = closing(LangGraphConnector(config=ConnectorConfig(url=server.url, api_key=KEY)))
    with caplog.at_level(logging.DEBUG):
        connector.send(USER, "s")
    assert any("messages" in r.getMessage() for r in caplog.records)  # the missing-messages warning
    assert KEY not in _all_log_text(caplog)
