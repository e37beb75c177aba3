"""The async HTTP/1.1 pool (``connectors/http/http11.py``) against a raw socket server.

Every answer here is written by hand, byte for byte (a hand-made fixture, not a recording), so
each framing and each broken answer the pool must handle is met exactly: keep-alive reuse,
chunked and connection-delimited bodies, 1xx answers, a head past the limit, a short body,
an idle connection the server closed, pool limits and the pool timeout.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import httpx
import pytest

from connector_kit.connectors.exceptions import ConnectorError
from connector_kit.connectors.http import HttpClient
from connector_kit.connectors.http.http11 import Http11Pool, install_http11_pool
from fixtures.raw_server import OK, RawServer


@pytest.fixture
def server(raw_server: RawServer) -> RawServer:
    return raw_server  # every test here talks to the raw server (conftest's is the fault server)


def _client(**kwargs: object) -> tuple[httpx.AsyncClient, httpx.AsyncHTTPTransport]:
    limits = kwargs.pop("limits", httpx.Limits(max_connections=4, max_keepalive_connections=4))
    assert isinstance(limits, httpx.Limits)
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    install_http11_pool(transport, True, limits)
    return httpx.AsyncClient(transport=transport, trust_env=False, **kwargs), transport  # type: ignore[arg-type]


def test_httpclient_async_calls_go_through_the_pool_and_reuse_one_connection(server: RawServer) -> None:
    client = HttpClient(timeout=5, max_retries=0)

    async def main() -> list[object]:
        return [await client.post(server.url + "/run", {"n": i}) for i in range(5)]

    try:
        assert asyncio.run(main()) == [{"ok": 1.0}] * 5
    finally:
        client.close()
    assert server.connections == 1
    assert len(server.requests) == 5
    assert server.requests[0].startswith(b"POST /run HTTP/1.1\r\n")
    assert b'{"n":0}' in server.requests[0] or b'{"n": 0}' in server.requests[0]


def test_the_installed_pool_is_the_transports() -> None:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    install_http11_pool(transport, True, httpx.Limits())
    assert isinstance(transport._pool, Http11Pool)


@pytest.mark.parametrize("answer, body", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
     b"hello world"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK,
     b'{"ok": 1.0}'),
    (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
])
def test_framings(server: RawServer, answer: bytes, body: bytes) -> None:
    server.default = answer

    async def main() -> list[bytes]:
        http, _ = _client()
        async with http:
            return [(await http.get(server.url + "/")).content for _ in range(2)]

    assert asyncio.run(main()) == [body, body]
    assert server.connections == 1  # each framing leaves the connection reusable


def test_a_body_delimited_by_the_end_of_the_connection_is_read_and_not_reused(server: RawServer) -> None:
    server.default = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it"
    server.close_after = True

    async def main() -> list[bytes]:
        http, _ = _client()
        async with http:
            return [(await http.get(server.url + "/")).content for _ in range(2)]

    assert asyncio.run(main()) == [b"all of it", b"all of it"]
    assert server.connections == 2


@pytest.mark.parametrize("answer, message", [
    (b"NOT HTTP AT ALL\r\n\r\n", "malformed response"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", "complete message body"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (101 * 1024) + b"\r\n\r\n", "larger than 100 KiB"),
    (None, "without sending a response"),
])
def test_broken_answers_are_httpx_errors_that_say_what_broke(server: RawServer, answer: bytes | None,
                                                             message: str) -> None:
    server.script.append(answer)
    server.close_after = True

    async def main() -> None:
        http, _ = _client()
        async with http:
            await http.get(server.url + "/")

    with pytest.raises(httpx.RemoteProtocolError, match=message):
        asyncio.run(main())


def test_a_broken_answer_through_httpclient_is_a_connector_error(server: RawServer) -> None:
    server.script.append(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort")
    server.close_after = True
    client = HttpClient(timeout=5, max_retries=0)
    try:
        with pytest.raises(ConnectorError):
            asyncio.run(client.post(server.url + "/run", {}))
    finally:
        client.close()


def test_an_idle_connection_the_server_closed_is_replaced_not_failed(server: RawServer) -> None:
    server.close_after = True  # answers, then closes the kept-alive connection

    async def main() -> list[int]:
        http, _ = _client()
        async with http:
            statuses = []
            for _ in range(3):
                statuses.append((await http.get(server.url + "/")).status_code)
                assert await asyncio.to_thread(server.closed.acquire, True, 5)
            return statuses

    assert asyncio.run(main()) == [200, 200, 200]
    assert server.connections == 3


def test_header_injection_is_refused_before_anything_is_sent(server: RawServer) -> None:
    async def main() -> None:
        http, _ = _client()
        async with http:
            await http.get(server.url + "/", headers={"X-Evil": "a\r\nInjected: yes"})

    with pytest.raises(httpx.LocalProtocolError, match="CR, LF or NUL"):
        asyncio.run(main())
    assert server.requests == []


def test_a_streamed_request_body_is_sent_chunked(server: RawServer) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"ab", b"", b"cde"):
            yield piece

    async def main() -> int:
        http, _ = _client()
        async with http:
            return (await http.post(server.url + "/", content=pieces())).status_code

    assert asyncio.run(main()) == 200
    assert server.requests[0].endswith(b"\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")


def test_head_requests_expect_no_body(server: RawServer) -> None:
    server.default = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    async def main() -> tuple[int, bytes]:
        http, _ = _client(timeout=2)
        async with http:
            response = await http.head(server.url + "/")
            return response.status_code, response.content

    assert asyncio.run(main()) == (200, b"")


def test_max_connections_holds_and_waiters_get_a_connection(server: RawServer) -> None:
    async def main() -> list[int]:
        http, _ = _client(limits=httpx.Limits(max_connections=2, max_keepalive_connections=2))
        async with http:
            answers = await asyncio.gather(*(http.get(server.url + "/") for _ in range(8)))
            return [answer.status_code for answer in answers]

    assert asyncio.run(main()) == [200] * 8
    assert server.connections <= 2


def test_a_full_pool_times_out_with_httpx_pool_timeout(server: RawServer) -> None:
    server.default = None  # never answers on its own: the first request holds the connection
    server.script.append(b"")  # the first request gets nothing, its connection stays busy

    async def main() -> None:
        http, _ = _client(limits=httpx.Limits(max_connections=1),
                          timeout=httpx.Timeout(5, pool=0.2))
        async with http:
            first = asyncio.create_task(http.get(server.url + "/"))
            assert await asyncio.to_thread(server.received.wait, 5)
            try:
                await http.get(server.url + "/")
            finally:
                first.cancel()

    with pytest.raises(httpx.PoolTimeout):
        asyncio.run(main())


def _head_lines(raw: bytes) -> list[bytes]:
    return [line.lower() for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]]


def test_direct_sends_keep_httpx_default_headers_and_merge_as_httpx_does(server: RawServer) -> None:
    client = HttpClient(timeout=5, max_retries=0)

    async def main() -> None:
        await client.post(server.url + "/a", {}, {"content-type": "application/json; v=1",
                                                   "Accept": "application/json"})
        await client.post(server.url + "/b", {}, {"X-Other": "2"})
        await client.post(server.url + "/a", {}, {"content-type": "application/json; v=1",
                                                   "Accept": "application/json"})

    try:
        asyncio.run(main())
    finally:
        client.close()
    first, second, third = (_head_lines(raw) for raw in server.requests)
    assert [line for line in first if line.startswith(b"content-type:")] == [
        b"content-type: application/json; v=1"]
    assert [line for line in first if line.startswith(b"accept:")] == [b"accept: application/json"]
    assert any(line.startswith(b"user-agent: python-httpx/") for line in first)
    assert any(line.startswith(b"host: 127.0.0.1:") for line in first)
    assert b"x-other: 2" in second and not any(line.startswith(b"x-other") for line in first)
    assert [line for line in second if line.startswith(b"content-type:")] == [
        b"content-type: application/json"]
    assert sorted(third) == sorted(first)


def test_a_finished_response_leaves_no_reference_cycle(server: RawServer) -> None:
    # At hundreds in flight a cycle per response (parser <-> callbacks) survived into the
    # oldest generation: all the garbage a run made. Reference counting must free it now.
    client = HttpClient(timeout=5, max_retries=0)

    async def main() -> None:
        for i in range(20):
            assert await client.post(server.url + "/run", {"n": i}) == {"ok": 1.0}

    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage to be seen
    try:
        asyncio.run(main())
        gc.collect()
        left = [type(obj).__name__ for obj in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        client.close()
    assert "_Parse" not in left and "HttpResponseParser" not in left


@pytest.mark.parametrize("method, url, content, headers", [
    ("POST", "http://127.0.0.1:8000/api/v1/run/f", b'{"q": 1}', {"x-api-key": "fake-key"}),
    ("POST", "http://127.0.0.1:8000/run", None, None),
    ("GET", "http://example.com/threads?limit=2", None, {"Accept": "text/event-stream"}),
    ("PUT", "https://example.com:8443/a", b"", {"Content-Type": "text/plain"}),
    ("POST", "http://example.com/a", b"12345", {"Host": "other.example", "Content-Length": "5"}),
    ("DELETE", "http://[::1]:9000/x", None, {"Transfer-Encoding": "chunked"}),
    ("PATCH", "http://example.com/x", b"", None),
    ("POST", "http://example.com/x", b"abc", {"Transfer-Encoding": "chunked"}),
    ("POST", "http://example.com/x", None, {"Host": "h.example"}),
])
def test_a_direct_request_is_the_request_httpx_would_build(
        method: str, url: str, content: bytes | None, headers: dict[str, str] | None) -> None:
    # httpx itself is the reference: same method, URL, headers (names, values, order), body.
    from connector_kit.connectors.http._attempts import direct_request, with_json_type

    http = httpx.Client(headers={"X-Client": "default"})
    try:
        built = http.build_request(method, url, content=content,
                                   headers=with_json_type(headers, content))
        direct = direct_request(http, method, url, content, headers, 5.0)
        again = direct_request(http, method, url, content, headers, 5.0)  # from the cache
    finally:
        http.close()
    for request in (direct, again):
        assert (request.method, request.url) == (built.method, built.url)
        assert request.headers.raw == built.headers.raw
        assert request.content == built.read()
