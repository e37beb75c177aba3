"""The shape every benchmark returns (:class:`BenchReport` of rows, :class:`Series`, notes) and
the small measuring helpers the benchmarks share."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._stats import p95


@dataclass
class Series:
    """One latency distribution (milliseconds), drawn in the benchmark's chart."""

    name: str
    samples_ms: list[float]

    def median(self) -> float:
        return median(self.samples_ms)

    def p95(self) -> float:
        return p95(self.samples_ms)


@dataclass
class BenchReport:
    """A benchmark's figures: table rows (same keys in each row), distributions, notes."""

    name: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def ms_since(started: float) -> float:
    """Milliseconds elapsed since ``started`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - started) * 1000.0


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rounded(value: float | None, digits: int = 3) -> float | None:
    """``value`` rounded, None for None/NaN (JSON has no NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(value, digits)


def time_calls(call: Callable[[], Any], n: int) -> list[float]:
    """Milliseconds taken by each of ``n`` calls of ``call``."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(ms_since(started))
    return samples


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN when the denominator is 0 or NaN (shown as ``-``)."""
    if not denominator or not math.isfinite(denominator):
        return float("nan")
    return numerator / denominator


def out_of(good: int, n: int) -> str:
    """``"29/30"``: how many of a row's ``n`` runs gave the expected answer."""
    return f"{good}/{n}"


def short_rows(rows: Sequence[dict[str, Any]], key: str, column: str) -> list[str]:
    """``row[key]`` of the rows whose ``column`` (an :func:`out_of` value) is not ``n/n``."""
    return [str(row[key]) for row in rows if str(row[column]) != out_of(row["n"], row["n"])]
