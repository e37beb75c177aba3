"""HttpClient against real loopback servers: payloads, pooling, retries, 429, deadlines, error mapping.

Waits and attempt counts are read from a FakeClock (nothing sleeps for real); the only real
timeouts are short ones against a hanging or trickling server, and only the error TYPE and the
attempt count are asserted there, never a duration.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from connector_kit.connectors import (
    CallStats,
    ConnectorAuthError,
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTLSError,
    FakeClock,
    HttpClient,
    RetryPolicy,
)
from connector_kit.testkit.faults.server import FaultServer, Reply, json_reply

OK = {"ok": True}


_OPEN: list[HttpClient] = []


def new_client(*args: Any, **kwargs: Any) -> HttpClient:
    """An HttpClient closed when the test ends."""
    client = HttpClient(*args, **kwargs)
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def post(client: HttpClient, mode: str, url: str, payload: Any = None,
         headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``client.post_sync`` or ``client.post`` (run on a fresh event loop)."""
    payload = {"q": 1} if payload is None else payload
    if mode == "sync":
        return client.post_sync(url, payload, headers)

    async def call() -> dict[str, Any]:
        try:
            return await client.post(url, payload, headers)
        finally:
            await client.aclose()  # the async pool belongs to this loop, which ends here

    return asyncio.run(call())


def raises_connector_error(call: Callable[[], Any], expected: type[ConnectorError]) -> ConnectorError:
    """Run ``call``; it must raise exactly ``expected`` (or a subclass) and nothing raw."""
    try:
        call()
    except BaseException as exc:  # the point is to see what escapes, whatever it is
        assert isinstance(exc, expected), f"expected {expected.__name__}, got {type(exc).__mro__}: {exc}"
        assert not isinstance(exc, httpx.HTTPError | httpx.InvalidURL | json.JSONDecodeError)
        assert exc.__cause__ is None or isinstance(exc.__cause__, ConnectorError)
        return exc
    raise AssertionError(f"no exception; expected {expected.__name__}")


def client_with(clock: FakeClock, *, timeout: float = 30.0, **policy: Any) -> HttpClient:
    policy.setdefault("jitter", 0.0)
    return new_client(timeout=timeout, policy=RetryPolicy(**policy), clock=clock)


# -- payloads and headers ---------------------------------------------------------------------


def test_post_sends_json_payload_and_headers(server: FaultServer, mode: str) -> None:
    server.script(json_reply({"answer": 42, "nested": {"a": [1, 2]}}))
    client = new_client(timeout=5, max_retries=0)
    payload = {"input_value": "héllo ✓", "n": 1.5, "flag": True, "none": None, "list": [1, "a"]}
    result = post(client, mode, server.url + "/api/v1/run/flow?stream=false", payload,
                  {"x-api-key": "k-123", "X-Custom": "v"})
    assert result == {"answer": 42, "nested": {"a": [1, 2]}}
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/run/flow?stream=false"
    assert request.json() == payload
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == "k-123"
    assert request.headers["x-custom"] == "v"


def test_post_keeps_a_caller_content_type(server: FaultServer) -> None:
    new_client(timeout=5).post_sync(server.url, {"a": 1}, {"content-type": "application/json; charset=utf-8"})
    assert server.requests[0].headers["content-type"] == "application/json; charset=utf-8"


def test_post_without_headers(server: FaultServer, mode: str) -> None:
    assert post(new_client(timeout=5), mode, server.url, {"a": 1}, None) == OK
    assert server.requests[0].headers["content-type"] == "application/json"


def test_get_sync_and_async(server: FaultServer) -> None:
    client = new_client(timeout=5)
    assert client.get_sync(server.url + "/health") == OK

    async def main() -> dict[str, Any]:
        async with client:
            return await client.get(server.url + "/ok")

    assert asyncio.run(main()) == OK
    assert [(r.method, r.path, r.body) for r in server.requests] == [("GET", "/health", b""),
                                                                      ("GET", "/ok", b"")]


def test_constructor_defaults_and_validation() -> None:
    client = HttpClient()
    assert client.timeout == 120.0
    assert client.max_retries == 3
    assert HttpClient(timeout=60.0, max_retries=5).max_retries == 5
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            HttpClient(timeout=bad)
    with pytest.raises(ValueError):
        HttpClient(max_retries=-1)


# -- pooling ----------------------------------------------------------------------------------


