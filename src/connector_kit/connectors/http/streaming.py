"""Streamed responses: open one, check its status, read it line by line inside a deadline.

:meth:`HttpClient.stream` / :meth:`HttpClient.astream` use this module. Opening a stream is
retried only when the request provably did not start any work (the connection could not be
opened, or the server answered 429/503 before the body): a stream that has begun is never
re-sent, because that would run the agent twice. Reading is bounded twice:

* in time -- the gap before the first event and between two events may not exceed the call's
  deadline (``mark()`` starts a new gap; the socket's read timeout shrinks to what is left), so
  a server that stalls, or trickles bytes that never complete an event, ends in
  :class:`ConnectorTimeoutError`;
* in size -- one line may hold at most ``max_line`` bytes, so a hostile server cannot make the
  client buffer without end.

A stream cut in the middle (no end of the chunked body, or a last line without its newline)
ends in :class:`ConnectorStreamError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..exceptions import (
    ConnectorError,
    ConnectorStreamError,
    ConnectorTimeoutError,
    ConnectorTransportError,
)

if TYPE_CHECKING:
    from .client import HttpClient

#: Default bound on one line of a streamed body (a LangGraph ``values`` event holds the state).
MAX_LINE = 16 * 1024 * 1024
_ERROR_BODY = 64 * 1024
_RETRY_STATUSES = frozenset({429, 503})


class _Gap:
    """The time budget of the current gap between events."""

    def __init__(self, client: HttpClient, url: str) -> None:
        self.client = client
        self.url = url
        self.budget = client.deadline
        self.since = client.clock.monotonic()

    def mark(self) -> None:
        self.since = self.client.clock.monotonic()

    def left(self) -> float:
        left = self.since + self.budget - self.client.clock.monotonic()
        if left <= 0:
            raise ConnectorTimeoutError(
                f"The stream from '{self.client.safe_url(self.url)}' sent no event for "
                f"{self.budget:g} s (the call's deadline bounds every gap between events). Raise "
                "the connector's timeout if the agent thinks for longer, or check the server.",
                url=self.client.safe_url(self.url),
            )
        return left


class _Lines:
    """Splits body chunks into lines (LF or CRLF), refusing lines longer than ``max_line``."""

    def __init__(self, safe_url: str, max_line: int) -> None:
        self.buffer = b""
        self.safe_url = safe_url
        self.max_line = max_line
        self.count = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        self.buffer += chunk
        longest_possible = len(self.buffer)
        *lines, self.buffer = self.buffer.split(b"\n")
        if longest_possible > self.max_line and (
                len(self.buffer) > self.max_line or any(len(x) > self.max_line for x in lines)):
            raise ConnectorStreamError(
                f"A line of the stream from '{self.safe_url}' is longer than {self.max_line} "
                "bytes; refusing to buffer it. Check that the URL is the framework's stream "
                "endpoint.", url=self.safe_url)
        self.count += len(lines)
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]

    def finish(self) -> None:
        if self.buffer.strip():
            raise ConnectorStreamError(
                f"The stream from '{self.safe_url}' ended in the middle of a line (after "
                f"{self.count} complete lines): the answer was cut off.", url=self.safe_url)


class _OpenStream:
    """What the sync and async streams share: the response's status and headers, the gap."""

    def __init__(self, client: HttpClient, url: str, response: httpx.Response, gap: _Gap,
                 max_line: int) -> None:
        self.client = client
        self.url = url
        self.status = response.status_code
        self.headers = response.headers
        self._response = response
        self._gap = gap
        self._max_line = max_line

    def mark(self) -> None:
        """An event is complete: the next gap starts now."""
        self._gap.mark()


class HttpStream(_OpenStream):
    """An open streamed response: ``status``, ``headers``, then :meth:`lines` (sync)."""

    def lines(self) -> Iterator[bytes]:
        splitter = _Lines(self.client.safe_url(self.url), self._max_line)
        timeouts = self._response.request.extensions.get("timeout")
        chunks = self._response.iter_bytes()
        while True:
            left = self._gap.left()
            if isinstance(timeouts, dict):  # httpcore reads this before each socket read
                timeouts["read"] = min(self.client.timeout, left)
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except (httpx.HTTPError, OSError) as exc:
                raise _broken(self.client, self.url, exc, splitter.count) from None
            yield from splitter.feed(chunk)
        splitter.finish()


class AsyncHttpStream(_OpenStream):
    """An open streamed response: ``status``, ``headers``, then :meth:`lines` (async)."""

    async def lines(self) -> AsyncIterator[bytes]:
        splitter = _Lines(self.client.safe_url(self.url), self._max_line)
        chunks = self._response.aiter_bytes()
        while True:
            left = self._gap.left()
            try:
                async with asyncio.timeout(left):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                break
            except TimeoutError:
                self._gap.left()  # raises the gap error when the budget is spent
                raise ConnectorTimeoutError(  # pragma: no cover - clock skew only
                    f"The stream from '{self.client.safe_url(self.url)}' stalled.",
                    url=self.client.safe_url(self.url)) from None
            except (httpx.HTTPError, OSError) as exc:
                raise _broken(self.client, self.url, exc, splitter.count) from None
            for line in splitter.feed(chunk):
                yield line
        splitter.finish()


