"""HttpClient: pooled HTTP transport with a retry policy, an overall deadline and clear errors.

One ``httpx.Client`` (sync) and one ``httpx.AsyncClient`` per event loop, created lazily and
reused, so a call costs a pooled request and not a TLS/TCP set-up plus client construction.
Every failure leaves as a :class:`~connector_kit.connectors.exceptions.ConnectorError`
subclass whose message has had the configured secrets removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import ssl
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from .._secrets import install_log_redaction, mask_url, redact
from ..exceptions import (
    ConnectorAuthError,
    ConnectorConnectionError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTLSError,
    ConnectorTransportError,
)
from .clock import Clock, SystemClock
from .retry import RetryPolicy, describe_wait, parse_retry_after, resets_at
from .streaming import AsyncHttpStream, HttpStream, aopen_stream, open_stream

logger = logging.getLogger("connector_kit.http")

Expect = Literal["object", "json"]
_EXCERPT = 500
# httpcore's async pool scans every connection per request, so its cost grows with the
# number in flight: beyond _PER_SHARD concurrent calls on one loop, spread them over up to
# _MAX_SHARDS clients (measured on loopback at 32 in flight: ~150 -> ~600 requests/s).
_PER_SHARD = 8
_UPLOAD_CHUNK = 64 * 1024
_MAX_SHARDS = 4


#: Clients holding secrets, so the log filters can mask their values too.
_CLIENTS_WITH_SECRETS: weakref.WeakSet[HttpClient] = weakref.WeakSet()


def _known_secrets() -> list[str]:
    return [secret for client in list(_CLIENTS_WITH_SECRETS) for secret in client._secrets]


# httpx logs every request line at INFO, httpcore raw headers at DEBUG: both are masked.
install_log_redaction(_known_secrets)


@dataclass
class CallStats:
    """What one call cost: attempts, the waits slept between them, and how it ended."""

    method: str
    url: str
    attempts: int = 0
    statuses: list[int | None] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    outcome: str = "pending"

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


@dataclass
class _Verdict:
    """The judgement of one attempt: a value, or an error and whether to try again."""

    value: Any = None
    error: ConnectorError | None = None
    retryable: bool = False
    wait: float | None = None  # what the server asked for (Retry-After)


class HttpClient:
    """HTTP transport with retries, for connectors.

    Args:
        timeout: per-request timeout in seconds; also the call's overall deadline unless
            ``policy.deadline`` says otherwise.
        max_retries: retries after the first attempt (ignored when ``policy`` is given).
        policy: the full retry policy (backoff, statuses, burst vs quota, deadline).
        clock: time source for waits and deadlines (inject a FakeClock in tests).
        secrets: values removed from every error message and log line.
    """

    def __init__(
        self,
        timeout: float = 120.0,
        max_retries: int = 3,
        *,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        secrets: Iterable[str | None] = (),
        limits: httpx.Limits | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        if not (timeout > 0 and timeout != float("inf")):
            raise ValueError(f"timeout must be a finite number > 0, got {timeout!r}")
        self.timeout = float(timeout)
        self.policy = policy or RetryPolicy(max_retries=max_retries)
        self.max_retries = self.policy.max_retries
        self.clock: Clock = clock or SystemClock()
        self._secrets = [s for s in secrets if s]
        if self._secrets:
            _CLIENTS_WITH_SECRETS.add(self)
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=32)
        # Building an SSL context costs ~20 ms (CA bundle parsing): share the default one.
        self._verify = _default_ssl_context() if verify is True else verify
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self.observers: list[Callable[[CallStats], None]] = []
        self.last_stats: CallStats | None = None
        self.calls = 0
        self.attempts = 0

    def __repr__(self) -> str:
        return f"HttpClient(timeout={self.timeout}, max_retries={self.max_retries})"

    @property
    def deadline(self) -> float:
        return self.policy.deadline if self.policy.deadline is not None else self.timeout

    # -- public API (spec) --------------------------------------------------------------
    async def post(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST JSON and return the JSON object the server answers with.

        Inside ``with not_resent():`` (a run that costs LLM calls) a failure after the request
        may have reached the server is not retried, only failures proving it was not processed.
        """
        result: dict[str, Any] = await self.arequest("POST", url, json=payload, headers=headers)
        return result

    def post_sync(
        self, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Synchronous :meth:`post`."""
        result: dict[str, Any] = self.request("POST", url, json=payload, headers=headers)
        return result

    async def get(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.arequest("GET", url, headers=headers)
        return result

    def get_sync(self, url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", url, headers=headers)
        return result

    def stream(
        self, method: str, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[HttpStream]:
        """Open a streamed response: ``with client.stream(...) as s: for line in s.lines()``.

        Only an open that did no work is retried; every gap between events is bounded by the
        call's deadline (see :mod:`.streaming`).
        """
        return open_stream(self, method, url, json=json, headers=headers)

    def astream(
        self, method: str, url: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> contextlib.AbstractAsyncContextManager[AsyncHttpStream]:
        """Async :meth:`stream`: ``async with client.astream(...) as s: async for line in s.lines()``."""
        return aopen_stream(self, method, url, json=json, headers=headers)

    # -- the retry loops ------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Expect = "object",
        retry: bool = True,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one call (with retries) synchronously; return the decoded JSON body.

        ``idempotent=False`` (default: False inside ``with not_resent():``, else True): a
        failure after the request may have reached the server is not retried.
        """
        content, call = self._begin(method, url, json, retry)
        call.idempotent = not _RUN_CALL.get() if idempotent is None else idempotent
        while True:
            try:
                outcome: _Attempt = self._attempt_sync(method, url, content, headers,
                                                       call.deadline_at)
            except ConnectorError as exc:  # a mapped transport failure
                outcome = exc
            wait = self._settle(call, url, expect, outcome)
            if wait is None:
                return self._finish(call)
            if wait > 0:
                self.clock.sleep(wait)

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Expect = "object",
        retry: bool = True,
        idempotent: bool | None = None,
    ) -> Any:
        """Async :meth:`request`."""
        content, call = self._begin(method, url, json, retry)
        call.idempotent = not _RUN_CALL.get() if idempotent is None else idempotent
        while True:
            try:
                outcome: _Attempt = await self._attempt_async(method, url, content, headers,
                                                              call.deadline_at)
            except ConnectorError as exc:
                outcome = exc
            wait = self._settle(call, url, expect, outcome)
            if wait is None:
                return self._finish(call)
            if wait > 0:
                await self.clock.asleep(wait)

    def _begin(self, method: str, url: str, payload: Any, retry: bool) -> tuple[bytes | None, _Call]:
        content = self._encode(payload)
        started = self.clock.monotonic()
        return content, _Call(CallStats(method, self.safe_url(url)), started,
                              started + self.deadline, retry)

    def _settle(self, call: _Call, url: str, expect: Expect, outcome: _Attempt) -> float | None:
        """Judge one attempt; return the wait before the next one, or None when it is final."""
        call.stats.attempts += 1
        if isinstance(outcome, ConnectorError):
            call.verdict = _Verdict(error=outcome, retryable=_is_retryable_transport(outcome))
            call.stats.statuses.append(None)
        else:
            status, headers, body = outcome
            call.verdict = self._judge(url, status, headers, body, expect)
            call.stats.statuses.append(status)
            if not call.idempotent and status not in NOT_PROCESSED_STATUSES:
                call.verdict.retryable = False
        if not call.idempotent and isinstance(outcome, ConnectorTransportError) and (
                outcome.maybe_processed):
            call.verdict.retryable = False  # re-sending could run the same work twice
        used = call.retry_number if call.retry else self.policy.max_retries
        wait = self._next_wait(call.verdict, used, call.deadline_at, call.stats)
        if wait is not None:
            call.retry_number += 1
        return wait

    # -- one attempt ------------------------------------------------------------------------
    def _attempt_sync(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        deadline_at: float,
    ) -> tuple[int, httpx.Headers, bytes]:
        arrived: httpx.Headers | None = None
        try:
            client = self._sync_client()
            remaining = deadline_at - self.clock.monotonic()  # after any client set-up cost
            if remaining <= 0:
                raise self._deadline_error(url, sent=False)
            timeout = min(self.timeout, remaining)
            merged = _with_json_type(headers, content)
            body: bytes | Iterator[bytes] | None = content
            timeouts: dict[str, Any] = {}
            if content is not None and len(content) > _UPLOAD_CHUNK:
                # httpcore fixes the write timeout per request: send large bodies piecewise
                # and check the deadline between pieces, so a slow reader cannot stretch it.
                body = self._deadline_chunks(content, deadline_at, url, timeouts)
                merged["Content-Length"] = str(len(content))
            request = client.build_request(method, url, content=body, headers=merged,
                                           timeout=timeout)
            timeouts.update(timeouts=request.extensions.get("timeout"))
            response = client.send(request, stream=True)
            arrived = response.headers
            try:
                chunks: list[bytes] = []
                read_timeouts = request.extensions.get("timeout")
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    left = deadline_at - self.clock.monotonic()
                    if left <= 0:
                        raise self._deadline_error(url)
                    # httpcore reads this dict before each socket read: shrinking it keeps a
                    # trickling server inside the overall deadline.
                    if isinstance(read_timeouts, dict):
                        read_timeouts["read"] = min(timeout, left)
                return response.status_code, response.headers, b"".join(chunks)
            finally:
                response.close()
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, ssl.SSLError,
                OSError) as exc:
            raise _with_headers(self._map_transport_error(exc, url), arrived) from None
        except ConnectorTransportError as exc:  # the deadline, met while reading the body
            raise _with_headers(exc, arrived) from None

    def _deadline_chunks(self, content: bytes, deadline_at: float, url: str,
                         holder: dict[str, Any]) -> Iterator[bytes]:
        for start in range(0, len(content), _UPLOAD_CHUNK):
            if deadline_at - self.clock.monotonic() <= 0:
                raise self._deadline_error(url)
            yield content[start:start + _UPLOAD_CHUNK]
        # The wait for the answer starts now: give it only what is left of the deadline.
        timeouts = holder.get("timeouts")
        left = deadline_at - self.clock.monotonic()
        if left <= 0:
            raise self._deadline_error(url)
        if isinstance(timeouts, dict):
            timeouts["read"] = min(timeouts.get("read") or left, left)

    async def _attempt_async(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        deadline_at: float,
    ) -> tuple[int, httpx.Headers, bytes]:
        shard = self._loop_clients()
        shard.inflight += 1
        arrived: httpx.Headers | None = None
        try:
            client = shard.pick(self._new_async_client)
            remaining = deadline_at - self.clock.monotonic()  # after any client set-up cost
            if remaining <= 0:
                raise self._deadline_error(url, sent=False)
            timeout = min(self.timeout, remaining)
            async with asyncio.timeout(remaining):
                request = client.build_request(
                    method, url, content=content, headers=_with_json_type(headers, content),
                    timeout=timeout,
                )
                response = await client.send(request, stream=True)
                arrived = response.headers
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
            return response.status_code, response.headers, body
        except TimeoutError:
            raise _with_headers(self._deadline_error(url), arrived) from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, ssl.SSLError,
                OSError) as exc:
            raise _with_headers(self._map_transport_error(exc, url), arrived) from None
        finally:
            shard.inflight -= 1

    # -- decisions --------------------------------------------------------------------------
    def _judge(
        self, url: str, status: int, headers: httpx.Headers, body: bytes, expect: Expect
    ) -> _Verdict:
        safe = self.safe_url(url)
        if 300 <= status < 400:
            location = self.safe_url(headers.get("location", "")) or "(no Location header)"
            return _Verdict(error=ConnectorHTTPError(
                safe, status,
                f"redirected to {location}; connectors do not follow redirects: set the URL to "
                "the final address.",
            ))
        if status >= 400:
            excerpt = self._excerpt(body)
            retry_after = parse_retry_after(headers.get("retry-after"), self.clock.time())
            if status == 429:
                return self._rate_limited(safe, excerpt, retry_after)
            if status in (401, 403):
                return _Verdict(error=ConnectorAuthError(
                    safe, status,
                    f"{excerpt} -- the server refused the credentials: check that the API key "
                    "is set and valid for this endpoint.",
                ))
            error = ConnectorHTTPError(safe, status, excerpt)
            if self.policy.is_retryable_status(status):
                wait = retry_after if retry_after is not None and retry_after <= (
                    self.policy.max_burst_wait) else None
                return _Verdict(error=error, retryable=True, wait=wait)
            return _Verdict(error=error)
        try:
            return _Verdict(value=self._decode(safe, status, body, expect))
        except ConnectorResponseError as exc:
            return _Verdict(error=exc)

    def _rate_limited(self, safe_url: str, excerpt: str, retry_after: float | None) -> _Verdict:
        now = self.clock.time()
        if retry_after is not None and retry_after > self.policy.max_burst_wait:
            when = resets_at(retry_after, now)
            return _Verdict(error=ConnectorRateLimitError(
                safe_url, 429,
                f"rate-limit quota exhausted: the server asks to wait {describe_wait(retry_after)} "
                f"(until {when:%Y-%m-%d %H:%M:%S} UTC). Retrying sooner will not help: wait until "
                f"then or raise the quota. Server said: {excerpt}",
                retry_after=retry_after, resets_at=when, quota_exhausted=True,
            ))
        return _Verdict(
            error=ConnectorRateLimitError(
                safe_url, 429,
                f"rate limited (burst limit) and still limited after the retries allowed; "
                f"lower the concurrency or raise max_retries. Server said: {excerpt}",
                retry_after=retry_after,
            ),
            retryable=True,
            wait=retry_after,
        )

    def _next_wait(
        self, verdict: _Verdict, retry_number: int, deadline_at: float, stats: CallStats
    ) -> float | None:
        """The wait before the next attempt, or None when this attempt's verdict is final."""
        if verdict.error is None or not verdict.retryable:
            return None
        stats.errors.append(type(verdict.error).__name__)
        if retry_number >= self.policy.max_retries:
            return None
        wait = verdict.wait if verdict.wait is not None else self.policy.backoff(retry_number + 1)
        if self.clock.monotonic() + wait >= deadline_at:
            verdict.error = _with_note(
                verdict.error,
                f" (gave up after {stats.attempts} attempt(s): the next retry would pass the "
                f"call's {self.deadline:g} s deadline)",
            )
            return None
        stats.waits.append(wait)
        logger.info("retrying %s %s in %.3f s after %s", stats.method, stats.url, wait,
                    type(verdict.error).__name__)
        return wait

    def _finish(self, call: _Call) -> Any:
        stats, verdict = call.stats, call.verdict
        stats.elapsed = self.clock.monotonic() - call.started
        stats.outcome = "ok" if verdict.error is None else type(verdict.error).__name__
        self.last_stats = stats
        self.calls += 1
        self.attempts += stats.attempts
        for observer in list(self.observers):
            observer(stats)
        if verdict.error is not None:
            raise verdict.error
        return verdict.value

    # -- helpers ----------------------------------------------------------------------------
    def _encode(self, payload: Any) -> bytes | None:
        if payload is None:
            return None
        try:
            return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConnectorRequestError(
                f"The request payload cannot be sent as JSON ({exc}). Pass only dicts, lists, "
                "strings, finite numbers, booleans and None."
            ) from None
        except UnicodeEncodeError:
            raise ConnectorRequestError(
                "The request payload holds text that is not valid Unicode (a lone surrogate?); "
                "clean the input text before sending it."
            ) from None

    def _decode(self, safe_url: str, status: int, body: bytes, expect: Expect) -> Any:
        if not body.strip():
            raise ConnectorResponseError(
                f"Empty response body from '{safe_url}' (HTTP {status}); expected JSON. Check that "
                "the URL points at the framework's API endpoint.",
                url=safe_url, status_code=status,
            )
        try:
            value = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ConnectorResponseError(
                f"Response from '{safe_url}' (HTTP {status}) is not valid JSON ({exc}); it starts "
                f"with {self._excerpt(body)[:120]!r}. Check that the URL points at the framework's "
                "API endpoint and not at a web page or proxy.",
                url=safe_url, status_code=status,
            ) from None
        if expect == "object" and not isinstance(value, dict):
            raise ConnectorResponseError(
                f"Expected a JSON object from '{safe_url}' (HTTP {status}), got a JSON "
                f"{_json_kind(value)}. Check that the URL points at the framework's run endpoint.",
                url=safe_url, status_code=status,
            )
        return value

    def _excerpt(self, body: bytes) -> str:
        return redact(body[:_EXCERPT * 4].decode("utf-8", errors="replace"), self._secrets)[:_EXCERPT]

    def safe_url(self, url: str) -> str:
        """``url`` for messages: userinfo, credential-named query values and secrets masked."""
        return mask_url(url, self._secrets)

    def _deadline_error(self, url: str, *, sent: bool = True) -> ConnectorTimeoutError:
        return ConnectorTimeoutError(
            f"No complete response from '{self.safe_url(url)}' within the {self.deadline:g} s "
            "budget of this call. Raise the connector's timeout if the agent is slow, or check "
            "that the server is up.",
            url=self.safe_url(url), maybe_processed=sent,
        )

    def _map_transport_error(self, exc: BaseException, url: str) -> ConnectorError:
        safe = self.safe_url(url)
        detail = redact(str(exc) or type(exc).__name__, self._secrets)
        if isinstance(exc, httpx.TimeoutException):
            return ConnectorTimeoutError(
                f"Timed out talking to '{safe}' ({type(exc).__name__}, {self.timeout:g} s timeout). "
                "Raise the timeout if the agent is slow, or check that the server is up.",
                url=safe, maybe_processed=not isinstance(exc, _UNSENT),
            )
        if _is_tls(exc):
            return ConnectorTLSError(
                f"TLS failed with '{safe}': {detail}. Check the certificate, or the http/https "
                "scheme of the URL.",
                url=safe,
            )
        if isinstance(exc, httpx.ConnectError):
            return ConnectorConnectionError(
                f"Could not connect to '{safe}': {detail}. Check that the server is running and "
                "the URL's host and port are right.",
                url=safe, maybe_processed=False,
            )
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)):
            return ConnectorRequestError(
                f"Cannot send a request to '{safe}': {detail}. Check the URL (scheme http:// or "
                "https://, host, port)."
            )
        if isinstance(exc, UnicodeEncodeError):
            return ConnectorRequestError(
                f"Cannot send a request to '{safe}': a header holds a character that HTTP headers "
                f"cannot carry ({detail}). Check the API key and headers for stray non-ASCII characters."
            )
        if isinstance(exc, httpx.DecodingError):
            return ConnectorResponseError(
                f"The response from '{safe}' could not be decoded: {detail}.", url=safe
            )
        if isinstance(exc, (httpx.TransportError, OSError)):
            return ConnectorConnectionError(
                f"The connection to '{safe}' dropped before the response was complete "
                f"({type(exc).__name__}: {detail}). The call is retried; if it keeps happening, "
                "check the server's logs.",
                url=safe,
            )
        return ConnectorError(f"HTTP request to '{safe}' failed: {type(exc).__name__}: {detail}")

    def _sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.Client(limits=self._limits, verify=self._verify,
                                              timeout=self.timeout, trust_env=False)
                client = self._sync
        return client

    def _loop_clients(self) -> _LoopClients:
        # An AsyncClient's pool belongs to the loop it first ran on: keep them per loop.
        loop = asyncio.get_running_loop()
        clients = self._async.get(loop)
        if clients is None:
            clients = self._async[loop] = _LoopClients()
        return clients

    def _async_client(self) -> httpx.AsyncClient:
        """The AsyncClient the next call on this loop would use."""
        return self._loop_clients().pick(self._new_async_client)

    def _new_async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(limits=self._limits, verify=self._verify, timeout=self.timeout,
                                 trust_env=False)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled clients. Async clients of loops that have ended are dropped."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        for loop, clients in list(self._async.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(clients.aclose())
        self._async.clear()

    async def aclose(self) -> None:
        await self.aclose_loop()
        self.close()

    async def aclose_loop(self) -> None:
        """Close only the running loop's async clients: call it before a loop of your own ends."""
        clients = self._async.pop(asyncio.get_running_loop(), None)
        if clients is not None:
            await clients.aclose()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_Attempt = tuple[int, httpx.Headers, bytes] | ConnectorError


