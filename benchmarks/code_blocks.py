"""Code blocks vs a raw sync pydantic-monty pool loop (issue 17), in one run, interleaved.

The divisor is the simplest fast thing a user could write by hand: ``threads`` long-lived
threads, each looping ``checkout()`` + ``feed_run`` on one sync ``pydantic_monty.Monty`` pool
of the same size as ours, taking runs from one shared counter. Variants, on the tiny snippet
``1 + 1`` (so the host-side cost per run is what is measured):

- ``PythonInterpreterBlock.generate`` on a frame of ``chunk`` rows;
- ``MontyConnector.aexecute_code`` with 8 and with 32 calls in flight on one event loop;
- the same harness on a minimal asyncio wrapper over the raw loop's pool (:class:`MinimalAsyncWrapper`:
  a future, a queue put and one ``call_soon_threadsafe`` a run, nothing else): what asyncio's
  own per-run cost leaves of the raw loop on this machine, next to what ``aexecute_code`` reaches;
- sdg-hub 0.9.4's own ``PythonInterpreterBlock`` (the peer) when the ``peer`` extra is
  installed: how many of its rows succeed on pydantic-monty 1.4, and its runs/s.

Each round runs every variant once, in an order that flips every round, and the ratio is the
median over the rounds of ``raw seconds / ours`` for the runs of that same round: a burst of
load from other processes spoils a few rounds, not the figure. Host CPU (this process, all
threads) per run is summed over the rounds. Then a CPU-bound snippet shows the parallel
speed-up (``pool_size`` workers over 1) of the block, ``aexecute_code`` and the raw loop,
interleaved the same way.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
import queue
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

TINY_CODE = "1 + 1"
TINY_GOAL = 0.8  # ours / raw sync pool loop, runs per second
CPU_CODE = "total = 0\nfor i in range(100000):\n    total += i % 7\ntotal"
IN_FLIGHT = (8, 32)


class RawPoolLoop:
    """``threads`` long-lived threads looping ``checkout()`` + ``feed_run`` on one sync pool.

    Long-lived, as a hand-written loop that runs many batches would keep them (starting
    threads per batch would add ~0.5 ms to the divisor and flatter the ratios).
    """

    def __init__(self, pool: Any, threads: int, limits: Any) -> None:
        self._pool, self._limits = pool, limits
        self._batches: queue.SimpleQueue[tuple[str, list[int], threading.Lock, threading.Event,
                                               list[int]] | None] = queue.SimpleQueue()
        self.threads = threads
        for _ in range(threads):
            threading.Thread(target=self._serve, daemon=True).start()

    def run(self, n: int, code: str) -> float:
        """Run ``code`` ``n`` times on the threads; return the runs per second."""
        remaining, lock, done, running = [n], threading.Lock(), threading.Event(), [self.threads]
        started = time.perf_counter()
        for _ in range(self.threads):
            self._batches.put((code, remaining, lock, done, running))
        done.wait()
        return n / (time.perf_counter() - started)

    def close(self) -> None:
        for _ in range(self.threads):
            self._batches.put(None)

    def _serve(self) -> None:
        while (batch := self._batches.get()) is not None:
            code, remaining, lock, done, running = batch
            while True:
                with lock:
                    if remaining[0] <= 0:
                        running[0] -= 1
                        if running[0] == 0:
                            done.set()
                        break
                    remaining[0] -= 1
                feed_once(self._pool, self._limits, code)


class MinimalAsyncWrapper:
    """A minimal ``await``-per-run wrapper over a sync pool, as a reference.

    ``threads`` long-lived threads take ``(future, loop, code)`` from one queue, run it like
    :class:`RawPoolLoop` does, and hand the value back with one ``call_soon_threadsafe`` per
    run: no limits, cancellation, error values or result model. What it loses to the raw loop
    is what asyncio itself costs here (the caller's semaphore, task and future per run, and a
    loop wake-up per result); ``aexecute_code`` divided by it is what the connector adds on top.
    """

    def __init__(self, pool: Any, threads: int, limits: Any) -> None:
        self._pool, self._limits = pool, limits
        self._jobs: queue.SimpleQueue[tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, str]
                                      | None] = queue.SimpleQueue()
        self.threads = threads
        for _ in range(threads):
            threading.Thread(target=self._serve, daemon=True).start()

    async def run(self, code: str) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((future, loop, code))
        return await future

    def close(self) -> None:
        for _ in range(self.threads):
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, loop, code = job
            loop.call_soon_threadsafe(future.set_result, feed_once(self._pool, self._limits, code))


def feed_once(pool: Any, limits: Any, code: str) -> Any:
    """One run as the references make it: a fresh session, the snippet fed, its value."""
    with pool.checkout(limits=limits, os_policy=_OS_POLICY) as session:
        return session.feed_run(code, print_callback=lambda _s, _t: None)


_OS_POLICY = {"sleep": "system"}  # real sleep, as MontyConnector's runs have


def _generate(block: Any, frame: Any) -> None:
    out = block.generate(frame)
    if not out["r_success"].all():
        raise RuntimeError("benchmark snippet failed in PythonInterpreterBlock")


def _peer_block(chunk: int) -> tuple[dict[str, Any], str] | None:
    """sdg-hub's PythonInterpreterBlock on ``chunk`` tiny rows: its row and a note; None
    when the peer is not installed."""
    if importlib.util.find_spec("sdg_hub") is None:
        return None
    import pandas as pd

    frame = pd.DataFrame({"code": [TINY_CODE] * chunk})
    try:
        # Through importlib: typed as Any whether or not the peer is installed (mypy sees it only then).
        peer_module: Any = importlib.import_module("sdg_hub.core.blocks.code.python_interpreter_block")
        peer = peer_module.PythonInterpreterBlock(block_name="peer_code", input_cols=["code"],
                                                  output_cols=["r"])
        peer.generate(frame.head(2))  # warm: its connector and pool
        started = time.perf_counter()
        out = peer.generate(frame)
        rate = chunk / (time.perf_counter() - started)
    except Exception as exc:  # the peer's own failure is a finding, not a crash of the bench
        return ({"variant": f"sdg-hub PythonInterpreterBlock (peer), {chunk} rows", "runs": chunk,
                 "runs_per_s": None, "host_cpu_us_per_run": None, "ratio": None,
                 "divided_by": "not comparable: generate() raised"},
                f"The peer (sdg-hub's own PythonInterpreterBlock) raised: {type(exc).__name__}: "
                f"{str(exc)[:200]}")
    cells = out["r"].tolist()
    ok = sum(1 for cell in cells if cell.get("success"))
    errors = sorted({str(cell.get("error")) for cell in cells if not cell.get("success")})
    row = {"variant": f"sdg-hub PythonInterpreterBlock (peer), {chunk} rows", "runs": chunk,
           "runs_per_s": round(rate), "host_cpu_us_per_run": None, "ratio": None,
           "divided_by": (f"not comparable: {ok} of {chunk} rows succeeded" if ok < chunk
                          else "- (one run after the rounds: runs/s only)")}
    if ok == chunk:
        note = f"The peer (sdg-hub's own PythonInterpreterBlock): all {chunk} rows succeeded."
    else:
        note = (f"The peer (sdg-hub's own PythonInterpreterBlock): {ok} of {chunk} rows succeeded "
                f"on this pydantic-monty; its errors: {'; '.join(errors[:3])}.")
    return row, note


def code_block_ratios(*, quick: bool, include_async: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows and notes described in the module doc."""
    import pandas as pd
    import pydantic_monty as pm

    from connector_kit.blocks import PythonInterpreterBlock
    from connector_kit.connectors.code_interpreter import MontyConnector
    from connector_kit.connectors.code_interpreter._pool import cache_missing_opentelemetry

    cache_missing_opentelemetry()  # what every MontyConnector does: the raw loop gets it too
    chunk = 200
    rounds = 8 if quick else 60
    connector = MontyConnector()
    size = connector.pool_size
    limits = connector.resolve_limits(30.0).resource_limits()
    block = PythonInterpreterBlock(block_name="bench_code", input_cols=["code"], output_cols=["r"],
                                   connector_kwargs={"pool_size": size}, show_progress=False)
    one_worker = PythonInterpreterBlock(block_name="bench_cpu1", input_cols=["code"], output_cols=["r"],
                                        connector_kwargs={"pool_size": 1}, show_progress=False)
    frame = pd.DataFrame({"code": [TINY_CODE] * chunk})
    heavy_rows = (2 if quick else 6) * size
    heavy = pd.DataFrame({"code": [CPU_CODE] * heavy_rows})
    loop = asyncio.new_event_loop()  # one loop for every async round, as an async app has

    async def ours(code: str) -> None:
        result = await connector.aexecute_code(code, timeout=30.0)
        if not result.success:
            raise RuntimeError(f"benchmark snippet failed: {result.error}")

    def in_flight(code: str, count: int, concurrency: int,
                  call: Callable[[str], Awaitable[Any]] = ours) -> None:
        # The harness a user writes for "at most N in flight"; the same for both wrappers.
        async def main() -> None:
            gate = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with gate:
                    await call(code)

            await asyncio.gather(*(one() for _ in range(count)))

        loop.run_until_complete(main())

    with pm.Monty(max_processes=size, request_timeout=7201.0) as pool:
        raw = RawPoolLoop(pool, size, limits)
        raw_one = RawPoolLoop(pool, 1, limits)
        minimal = MinimalAsyncWrapper(pool, size, limits)
        try:
            tiny: dict[str, Callable[[], Any]] = {
                "raw": lambda: raw.run(chunk, TINY_CODE),
                "block": lambda: _generate(block, frame),
            }
            if include_async:
                for count in IN_FLIGHT:
                    tiny[f"async{count}"] = functools.partial(in_flight, TINY_CODE, chunk, count)
                    tiny[f"minimal{count}"] = functools.partial(in_flight, TINY_CODE, chunk, count,
                                                                minimal.run)
            tiny_walls, tiny_cpu = _interleave(tiny, rounds)
            cpu_bound: dict[str, Callable[[], Any]] = {
                "raw_pool": lambda: raw.run(heavy_rows, CPU_CODE),
                "raw_one": lambda: raw_one.run(heavy_rows, CPU_CODE),
                "block_pool": lambda: _generate(block, heavy),
                "block_one": lambda: _generate(one_worker, heavy),
            }
            if include_async:
                cpu_bound["async_pool"] = lambda: in_flight(CPU_CODE, heavy_rows, size)
                cpu_bound["async_one"] = lambda: in_flight(CPU_CODE, heavy_rows, 1)
            heavy_walls, _ = _interleave(cpu_bound, 4 if quick else 8)
        finally:
            raw.close()
            raw_one.close()
            minimal.close()
            loop.run_until_complete(connector.aclose())
            loop.close()
            one_worker.close()
            block.close()
            connector.close()
    peer = _peer_block(chunk) if include_async else None

    runs = chunk * rounds
    raw_name = f"raw sync Monty pool loop ({size} threads)"

    def row(variant: str, name: str) -> dict[str, Any]:
        walls = tiny_walls[name]
        return {"variant": variant, "runs": runs, "runs_per_s": round(runs / sum(walls)),
                "host_cpu_us_per_run": round(tiny_cpu[name] / runs * 1e6, 1),
                "ratio": _median_ratio(tiny_walls["raw"], walls),
                "divided_by": "-" if name == "raw" else raw_name}

    rows = [row(raw_name, "raw"), row(f"PythonInterpreterBlock.generate (chunks of {chunk} rows)", "block")]
    if include_async:
        for count in IN_FLIGHT:
            rows.append(row(f"MontyConnector.aexecute_code x{count} in flight", f"async{count}"))
            rows.append(row(f"minimal asyncio wrapper over the same pool (reference), x{count} in flight",
                            f"minimal{count}"))
    tiny_rows = [r for r in rows[1:] if "(reference)" not in r["variant"]]  # the goal is ours
    speedups = [("PythonInterpreterBlock", "block", "the same block with pool_size=1"),
                (f"raw sync Monty pool loop, {size} threads", "raw", "the same loop with 1 thread")]
    if include_async:
        speedups.insert(1, (f"MontyConnector.aexecute_code x{size} in flight", "async",
                            "the same with 1 in flight"))
    speedup_values: dict[str, float] = {}
    for label, name, divisor in speedups:
        ratio = _median_ratio(heavy_walls[f"{name}_one"], heavy_walls[f"{name}_pool"])
        speedup_values[name] = ratio
        rows.append({"variant": f"{label}: CPU-bound snippet, {size} workers", "runs": heavy_rows,
                     "runs_per_s": None, "host_cpu_us_per_run": None, "ratio": ratio,
                     "divided_by": divisor})
    notes = [
        f"Tiny snippet {TINY_CODE!r}: {rounds} interleaved rounds of {chunk} runs per variant; ratio = "
        f"median over the rounds of ours runs/s / {raw_name} runs/s in the same round (long-lived "
        f"threads, pool of {size}). Goal >= {TINY_GOAL}: "
        + ", ".join(f"{r['variant']} {r['ratio']}" for r in tiny_rows) + ".",
        f"CPU-bound snippet ({heavy_rows} runs per variant per round): {size} workers over 1 -- "
        + ", ".join(f"{label} {speedup_values[name]:.2f}x" for label, name, _ in speedups)
        + f", in the same rounds (ideal {size}x; the raw loop shows what this machine's load leaves "
          "to be had).",
    ]
    if include_async:
        notes.append(
            "What asyncio leaves to be had: the minimal wrapper (a future, a queue put and one "
            "call_soon_threadsafe a run, under the same Semaphore + gather harness) reaches "
            + ", ".join(f"{_median_ratio(tiny_walls['raw'], tiny_walls[f'minimal{count}'])} at "
                        f"{count} in flight" for count in IN_FLIGHT)
            + " of the raw loop in the same rounds; aexecute_code ÷ that wrapper: "
            + ", ".join(f"{_median_ratio(tiny_walls[f'minimal{count}'], tiny_walls[f'async{count}'])} "
                        f"at {count}" for count in IN_FLIGHT) + ".")
    if peer is not None:
        rows.append(peer[0])
        notes.append(peer[1])
    return rows, notes


def _interleave(variants: dict[str, Callable[[], Any]], rounds: int) -> tuple[dict[str, list[float]],
                                                                                dict[str, float]]:
    """Wall seconds of each variant per round, and host CPU seconds summed; warm first."""
    for call in variants.values():
        call()
    walls: dict[str, list[float]] = {name: [] for name in variants}
    cpu = dict.fromkeys(variants, 0.0)
    order = list(variants.items())
    for number in range(rounds):  # the order flips every round: no variant always goes first
        for name, call in (order if number % 2 == 0 else order[::-1]):
            cpu_start, started = time.process_time(), time.perf_counter()
            call()
            walls[name].append(time.perf_counter() - started)
            cpu[name] += time.process_time() - cpu_start
    return walls, cpu


def _median_ratio(divisor_walls: list[float], walls: list[float]) -> float:
    """Median over rounds of divisor seconds / these seconds (= these runs/s / divisor's)."""
    return round(statistics.median(d / w for d, w in zip(divisor_walls, walls, strict=True)), 2)


__all__ = ["CPU_CODE", "TINY_CODE", "TINY_GOAL", "MinimalAsyncWrapper", "RawPoolLoop",
           "code_block_ratios"]
