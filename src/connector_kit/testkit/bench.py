"""Benchmark results: one shape for every benchmark, so the CLI can print, save and chart them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Series:
    """One latency distribution (milliseconds), drawn in the benchmark's chart."""

    name: str
    samples_ms: list[float]

    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    def p95(self) -> float:
        if not self.samples_ms:
            return float("nan")
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class BenchReport:
    """A benchmark's figures: table rows (same keys in each row), distributions, notes."""

    name: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