def test_sync_calls_reuse_one_connection(server: FaultServer) -> None:
    with HttpClient(timeout=5) as client:
        first = client._sync_client()
        for i in range(8):
            client.post_sync(server.url + "/run", {"i": i})
        assert client._sync_client() is first
    assert len(server.requests) == 8
    assert [r.json() for r in server.requests] == [{"i": i} for i in range(8)]
    assert server.connections == 1


def test_async_calls_reuse_one_connection(server: FaultServer) -> None:
    async def main() -> None:
        async with HttpClient(timeout=5) as client:
            first = client._async_client()
            for i in range(8):
                await client.post(server.url + "/run", {"i": i})
            assert client._async_client() is first

    asyncio.run(main())
    assert len(server.requests) == 8
    assert server.connections == 1


def test_close_drops_the_pool_and_a_new_one_is_made(server: FaultServer) -> None:
    client = new_client(timeout=5)
    client.post_sync(server.url, {})
    first = client._sync_client()
    client.close()
    client.close()  # twice is fine
    client.post_sync(server.url, {})
    assert client._sync_client() is not first
    assert server.connections == 2
    client.close()


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_statuses_are_retried(server: FaultServer, clock: FakeClock, mode: str, status: int) -> None:
    server.script(Reply(status=status, body="busy"), Reply(status=status, body="busy"), json_reply(OK))
    client = client_with(clock, max_retries=3, backoff_initial=0.5, backoff_multiplier=2)
    assert post(client, mode, server.url) == OK
    assert len(server.requests) == 3
    assert clock.sleeps == [0.5, 1.0]
    stats = client.last_stats
    assert stats is not None
    assert (stats.attempts, stats.retries, stats.statuses, stats.waits, stats.outcome) == (
        3, 2, [status, status, 200], [0.5, 1.0], "ok")


def test_waits_grow_exponentially_and_are_capped(server: FaultServer, clock: FakeClock, mode: str) -> None:
    server.set_default(lambda request: Reply(status=503, body="down"))
    client = client_with(clock, timeout=1000.0, max_retries=5, backoff_initial=1.0, backoff_multiplier=3.0,
                         backoff_max=10.0)
    error = raises_connector_error(lambda: post(client, mode, server.url), ConnectorHTTPError)
    assert isinstance(error, ConnectorHTTPError) and error.status_code == 503
    assert clock.sleeps == [1.0, 3.0, 9.0, 10.0, 10.0]
    assert len(server.requests) == 6
    assert client.last_stats is not None and client.last_stats.attempts == 6


def test_default_policy_waits_are_jittered_within_bounds(server: FaultServer, clock: FakeClock) -> None:
    server.set_default(lambda request: Reply(status=503))
    client = new_client(timeout=1000, max_retries=3, clock=clock)  # default policy: 0.5 s x2, jitter 0.25
    raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorHTTPError)
    assert len(clock.sleeps) == 3
    for wait, base in zip(clock.sleeps, [0.5, 1.0, 2.0], strict=True):
        assert 0.75 * base <= wait <= base


def test_500_is_not_retried_by_default(server: FaultServer, clock: FakeClock, mode: str) -> None:
    server.script(Reply(status=500, body="bug"), json_reply(OK))
    client = client_with(clock, max_retries=3)
    error = raises_connector_error(lambda: post(client, mode, server.url), ConnectorHTTPError)
    assert isinstance(error, ConnectorHTTPError) and error.status_code == 500
    assert len(server.requests) == 1
    assert clock.sleeps == []


def test_500_is_retried_with_retry_on_500(server: FaultServer, clock: FakeClock, mode: str) -> None:
    server.script(Reply(status=500, body="blip"), json_reply(OK))
    client = client_with(clock, max_retries=3, retry_on_500=True, backoff_initial=2.0)
    assert post(client, mode, server.url) == OK
    assert len(server.requests) == 2
    assert clock.sleeps == [2.0]


@pytest.mark.parametrize("status", [400, 404, 405, 409, 422])
def test_client_errors_are_not_retried(server: FaultServer, clock: FakeClock, status: int) -> None:
    server.script(Reply(status=status, body="nope"), json_reply(OK))
    client = client_with(clock, max_retries=3)
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorHTTPError)
    assert type(error) is ConnectorHTTPError
    assert len(server.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_auth_errors_and_not_retried(server: FaultServer, clock: FakeClock,
                                                       status: int) -> None:
    server.script(json_reply({"detail": "Invalid or missing API key"}, status=status))
    client = client_with(clock, max_retries=3)
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorAuthError)
    assert isinstance(error, ConnectorHTTPError) and error.status_code == status
    assert "API key" in str(error)
    assert len(server.requests) == 1


