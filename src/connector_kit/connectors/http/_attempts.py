"""One attempt of a call: send the request, read the body within its bound, map any failure.

An attempt returns ``(status, headers, body)`` or raises a ConnectorError (deadline, size
limit, a mapped transport failure) carrying the headers that arrived before it broke; the
caller (``client.py``) judges the answer and decides about another attempt. The body is read
as a stream and counted as it decodes, so reading stops at ``max_response_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpcore
import httpx

from ..exceptions import ConnectorError
from . import _pools
from ._errors import HTTPCORE_ERRORS, as_httpx, too_large_error
from ._http11_messages import Reply, ResponseTooLarge, request_head
from .calls import with_headers
from .deadline import Deadline
from .http11 import direct_pool

if TYPE_CHECKING:
    from .client import HttpClient

Answer = tuple[int, httpx.Headers, bytes]
_HTTPX_LOG = logging.getLogger("httpx")
#: What httpx and the socket layer may raise for a request that did not complete.
TRANSPORT_ERRORS = (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, ssl.SSLError, OSError)


def attempt_sync(client: HttpClient, method: str, url: str, content: bytes | None,
                 headers: Mapping[str, str] | None, deadline: Deadline) -> Answer:
    arrived: httpx.Headers | None = None
    try:
        http = client._sync_client()
        remaining = deadline.remaining()  # after any client set-up cost
        if remaining <= 0:
            raise client._deadline_error(url, sent=False, budget=deadline.budget)
        request = direct_request(http, method, url, content, headers,
                                 min(client.timeout, remaining))
        transport, built = _pools.TRANSPORTS[http]
        assert isinstance(transport, httpx.BaseTransport)
        response = _received(method, request, transport.handle_request(request))
        arrived = response.headers
        try:
            body = _BoundedBody(client, response, url)
            for chunk in response.iter_raw() if _raw(built, response) else response.iter_bytes():
                body.add(chunk)
            return response.status_code, response.headers, body.joined()
        finally:
            response.close()
    except ConnectorError as exc:  # the deadline or the size limit, met while reading
        raise with_headers(exc, arrived) from None
    except TRANSPORT_ERRORS as exc:
        raise with_headers(client._map_transport_error(exc, url, deadline), arrived) from None


async def attempt_async(client: HttpClient, method: str, url: str, content: bytes | None,
                        headers: Mapping[str, str] | None, deadline: Deadline) -> Answer:
    shard = client._loop_clients()
    if shard.guard is None:
        await shard.start_guard(client._forgetter(asyncio.get_running_loop()))
    index = shard.pick(client._new_async_client)
    arrived: httpx.Headers | None = None
    try:
        http = shard.clients[index]
        remaining = deadline.remaining()  # after any client set-up cost
        if remaining <= 0:
            raise client._deadline_error(url, sent=False, budget=deadline.budget)
        transport, built = _pools.TRANSPORTS[http]
        assert isinstance(transport, httpx.AsyncBaseTransport)
        pool = direct_pool(transport) if built and method != "HEAD" else None
        if pool is not None:
            reply = await pool.open(*_message(http, method, url, content, headers),
                                    min(client.timeout, remaining))
            try:
                arrived = httpx.Headers(reply.headers)
                if _HTTPX_LOG.isEnabledFor(logging.INFO):
                    _log(method, _url(url), reply.http_version.decode(), reply.status,
                         reply.reason.decode("latin-1"))
                return reply.status, arrived, await _read(client, reply, arrived, url)
            except BaseException:  # cancelled, or anything else: the connection is not reused
                await reply.aclose()
                raise
        # Over the kit's own pool every wait -- a pool slot, the connect and DNS, each socket
        # operation -- is already bounded by the deadline; any other transport gets one timer.
        async with contextlib.nullcontext() if built else asyncio.timeout(remaining):
            request = direct_request(http, method, url, content, headers,
                                     min(client.timeout, remaining))
            response = _received(method, request, await transport.handle_async_request(request))
            arrived = response.headers
            try:
                body = _BoundedBody(client, response, url)
                pieces = response.aiter_raw() if _raw(built, response) else response.aiter_bytes()
                async for chunk in pieces:
                    body.add(chunk)
            finally:
                await response.aclose()
        return response.status_code, response.headers, body.joined()
    except ConnectorError as exc:
        raise with_headers(exc, arrived) from None
    except TimeoutError:
        raise with_headers(client._deadline_error(url, budget=deadline.budget), arrived) from None
    except TRANSPORT_ERRORS as exc:
        raise with_headers(client._map_transport_error(exc, url, deadline), arrived) from None
    except HTTPCORE_ERRORS as exc:  # from a call sent to the pool directly
        raise with_headers(client._map_transport_error(as_httpx(exc), url, deadline),
                           arrived) from None
    finally:
        shard.release(index)


async def _read(client: HttpClient, reply: Reply, headers: httpx.Headers, url: str) -> bytes:
    """A direct call's body, within ``max_response_bytes`` (decoded, when it is encoded)."""
    limit = client.max_response_bytes
    if reply.encoded:  # httpx decodes it, as for every other call
        response = httpx.Response(reply.status, headers=headers, stream=reply)
        body = _BoundedBody(client, response, url)
        try:
            async for chunk in response.aiter_bytes():
                body.add(chunk)
        finally:
            await response.aclose()
        return body.joined()
    length = reply.length
    try:
        if length is not None and length > limit:
            raise ResponseTooLarge(limit)
        return await reply.read(limit)
    except ResponseTooLarge:
        await reply.aclose()
        raise too_large_error(client.safe_url(url), limit, reply.status) from None


