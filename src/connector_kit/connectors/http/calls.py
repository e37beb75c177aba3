"""One call's bookkeeping: what it cost, whether it may be re-sent, and its first attempt.

- :class:`CallStats`: attempts, statuses, waits and outcome of one call (``last_stats``,
  ``observers`` of :class:`~.client.HttpClient`).
- :func:`not_resent`: calls made inside start paid work and are never re-sent once they may
  have reached the server.
- :func:`first_then` / :func:`afirst_then`: the first attempt runs before any tenacity object
  exists; only a retryable first verdict starts tenacity (see ``client.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..exceptions import ConnectorError, ConnectorTransportError
from .retry import Verdict


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


_RUN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("connector_kit_run_call",
                                                                 default=False)


@contextlib.contextmanager
def not_resent() -> Iterator[None]:
    """Calls made inside start paid work (an agent run): never re-sent once they may have
    reached the server. Connect errors and 429/503 (nothing was processed) are still retried.

    A context variable rather than a parameter, so ``post``/``post_sync`` keep their
    documented signature and a client given with ``use_http_client()`` (or supplied through
    ``_get_http_client()``) is still used.
    """
    token = _RUN_CALL.set(True)
    try:
        yield
    finally:
        _RUN_CALL.reset(token)


def in_run_call() -> bool:
    """True inside :func:`not_resent`."""
    return _RUN_CALL.get()


#: Statuses that say the server did not start the work: safe to retry even a non-idempotent run.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
#: Timeouts met before the request could leave (connect, pool): nothing reached the server.
UNSENT = (httpx.ConnectTimeout, httpx.PoolTimeout)


def with_headers(error: ConnectorError, headers: httpx.Headers | None) -> ConnectorError:
    """Keep the response headers that arrived before the body failed (LangGraph's run location)."""
    if headers is not None and isinstance(error, ConnectorTransportError):
        error.response_headers = dict(headers)
    return error


# The first attempt runs before any tenacity object exists: most calls succeed (or fail for
# good) at once, and building Retrying plus its strategies per call cost ~10% of a call's
# CPU at hundreds in flight. Only a retryable first verdict starts tenacity, which is handed
# that verdict as its attempt 1 (its hooks, stop and wait then see exactly what they would
# have seen had tenacity run the first attempt itself).
def first_then(first: Verdict, attempt: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """``attempt``, except that its first call returns ``first`` (already judged)."""
    pending = [first]

    def run(*args: Any) -> Verdict:
        return pending.pop() if pending else attempt(*args)

    return run


def afirst_then(first: Verdict, attempt: Callable[..., Awaitable[Verdict]]
                ) -> Callable[..., Awaitable[Verdict]]:
    """Async :func:`first_then`."""
    pending = [first]

    async def run(*args: Any) -> Verdict:
        return pending.pop() if pending else await attempt(*args)

    return run