@pytest.mark.parametrize("fault", [
    Reply(reset_before=True),
    Reply(body=b'{"ok": true, "padding": "' + b"x" * 200 + b'"}', truncate_to=20),
    Reply(body=b'{"ok": true, "padding": "' + b"x" * 200 + b'"}', reset_after_bytes=10),
], ids=["reset-before", "truncated", "reset-mid-body"])
def test_dropped_connections_are_retried(server: FaultServer, clock: FakeClock, mode: str,
                                         fault: Reply) -> None:
    server.script(fault, json_reply(OK))
    client = client_with(clock, max_retries=2, backoff_initial=0.25)
    assert post(client, mode, server.url) == OK
    assert len(server.requests) == 2
    assert clock.sleeps == [0.25]
    assert client.last_stats is not None and client.last_stats.statuses[-1] == 200


def test_connection_refused_is_retried_then_raised(closed_port_url: str, clock: FakeClock, mode: str) -> None:
    client = client_with(clock, max_retries=3, backoff_initial=1.0, backoff_multiplier=2.0)
    error = raises_connector_error(lambda: post(client, mode, closed_port_url), ConnectorConnectionError)
    assert closed_port_url in str(error)
    assert clock.sleeps == [1.0, 2.0, 4.0]
    stats = client.last_stats
    assert stats is not None
    assert stats.attempts == 4 and stats.statuses == [None] * 4
    assert stats.outcome == "ConnectorConnectionError"


@pytest.mark.parametrize(("script", "expected"), [
    ([Reply(status=503)] * 3, ConnectorHTTPError),
    ([Reply(reset_before=True)] * 3, ConnectorConnectionError),
    ([Reply(body=b'{"a": 1234567890}', truncate_to=5)] * 3, ConnectorConnectionError),
], ids=["503", "reset", "truncated"])
def test_retries_exhausted_raise_the_last_errors_class(server: FaultServer, clock: FakeClock, mode: str,
                                                       script: list[Reply],
                                                       expected: type[ConnectorError]) -> None:
    server.script(*script)
    client = client_with(clock, max_retries=2)
    error = raises_connector_error(lambda: post(client, mode, server.url), expected)
    assert not isinstance(error, ConnectorRateLimitError | ConnectorAuthError)
    assert len(server.requests) == 3
    assert client.last_stats is not None and client.last_stats.attempts == 3


def test_max_retries_zero_means_one_attempt(server: FaultServer, clock: FakeClock, mode: str) -> None:
    server.script(Reply(status=503), json_reply(OK))
    client = client_with(clock, max_retries=0)
    raises_connector_error(lambda: post(client, mode, server.url), ConnectorHTTPError)
    assert len(server.requests) == 1 and clock.sleeps == []


def test_observers_and_counters_see_every_call(server: FaultServer, clock: FakeClock) -> None:
    server.script(Reply(status=502), json_reply(OK), json_reply(OK))
    client = client_with(clock, max_retries=2)
    seen: list[CallStats] = []
    client.observers.append(seen.append)
    client.post_sync(server.url, {})
    client.post_sync(server.url + "/again", {})
    assert [s.attempts for s in seen] == [2, 1]
    assert (client.calls, client.attempts) == (2, 3)
    assert seen[1].url == server.url + "/again" and seen[1].method == "POST"


# -- 429 and Retry-After ----------------------------------------------------------------------


def test_429_retry_after_seconds_is_waited_then_retried(server: FaultServer, clock: FakeClock,
                                                        mode: str) -> None:
    server.script(Reply(status=429, body="slow down", headers={"Retry-After": "7"}), json_reply(OK))
    client = client_with(clock, max_retries=3, backoff_initial=0.5)
    assert post(client, mode, server.url) == OK
    assert clock.sleeps == [7.0]
    assert len(server.requests) == 2


def test_429_retry_after_http_date_is_waited_then_retried(server: FaultServer, clock: FakeClock,
                                                          mode: str) -> None:
    when = formatdate(clock.time() + 12, usegmt=True)
    server.script(Reply(status=429, headers={"Retry-After": when}), json_reply(OK))
    client = client_with(clock, max_retries=3)
    assert post(client, mode, server.url) == OK
    assert clock.sleeps == [12.0]


