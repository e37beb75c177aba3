"""HTTP transport for agent connectors: pooled clients, retries, deadlines, clocks."""

from .client import DEFAULT_MAX_RESPONSE_BYTES, CallStats, HttpClient, not_resent
from .clock import Clock, FakeClock, SystemClock
from .retry import RetryPolicy, parse_retry_after
from .streaming import AsyncHttpStream, HttpStream

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AsyncHttpStream",
    "CallStats",
    "Clock",
    "FakeClock",
    "HttpClient",
    "HttpStream",
    "RetryPolicy",
    "SystemClock",
    "not_resent",
    "parse_retry_after",
]
