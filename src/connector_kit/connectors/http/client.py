"""HttpClient: pooled HTTP transport with tenacity retries, one deadline per call, bounded answers.

One ``httpx.Client`` (sync) and per event loop a few ``httpx.AsyncClient`` shards (see
``_pools.py``), created lazily and reused, so a call costs a pooled request and not a TLS/TCP
set-up plus client construction. ``tenacity.Retrying`` / ``AsyncRetrying`` drive the
attempts with the strategies of ``retry.py``; the call's deadline (``deadline.py``) bounds
every socket operation of every attempt; a response is read as a stream and stops at
``max_response_bytes`` decoded bytes. Every failure leaves as a
:class:`~connector_kit.connectors.exceptions.ConnectorError` subclass whose message has had
the configured secrets removed.
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
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import tenacity

from .._secrets import install_log_redaction, mask_url, redact
from ..exceptions import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorHTTPError,
    ConnectorRateLimitError,
    ConnectorRequestError,
    ConnectorResponseError,
    ConnectorTimeoutError,
    ConnectorTransportError,
)
from . import _pools
from ._errors import deadline_error, map_transport_error, too_large_error
from .clock import Clock, SystemClock
from .deadline import AsyncDeadlineBackend, Deadline, DeadlineScope, install_async, install_sync
from .retry import (
    RetryPolicy,
    Verdict,
    describe_wait,
    is_retryable_error,
    parse_retry_after,
    resets_at,
    strategies,
)
from .streaming import AsyncHttpStream, HttpStream, aopen_stream, open_stream

logger = logging.getLogger("connector_kit.http")

Expect = Literal["object", "json"]
_EXCERPT = 500
#: URLs whose masked form is remembered per client (a connector calls a handful of URLs).
_SAFE_URLS_KEPT = 256
#: Default cap on a decoded response body: far above any agent answer, far below a bomb.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


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
    idempotent: bool = True  # False: not re-sent once the request may have reached the server

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)


class HttpClient:
    """HTTP transport with retries, for connectors.

    Args:
        timeout: per-request timeout in seconds; also the call's overall deadline unless
            ``policy.deadline`` says otherwise.
        max_retries: retries after the first attempt (ignored when ``policy`` is given).
        policy: the full retry policy (backoff, statuses, burst vs quota, deadline).
        clock: time source for waits and deadlines (inject a FakeClock in tests).
        secrets: values removed from every error message and log line.
        limits: connection limits of the sync client and of each async shard (of the
            transports this client builds; a given ``transport`` keeps its own).
        verify: TLS verification of the transports this client builds.
        transport: send through this httpx transport instead of building pooled ones -- an
            ``httpx.MockTransport`` in a test, an ``httpx.HTTPTransport(proxy=..., retries=...)``
            of your own, a recording transport. An ``httpx.BaseTransport`` serves the sync
            methods, an ``httpx.AsyncBaseTransport`` the async ones (``MockTransport`` is
            both); the retries, the deadline, the size bound and the error mapping stay this
            client's. The deadline bounds every socket operation when the transport is an
            ``httpx.HTTPTransport`` / ``AsyncHTTPTransport`` (it gets the deadline backend);
            any other async transport is bounded by one timer per attempt. Closing this
            client closes the transport too, as ``httpx.Client`` does.
        max_response_bytes: the most a response body may decode to; more is a
            ConnectorResponseError (reading stops there).
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if transport is not None and not isinstance(
                transport, (httpx.BaseTransport, httpx.AsyncBaseTransport)):
            raise TypeError("transport must be an httpx.BaseTransport or httpx.AsyncBaseTransport, "
                            f"got {type(transport).__name__}")
        if not (timeout > 0 and timeout != float("inf")):
            raise ValueError(f"timeout must be a finite number > 0, got {timeout!r}")
        if not (isinstance(max_response_bytes, int) and max_response_bytes > 0):
            raise ValueError(f"max_response_bytes must be an int > 0, got {max_response_bytes!r}")
        self.timeout = float(timeout)
        self.policy = policy or RetryPolicy(max_retries=max_retries)
        self.max_retries = self.policy.max_retries
        self.max_response_bytes = max_response_bytes
        self.clock: Clock = clock or SystemClock()
        self._secrets = tuple(s for s in secrets if s)
        self._safe_urls: dict[str, str] = {}
        if self._secrets:
            _CLIENTS_WITH_SECRETS.add(self)
        self._limits = limits or _pools.default_limits()
        # Building an SSL context costs ~20-100 ms (CA bundle parsing): share the default one,
        # built on first use, inside the first call's budget.
        self._verify_option = verify
        self.transport = transport
        self._sync: httpx.Client | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _pools.LoopClients] = (
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
    def _verify(self) -> bool | ssl.SSLContext:
        return _default_ssl_context() if self._verify_option is True else self._verify_option

    @property
    def deadline(self) -> float:
        return self.policy.deadline if self.policy.deadline is not None else self.timeout

    def budget(self) -> DeadlineScope:
        """``with client.budget():`` -- every request inside shares one deadline (the call's).

        A connector opens one around a whole exchange (LangGraph's thread + run, a stream),
        so all its HTTP calls together get :attr:`deadline` seconds, not each of them.
        """
        return DeadlineScope(self.clock, self.deadline)

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

    # -- one call: tenacity drives the attempts ---------------------------------------------
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
        content = self._encode(json)
        with self.budget() as deadline:
            stats = CallStats(method, self.safe_url(url))
            stats.idempotent = not _RUN_CALL.get() if idempotent is None else idempotent
            started = self.clock.monotonic()
            args = (stats, method, url, content, headers, expect, deadline)
            verdict = self._try_sync(*args)
            if verdict.error is not None and verdict.retryable:
                retrying = tenacity.Retrying(sleep=self.clock.sleep,
                                             **self._strategies(deadline, stats, retry))
                verdict = retrying(_first_then(verdict, self._try_sync), *args)
            return self._finish(stats, started, verdict)

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
        content = self._encode(json)
        with self.budget() as deadline:
            stats = CallStats(method, self.safe_url(url))
            stats.idempotent = not _RUN_CALL.get() if idempotent is None else idempotent
            started = self.clock.monotonic()
            args = (stats, method, url, content, headers, expect, deadline)
            verdict = await self._try_async(*args)
            if verdict.error is not None and verdict.retryable:
                retrying = tenacity.AsyncRetrying(sleep=self.clock.asleep,
                                                  **self._strategies(deadline, stats, retry))
                verdict = await retrying(_afirst_then(verdict, self._try_async), *args)
            return self._finish(stats, started, verdict)

    def send_once(self, method: str, url: str, *, json: Any = None,
                  headers: Mapping[str, str] | None = None) -> tuple[int, httpx.Headers, bytes]:
        """One attempt, never retried (a stream POST must not start a second run): the status,
        headers and body (bounded by ``max_response_bytes``), inside the call's budget."""
        content = self._encode(json)
        with self.budget() as deadline:
            return self._attempt_sync(method, url, content, headers, deadline)

    async def asend_once(self, method: str, url: str, *, json: Any = None,
                         headers: Mapping[str, str] | None = None) -> tuple[int, httpx.Headers, bytes]:
        """Async :meth:`send_once`."""
        content = self._encode(json)
        with self.budget() as deadline:
            return await self._attempt_async(method, url, content, headers, deadline)

    def _strategies(self, deadline: Deadline, stats: CallStats, retry: bool) -> dict[str, Any]:
        def on_retryable(verdict: Verdict) -> None:
            stats.errors.append(type(verdict.error).__name__)

        def on_sleep(verdict: Verdict, wait: float) -> None:
            stats.waits.append(wait)
            logger.info("retrying %s %s in %.3f s after %s", stats.method, stats.url, wait,
                        type(verdict.error).__name__)

        return strategies(self.policy, deadline, retry=retry, on_retryable=on_retryable,
                          on_sleep=on_sleep)

    def _try_sync(self, stats: CallStats, method: str, url: str, content: bytes | None,
                  headers: Mapping[str, str] | None, expect: Expect, deadline: Deadline) -> Verdict:
        try:
            outcome = self._attempt_sync(method, url, content, headers, deadline)
        except ConnectorError as exc:  # a mapped transport failure
            return self._judge_failure(stats, exc)
        return self._judge_answer(stats, url, expect, *outcome)

    async def _try_async(self, stats: CallStats, method: str, url: str, content: bytes | None,
                         headers: Mapping[str, str] | None, expect: Expect, deadline: Deadline
                         ) -> Verdict:
        try:
            outcome = await self._attempt_async(method, url, content, headers, deadline)
        except ConnectorError as exc:
            return self._judge_failure(stats, exc)
        return self._judge_answer(stats, url, expect, *outcome)

    def _judge_failure(self, stats: CallStats, error: ConnectorError) -> Verdict:
        stats.attempts += 1
        stats.statuses.append(None)
        retryable = is_retryable_error(error)
        if not stats.idempotent and isinstance(error, ConnectorTransportError) and (
                error.maybe_processed):
            retryable = False  # re-sending could run the same work twice
        return Verdict(error=error, retryable=retryable)

    def _judge_answer(self, stats: CallStats, url: str, expect: Expect, status: int,
                      headers: httpx.Headers, body: bytes) -> Verdict:
        stats.attempts += 1
        stats.statuses.append(status)
        verdict = self._judge(url, status, headers, body, expect)
        if not stats.idempotent and status not in NOT_PROCESSED_STATUSES:
            verdict.retryable = False
        return verdict

    # -- one attempt ------------------------------------------------------------------------
    def _attempt_sync(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        deadline: Deadline,
    ) -> tuple[int, httpx.Headers, bytes]:
        arrived: httpx.Headers | None = None
        try:
            client = self._sync_client()
            remaining = deadline.remaining()  # after any client set-up cost
            if remaining <= 0:
                raise self._deadline_error(url, sent=False, budget=deadline.budget)
            request = client.build_request(method, url, content=content,
                                           headers=_with_json_type(headers, content),
                                           timeout=min(self.timeout, remaining))
            response = client.send(request, stream=True)
            arrived = response.headers
            try:
                limit = self._check_length(response, url)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise too_large_error(self.safe_url(url), limit, response.status_code)
                    chunks.append(chunk)
                return response.status_code, response.headers, b"".join(chunks)
            finally:
                response.close()
        except ConnectorError as exc:  # the deadline or the size limit, met while reading
            raise _with_headers(exc, arrived) from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, ssl.SSLError, OSError) as exc:
            raise _with_headers(self._map_transport_error(exc, url, deadline), arrived) from None

    async def _attempt_async(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        deadline: Deadline,
    ) -> tuple[int, httpx.Headers, bytes]:
        shard = self._loop_clients()
        if shard.guard is None:
            await shard.start_guard(self._forgetter(asyncio.get_running_loop()))
        index = shard.pick(self._new_async_client)
        arrived: httpx.Headers | None = None
        try:
            client = shard.clients[index]
            remaining = deadline.remaining()  # after any client set-up cost
            if remaining <= 0:
                raise self._deadline_error(url, sent=False, budget=deadline.budget)
            # The deadline backend bounds each socket operation; this also bounds the waits
            # between them (a pool slot, DNS) with one timer.
            async with asyncio.timeout(remaining):
                request = client.build_request(
                    method, url, content=content, headers=_with_json_type(headers, content),
                    timeout=min(self.timeout, remaining),
                )
                response = await client.send(request, stream=True)
                arrived = response.headers
                try:
                    limit = self._check_length(response, url)
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise too_large_error(self.safe_url(url), limit, response.status_code)
                        chunks.append(chunk)
                finally:
                    await response.aclose()
            return response.status_code, response.headers, b"".join(chunks)
        except ConnectorError as exc:
            raise _with_headers(exc, arrived) from None
        except TimeoutError:
            raise _with_headers(self._deadline_error(url, budget=deadline.budget), arrived) from None
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, ssl.SSLError, OSError) as exc:
            raise _with_headers(self._map_transport_error(exc, url, deadline), arrived) from None
        finally:
            shard.release(index)

    def _check_length(self, response: httpx.Response, url: str) -> int:
        """The limit; refuse at once an unencoded body whose announced length passes it."""
        limit = self.max_response_bytes
        length = response.headers.get("content-length")
        if (length is not None and length.isdigit() and int(length) > limit
                and not response.headers.get("content-encoding")):
            raise too_large_error(self.safe_url(url), limit, response.status_code)
        return limit

    # -- decisions --------------------------------------------------------------------------
    def _judge(
        self, url: str, status: int, headers: httpx.Headers, body: bytes, expect: Expect
    ) -> Verdict:
        safe = self.safe_url(url)
        if 300 <= status < 400:
            location = self.safe_url(headers.get("location", "")) or "(no Location header)"
            return Verdict(error=ConnectorHTTPError(
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
                return Verdict(error=ConnectorAuthError(
                    safe, status,
                    f"{excerpt} -- the server refused the credentials: check that the API key "
                    "is set and valid for this endpoint.",
                ))
            error = ConnectorHTTPError(safe, status, excerpt)
            if self.policy.is_retryable_status(status):
                return Verdict(error=error, retryable=True, wait=self.policy.server_wait(retry_after))
            return Verdict(error=error)
        try:
            return Verdict(value=self._decode(safe, status, body, expect))
        except ConnectorResponseError as exc:
            return Verdict(error=exc)

    def _rate_limited(self, safe_url: str, excerpt: str, retry_after: float | None) -> Verdict:
        now = self.clock.time()
        if retry_after is not None and self.policy.is_quota(retry_after):
            when = resets_at(retry_after, now)
            return Verdict(error=ConnectorRateLimitError(
                safe_url, 429,
                f"rate-limit quota exhausted: the server asks to wait {describe_wait(retry_after)} "
                f"(until {when:%Y-%m-%d %H:%M:%S} UTC). Retrying sooner will not help: wait until "
                f"then or raise the quota. Server said: {excerpt}",
                retry_after=retry_after, resets_at=when, quota_exhausted=True,
            ))
        return Verdict(
            error=ConnectorRateLimitError(
                safe_url, 429,
                f"rate limited (burst limit) and still limited after the retries allowed; "
                f"lower the concurrency or raise max_retries. Server said: {excerpt}",
                retry_after=retry_after,
            ),
            retryable=True,
            wait=retry_after,
        )

    def _finish(self, stats: CallStats, started: float, verdict: Verdict) -> Any:
        stats.elapsed = self.clock.monotonic() - started
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
        # Memoised: every call records its URL, and masking (URL parsing, every encoded form
        # of every secret) cost more than the rest of the call's own bookkeeping.
        safe = self._safe_urls.get(url)
        if safe is None:
            if len(self._safe_urls) >= _SAFE_URLS_KEPT:
                self._safe_urls.clear()
            safe = self._safe_urls[url] = mask_url(url, self._secrets)
        return safe

    def _deadline_error(self, url: str, *, sent: bool = True, budget: float | None = None
                        ) -> ConnectorTimeoutError:
        return deadline_error(self.safe_url(url), self.deadline if budget is None else budget,
                              sent=sent)

    def _map_transport_error(self, exc: BaseException, url: str, deadline: Deadline | None = None
                             ) -> ConnectorError:
        safe = self.safe_url(url)
        if (deadline is not None and isinstance(exc, httpx.TimeoutException)
                and deadline.remaining() < 0.005):
            # the call's budget ran out, not a phase's
            return deadline_error(safe, deadline.budget, sent=not isinstance(exc, _UNSENT))
        detail = redact(str(exc) or type(exc).__name__, self._secrets)
        return map_transport_error(exc, safe, detail, self.timeout)

    def _sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    transport = self._sync_transport()
                    self._sync = httpx.Client(transport=transport, timeout=self.timeout,
                                              trust_env=False)
                client = self._sync
        return client

    def _sync_transport(self) -> httpx.BaseTransport:
        given = self.transport
        if given is None:
            built = httpx.HTTPTransport(verify=self._verify, limits=self._limits, trust_env=False)
            install_sync(built)
            return built
        if not isinstance(given, httpx.BaseTransport):
            raise ConnectorConfigError(
                f"This HttpClient was given an async-only transport ({type(given).__name__}): "
                "use its async methods (post, arequest, astream), or give it a transport that "
                "is an httpx.BaseTransport too."
            )
        if isinstance(given, httpx.HTTPTransport):
            install_sync(given)
        return given

    def _async_transport(self) -> httpx.AsyncBaseTransport | None:
        """The given transport for the async methods (None: build pooled shards)."""
        given = self.transport
        if given is not None and not isinstance(given, httpx.AsyncBaseTransport):
            raise ConnectorConfigError(
                f"This HttpClient was given a sync-only transport ({type(given).__name__}): "
                "use its sync methods (post_sync, request, stream), or give it a transport that "
                "is an httpx.AsyncBaseTransport too."
            )
        return given

    def _loop_clients(self) -> _pools.LoopClients:
        # An AsyncClient's pool belongs to the loop it first ran on: keep them per loop.
        loop = asyncio.get_running_loop()
        clients = self._async.get(loop)
        if clients is None:
            for old, entry in list(self._async.items()):  # loops closed without shutting down
                if old.is_closed():
                    entry.abandon()
                    self._async.pop(old, None)
            # A given transport is one client's: no shards over it.
            max_shards = 1 if self._async_transport() is not None else _pools.MAX_SHARDS
            clients = self._async[loop] = _pools.LoopClients(max_shards=max_shards)
        return clients

    def _forgetter(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        owner = weakref.ref(self)

        def forget() -> None:
            client = owner()
            if client is not None:
                client._async.pop(loop, None)

        return forget

    def _async_client(self) -> httpx.AsyncClient:
        """The AsyncClient the next call on this loop would use."""
        clients = self._loop_clients()
        index = clients.pick(self._new_async_client)
        clients.release(index)
        return clients.clients[index]

    def _new_async_client(self) -> httpx.AsyncClient:
        transport = self._async_transport()
        backend: AsyncDeadlineBackend | None = None
        if transport is None:
            built = httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits,
                                             trust_env=False)
            backend, transport = install_async(built), built
        elif isinstance(transport, httpx.AsyncHTTPTransport):
            backend = install_async(transport)
        client = httpx.AsyncClient(transport=transport, timeout=self.timeout, trust_env=False)
        if backend is not None:
            _pools.BACKENDS[client] = backend
        return client

    def connects(self) -> int:
        """TCP connections the async pools of the running loop have opened (for benchmarks)."""
        clients = self._async.get(asyncio.get_running_loop())
        return clients.connects if clients is not None else 0

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close every pool: safe anywhere (inside a running loop too) and twice.

        Inside the loop that uses a pool, that pool is closed on the loop's next turn
        (``await aclose()`` there to have it closed on return).
        """
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        entries = list(self._async.items())
        self._async.clear()
        _pools.close_everywhere(entries)

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


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


# The first attempt runs before any tenacity object exists: most calls succeed (or fail for
# good) at once, and building Retrying plus its strategies per call cost ~10% of a call's
# CPU at hundreds in flight. Only a retryable first verdict starts tenacity, which is handed
# that verdict as its attempt 1 (its hooks, stop and wait then see exactly what they would
# have seen had tenacity run the first attempt itself).
def _first_then(first: Verdict, attempt: Callable[..., Verdict]) -> Callable[..., Verdict]:
    pending = [first]

    def run(*args: Any) -> Verdict:
        return pending.pop() if pending else attempt(*args)

    return run


def _afirst_then(first: Verdict, attempt: Callable[..., Awaitable[Verdict]]
                 ) -> Callable[..., Awaitable[Verdict]]:
    pending = [first]

    async def run(*args: Any) -> Verdict:
        return pending.pop() if pending else await attempt(*args)

    return run


def _with_json_type(headers: Mapping[str, str] | None, content: bytes | None) -> dict[str, str]:
    merged = dict(headers or {})
    if content is not None and not any(k.lower() == "content-type" for k in merged):
        merged["Content-Type"] = "application/json"
    return merged


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


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