def test_503_retry_after_is_honoured(server: FaultServer, clock: FakeClock) -> None:
    server.script(Reply(status=503, headers={"Retry-After": "3"}), json_reply(OK))
    client = client_with(clock, max_retries=3, backoff_initial=0.5)
    assert client.post_sync(server.url, {}) == OK
    assert clock.sleeps == [3.0]


def test_429_without_retry_after_backs_off(server: FaultServer, clock: FakeClock) -> None:
    server.script(Reply(status=429), Reply(status=429), json_reply(OK))
    client = client_with(clock, max_retries=3, backoff_initial=0.5, backoff_multiplier=2)
    assert client.post_sync(server.url, {}) == OK
    assert clock.sleeps == [0.5, 1.0]


def test_429_quota_raises_at_once_with_reset_time(server: FaultServer, clock: FakeClock, mode: str) -> None:
    server.script(Reply(status=429, body="daily quota used", headers={"Retry-After": "3600"}),
                  json_reply(OK))
    client = client_with(clock, max_retries=5)
    error = raises_connector_error(lambda: post(client, mode, server.url), ConnectorRateLimitError)
    assert isinstance(error, ConnectorRateLimitError)
    assert isinstance(error, ConnectorHTTPError) and error.status_code == 429
    assert error.quota_exhausted is True
    assert error.retry_after == 3600.0
    expected_reset = datetime.fromtimestamp(clock.time() + 3600, tz=UTC)
    assert error.resets_at == expected_reset
    message = str(error)
    assert "quota exhausted" in message
    assert expected_reset.strftime("%Y-%m-%d %H:%M:%S") in message
    assert "daily quota used" in message
    assert len(server.requests) == 1 and clock.sleeps == []


def test_429_quota_from_an_http_date(server: FaultServer, clock: FakeClock) -> None:
    reset = clock.time() + 86400
    server.script(Reply(status=429, headers={"Retry-After": formatdate(reset, usegmt=True)}))
    client = client_with(clock, max_retries=5)
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorRateLimitError)
    assert isinstance(error, ConnectorRateLimitError)
    assert error.quota_exhausted and error.resets_at == datetime.fromtimestamp(reset, tz=UTC)
    assert clock.sleeps == []


def test_max_burst_wait_is_the_burst_quota_boundary(server: FaultServer, clock: FakeClock) -> None:
    client = client_with(clock, max_retries=3, max_burst_wait=10.0)
    server.script(Reply(status=429, headers={"Retry-After": "10"}), json_reply(OK))
    assert client.post_sync(server.url, {}) == OK
    assert clock.sleeps == [10.0]
    server.script(Reply(status=429, headers={"Retry-After": "11"}), json_reply(OK))
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorRateLimitError)
    assert isinstance(error, ConnectorRateLimitError) and error.quota_exhausted
    assert clock.sleeps == [10.0]


def test_429_burst_that_never_ends_is_a_rate_limit_error(server: FaultServer, clock: FakeClock) -> None:
    server.set_default(lambda request: Reply(status=429, headers={"Retry-After": "1"}))
    client = client_with(clock, max_retries=2)
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorRateLimitError)
    assert isinstance(error, ConnectorRateLimitError)
    assert error.quota_exhausted is False
    assert clock.sleeps == [1.0, 1.0]
    assert len(server.requests) == 3


# -- the overall deadline ---------------------------------------------------------------------


def test_a_retry_that_would_pass_the_deadline_is_not_attempted(server: FaultServer, clock: FakeClock,
                                                               mode: str) -> None:
    server.set_default(lambda request: Reply(status=503))
    client = client_with(clock, timeout=10.0, max_retries=5, backoff_initial=4.0, backoff_multiplier=2.0)
    error = raises_connector_error(lambda: post(client, mode, server.url), ConnectorHTTPError)
    # waits would be 4, 8, ...: 4 fits in the 10 s budget, 4 + 8 does not.
    assert clock.sleeps == [4.0]
    assert len(server.requests) == 2
    assert "deadline" in str(error)


