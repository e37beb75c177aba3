"""Execution figures of any code connector (:class:`BaseCodeInterpreterConnector`): cold start,
warm latency with its p95, and runs/s with several executions in flight.

Measured through ``execute_code``/``aexecute_code`` only, on a tiny snippet with inputs,
printed output and a return value; every result is checked, and the ``ok`` column counts the
executions that gave the expected answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ...connectors.base import ConnectorConfig
from ...connectors.code_interpreter import BaseCodeInterpreterConnector, CodeExecutionResult
from .._stats import p95
from .report import BenchReport, Series, median, ms_since, out_of, rounded, short_rows

CODE = "y = x + 1\nprint(y)\ny"
INPUTS = {"x": 41}


def _ok(result: CodeExecutionResult) -> bool:
    return bool(result.success and result.return_value == 42)


def _row(case: str, samples: list[float], ok: int, *, runs_per_s: float | None = None,
         divides_by: str = "") -> dict[str, Any]:
    return {"case": case, "n": len(samples), "ok": out_of(ok, len(samples)),
            "median_ms": rounded(median(samples)), "p95_ms": rounded(p95(samples)),
            "runs_per_s": rounded(runs_per_s, 1), "divides_by": divides_by}


def _timed(call: Callable[[], CodeExecutionResult], n: int) -> tuple[list[float], int, str | None]:
    samples: list[float] = []
    ok = 0
    error: str | None = None
    for _ in range(n):
        started = time.perf_counter()
        result = call()
        samples.append(ms_since(started))
        ok += _ok(result)
        error = error or (None if _ok(result) else result.error or repr(result.return_value))
    return samples, ok, error


async def _in_flight(connector: BaseCodeInterpreterConnector, n: int, concurrency: int
                     ) -> tuple[float, list[float], int]:
    """``n`` executions, ``concurrency`` in flight: (runs/s, latency per execution, ok count)."""
    gate = asyncio.Semaphore(concurrency)
    samples: list[float] = []
    ok = [0]

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            result = await connector.aexecute_code(CODE, inputs=INPUTS)
            samples.append(ms_since(started))
            ok[0] += _ok(result)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return n / (time.perf_counter() - started), samples, ok[0]


def run(cls: type[BaseCodeInterpreterConnector], *, target: str, quick: bool = False) -> BenchReport:
    """Cold start, warm latency and throughput at concurrency 1/4/16 of ``cls``."""
    n_cold, n_warm, n_load = (3, 100, 100) if quick else (10, 1000, 1000)
    levels = (1, 4) if quick else (1, 4, 16)
    report = BenchReport(name="execution",
                         title=f"{target}: code execution latency (snippet {CODE!r}, ms)")
    errors: list[str] = []

    def make() -> BaseCodeInterpreterConnector:
        return cls(config=ConnectorConfig(timeout=10))

    cold: list[float] = []
    cold_ok = 0
    for _ in range(n_cold):
        started = time.perf_counter()
        connector = make()
        try:
            result = connector.execute_code(CODE, inputs=INPUTS)
        finally:
            connector.close()
        cold.append(ms_since(started))
        cold_ok += _ok(result)
    report.rows.append(_row("cold: new connector + first execute_code (+ close)", cold, cold_ok,
                            divides_by="-"))
    report.series.append(Series("cold start", cold))
    with make() as connector:
        _timed(lambda: connector.execute_code(CODE, inputs=INPUTS), max(10, n_warm // 10))  # warm up
        warm, ok, error = _timed(lambda: connector.execute_code(CODE, inputs=INPUTS), n_warm)
        errors += [error] if error else []
        report.rows.append(_row("warm: execute_code", warm, ok,
                                runs_per_s=1000.0 / median(warm) if warm else None,
                                divides_by="runs_per_s = 1000 / median_ms (one at a time)"))
        report.series.append(Series("warm execute_code", warm))
        for level in levels:
            rate, samples, ok = asyncio.run(_in_flight(connector, n_load, level))
            report.rows.append(_row(f"aexecute_code, {level} in flight", samples, ok, runs_per_s=rate,
                                    divides_by="runs_per_s = executions / wall-clock seconds"))
            report.series.append(Series(f"aexecute_code, {level} in flight", samples))
    report.notes.append(
        f"warm median {median(warm):.3f} ms, p95 {p95(warm):.3f} ms (p95: nearest rank); cold start "
        f"{median(cold):.1f} ms; best throughput "
        f"{max(r['runs_per_s'] or 0.0 for r in report.rows):,.0f} runs/s.")
    bad = short_rows(report.rows, "case", "ok")
    if bad:
        report.notes.insert(0, f"WRONG ANSWERS in: {', '.join(bad)}"
                               + (f" (e.g. {errors[0]})" if errors else "") + ".")
    return report