def _message(http: httpx.AsyncClient, method: str, url: str, content: bytes | None,
             headers: Mapping[str, str] | None) -> tuple[httpcore.Origin, bytes]:
    """Where a direct call goes and the bytes it sends: the head :func:`direct_request`'s
    request would have (the same headers, in the same order), then the body."""
    known = _HEADS.get(http)
    if known is None:
        known = _HEADS[http] = {}
    key = (method, url, content is not None, tuple(headers.items()) if headers else ())
    prepared = known.get(key)
    if prepared is None:
        parsed = _url(url)
        merged = _merged(http, method, parsed, content, headers)
        # As the request direct_request builds goes out: with the Content-Length httpx adds
        # (unless given), the body chunked when the headers say so (as ``Http11Pool`` sends it).
        sized = bool(content) and "content-length" not in merged
        chunked = "chunked" in merged.get("transfer-encoding", "").lower()
        # The request line and headers, checked once, without the empty line that ends them.
        head = request_head(method.encode("ascii"), parsed.raw_path, merged.raw)[:-2]
        scheme = parsed.raw_scheme
        origin = httpcore.Origin(scheme, parsed.raw_host,
                                 parsed.port or (443 if scheme == b"https" else 80))
        if len(known) >= 64:  # calls whose URL changes each time: keep the cache small
            known.clear()
        prepared = known[key] = (origin, head, sized, chunked)
    origin, head, sized, chunked = prepared
    body = content or b""
    if sized:
        head += b"Content-Length: %d\r\n" % len(body)
    if chunked:
        body = (b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    return origin, b"%b\r\n%b" % (head, body)


def _log(method: str, url: httpx.URL, version: str, status: int, reason: str) -> None:
    """The line httpx's ``client.send`` logs for each response."""
    _HTTPX_LOG.info('HTTP Request: %s %s "%s %d %s"', method, url, version, status, reason)


#: Per client, its default headers merged with a call's and the ones httpx adds first (keyed
#: by: has a body, gets ``Content-Length: 0``, the URL's host and port, the call's headers).
_MERGED: weakref.WeakKeyDictionary[
    httpx.Client | httpx.AsyncClient,
    dict[tuple[bool, bool, bytes, tuple[tuple[str, str], ...]], httpx.Headers]] = (
    weakref.WeakKeyDictionary())


#: Per client, a direct call's origin and checked head (keyed by method, URL, has a body, the
#: call's headers), and whether its body gets a Content-Length and is sent chunked.
_HEADS: weakref.WeakKeyDictionary[
    httpx.AsyncClient,
    dict[tuple[str, str, bool, tuple[tuple[str, str], ...]],
         tuple[httpcore.Origin, bytes, bool, bool]]] = (
    weakref.WeakKeyDictionary())


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)  # immutable, so one parse per URL string serves every call


def _raw(built: bool, response: httpx.Response) -> bool:
    # Nothing to decode: read the raw pieces, without a decoder and a chunker per call. Only
    # for the client's own transports: a given one may hand back a response already read.
    return built and "content-encoding" not in response.headers