def _broken(client: HttpClient, url: str, exc: BaseException, lines: int) -> ConnectorError:
    mapped = client._map_transport_error(exc, url)
    if isinstance(mapped, ConnectorTimeoutError):
        return mapped
    return ConnectorStreamError(
        f"The stream from '{client.safe_url(url)}' broke after {lines} lines "
        f"({type(exc).__name__}): the answer was cut off; the run may have finished on the "
        "server, so it is not re-sent.", url=client.safe_url(url))


def _request(client: HttpClient, http: httpx.Client | httpx.AsyncClient, method: str, url: str,
             payload: Any, headers: Mapping[str, str] | None, gap: _Gap) -> httpx.Request:
    content = client._encode(payload)
    merged = {"Accept": "text/event-stream, application/x-ndjson, application/json",
              **dict(headers or {})}
    if content is not None and not any(k.lower() == "content-type" for k in merged):
        merged["Content-Type"] = "application/json"
    return http.build_request(method, url, content=content, headers=merged,
                              timeout=min(client.timeout, gap.left()))


def _refusal(client: HttpClient, url: str, response: httpx.Response, body: bytes) -> ConnectorError:
    verdict = client._judge(url, response.status_code, response.headers, body, "json")
    return verdict.error or ConnectorStreamError(
        f"'{client.safe_url(url)}' answered HTTP {response.status_code} to a stream request.",
        url=client.safe_url(url), status_code=response.status_code)


def _retry_wait(client: HttpClient, error: ConnectorError, status: int | None, attempt: int,
                gap: _Gap) -> float | None:
    """The wait before re-opening, or None: only requests that did no work are re-sent."""
    unsent = (isinstance(error, ConnectorTransportError) and not error.maybe_processed) or (
        status in _RETRY_STATUSES)
    if not unsent or attempt > client.policy.max_retries:
        return None
    wait = client.policy.backoff(attempt)
    return wait if wait < gap.left() else None


@contextlib.contextmanager
def open_stream(client: HttpClient, method: str, url: str, *, json: Any = None,
                headers: Mapping[str, str] | None = None,
                max_line: int = MAX_LINE) -> Iterator[HttpStream]:
    """Open a streamed response (sync); raise the kit's error for a refusal or a failure."""
    gap = _Gap(client, url)
    attempt = 0
    while True:
        attempt += 1
        status: int | None = None
        try:
            http = client._sync_client()
            response = http.send(_request(client, http, method, url, json, headers, gap),
                                 stream=True)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, OSError) as exc:
            error = client._map_transport_error(exc, url)
        else:
            if response.status_code < 300:
                try:
                    yield HttpStream(client, url, response, gap, max_line)
                finally:
                    response.close()
                return
            status = response.status_code
            try:
                body = _bounded(response.iter_bytes())
            except (httpx.HTTPError, OSError):
                body = b""
            finally:
                response.close()
            error = _refusal(client, url, response, body)
        wait = _retry_wait(client, error, status, attempt, gap)
        if wait is None:
            raise error
        client.clock.sleep(wait)


@contextlib.asynccontextmanager
async def aopen_stream(client: HttpClient, method: str, url: str, *, json: Any = None,
                       headers: Mapping[str, str] | None = None,
                       max_line: int = MAX_LINE) -> AsyncIterator[AsyncHttpStream]:
    """Async :func:`open_stream`."""
    gap = _Gap(client, url)
    attempt = 0
    while True:
        attempt += 1
        status: int | None = None
        try:
            http = client._async_client()
            async with asyncio.timeout(gap.left()):
                response = await http.send(
                    _request(client, http, method, url, json, headers, gap), stream=True)
        except TimeoutError:
            error: ConnectorError = client._deadline_error(url)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, OSError) as exc:
            error = client._map_transport_error(exc, url)
        else:
            if response.status_code < 300:
                try:
                    yield AsyncHttpStream(client, url, response, gap, max_line)
                finally:
                    await response.aclose()
                return
            status = response.status_code
            try:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= _ERROR_BODY:
                        break
            except (httpx.HTTPError, OSError):
                pass
            finally:
                await response.aclose()
            error = _refusal(client, url, response, body)
        wait = _retry_wait(client, error, status, attempt, gap)
        if wait is None:
            raise error
        await client.clock.asleep(wait)


def _bounded(chunks: Iterator[bytes]) -> bytes:
    body = b""
    for chunk in chunks:
        body += chunk
        if len(body) >= _ERROR_BODY:
            break
    return body
