"""BaseAgentConnector: the agent-framework interface (build, send, parse, extract).

A connector describes its HTTP conversation once, as an *exchange*: a generator that
yields :class:`HttpCall` objects and receives each decoded response (or, thrown into it, the
ConnectorError the call ended in, so it can recover, e.g. by joining a run instead of
re-sending it). A sync driver and an async driver run the same exchange through the
connector's HttpClient's public methods (``post_sync``/``get_sync``, ``post``/``get``), so a
client given with :meth:`BaseAgentConnector.use_http_client` (or supplied by overriding
``_get_http_client()``, the spec's name) is the one used; ``send()`` is as fast as
plain sync httpx, ``asend()`` is truly async, and LangGraph's thread flow is written once.
A *stream exchange* makes its set-up calls the same way and ends with a :class:`StreamCall`,
which :meth:`BaseAgentConnector.stream` reads event by event. Connectors written against the
spec's ``_send_async`` override still work: ``send()`` then runs that coroutine.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Coroutine, Generator
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, PrivateAttr

from ..base import BaseConnector
from ..batch import run_blocking
from ..exceptions import ConnectorConfigError, ConnectorError
from ..executor import as_config
from ..health import HealthCheckResult
from ..http import DEFAULT_MAX_RESPONSE_BYTES, HttpClient, RetryPolicy
from ._frames import StreamEvent
from ._streams import AgentStream, AsyncAgentStream, StreamCall, StreamExchange
from .exchange import (
    Exchange,
    HttpCall,
    call_async,
    call_sync,
    check_messages,
    checked_result,
    checked_stream_call,
    unpack_request,
)

# ConnectorConfig extras that tune the retry policy, e.g. ConnectorConfig(url=..., deadline=30).
# (``max_response_bytes`` is another extra: the largest decoded response accepted.)
_POLICY_FIELDS = ("backoff_initial", "backoff_multiplier", "backoff_max", "jitter",
                  "retry_on_500", "max_burst_wait", "deadline")


class BaseAgentConnector(BaseConnector):
    """Base for agent-framework connectors (Langflow, LangGraph, your own)."""

    #: Path probed by :meth:`check`, relative to the server root (None: probe the URL itself).
    health_path: ClassVar[str | None] = None

    #: Re-send a run that may already have reached the server (a timeout, a reset, 502/504):
    #: off by default, because the run would happen twice (and be paid for twice).
    resend_on_failure: bool = Field(
        default=False,
        description="Re-send a run that may have reached the server (may pay for it twice).")

    _http_client: HttpClient | None = PrivateAttr(default=None)
    _http_client_given: bool = PrivateAttr(default=False)

    # -- what a framework connector implements -------------------------------------------
    @abstractmethod
    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """Build the framework-specific request payload."""

    @abstractmethod
    def parse_response(self, response: dict[str, Any]) -> dict[str, Any]:
        """Validate the framework's response; raise ConnectorError if it is unusable."""

    def _exchange(self, messages: list[dict[str, Any]], session_id: str) -> Exchange:
        """The HTTP conversation of one send: by default one POST to ``config.url``."""
        payload = self.build_request(messages, session_id)
        response = yield HttpCall("POST", self._require_url(), payload, self._build_headers(),
                                  idempotent=self.resend_on_failure)
        return self.parse_response(response)

    # -- sending -------------------------------------------------------------------------
    def send(
        self, messages: list[dict[str, Any]], session_id: str, async_mode: bool = False
    ) -> dict[str, Any] | Coroutine[Any, Any, dict[str, Any]]:
        """Send messages to the agent; with ``async_mode=True`` return a coroutine instead."""
        if async_mode:
            return self.asend(messages, session_id)
        messages = check_messages(messages)
        if type(self)._send_async is not BaseAgentConnector._send_async:
            # A connector that overrides _send_async (the spec's extension point) is run as is,
            # on a loop of its own whose async pool is closed when the call ends.
            async def run() -> dict[str, Any]:
                try:
                    with self._get_http_client().budget():
                        return await self._send_async(messages, session_id)
                finally:
                    await self._release_loop()

            return run_blocking(run)
        return self._drive_sync(self._exchange(messages, session_id))

    async def asend(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        """Async send: every HTTP call it makes shares one deadline (the client's budget)."""
        messages = check_messages(messages)
        with self._get_http_client().budget():
            return await self._send_async(messages, session_id)

    async def _send_async(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        return await self._drive_async(self._exchange(messages, session_id))

    def execute(self, request: Any, action: str | None = None, *,
                params: dict[str, Any] | None = None) -> Any:
        """BaseConnector interface: ``request`` holds ``messages`` and ``session_id``.

        ``execute(ExecutionConfig(...))`` or ``execute(entity, action, params=...)`` run a
        typed operation instead and return an ExecutionResult.
        """
        if (operation := as_config(request, action, params)) is not None:
            return self.run_operation(operation)
        messages, session_id = unpack_request(request)
        result = self.send(messages, session_id)
        assert isinstance(result, dict)
        return result

    async def aexecute(self, request: Any, action: str | None = None, *,
                       params: dict[str, Any] | None = None) -> Any:
        if (operation := as_config(request, action, params)) is not None:
            return await self.arun_operation(operation)
        messages, session_id = unpack_request(request)
        return await self.asend(messages, session_id)

    def _drive_sync(self, exchange: Exchange) -> dict[str, Any]:
        return checked_result(self._run_sync(exchange))

    async def _drive_async(self, exchange: Exchange) -> dict[str, Any]:
        return checked_result(await self._run_async(exchange))

    def _run_sync(self, exchange: Generator[HttpCall, Any, Any]) -> Any:
        client = self._get_http_client()
        try:
            with client.budget():  # one deadline for every step of the exchange
                call = next(exchange)
                while True:
                    try:
                        response = call_sync(client, call)
                    except ConnectorError as exc:
                        call = exchange.throw(exc)  # the exchange may recover, or it re-raises
                    else:
                        call = exchange.send(response)
        except StopIteration as done:
            return done.value

    async def _run_async(self, exchange: Generator[HttpCall, Any, Any]) -> Any:
        client = self._get_http_client()
        try:
            call = next(exchange)
            while True:
                try:
                    response = await call_async(client, call)
                except ConnectorError as exc:
                    call = exchange.throw(exc)
                else:
                    call = exchange.send(response)
        except StopIteration as done:
            return done.value

    # -- streaming -------------------------------------------------------------------------
    def stream(self, messages: list[dict[str, Any]] | str, session_id: str) -> AgentStream:
        """Run the agent and yield its events as they arrive (see :class:`AgentStream`).

        ``for event in connector.stream(...)``: each :class:`StreamEvent` has ``event`` and
        decoded ``data``; afterwards ``.response``, ``.text``, ``.tool_trace`` and
        ``.first_event_after`` (seconds) hold the outcome, as ``send()`` would have given it.
        Every broken stream ends in a ConnectorError subclass (``ConnectorStreamError`` for a
        malformed one, ``ConnectorTimeoutError`` when a gap between events passes the deadline).
        """
        checked = check_messages(messages)
        return AgentStream(self, self._stream_exchange(checked, session_id),
                           self._drive_stream_sync)

    def astream(self, messages: list[dict[str, Any]] | str, session_id: str) -> AsyncAgentStream:
        """Async :meth:`stream`: ``async for event in connector.astream(...)``."""
        return AsyncAgentStream(self, self._stream_exchange(check_messages(messages), session_id))

    def _stream_exchange(self, messages: list[dict[str, Any]], session_id: str) -> StreamExchange:
        """The set-up calls of a stream and the streamed call itself; override to stream."""
        raise ConnectorConfigError(f"{type(self).__name__} does not support streaming.")
        yield  # pragma: no cover - makes this a generator

    def _check_event(self, event: StreamEvent, call: StreamCall) -> None:
        """Raise a ConnectorError for an event that ends the stream badly (error, unknown)."""

    def _finish_stream(self, events: list[StreamEvent], call: StreamCall) -> dict[str, Any]:
        """Fold a complete stream into the response ``send()`` would return."""
        return {"events": [{"event": e.event, "data": e.data} for e in events]}

    def _stream_outcome(self, events: list[StreamEvent], call: StreamCall) -> Exchange:
        """The end of a stream as an exchange: the fold, plus any call it needs (override
        when the events alone cannot say how the run ended)."""
        return self._finish_stream(events, call)
        yield  # pragma: no cover - makes this a generator

    def _drive_stream_sync(self, exchange: StreamExchange) -> StreamCall:
        return checked_stream_call(self._run_sync(exchange))

    async def _drive_stream_async(self, exchange: StreamExchange) -> StreamCall:
        return checked_stream_call(await self._run_async(exchange))

    # -- response field extraction (class methods; total: they never raise) ------------------
    @classmethod
    def extract_text(cls, response: dict[str, Any]) -> str | None:
        """Extract the answer text from a framework response."""
        return None

    @classmethod
    def extract_session_id(cls, response: dict[str, Any]) -> str | None:
        """Extract the session id from a framework response."""
        return None

    @classmethod
    def extract_tool_trace(cls, response: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Extract the tool-call trace from a framework response."""
        return None

    # -- transport -----------------------------------------------------------------------
    def _build_headers(self) -> dict[str, str]:
        """Content-Type, plus ``Authorization: Bearer`` when an API key is configured."""
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    @property
    def http_client(self) -> HttpClient:
        """The HttpClient every request of this connector goes through.

        Built from the config on first use (timeout, retries, secrets, ``max_response_bytes``
        and the retry extras), unless one was given with :meth:`use_http_client`.
        """
        return self._get_http_client()

    def use_http_client(self, client: HttpClient) -> Self:
        """Send every request through ``client`` from now on; returns the connector.

        E.g. ``connector.use_http_client(HttpClient(transport=httpx.MockTransport(handler)))``
        in a test, or one client shared by several connectors. The client stays the caller's:
        the connector's ``close()`` leaves it open (``aclose()`` only releases the running
        loop's pools, which end with the loop anyway); close it yourself. Its timeout, retry
        policy and secrets are its own, not the connector config's.
        """
        if not isinstance(client, HttpClient):
            raise TypeError(f"use_http_client needs an HttpClient, got {type(client).__name__}")
        if self._http_client is not None and not self._http_client_given:
            self._http_client.close()
        self._http_client, self._http_client_given = client, True
        return self

    def _get_http_client(self) -> HttpClient:
        """The connector's HttpClient, created on first use and reused (pooled)."""
        # Read from pydantic's private-attribute dict: ``self._http_client`` goes through
        # ``BaseModel.__getattr__`` (~1.5 us), and every call asks twice.
        client: HttpClient | None = self.__pydantic_private__["_http_client"]  # type: ignore[index]
        if client is not None:
            return client
        if self._http_client is None:
            extras = self.config.model_extra or {}
            try:
                policy = RetryPolicy(
                    max_retries=self.config.max_retries,
                    **{name: extras[name] for name in _POLICY_FIELDS if name in extras},
                )
            except (TypeError, ValueError) as exc:
                raise ConnectorConfigError(f"Invalid retry settings in the connector config: {exc}") from None
            limit = extras.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
            if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
                raise ConnectorConfigError(
                    f"max_response_bytes must be a whole number of bytes > 0, got {limit!r}; e.g. "
                    "ConnectorConfig(url=..., max_response_bytes=256 * 1024 * 1024)."
                )
            self._http_client = HttpClient(
                timeout=self.config.timeout, policy=policy, secrets=self.config.secret_values(),
                max_response_bytes=limit,
            )
        return self._http_client

    def _require_url(self) -> str:
        url = self.config.url
        if not url or not isinstance(url, str):
            raise ConnectorConfigError(
                f"{type(self).__name__} needs a URL: set ConnectorConfig(url=...) (agent_url in "
                "an AgentBlock)."
            )
        if not url.startswith(("http://", "https://")):
            raise ConnectorConfigError(
                f"{type(self).__name__} URL must start with http:// or https://, got "
                f"{self._get_http_client().safe_url(url)!r}."
            )
        return url

    def _server_root(self) -> str:
        parts = urlsplit(self._require_url())
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    # -- health --------------------------------------------------------------------------
    def health_url(self) -> str:
        if self.health_path is None:
            return self._require_url()
        return self._server_root() + self.health_path

    def check(self) -> HealthCheckResult:
        """Probe the server once (no retries); report healthy/unhealthy, never raise."""
        started = time.perf_counter()
        checked: str | None = None
        try:
            url = self.health_url()
            client = self._get_http_client()
            checked = client.safe_url(url)
            client.request("GET", url, headers=self._build_headers(), expect="json", retry=False)
        except ConnectorError as exc:
            return HealthCheckResult(status="unhealthy", error=f"{type(exc).__name__}: {exc}",
                                     latency_ms=_ms_since(started), checked=checked,
                                     **self._checked_operation())
        return HealthCheckResult(status="healthy", latency_ms=_ms_since(started), checked=checked,
                                 **self._checked_operation())

    def _checked_operation(self) -> dict[str, str | None]:
        probe = self.operations.check if self.operations is not None else None
        return {"checked_entity": probe[0], "checked_action": probe[1]} if probe else {}

    async def acheck(self) -> HealthCheckResult:
        """Async :meth:`check`."""
        started = time.perf_counter()
        checked: str | None = None
        try:
            url = self.health_url()
            client = self._get_http_client()
            checked = client.safe_url(url)
            await client.arequest("GET", url, headers=self._build_headers(), expect="json",
                                  retry=False)
        except ConnectorError as exc:
            return HealthCheckResult(status="unhealthy", error=f"{type(exc).__name__}: {exc}",
                                     latency_ms=_ms_since(started), checked=checked,
                                     **self._checked_operation())
        return HealthCheckResult(status="healthy", latency_ms=_ms_since(started), checked=checked,
                                 **self._checked_operation())

    # -- lifecycle -----------------------------------------------------------------------
    async def _release_loop(self) -> None:
        if self._http_client is not None:
            await self._http_client.aclose_loop()

    def close(self) -> None:
        if self._http_client is not None and not self._http_client_given:
            self._http_client.close()
            self._http_client = None

    async def aclose(self) -> None:
        if self._http_client is None:
            return
        if self._http_client_given:
            await self._http_client.aclose_loop()
            return
        await self._http_client.aclose()
        self._http_client = None


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
