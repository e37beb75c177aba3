"""HTTP transport for agent connectors: pooled clients, retries, deadlines, clocks."""

from .client import CallStats, HttpClient
from .clock import Clock, FakeClock, SystemClock
from .retry import RetryPolicy, parse_retry_after

__all__ = [
    "CallStats",
    "Clock",
    "FakeClock",
    "HttpClient",
    "RetryPolicy",
    "SystemClock",
    "parse_retry_after",
]
