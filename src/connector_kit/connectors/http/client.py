"""HttpClient: pooled HTTP transport with tenacity retries, one deadline per call, bounded answers.

One ``httpx.Client`` (sync) and per event loop a few ``httpx.AsyncClient`` shards (see
``_pools.py``; or one client of each kind over a given ``transport``, ``_transports.py``),
created lazily and reused, so a call costs a pooled request and not a TLS/TCP set-up plus
client construction. The first attempt runs at once; a retryable verdict hands the call to
``tenacity.Retrying`` / ``AsyncRetrying`` with the strategies of ``retry.py``; the call's
deadline (``deadline.py``) bounds every socket operation of every attempt; one attempt
(``_attempts.py``) reads the response as a stream and stops at ``max_response_bytes``
decoded bytes, and ``_answers.py`` judges what came back. Every failure leaves as a
:class:`~connector_kit.connectors.exceptions.ConnectorError` subclass whose message has had
the configured secrets removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
import tenacity

from .._secrets import install_log_redaction, mask_url, redact
from ..exceptions import ConnectorError, ConnectorTimeoutError, ConnectorTransportError
from . import _answers, _attempts, _pools, _transports
from ._answers import Expect
from ._attempts import Answer
from ._errors import deadline_error, map_transport_error
from .calls import (
    NOT_PROCESSED_STATUSES,
    UNSENT,
    CallStats,
    afirst_then,
    first_then,
    in_run_call,
    not_resent,
)
from .clock import Clock, SystemClock
from .deadline import Deadline, DeadlineScope
from .retry import RetryPolicy, Verdict, is_retryable_error, strategies
from .streaming import AsyncHttpStream, HttpStream, aopen_stream, open_stream

logger = logging.getLogger("connector_kit.http")

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
        self._verify_option = verify  # True: the shared default SSL context, built on first use
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
            stats.idempotent = not in_run_call() if idempotent is None else idempotent
            started = self.clock.monotonic()
            args = (stats, method, url, content, headers, expect, deadline)
            verdict = self._try_sync(*args)
            if verdict.error is not None and verdict.retryable:
                retrying = tenacity.Retrying(sleep=self.clock.sleep,
                                             **self._strategies(deadline, stats, retry))
                verdict = retrying(first_then(verdict, self._try_sync), *args)
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
            stats.idempotent = not in_run_call() if idempotent is None else idempotent
            started = self.clock.monotonic()
            args = (stats, method, url, content, headers, expect, deadline)
            verdict = await self._try_async(*args)
            if verdict.error is not None and verdict.retryable:
                retrying = tenacity.AsyncRetrying(sleep=self.clock.asleep,
                                                  **self._strategies(deadline, stats, retry))
                verdict = await retrying(afirst_then(verdict, self._try_async), *args)
            return self._finish(stats, started, verdict)

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

    # -- one attempt (``_attempts.py``) ------------------------------------------------------
    def _attempt_sync(self, method: str, url: str, content: bytes | None,
                      headers: Mapping[str, str] | None, deadline: Deadline) -> Answer:
        return _attempts.attempt_sync(self, method, url, content, headers, deadline)

    async def _attempt_async(self, method: str, url: str, content: bytes | None,
                             headers: Mapping[str, str] | None, deadline: Deadline) -> Answer:
        return await _attempts.attempt_async(self, method, url, content, headers, deadline)

    # -- decisions (``_answers.py``) -----------------------------------------------------------
    def _judge(self, url: str, status: int, headers: httpx.Headers, body: bytes,
               expect: Expect) -> Verdict:
        return _answers.judge(self, url, status, headers, body, expect)

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
    @staticmethod
    def _encode(payload: Any) -> bytes | None:
        return _answers.encode(payload)

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
            return deadline_error(safe, deadline.budget, sent=not isinstance(exc, UNSENT))
        detail = redact(str(exc) or type(exc).__name__, self._secrets)
        return map_transport_error(exc, safe, detail, self.timeout)

    def _sync_client(self) -> httpx.Client:
        client = self._sync
        if client is None:
            with self._lock:
                if self._sync is None:
                    self._sync = _transports.sync_client(self)
                client = self._sync
        return client

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
            given = _transports.given_async_transport(self)
            max_shards = 1 if given is not None else _pools.MAX_SHARDS
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
        return _transports.async_client(self)

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


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "NOT_PROCESSED_STATUSES",
    "CallStats",
    "Expect",
    "HttpClient",
    "not_resent",
]
