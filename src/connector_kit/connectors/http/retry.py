"""The retry policy and the tenacity strategies built from it: what is retried, how long to
wait, and when to give up.

Every retry decision lives here, as pure code (no I/O): :class:`RetryPolicy` is the public
configuration; :func:`strategies` turns it into tenacity's ``stop`` / ``wait`` / ``retry``
for one call, and ``HttpClient`` hands those to ``tenacity.Retrying`` (sync) or
``tenacity.AsyncRetrying`` (async) with the client's clock as the sleep, so tests and
replays never wait. Each attempt is judged into a :class:`Verdict` (a value, or an error
and whether it is worth retrying); tenacity retries on that verdict
(``retry_if_result``), never on an exception, so what escapes is always the final
verdict's own error.

- retried: transport failures (timeouts, dropped connections; not TLS, not running out of
  file descriptors), the policy's retry statuses, and 429 with a short Retry-After;
- the wait: the server's Retry-After when it gave one, else exponential backoff
  (``tenacity.wait_exponential``) with jitter removing up to ``jitter`` of each wait;
- give up: after ``max_retries + 1`` attempts, or when the next wait would pass the call's
  deadline (the error then says so). Burst vs quota for 429 follows the lesson of the
  data-connector guide: a short Retry-After is waited out; a long one raises at once.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import tenacity

from ..exceptions import (
    ConnectorConnectionError,
    ConnectorError,
    ConnectorTimeoutError,
    ConnectorTLSError,
)
from .deadline import Deadline

DEFAULT_RETRY_STATUSES = frozenset({502, 503, 504})
#: Longest Retry-After taken at face value (~10 years); beyond it dates stop being representable.
MAX_RETRY_AFTER = 10 * 365 * 86400.0


@dataclass(frozen=True)
class RetryPolicy:
    """How HttpClient retries.

    Attributes:
        max_retries: retries after the first attempt (attempts = max_retries + 1).
        backoff_initial: the first backoff wait, in seconds; each retry multiplies it.
        backoff_multiplier: growth factor of the exponential backoff.
        backoff_max: the longest single backoff wait.
        jitter: fraction of each backoff wait removed at random (0 = none), so many
            clients retrying together do not stampede.
        retry_statuses: HTTP statuses retried with backoff (502/503/504 by default).
        retry_on_500: also retry 500 (off by default: 500 is usually a bug, not a blip).
        max_burst_wait: a 429 whose Retry-After is at most this many seconds is a burst
            limit and is waited out; a longer one is a quota and raises at once.
        deadline: the most one call may take, retries and waits included, in seconds.
            None means the client's timeout.
    """

    max_retries: int = 3
    backoff_initial: float = 0.5
    backoff_multiplier: float = 2.0
    backoff_max: float = 30.0
    jitter: float = 0.25
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_on_500: bool = False
    max_burst_wait: float = 60.0
    deadline: float | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        for name in ("backoff_initial", "backoff_max", "max_burst_wait"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.deadline is not None and not (math.isfinite(self.deadline) and self.deadline > 0):
            raise ValueError(f"deadline must be a finite number > 0, got {self.deadline!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter!r}")

    def is_retryable_status(self, status: int) -> bool:
        return status in self.retry_statuses or (status == 500 and self.retry_on_500)

    def is_quota(self, retry_after: float | None) -> bool:
        """A 429 whose Retry-After is longer than a burst: waiting within the call will not help."""
        return retry_after is not None and retry_after > self.max_burst_wait

    def server_wait(self, retry_after: float | None) -> float | None:
        """The server's Retry-After if it is short enough to wait out, else None (use backoff)."""
        return retry_after if retry_after is not None and retry_after <= self.max_burst_wait else None

    @functools.cached_property
    def _exponential(self) -> tenacity.wait_exponential:
        return tenacity.wait_exponential(multiplier=self.backoff_initial, exp_base=self.backoff_multiplier,
                                         max=self.backoff_max)

    def backoff(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` (1-based), jitter applied."""
        state = _AttemptNumber(retry_number)
        base = self._exponential(state)  # type: ignore[arg-type]
        return float(base * (1.0 - self.jitter * self.rng.random()))


@dataclass(frozen=True)
class _AttemptNumber:
    """The one field of tenacity's RetryCallState that ``wait_exponential`` reads."""

    attempt_number: int


@dataclass
class Verdict:
    """The judgement of one attempt: a value, or an error and whether to try again."""

    value: Any = None
    error: ConnectorError | None = None
    retryable: bool = False
    wait: float | None = None  # what the server asked for (Retry-After), if it is to be honoured


def is_retryable_error(error: ConnectorError) -> bool:
    """Transport failures that another attempt may cure (not TLS, not a local resource limit)."""
    return (isinstance(error, (ConnectorTimeoutError, ConnectorConnectionError))
            and not isinstance(error, ConnectorTLSError)
            and not getattr(error, "local", False))


class wait_retry_after_or_backoff(tenacity.wait.wait_base):
    """The server's Retry-After when the verdict carries one, else the policy's backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        verdict = _verdict(retry_state)
        if verdict.wait is not None:
            return verdict.wait
        return self.policy.backoff(retry_state.attempt_number)


class stop_at_deadline(tenacity.stop.stop_base):
    """Stop when the upcoming wait would reach the call's deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.deadline.remaining() <= (retry_state.upcoming_sleep or 0.0)


def strategies(
    policy: RetryPolicy,
    deadline: Deadline,
    *,
    retry: bool = True,
    on_retryable: Callable[[Verdict], None] | None = None,
    on_sleep: Callable[[Verdict, float], None] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` for one call.

    ``on_retryable`` sees every verdict worth retrying (the last one too), ``on_sleep`` every
    wait about to be slept. When the call gives up, tenacity returns the last verdict (with a
    note when the deadline, not the attempt count, stopped it).
    """
    attempts = policy.max_retries + 1 if retry else 1

    def give_up(retry_state: tenacity.RetryCallState) -> Verdict:
        verdict = _verdict(retry_state)
        if retry_state.attempt_number < attempts and verdict.error is not None:
            verdict.error = with_note(
                verdict.error,
                f" (gave up after {retry_state.attempt_number} attempt(s): the next retry would "
                f"pass the call's {deadline.budget:g} s deadline)",
            )
        return verdict

    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(attempts) | stop_at_deadline(deadline),
        "wait": wait_retry_after_or_backoff(policy),
        "retry": tenacity.retry_if_result(_is_retryable_verdict),
        "retry_error_callback": give_up,
    }
    if on_retryable is not None:
        options["after"] = lambda retry_state: on_retryable(_verdict(retry_state))
    if on_sleep is not None:
        options["before_sleep"] = lambda retry_state: on_sleep(
            _verdict(retry_state), float(retry_state.upcoming_sleep))
    return options


def _is_retryable_verdict(verdict: Verdict) -> bool:
    return verdict.error is not None and verdict.retryable


def _verdict(retry_state: tenacity.RetryCallState) -> Verdict:
    assert retry_state.outcome is not None
    verdict = retry_state.outcome.result()
    assert isinstance(verdict, Verdict)
    return verdict


def with_note(error: ConnectorError, note: str) -> ConnectorError:
    """``error`` with ``note`` appended to its message."""
    error.args = (f"{error.args[0]}{note}", *error.args[1:]) if error.args else (note,)
    return error


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - now_wall))
    if math.isnan(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def describe_wait(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def resets_at(seconds: float, now_wall: float) -> datetime:
    return datetime.fromtimestamp(now_wall + seconds, tz=UTC)
