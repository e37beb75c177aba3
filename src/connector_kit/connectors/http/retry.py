"""The retry policy: what is retried, how long to wait, and when to give up.

Pure decisions, no I/O, so the sync and async transports share them and tests can
check a schedule without a server. Burst vs quota for 429 follows the lesson of the
data-connector guide: a short Retry-After is waited out; a long one raises at once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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

    def backoff(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` (1-based), jitter applied."""
        base = min(self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (retry_number - 1))
        return base * (1.0 - self.jitter * self.rng.random())


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
