"""Every failure a connector can meet, as one tree rooted at :class:`ConnectorError`.

Callers catch ``ConnectorError`` and never see a raw httpx, json or pydantic-monty
exception. Each class says in one line what happened; each message says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


class ConnectorKitError(Exception):
    """Base of every exception raised by connector-kit."""


class ConnectorError(ConnectorKitError):
    """A connector could not do what was asked (config, transport, response or lookup)."""


class ConnectorConfigError(ConnectorError, ValueError):
    """A connector or block was configured with values it cannot work with."""


class ConnectorRequestError(ConnectorError, ValueError):
    """The request could not be built or encoded (e.g. a payload that is not JSON-serialisable)."""


class ConnectorTransportError(ConnectorError):
    """The request never produced a complete HTTP response.

    ``maybe_processed`` is False only when the request provably never reached the server (the
    connection could not be opened), so re-sending it cannot run the same work twice.
    ``response_headers`` holds the headers when they arrived before the body failed (LangGraph
    names its run there, so a dropped ``runs/wait`` can be joined instead of re-sent).
    """

    def __init__(self, message: str, *, url: str | None = None, maybe_processed: bool = True,
                 response_headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.maybe_processed = maybe_processed
        self.response_headers = response_headers


class ConnectorTimeoutError(ConnectorTransportError):
    """The server did not answer within the timeout or the call's overall deadline."""


class ConnectorConnectionError(ConnectorTransportError):
    """The connection could not be opened, or it dropped before the response was complete."""


class ConnectorTLSError(ConnectorConnectionError):
    """The TLS handshake or certificate verification failed."""


class ConnectorResourceError(ConnectorTransportError):
    """This process ran out of a local resource (file descriptors) before anything was sent."""


class ConnectorHTTPError(ConnectorError):
    """The server answered with an HTTP error status."""

    def __init__(self, url: str, status_code: int, message: str | None = None) -> None:
        self.url = url
        self.status_code = status_code
        self.body_excerpt = message
        super().__init__(f"HTTP {status_code} error from '{url}': {message}")


class ConnectorAuthError(ConnectorHTTPError):
    """The server refused the credentials (401 or 403): check the API key."""


class ConnectorRateLimitError(ConnectorHTTPError):
    """The server rate-limited the call (429) and waiting longer would not help."""

    def __init__(
        self,
        url: str,
        status_code: int,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        resets_at: datetime | None = None,
        quota_exhausted: bool = False,
    ) -> None:
        super().__init__(url, status_code, message)
        self.retry_after = retry_after
        self.resets_at = resets_at
        self.quota_exhausted = quota_exhausted


class ConnectorResponseError(ConnectorError):
    """The server answered, but the body is not what the connector needs."""

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class AgentRunError(ConnectorResponseError):
    """The agent framework reported that the run itself failed (e.g. LangGraph ``__error__``)."""

    def __init__(self, message: str, *, error_type: str | None = None, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.error_type = error_type


class ConnectorStreamError(ConnectorResponseError):
    """A streamed answer broke: a cut or oversized frame, bad JSON, an unknown event, no end."""


class AgentInterruptedError(ConnectorResponseError):
    """The run paused (LangGraph ``interrupt()`` or a static ``interrupt_before``/``_after``
    breakpoint); continue it with ``resume()``.

    ``thread_id`` is the thread holding the paused run, ``interrupts`` the payloads the graph
    asked with (``[{"value": ..., "id": ...}]``; empty at a static breakpoint), ``values`` the
    state at the pause, ``next_nodes`` the nodes that run on resume (known at a static
    breakpoint, from the thread's state; else empty).
    """

    def __init__(self, message: str, *, thread_id: str | None, interrupts: list[Any],
                 values: dict[str, Any] | None = None, url: str | None = None,
                 next_nodes: list[str] | None = None) -> None:
        super().__init__(message, url=url)
        self.thread_id = thread_id
        self.interrupts = interrupts
        self.values = values
        self.next_nodes = next_nodes or []


class CodeExecutionSetupError(ConnectorError):
    """The code sandbox could not be started or is not installed."""


class ExecutorError(ConnectorKitError):
    """An operation call named something the connector does not have, or bad parameters.

    Execution errors are kept apart from :class:`ConnectorError` (infrastructure failures):
    ``execute(entity, action, params=...)`` returns them in ``ExecutionResult.error`` (the
    exception itself in ``ExecutionResult.exception``) and never sends a request for them.
    """


class EntityNotFoundError(ExecutorError):
    """The connector has no operations for this entity; the message lists the entities it has."""


class ActionNotSupportedError(ExecutorError):
    """The entity exists but has no such action; the message lists its actions."""


class InvalidParameterError(ExecutorError, ValueError):
    """A parameter has the wrong type or value, or is unknown; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MissingParameterError(ExecutorError, ValueError):
    """A required parameter was not given; ``field`` names it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


__all__ = [
    "ActionNotSupportedError",
    "AgentInterruptedError",
    "AgentRunError",
    "CodeExecutionSetupError",
    "ConnectorAuthError",
    "ConnectorConfigError",
    "ConnectorConnectionError",
    "ConnectorError",
    "ConnectorHTTPError",
    "ConnectorKitError",
    "ConnectorRateLimitError",
    "ConnectorRequestError",
    "ConnectorResponseError",
    "ConnectorStreamError",
    "ConnectorTLSError",
    "ConnectorTimeoutError",
    "ConnectorTransportError",
    "EntityNotFoundError",
    "ExecutorError",
    "InvalidParameterError",
    "MissingParameterError",
]
