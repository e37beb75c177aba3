"""MontyConnector cost: what does the connector add over raw pydantic-monty, and how far does it scale?

Every variant runs the same snippet, ``y = x + 1; print(y); y`` with ``inputs={"x": 41}`` (inputs,
captured print output and a return value), under the same limits. Variants:

- cold start: a new ``MontyConnector`` and its first ``execute_code`` (pool start, first worker
  spawn), against a new raw ``Monty`` pool + checkout + ``feed_run``.
- warm latency: ``MontyConnector.execute_code`` against raw ``checkout()`` + ``feed_run`` on a
  warm pool of the same size, interleaved so machine-load drift hits both alike; the ratio of
  medians is the connector's overhead.
- throughput: ``aexecute_code`` at concurrency 1/2/8/32 (runs/s and per-call latency under load);
  the same with a raw ``AsyncMonty`` pool, the design this connector measured against.
- the naive alternative: a ``python -c`` subprocess per call.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from connector_kit.testkit.bench import BenchReport, Series

CODE = "y = x + 1\nprint(y)\ny"
INPUTS = {"x": 41}
SUBPROCESS_CODE = "x = 41\ny = x + 1\nprint(y)"
CONCURRENCY = (1, 2, 8, 32)
CPU_CODE = "total = 0\nfor i in range(100000):\n    total += i % 7\ntotal"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _time_sync(call: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(_ms(start))
    return samples


def _interleaved(variants: dict[str, Callable[[], Any]], n: int, warmup: int) -> dict[str, list[float]]:
    """Run the variants in alternating chunks, so drift in machine load hits them alike."""
    out: dict[str, list[float]] = {name: [] for name in variants}
    for call in variants.values():
        _time_sync(call, warmup)
    chunk = max(1, min(25, n // 10))  # short chunks: a burst of load hits both variants alike
    while min(len(samples) for samples in out.values()) < n:
        for name, call in variants.items():
            out[name].extend(_time_sync(call, min(chunk, n - len(out[name]))))
    return out


async def _throughput(
    call: Callable[[], Awaitable[Any]], n: int, concurrency: int
) -> tuple[float, list[float]]:
    """Run ``n`` calls with at most ``concurrency`` in flight; (runs/s, per-call latency ms)."""
    gate = asyncio.Semaphore(concurrency)
    samples: list[float] = []

    async def one() -> None:
        async with gate:
            start = time.perf_counter()
            await call()
            samples.append(_ms(start))

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return n / (time.perf_counter() - start), samples


def _row(name: str, samples: list[float], *, runs_per_s: float | None = None,
         vs_raw: float | None = None) -> dict[str, Any]:
    series = Series(name, samples)
    return {
        "variant": name,
        "calls": len(samples),
        "median_ms": round(series.median(), 3),
        "p95_ms": round(series.p95(), 3),
        "runs_per_s": round(runs_per_s) if runs_per_s is not None else None,
        "vs_raw": round(vs_raw, 2) if vs_raw is not None else None,
    }


def run(*, quick: bool = False) -> BenchReport:
    """Measure MontyConnector against raw pydantic-monty and a subprocess per call."""
    import pydantic_monty as pm

    from connector_kit.connectors.code_interpreter import CodeExecutionResult, MontyConnector
    from connector_kit.connectors.code_interpreter._pool import (
        OPENTELEMETRY_MODULES,
        cache_missing_opentelemetry,
    )

    # What every MontyConnector does when its pool starts; done first so that the raw
    # variants run in the same process state and the ratios show the connector's own cost.
    cache_missing_opentelemetry()

    n_cold = 5 if quick else 20
    n_warm = 300 if quick else 3000
    warmup = 30 if quick else 200
    n_through = 200 if quick else 2000
    n_subprocess = 8 if quick else 50
    n_heavy = 5 if quick else 30
    heavy_rates: dict[int, float] = {}

    probe = MontyConnector()
    pool_size = probe.pool_size
    limits = probe.resolve_limits()
    resource_limits = limits.resource_limits()
    os_policy: pm.OSPolicy = {"sleep": "system"}
    request_timeout = 2 * 3600.0 + probe.kill_grace_secs

    report = BenchReport(
        name="monty",
        title=(
            f"MontyConnector vs raw pydantic-monty {pm.__version__} (pool of {pool_size} workers, "
            f"{os.cpu_count()} CPUs; latency in ms)"
        ),
    )
    series: list[Series] = []
    later_notes: list[str] = []

    def check(result: CodeExecutionResult) -> None:
        if not result.success or result.return_value != 42 or result.output != "42\n":
            raise RuntimeError(f"benchmark snippet failed: {result.error or result!r}")

    # -- cold start -----------------------------------------------------------------------
    def connector_cold() -> None:
        with MontyConnector() as connector:
            check(connector.execute_code(CODE, inputs=INPUTS))

    def raw_cold() -> None:
        printed: list[str] = []
        with pm.Monty(max_processes=pool_size, request_timeout=request_timeout) as pool, \
                pool.checkout(limits=resource_limits, os_policy=os_policy) as session:
            session.feed_run(CODE, inputs=INPUTS, print_callback=lambda _s, text: printed.append(text))

    cold = _interleaved({"raw": raw_cold, "connector": connector_cold}, n_cold, 1)
    raw_cold_s = Series("raw Monty cold start (new pool + checkout + feed_run)", cold["raw"])
    cold_s = Series("MontyConnector cold start (new connector + first execute_code)", cold["connector"])
    report.rows.append(_row(raw_cold_s.name, raw_cold_s.samples_ms, vs_raw=1.0))
    report.rows.append(_row(cold_s.name, cold_s.samples_ms,
                            vs_raw=cold_s.median() / raw_cold_s.median()))
    series += [raw_cold_s, cold_s]

    # -- warm per-call latency: connector vs raw on pools of the same size -----------------
    with pm.Monty(max_processes=pool_size, request_timeout=request_timeout,
                  feed_duration_limit_grace=probe.kill_grace_secs) as raw_pool, \
            MontyConnector() as connector:

        def raw_warm() -> Any:
            printed: list[str] = []
            with raw_pool.checkout(limits=resource_limits, os_policy=os_policy) as session:
                return session.feed_run(CODE, inputs=INPUTS,
                                        print_callback=lambda _s, text: printed.append(text))

        def connector_warm() -> None:
            check(connector.execute_code(CODE, inputs=INPUTS))

        warm = _interleaved({"raw": raw_warm, "connector": connector_warm}, n_warm, warmup)
        raw_s = Series("raw Monty checkout + feed_run (warm pool)", warm["raw"])
        ours_s = Series("MontyConnector.execute_code (warm)", warm["connector"])
        ratio = ours_s.median() / raw_s.median()
        report.rows.append(_row(raw_s.name, raw_s.samples_ms, vs_raw=1.0))
        report.rows.append(_row(ours_s.name, ours_s.samples_ms, vs_raw=ratio))
        series += [raw_s, ours_s]

        if "opentelemetry" in sys.modules and sys.modules["opentelemetry"] is None:
            # pydantic-monty as a plain user gets it: the per-call failed OpenTelemetry import.
            for name in OPENTELEMETRY_MODULES:
                sys.modules.pop(name, None)
            try:
                uncached = _time_sync(raw_warm, max(50, n_warm // 3))
            finally:
                cache_missing_opentelemetry()
            name = "raw Monty checkout + feed_run (warm, OpenTelemetry miss not cached)"
            report.rows.append(_row(name, uncached, vs_raw=Series(name, uncached).median() / raw_s.median()))
            series.append(Series(name, uncached))
            later_notes.append(
                "pydantic-monty 1.4 tries `import opentelemetry.context` on every feed_run; without "
                "OpenTelemetry installed that failed import is repeated each call. MontyConnector "
                "caches the miss (sys.modules['opentelemetry'] = None) when its pool starts; the "
                "'miss not cached' row is raw pydantic-monty without that."
            )

        # -- async throughput ----------------------------------------------------------------
        async def measure_async() -> None:
            async def ours() -> None:
                check(await connector.aexecute_code(CODE, inputs=INPUTS))

            async with pm.AsyncMonty(max_processes=pool_size, request_timeout=request_timeout,
                                     feed_duration_limit_grace=probe.kill_grace_secs) as apool:

                async def raw_async() -> Any:
                    printed: list[str] = []
                    async with apool.checkout(limits=resource_limits, os_policy=os_policy) as session:
                        return await session.feed_run(
                            CODE, inputs=INPUTS, print_callback=lambda _s, text: printed.append(text))

                for call in (ours, raw_async):  # warm both: every worker spawned
                    await _throughput(call, warmup, max(CONCURRENCY))
                for concurrency in CONCURRENCY:
                    raw_rate, raw_lat = await _throughput(raw_async, n_through, concurrency)
                    rate, lat = await _throughput(ours, n_through, concurrency)
                    name = f"MontyConnector.aexecute_code x{concurrency}"
                    raw_name = f"raw AsyncMonty checkout + feed_run x{concurrency}"
                    report.rows.append(_row(raw_name, raw_lat, runs_per_s=raw_rate))
                    report.rows.append(_row(name, lat, runs_per_s=rate, vs_raw=raw_rate / rate))
                    series.extend([Series(raw_name, raw_lat), Series(name, lat)])

                # A CPU-bound snippet: does a pool of N workers give N times the runs/s?
                async def heavy() -> None:
                    result = await connector.aexecute_code(CPU_CODE)
                    if not result.success:
                        raise RuntimeError(f"benchmark snippet failed: {result.error}")

                await heavy()
                for concurrency in sorted({1, pool_size}):
                    rate, lat = await _throughput(heavy, n_heavy * concurrency, concurrency)
                    name = f"MontyConnector.aexecute_code CPU-bound x{concurrency}"
                    report.rows.append(_row(name, lat, runs_per_s=rate))
                    series.append(Series(name, lat))
                    heavy_rates[concurrency] = rate

        asyncio.run(measure_async())

    # -- the naive alternative: a python subprocess per call --------------------------------
    def python_c() -> None:
        done = subprocess.run([sys.executable, "-c", SUBPROCESS_CODE], capture_output=True,
                              text=True, timeout=60, check=True)
        if done.stdout != "42\n":
            raise RuntimeError(f"subprocess printed {done.stdout!r}")

    sub = _time_sync(python_c, n_subprocess)
    sub_s = Series("python -c subprocess per call", sub)
    report.rows.append(_row(sub_s.name, sub, runs_per_s=1000 / sub_s.median(),
                            vs_raw=sub_s.median() / raw_s.median()))
    series.append(sub_s)
    report.series = series

    rates = {row["variant"]: row["runs_per_s"] for row in report.rows if row["runs_per_s"]}
    scaling = ", ".join(
        f"x{c}: {rates[f'MontyConnector.aexecute_code x{c}']}/s" for c in CONCURRENCY
    )
    report.notes += [
        f"execute_code/raw warm median ratio {ratio:.2f} "
        f"({ours_s.median():.3f} ms vs {raw_s.median():.3f} ms).",
        f"aexecute_code throughput {scaling}; vs_raw on those rows is raw AsyncMonty runs/s "
        "divided by ours (below 1 means the connector is faster).",
        f"a python subprocess per call costs {sub_s.median():.1f} ms, "
        f"{sub_s.median() / ours_s.median():.0f}x a warm execute_code.",
        "Throughput rows: 'median_ms'/'p95_ms' are per-call latency under that load, "
        "including waiting for a free worker.",
    ]
    if pool_size > 1 and heavy_rates:
        report.notes.append(
            f"CPU-bound snippet: {heavy_rates[pool_size] / heavy_rates[1]:.2f}x the runs/s with "
            f"{pool_size} calls in flight on {pool_size} workers (ideal {pool_size}x)."
        )
    report.notes += later_notes
    from .code_blocks import code_block_ratios

    ratio_rows, ratio_notes = code_block_ratios(quick=quick)
    report.rows += ratio_rows
    keys = list(dict.fromkeys(key for row in report.rows for key in row))
    report.rows = [{key: row.get(key) for key in keys} for row in report.rows]  # one shape
    report.notes += ratio_notes
    report.notes.append(_load_note())
    return report


def _load_note() -> str:
    """The machine's load while measuring: figures on a shared machine need it next to them."""
    try:
        one, five, _fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - not on this platform
        return "load average unavailable"
    return (f"Load average at the end of the run: {one:.1f} (1 min), {five:.1f} (5 min) on "
            f"{os.cpu_count()} CPUs; other processes shared the cores, so absolute rates are low "
            "and the interleaved ratios are the figures to read.")