@dataclass
class _Call:
    """The state of one call across its attempts."""

    stats: CallStats
    started: float
    deadline_at: float
    retry: bool
    retry_number: int = 0
    idempotent: bool = True
    verdict: _Verdict = field(default_factory=_Verdict)


@dataclass
class _LoopClients:
    """The AsyncClients of one event loop, sharded by the number of calls in flight."""

    clients: list[httpx.AsyncClient] = field(default_factory=list)
    inflight: int = 0
    turn: int = 0

    def pick(self, make: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
        """Round-robin over as many clients as the load needs (one for sequential calls)."""
        wanted = min(1 + max(0, self.inflight - 1) // _PER_SHARD, _MAX_SHARDS)
        while len(self.clients) < wanted:
            self.clients.append(make())
        self.turn = (self.turn + 1) % wanted
        return self.clients[self.turn]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.clients.clear()


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _with_json_type(headers: Mapping[str, str] | None, content: bytes | None) -> dict[str, str]:
    merged = dict(headers or {})
    if content is not None and not any(k.lower() == "content-type" for k in merged):
        merged["Content-Type"] = "application/json"
    return merged


_RUN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("connector_kit_run_call",
                                                                 default=False)


@contextlib.contextmanager
def not_resent() -> Iterator[None]:
    """Calls made inside start paid work (an agent run): never re-sent once they may have
    reached the server. Connect errors and 429/503 (nothing was processed) are still retried.

    A context variable rather than a parameter, so ``post``/``post_sync`` keep their
    documented signature and a client supplied through ``_get_http_client()`` is still used.
    """
    token = _RUN_CALL.set(True)
    try:
        yield
    finally:
        _RUN_CALL.reset(token)


#: Statuses that say the server did not start the work: safe to retry even a non-idempotent run.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
#: Timeouts met before the request could leave (connect, pool): nothing reached the server.
_UNSENT = (httpx.ConnectTimeout, httpx.PoolTimeout)


def _with_headers(error: ConnectorError, headers: httpx.Headers | None) -> ConnectorError:
    """Keep the response headers that arrived before the body failed (LangGraph's run location)."""
    if headers is not None and isinstance(error, ConnectorTransportError):
        error.response_headers = dict(headers)
    return error


def _is_retryable_transport(exc: ConnectorError) -> bool:
    return isinstance(exc, (ConnectorTimeoutError, ConnectorConnectionError)) and not isinstance(
        exc, ConnectorTLSError
    )


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__ or (
            "CERTIFICATE_VERIFY_FAILED" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _with_note(error: ConnectorError, note: str) -> ConnectorError:
    error.args = (f"{error.args[0]}{note}", *error.args[1:]) if error.args else (note,)
    return error


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