def test_explicit_deadline_overrides_the_timeout(server: FaultServer, clock: FakeClock) -> None:
    server.set_default(lambda request: Reply(status=503))
    client = client_with(clock, timeout=100.0, max_retries=10, backoff_initial=1.0, backoff_multiplier=1.0,
                         deadline=3.5)
    raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorHTTPError)
    assert client.deadline == 3.5
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_retry_after_past_the_deadline_gives_up(server: FaultServer, clock: FakeClock) -> None:
    server.script(Reply(status=429, headers={"Retry-After": "30"}), json_reply(OK))
    client = client_with(clock, timeout=20.0, max_retries=3)
    error = raises_connector_error(lambda: client.post_sync(server.url, {}), ConnectorRateLimitError)
    assert "deadline" in str(error)
    assert clock.sleeps == [] and len(server.requests) == 1


def test_hanging_server_costs_one_attempt_not_timeout_times_attempts(server: FaultServer, mode: str) -> None:
    server.set_default(lambda request: Reply(hang=True))
    client = new_client(timeout=0.3, max_retries=3)
    raises_connector_error(lambda: post(client, mode, server.url), ConnectorTimeoutError)
    assert client.last_stats is not None and client.last_stats.attempts == 1
    assert len(server.requests) == 1


def test_trickling_server_is_cut_off_by_the_deadline(server: FaultServer, mode: str) -> None:
    # Each byte arrives well within the read timeout; only the overall deadline can stop this.
    server.set_default(lambda request: Reply(body=b'{"a": "' + b"x" * 400 + b'"}', trickle=0.02))
    client = new_client(timeout=0.3, max_retries=3)
    raises_connector_error(lambda: post(client, mode, server.url), ConnectorTimeoutError)
    assert client.last_stats is not None and client.last_stats.attempts == 1


# -- every failure is a ConnectorError --------------------------------------------------------


@pytest.mark.parametrize(("reply", "expected", "fragment"), [
    (Reply(body=b""), ConnectorResponseError, "Empty response body"),
    (Reply(body=b"   \n"), ConnectorResponseError, "Empty response body"),
    (Reply(body=b"{not json", headers={"Content-Type": "application/json"}), ConnectorResponseError,
     "not valid JSON"),
    (Reply(body=b"<html><body>Login</body></html>", headers={"Content-Type": "text/html"}),
     ConnectorResponseError, "not valid JSON"),
    (json_reply([1, 2, 3]), ConnectorResponseError, "got a JSON array"),
    (json_reply("a string"), ConnectorResponseError, "got a JSON string"),
    (json_reply(42), ConnectorResponseError, "got a JSON number"),
    (json_reply(None), ConnectorResponseError, "got a JSON null"),
    (json_reply(True), ConnectorResponseError, "got a JSON boolean"),
    (Reply(body=b'{"ok": true, "pad": "' + b"x" * 100 + b'"}', truncate_to=30), ConnectorConnectionError,
     "dropped"),
    (Reply(reset_before=True), ConnectorConnectionError, "dropped"),
    (Reply(body=b'{"ok": true, "pad": "' + b"x" * 100 + b'"}', reset_after_bytes=5),
     ConnectorConnectionError, "dropped"),
    (Reply(status=307, headers={"Location": "/elsewhere"}, body=b""), ConnectorHTTPError,
     "redirected to /elsewhere"),
    (Reply(body=b"not gzip at all", headers={"Content-Encoding": "gzip"}), ConnectorResponseError,
     "could not be decoded"),
    (Reply(body=b'{"a": "\xff"}'), ConnectorResponseError, "not valid JSON"),
    (Reply(body=b"[" * 100_000), ConnectorResponseError, "not valid JSON"),
    (Reply(body=b'{"a": 1} trailing'), ConnectorResponseError, "not valid JSON"),
], ids=["empty", "blank", "invalid-json", "html", "array", "string", "number", "null", "bool", "truncated",
        "reset", "reset-mid-body", "redirect", "bad-gzip", "bad-utf8", "deep-nesting", "trailing-data"])
def test_bad_responses_map_to_connector_errors(server: FaultServer, mode: str, reply: Reply,
                                               expected: type[ConnectorError], fragment: str) -> None:
    server.script(reply)
    client = new_client(timeout=5, max_retries=0)
    error = raises_connector_error(lambda: post(client, mode, server.url + "/run"), expected)
    assert fragment in str(error)
    assert server.url in str(error)


def test_response_errors_carry_url_and_status(server: FaultServer) -> None:
    server.script(Reply(body=b"nope"))
    error = raises_connector_error(lambda: new_client(timeout=5).post_sync(server.url + "/x", {}),
                                   ConnectorResponseError)
    assert isinstance(error, ConnectorResponseError)
    assert (error.url, error.status_code) == (server.url + "/x", 200)


