"""The public transport seam: ``HttpClient(transport=...)`` and ``connector.use_http_client()``.

A given transport carries the requests; the retries, the size bound, the error mapping and the
deadline stay HttpClient's. ``httpx.MockTransport`` handlers here are hand-made fixtures (no
network); the deadline case uses a real trickling loopback server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from connector_kit.connectors import (
    ConnectorConfig,
    ConnectorConfigError,
    ConnectorConnectionError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    FakeClock,
    HttpClient,
    LangflowConnector,
    RetryPolicy,
)
from connector_kit.testkit.faults import FaultServer, Reply
from connector_kit.testkit.faults.samples import LANGFLOW_BENCH_SAMPLE as LANGFLOW_RESPONSE

URL = "http://agent.test/api/v1/run/flow"
FAKE_KEY = "fake-key-for-tests-0000"

_OPEN: list[HttpClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_on(transport: httpx.BaseTransport | httpx.AsyncBaseTransport, **kwargs: Any) -> HttpClient:
    kwargs.setdefault("clock", FakeClock())
    kwargs.setdefault("policy", RetryPolicy(max_retries=2, jitter=0.0))
    client = HttpClient(timeout=5.0, transport=transport, **kwargs)
    _OPEN.append(client)
    return client


def post(client: HttpClient, mode: str, url: str = URL, payload: Any = None) -> Any:
    payload = {"q": 1} if payload is None else payload
    if mode == "sync":
        return client.post_sync(url, payload)

    async def call() -> Any:
        try:
            return await client.post(url, payload)
        finally:
            await client.aclose_loop()

    return asyncio.run(call())


class Recorder:
    """A MockTransport handler answering from a list of replies, keeping each request."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_requests_go_through_the_given_transport(mode: str) -> None:
    handler = Recorder(httpx.Response(200, json={"answer": 42}))
    client = client_on(httpx.MockTransport(handler))
    assert post(client, mode, payload={"q": "é"}) == {"answer": 42}
    (request,) = handler.requests
    assert request.method == "POST" and str(request.url) == URL
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"q": "é"}


def test_retries_still_apply_over_a_given_transport(mode: str) -> None:
    clock = FakeClock()
    handler = Recorder(httpx.Response(503), httpx.Response(200, json={"ok": True}))
    client = client_on(httpx.MockTransport(handler), clock=clock)
    assert post(client, mode) == {"ok": True}
    assert len(handler.requests) == 2
    assert client.last_stats is not None and client.last_stats.statuses == [503, 200]
    assert clock.sleeps == [0.5]


def test_transport_failures_are_mapped_and_retried(mode: str) -> None:
    handler = Recorder(httpx.ConnectError("refused by the fixture"))
    client = client_on(httpx.MockTransport(handler))
    with pytest.raises(ConnectorConnectionError):
        post(client, mode)
    assert len(handler.requests) == 3  # max_retries=2


def test_the_size_bound_holds_over_a_given_transport(mode: str) -> None:
    handler = Recorder(httpx.Response(200, content=b'{"pad": "' + b"x" * 500 + b'"}'))
    client = client_on(httpx.MockTransport(handler), max_response_bytes=100)
    with pytest.raises(ConnectorResponseError, match="100"):
        post(client, mode)


def test_a_transport_of_the_other_kind_is_a_config_error() -> None:
    class SyncOnly(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={})

    class AsyncOnly(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={})

    with pytest.raises(ConnectorConfigError, match="sync-only transport"):
        post(client_on(SyncOnly()), "async")
    with pytest.raises(ConnectorConfigError, match="async-only transport"):
        post(client_on(AsyncOnly()), "sync")
    assert post(client_on(SyncOnly()), "sync") == {}
    assert post(client_on(AsyncOnly()), "async") == {}
    with pytest.raises(TypeError, match=r"httpx\.BaseTransport"):
        HttpClient(transport=object())  # type: ignore[arg-type]


def test_a_given_http_transport_keeps_the_calls_deadline(server: FaultServer, mode: str) -> None:
    # Every byte arrives within the read timeout; only the per-call deadline, which the
    # deadline backend put under the given transport, can stop it.
    server.set_default(lambda request: Reply(body=b'{"a": "' + b"x" * 400 + b'"}', trickle=0.02))
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport = (
        httpx.HTTPTransport(trust_env=False) if mode == "sync"
        else httpx.AsyncHTTPTransport(trust_env=False))
    client = HttpClient(timeout=0.3, max_retries=3, transport=transport)
    _OPEN.append(client)
    with pytest.raises(ConnectorTimeoutError):
        post(client, mode, server.url)
    assert client.last_stats is not None and client.last_stats.attempts == 1


# -- a connector given its client ---------------------------------------------------------------


def langflow_with(handler: Callable[[httpx.Request], httpx.Response]) -> tuple[LangflowConnector,
                                                                             HttpClient]:
    connector = LangflowConnector(config=ConnectorConfig(url=URL, api_key=FAKE_KEY))
    client = client_on(httpx.MockTransport(handler))
    assert connector.use_http_client(client) is connector
    return connector, client


def test_a_connector_sends_through_the_client_it_is_given() -> None:
    handler = Recorder(httpx.Response(200, json=LANGFLOW_RESPONSE))
    connector, client = langflow_with(handler)
    assert connector.http_client is client
    response = connector.send([{"role": "user", "content": "hi"}], "s-1")
    assert isinstance(response, dict)
    assert connector.extract_text(response) == "The answer is 5."
    (request,) = handler.requests
    assert request.headers["x-api-key"] == FAKE_KEY
    assert json.loads(request.content)["session_id"] == "s-1"
    connector.close()  # the given client stays the caller's, and usable
    assert connector.http_client is client
    connector.send([{"role": "user", "content": "again"}], "s-2")
    assert len(handler.requests) == 2


def test_a_connector_sends_through_the_client_it_is_given_async() -> None:
    handler = Recorder(httpx.Response(200, json=LANGFLOW_RESPONSE))
    connector, client = langflow_with(handler)

    async def main() -> dict[str, Any]:
        try:
            return await connector.asend([{"role": "user", "content": "hi"}], "s-1")
        finally:
            await connector.aclose()

    response = asyncio.run(main())
    assert connector.extract_text(response) == "The answer is 5."
    assert len(handler.requests) == 1
    assert connector.http_client is client


def test_giving_a_client_replaces_the_one_the_connector_built() -> None:
    connector = LangflowConnector(config=ConnectorConfig(url=URL))
    built = connector.http_client
    given = client_on(httpx.MockTransport(Recorder(httpx.Response(200, json=LANGFLOW_RESPONSE))))
    connector.use_http_client(given)
    assert connector.http_client is given is not built
    with pytest.raises(TypeError, match="HttpClient"):
        connector.use_http_client(httpx.Client())  # type: ignore[arg-type]
