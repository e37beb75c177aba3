"""Plain async calls sent straight to the kit's pool (``Http11Pool.open``), skipping httpx's
transport: the same bytes on the wire, the same answers and errors as through httpx, and never
past a recorder patched into httpx's transport (vcrpy's way in).

Each case runs twice against the same raw server (``tests/fixtures/raw_server.py``, answers
written by hand): once as the kit sends it, once with ``AsyncHTTPTransport.handle_async_request``
wrapped as vcrpy wraps it, which sends every call through httpx. httpx is the reference.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
from typing import Any

import httpx
import pytest

from connector_kit.connectors.exceptions import ConnectorError, ConnectorResponseError
from connector_kit.connectors.http import HttpClient
from fixtures.raw_server import RawServer


class HttpxRecorder:
    """httpx's transport method wrapped as vcrpy wraps it (``functools.wraps``), once
    :meth:`wrap` is called: from then on calls go through httpx, and each is kept in ``seen``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[httpx.Request] = []
        self._monkeypatch = monkeypatch

    def wrap(self) -> None:
        real, seen = httpx.AsyncHTTPTransport.handle_async_request, self.seen

        @functools.wraps(real)
        async def recorder(transport: httpx.AsyncHTTPTransport,
                           request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await real(transport, request)

        self._monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", recorder)


@pytest.fixture
def through_httpx(monkeypatch: pytest.MonkeyPatch) -> HttpxRecorder:
    return HttpxRecorder(monkeypatch)


def _call(url: str, method: str = "POST", *, json: Any = None,
          headers: dict[str, str] | None = None, **options: Any) -> Any:
    client = HttpClient(timeout=5, max_retries=0, **options)
    try:
        return asyncio.run(client.arequest(method, url, json=json, headers=headers))
    finally:
        client.close()


def _both(raw_server: RawServer, through_httpx: HttpxRecorder, call: Any) -> tuple[Any, Any]:
    """``call()`` as the kit sends it, then through httpx's (wrapped) transport: both outcomes."""
    outcomes = []
    for wrapped in (False, True):
        if wrapped:
            through_httpx.wrap()
        try:
            outcomes.append(("ok", call()))
        except ConnectorError as exc:
            outcomes.append((type(exc).__name__, str(exc), getattr(exc, "response_headers", None)))
    assert len(through_httpx.seen) == 1, "the wrapped transport must see exactly the second call"
    return outcomes[0], outcomes[1]


@pytest.mark.parametrize("method, json, headers", [
    ("POST", {"input_value": "hi", "n": 1}, {"x-api-key": "fake-key-for-test"}),
    ("POST", None, None),
    ("GET", None, {"Accept": "text/event-stream"}),
    ("PUT", {"a": [1, 2]}, {"Content-Type": "application/json; charset=utf-8"}),
    ("POST", {"q": 1}, {"Content-Length": "7", "Host": "other.example"}),
    ("DELETE", None, {"X-Extra": "  padded  "}),
])
def test_a_direct_call_writes_the_bytes_httpx_writes(
        raw_server: RawServer, through_httpx: HttpxRecorder, method: str, json: Any,
        headers: dict[str, str] | None) -> None:
    url = raw_server.url + "/api/v1/run/flow?stream=false"
    direct, wrapped = _both(raw_server, through_httpx,
                            lambda: _call(url, method, json=json, headers=headers))
    assert direct == wrapped == ("ok", {"ok": 1.0})
    first, second = raw_server.requests
    assert first == second
    assert first.startswith(f"{method} /api/v1/run/flow?stream=false HTTP/1.1\r\n".encode())


@pytest.mark.parametrize("answer", [
    b"NOT HTTP AT ALL\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Trace: t1\r\nContent-Length: 50\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (101 * 1024) + b"\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{]",
    None,
])
def test_a_broken_answer_fails_as_it_fails_through_httpx(
        raw_server: RawServer, through_httpx: HttpxRecorder, answer: bytes | None) -> None:
    raw_server.script.extend([answer, answer])
    raw_server.close_after = True
    direct, wrapped = _both(raw_server, through_httpx, lambda: _call(raw_server.url + "/run"))
    assert direct[0] != "ok"
    assert direct == wrapped


def test_headers_that_arrived_before_the_body_broke_are_kept(
        raw_server: RawServer, through_httpx: HttpxRecorder) -> None:
    raw_server.script.append(b"HTTP/1.1 200 OK\r\nX-Trace: t1\r\nContent-Length: 50\r\n\r\nshort")
    raw_server.close_after = True
    with pytest.raises(ConnectorError) as caught:
        _call(raw_server.url + "/run")
    assert caught.value.response_headers is not None
    assert caught.value.response_headers["x-trace"] == "t1"
    assert through_httpx.seen == []


@pytest.mark.parametrize("encoding, encode", [("gzip", gzip.compress), ("identity", bytes)])
def test_an_encoded_body_is_decoded(raw_server: RawServer, through_httpx: HttpxRecorder, encoding: str,
                                    encode: Any) -> None:
    body = encode(b'{"answer": "decoded", "pad": "' + b"x" * 2000 + b'"}')
    raw_server.default = (b"HTTP/1.1 200 OK\r\nContent-Encoding: %b\r\nContent-Length: %d\r\n\r\n%b"
                          % (encoding.encode(), len(body), body))
    direct, wrapped = _both(raw_server, through_httpx, lambda: _call(raw_server.url + "/run"))
    assert direct == wrapped
    assert direct[1]["answer"] == "decoded"


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"{" + b" " * 38 + b"}",  # said at once
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"{" + b" " * 38 + b"}",  # found reading
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" + b" " * 20 + b"\r\n"
    b"14\r\n" + b" " * 20 + b"\r\n0\r\n\r\n",
])
def test_a_body_past_max_response_bytes_is_refused_and_its_connection_dropped(
        raw_server: RawServer, through_httpx: HttpxRecorder, answer: bytes) -> None:
    raw_server.script.extend([answer, answer])
    direct, wrapped = _both(raw_server, through_httpx,
                            lambda: _call(raw_server.url + "/run", max_response_bytes=30))
    assert direct == wrapped
    assert direct[0] == ConnectorResponseError.__name__ and "larger than 30 bytes" in direct[1]
    assert raw_server.connections == 2  # the refused body's connection was not reused


def test_a_recorder_patched_into_httpx_sees_every_call(raw_server: RawServer,
                                                       through_httpx: HttpxRecorder) -> None:
    through_httpx.wrap()
    for _ in range(3):
        assert _call(raw_server.url + "/run") == {"ok": 1.0}
    assert [request.url.path for request in through_httpx.seen] == ["/run"] * 3


def test_calls_cancelled_mid_body_give_their_connections_back(raw_server: RawServer) -> None:
    # Head sent, half the body, then silence: each call is cancelled while it reads. A
    # connection kept counted after that would leave the next call waiting for a slot (the
    # client's pools hold 16 connections per shard): the 20 cancelled calls must free theirs.
    raw_server.script.extend([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\""] * 20)
    client = HttpClient(timeout=5, max_retries=0)

    async def main() -> Any:
        for _ in range(20):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(client.post(raw_server.url + "/run", {}), 0.05)
        return await asyncio.wait_for(client.post(raw_server.url + "/run", {}), 3)

    try:
        assert asyncio.run(main()) == {"ok": 1.0}
    finally:
        client.close()
    assert raw_server.connections == 21  # none of the broken ones was reused
