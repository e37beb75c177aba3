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
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..bench import BenchReport, Series

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
    chunk = max(1, n // 10)
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

    from ...connectors.code_interpreter import CodeExecutionResult, MontyConnector
    from ...connectors.code_interpreter._pool import cache_missing_opentelemetry

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
            del sys.modules["opentelemetry"]
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


# -- code blocks vs a raw sync pool loop (issue 17) ------------------------------------------------

TINY_CODE = "1 + 1"
TINY_GOAL = 0.8  # ours / raw sync pool loop, runs per second


def _raw_pool_loop(pool: Any, threads: int, n: int, code: str, limits: Any) -> float:
    """Runs/s of ``threads`` threads looping ``checkout()`` + ``feed_run`` on one sync pool.

    The threads take runs from one shared counter (as the block takes rows from one queue),
    so a thread slowed by the machine's load does not leave the other idle at the end.
    """
    import threading

    remaining = [n]
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            with pool.checkout(limits=limits, os_policy={"sleep": "system"}) as session:
                session.feed_run(code, print_callback=lambda _s, _t: None)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return n / (time.perf_counter() - started)


def _generate(block: Any, frame: Any) -> None:
    out = block.generate(frame)
    if not out["r_success"].all():
        raise RuntimeError("benchmark snippet failed in PythonInterpreterBlock")


def code_block_ratios(*, quick: bool, include_async: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """PythonInterpreterBlock (and aexecute_code x8) vs a raw sync pool loop, interleaved.

    Every variant uses a pool of the same size. The variants run in alternating chunks of
    ``chunk`` snippets and their wall and host CPU times are summed over all chunks, so load
    drift on a shared machine hits each alike; each ratio names its divisor. Then the
    CPU-bound speed-up of the block with ``pool_size`` workers over one worker (the
    parallelism that running rows in per-worker batches must keep), also interleaved.
    """
    import pandas as pd
    import pydantic_monty as pm

    from ...blocks import PythonInterpreterBlock
    from ...connectors.code_interpreter import MontyConnector
    from ...connectors.code_interpreter._pool import cache_missing_opentelemetry

    cache_missing_opentelemetry()
    chunk = 200
    rounds = 8 if quick else 60
    connector = MontyConnector()
    size = connector.pool_size
    limits = connector.resolve_limits(30.0).resource_limits()
    block = PythonInterpreterBlock(block_name="bench_code", input_cols=["code"], output_cols=["r"],
                                   connector_kwargs={"pool_size": size}, show_progress=False)
    frame = pd.DataFrame({"code": [TINY_CODE] * chunk})
    totals: dict[str, list[float]] = {"raw": [0.0, 0.0], "block": [0.0, 0.0], "async": [0.0, 0.0]}
    per_round: dict[str, list[float]] = {"raw": [], "block": [], "async": []}  # wall s per round

    async def in_flight(count: int) -> None:
        gate = asyncio.Semaphore(8)

        async def one() -> None:
            async with gate:
                result = await connector.aexecute_code(TINY_CODE, timeout=30.0)
                if not result.success:
                    raise RuntimeError(f"benchmark snippet failed: {result.error}")

        await asyncio.gather(*(one() for _ in range(count)))

    def add(name: str, call: Callable[[], Any]) -> None:
        cpu, started = time.process_time(), time.perf_counter()
        call()
        wall = time.perf_counter() - started
        totals[name][0] += wall
        totals[name][1] += time.process_time() - cpu
        per_round[name].append(wall)

    variants: list[tuple[str, Callable[[], Any]]] = [
        ("raw", lambda: _raw_pool_loop(pool, size, chunk, TINY_CODE, limits)),
        ("block", lambda: _generate(block, frame)),
    ]
    loop = asyncio.new_event_loop()  # one loop for every async round, as an async app has
    if include_async:
        variants.append(("async", lambda: loop.run_until_complete(in_flight(chunk))))
    heavy_rows = (2 if quick else 6) * size
    heavy = pd.DataFrame({"code": [CPU_CODE] * heavy_rows})
    one_worker = PythonInterpreterBlock(block_name="bench_cpu1", input_cols=["code"], output_cols=["r"],
                                        connector_kwargs={"pool_size": 1}, show_progress=False)
    heavy_totals = {"one": 0.0, "pool": 0.0, "raw_one": 0.0, "raw_pool": 0.0}
    try:
        with pm.Monty(max_processes=size, request_timeout=7201.0) as pool:
            for _name, call in variants:  # warm: every worker spawned
                call()
            for number in range(rounds):  # the order flips every round: no variant always goes first
                for name, call in (variants if number % 2 == 0 else variants[::-1]):
                    add(name, call)
            # CPU-bound: ours with 1 and `size` workers, and the raw loop with 1 and `size`
            # threads, which shows what parallelism this machine's load leaves to be had.
            _generate(one_worker, heavy.head(1))
            heavy_variants: list[tuple[str, Callable[[], Any]]] = [
                ("one", lambda: _generate(one_worker, heavy)),
                ("pool", lambda: _generate(block, heavy)),
                ("raw_one", lambda: _raw_pool_loop(pool, 1, heavy_rows, CPU_CODE, limits)),
                ("raw_pool", lambda: _raw_pool_loop(pool, size, heavy_rows, CPU_CODE, limits)),
            ]
            for number in range(4 if quick else 8):
                for name, call in (heavy_variants if number % 2 == 0 else heavy_variants[::-1]):
                    started = time.perf_counter()
                    call()
                    heavy_totals[name] += time.perf_counter() - started
    finally:
        loop.run_until_complete(connector.aclose())
        loop.close()
        one_worker.close()
        block.close()
        connector.close()

    runs = chunk * rounds
    raw_name = f"raw sync Monty pool loop ({size} threads)"

    def row(variant: str, name: str) -> dict[str, Any]:
        wall, cpu = totals[name]
        # Median over rounds of (raw time / ours) for the chunks run back to back: a burst of
        # load from other processes spoils a few rounds, not the figure.
        ratio = statistics.median(raw / ours for raw, ours in zip(per_round["raw"], per_round[name],
                                                                   strict=True))
        return {"variant": variant, "runs": runs, "runs_per_s": round(runs / wall),
                "host_cpu_us_per_run": round(cpu / runs * 1e6, 1),
                "ratio": round(ratio, 2), "divided_by": "-" if name == "raw" else raw_name}

    rows = [row(raw_name, "raw"), row(f"PythonInterpreterBlock.generate (chunks of {chunk} rows)", "block")]
    if include_async:
        rows.append(row("MontyConnector.aexecute_code x8 in flight", "async"))
    speedup = heavy_totals["one"] / heavy_totals["pool"]
    raw_speedup = heavy_totals["raw_one"] / heavy_totals["raw_pool"]
    rows.append({"variant": f"PythonInterpreterBlock CPU-bound snippet, {size} workers", "runs": None,
                 "runs_per_s": None, "host_cpu_us_per_run": None, "ratio": round(speedup, 2),
                 "divided_by": "the same block with pool_size=1"})
    rows.append({"variant": f"raw sync Monty pool loop CPU-bound snippet, {size} threads", "runs": None,
                 "runs_per_s": None, "host_cpu_us_per_run": None, "ratio": round(raw_speedup, 2),
                 "divided_by": "the same loop with 1 thread"})
    notes = [
        f"Tiny snippet {TINY_CODE!r}: {rounds} interleaved rounds of {chunk} runs per variant; ratio = "
        f"median over the rounds of ours runs/s / {raw_name} runs/s in the same round. Goal >= {TINY_GOAL}: "
        + ", ".join(f"{r['variant']} {r['ratio']}" for r in rows[1:-2]) + ".",
        f"CPU-bound snippet: the block runs {speedup:.2f}x faster with {size} workers than with 1; "
        f"the raw loop {raw_speedup:.2f}x with {size} threads than with 1, in the same rounds "
        f"(ideal {size}x; on a machine whose cores are busy with other work, neither reaches it).",
    ]
    return rows, notes