def _received(method: str, request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """What ``client.send`` does to a transport's response that the kit relies on."""
    response.request = request
    if _HTTPX_LOG.isEnabledFor(logging.INFO):
        _log(method, request.url, response.http_version, response.status_code,
             response.reason_phrase)
    return response


class _BoundedBody:
    """A body collected up to the client's limit (refused at once when its length says so)."""

    __slots__ = ("_chunks", "_client", "_limit", "_size", "_status", "_url")

    def __init__(self, client: HttpClient, response: httpx.Response, url: str) -> None:
        self._client, self._url, self._status = client, url, response.status_code
        self._limit = check_length(client, response, url)
        self._chunks: list[bytes] = []
        self._size = 0

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise too_large_error(self._client.safe_url(self._url), self._limit, self._status)
        self._chunks.append(chunk)

    def joined(self) -> bytes:
        return b"".join(self._chunks)


def direct_request(http: httpx.Client | httpx.AsyncClient, method: str, url: str, content: bytes | None,
                   headers: Mapping[str, str] | None, timeout: float) -> httpx.Request:
    """The request ``http.build_request`` would build, sent to the transport directly.

    A plain call needs none of what ``Client.send`` / ``AsyncClient.send`` add around the transport (auth
    flows, redirects -- httpx follows none by default --, cookie jars, event hooks), and at
    hundreds in flight that wrapping, with the URL parsed anew each time, was ~40% of the
    client's CPU (``docs/architecture.md``, "Async CPU per row"). The client's own default
    headers are kept, merged as httpx merges them, with the ``Host`` and ``Content-Length``
    httpx adds: the request is made with ``stream=`` (httpx's documented way to give every
    header oneself), as building it from ``content=`` re-parsed and re-merged every header for
    each call (~15 us; ~4 us this way). ``tests/test_http11_pool.py`` checks it against
    ``build_request``.
    """
    parsed = _url(url)
    merged = _merged(http, method, parsed, content, headers)
    sent = httpx.Headers(merged)  # the cached set stays as it is
    if content and "content-length" not in merged:
        sent["Content-Length"] = str(len(content))
    request = httpx.Request(method, parsed, headers=sent, stream=httpx.ByteStream(content or b""),
                            extensions={"timeout": {"connect": timeout, "read": timeout,
                                                    "write": timeout, "pool": timeout}})
    request.read()  # as httpx does for a body given whole: ``request.content`` is then readable
    return request


def _merged(http: httpx.Client | httpx.AsyncClient, method: str, parsed: httpx.URL,
            content: bytes | None, headers: Mapping[str, str] | None) -> httpx.Headers:
    """The client's default headers merged with the call's, as httpx merges them, and the
    ``Host`` and ``Content-Length: 0`` httpx adds first (cached: do not change it)."""
    if not parsed.host:  # what httpx's client refuses before any transport sees the request
        raise httpx.UnsupportedProtocol("Request URL has no host (e.g. 'http://127.0.0.1:8000/').")
    known = _MERGED.get(http)
    if known is None:
        known = _MERGED[http] = {}
    zero = not content and method in ("POST", "PUT", "PATCH")  # httpx sends Content-Length: 0
    key = (content is not None, zero, parsed.netloc, tuple(headers.items()) if headers else ())
    merged = known.get(key)
    if merged is None:
        merged = httpx.Headers(http.headers)
        merged.update(with_json_type(headers, content))
        auto = []  # what httpx puts first, when the caller's headers do not have it
        if "host" not in merged:
            auto.append((b"Host", parsed.netloc))
        if zero and "content-length" not in merged and "transfer-encoding" not in merged:
            auto.append((b"Content-Length", b"0"))
        if auto:
            merged = httpx.Headers([*auto, *merged.raw])
        if len(known) >= 64:  # calls whose headers change each time: keep the cache small
            known.clear()
        known[key] = merged
    return merged


def check_length(client: HttpClient, response: httpx.Response, url: str) -> int:
    """The limit; refuse at once an unencoded body whose announced length passes it."""
    limit = client.max_response_bytes
    length = response.headers.get("content-length")
    if (length is not None and length.isdigit() and int(length) > limit
            and not response.headers.get("content-encoding")):
        raise too_large_error(client.safe_url(url), limit, response.status_code)
    return limit


def with_json_type(headers: Mapping[str, str] | None, content: bytes | None) -> dict[str, str]:
    merged = dict(headers or {})
    if content is not None and not any(k.lower() == "content-type" for k in merged):
        merged["Content-Type"] = "application/json"
    return merged