def test_json_array_is_accepted_where_any_json_is_expected(server: FaultServer) -> None:
    server.script(json_reply([1, 2]))
    assert new_client(timeout=5).request("GET", server.url, expect="json") == [1, 2]


def test_connection_refused_is_a_connection_error(closed_port_url: str, mode: str) -> None:
    client = new_client(timeout=5, max_retries=0)
    error = raises_connector_error(lambda: post(client, mode, closed_port_url), ConnectorConnectionError)
    assert "Could not connect" in str(error)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "not a url", "http://", "127.0.0.1:8080/run",
                                 "http://[::1"])
def test_invalid_urls_are_request_errors(url: str, mode: str) -> None:
    client = new_client(timeout=5, max_retries=3)
    raises_connector_error(lambda: post(client, mode, url), ConnectorRequestError)


@pytest.mark.parametrize("payload", [
    {"x": float("nan")}, {"x": float("inf")}, {"x": object()}, {"x": {1, 2}}, {"x": b"bytes"},
    {"x": "\ud800 lone surrogate"},
], ids=["nan", "inf", "object", "set", "bytes", "surrogate"])
def test_unencodable_payloads_are_request_errors(server: FaultServer, mode: str, payload: Any) -> None:
    client = new_client(timeout=5, max_retries=3)
    error = raises_connector_error(lambda: post(client, mode, server.url, payload), ConnectorRequestError)
    assert "payload" in str(error)
    assert server.requests == []


def test_circular_payload_is_a_request_error(server: FaultServer) -> None:
    payload: dict[str, Any] = {}
    payload["self"] = payload
    raises_connector_error(lambda: new_client(timeout=5).post_sync(server.url, payload),
                           ConnectorRequestError)


@pytest.mark.parametrize("headers", [{"x-api-key": "kéy€"}, {"x-api-key": "a\nb"}, {"bad name": "v"}],
                         ids=["non-ascii", "newline", "bad-name"])
def test_unsendable_headers_are_request_errors(server: FaultServer, mode: str,
                                               headers: dict[str, str]) -> None:
    client = new_client(timeout=5, max_retries=3)
    raises_connector_error(lambda: post(client, mode, server.url, {}, headers), ConnectorRequestError)
    assert server.requests == []


def test_tls_failure_is_a_tls_error_and_not_retried(clock: FakeClock, mode: str) -> None:
    # A plain-HTTP listener answering the TLS hello with HTTP: the handshake fails for real.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/run"
        client = client_with(clock, max_retries=3)
        error = raises_connector_error(lambda: post(client, mode, url), ConnectorTLSError)
        assert isinstance(error, ConnectorConnectionError)  # a TLS error is a kind of connection error
        assert "TLS" in str(error) and "https" in str(error)
        assert len(accepted) == 1 and clock.sleeps == []
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)


# -- ConnectorHTTPError -----------------------------------------------------------------------


def test_http_error_message_format(server: FaultServer, mode: str) -> None:
    server.script(json_reply({"detail": "Flow identifier no-such-flow not found"}, status=404))
    url = server.url + "/api/v1/run/no-such-flow"
    error = raises_connector_error(lambda: post(new_client(timeout=5), mode, url), ConnectorHTTPError)
    assert isinstance(error, ConnectorHTTPError)
    assert error.url == url
    assert error.status_code == 404
    assert str(error) == (f"HTTP 404 error from '{url}': "
                          '{"detail": "Flow identifier no-such-flow not found"}')


def test_http_error_body_is_truncated_to_500_characters(server: FaultServer) -> None:
    body = "é" * 300 + "x" * 700
    server.script(Reply(status=400, body=body))
    error = raises_connector_error(lambda: new_client(timeout=5).post_sync(server.url, {}),
                                   ConnectorHTTPError)
    assert str(error) == f"HTTP 400 error from '{server.url}': " + "é" * 300 + "x" * 200


def test_http_error_constructed_directly() -> None:
    error = ConnectorHTTPError("http://u/run", 502, "bad gateway")
    assert isinstance(error, ConnectorError)
    assert (error.url, error.status_code) == ("http://u/run", 502)
    assert str(error) == "HTTP 502 error from 'http://u/run': bad gateway"
