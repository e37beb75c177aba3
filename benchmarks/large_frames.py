"""AgentBlock on a large frame (part of the ``blocks`` benchmark), each run in its own process
(so its peak RSS is its own) against the ``blocks`` loopback server.

Per run: rows/s of the first and the last tenth of the rows (wall clock, from the stub's arrival
marks), the client's CPU per row in the same tenths (``time.process_time`` sampled every 0.1 s:
less moved by other load on the machine than wall time), the full (generation-2) GC
collections during ``generate`` (count, total and longest pause, from ``gc.callbacks``), the
peak RSS growth, the RSS growth at half the rows (about half the final one when memory follows
the output), and the output's size as JSON text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import httpx

from connector_kit.testkit.bench import BenchReport
from connector_kit.testkit.bench.scale_variants import peak_rss_mb

from .agent import API_KEY
from .blocks import FLOW_PATH, frame

LARGE_ROWS = 100_000
LARGE_CONCURRENCY = 16


def _rss_mb() -> float:
    """Resident set size of this process now (MB), from /proc (Linux)."""
    import os

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read(200).split()[1])
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class _Sampler:
    """``(monotonic, process_time, rss_mb)`` every 0.1 s in a thread, while ``generate`` runs."""

    def __init__(self) -> None:
        import threading

        self.samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), time.process_time(), _rss_mb()))
            self._stop.wait(0.1)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic(), time.process_time(), _rss_mb()))

    def at(self, moment: float, field: int) -> float:
        """Field ``field`` (1: CPU seconds, 2: RSS MB) at ``moment``, interpolated."""
        import bisect

        times = [sample[0] for sample in self.samples]
        i = min(max(bisect.bisect_left(times, moment), 1), len(times) - 1)
        (t0, *v0), (t1, *v1) = self.samples[i - 1], self.samples[i]
        a, b = v0[field - 1], v1[field - 1]
        return a + (b - a) * (moment - t0) / (t1 - t0) if t1 > t0 else a


class _FullCollections:
    """Count and pause times of the generation-2 collections while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> _FullCollections:
        import gc

        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        import gc

        gc.callbacks.remove(self)


def large_frame_child(url: str, rows: int, arrow_safe: bool) -> dict[str, Any]:
    """In a fresh process: one ``generate`` on ``rows`` rows; rows/s and CPU per tenth, RSS growth."""
    import gc

    from connector_kit.blocks import AgentBlock, to_json_text

    block = AgentBlock(
        block_name="bench_large", agent_framework="langflow", agent_url=url + FLOW_PATH,
        agent_api_key=API_KEY, input_cols={"messages": "question"}, output_cols=["response"],
        max_concurrency=LARGE_CONCURRENCY, timeout=60, show_progress=False, arrow_safe=arrow_safe,
    )
    df = frame(rows)
    try:
        block.generate(df.head(200))  # warm-up: imports, connections
        gc.collect()
        httpx.get(url + "/stats/reset", timeout=10).raise_for_status()
        before = _rss_mb()
        with _Sampler() as sampler, _FullCollections() as full:
            started = time.perf_counter()
            out = block.generate(df)
            seconds = time.perf_counter() - started
        peak = peak_rss_mb()  # this process's own (VmHWM): ru_maxrss starts at the parent's
        stats = httpx.get(url + "/stats", timeout=10).json()
    finally:
        block.close()
    summary = block.last_summary
    marks = dict((int(count), float(at)) for count, at in stats["marks"])
    tenth = rows // 10
    rates, cpu_us = [], []
    for part in range(10):
        begin, end = marks.get(part * tenth), marks.get((part + 1) * tenth)
        if begin is not None and end is not None and end > begin:
            rates.append(tenth / (end - begin))
            cpu_us.append((sampler.at(end, 1) - sampler.at(begin, 1)) / tenth * 1e6)
    half = marks.get(5 * tenth)
    texts = out["response"] if arrow_safe else (to_json_text(v) for v in out["response"])
    output_mb = sum(len(v.encode()) for v in texts if isinstance(v, str)) / 2**20
    return {"rows": rows, "seconds": seconds, "failed": summary.failed if summary else None,
            "rss_before_mb": before, "rss_peak_mb": peak,
            "rss_half_mb": sampler.at(half, 2) if half is not None else None,
            "tenths_rows_per_s": rates, "tenths_cpu_us_per_row": cpu_us,
            "full_gc_count": len(full.pauses), "full_gc_s": sum(full.pauses),
            "full_gc_longest_ms": max(full.pauses, default=0.0) * 1000, "output_text_mb": output_mb}


def measure_largeframe(url: str, rows: int, arrow_safe: bool) -> dict[str, Any]:
    """:func:`large_frame_child` in its own process, so its peak RSS is this run's alone."""
    command = [sys.executable, "-m", __name__, "--large", str(rows), "--url", url]
    if arrow_safe:
        command.append("--arrow-safe")
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"large-frame run failed: {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _ratio(values: list[float]) -> float | None:
    return round(values[-1] / values[0], 2) if len(values) > 1 and values[0] > 0 else None


def _large_row(variant: str, run: dict[str, Any]) -> dict[str, Any]:
    rates, cpu = run["tenths_rows_per_s"], run["tenths_cpu_us_per_row"]
    growth = run["rss_peak_mb"] - run["rss_before_mb"]
    half = run["rss_half_mb"] - run["rss_before_mb"] if run["rss_half_mb"] is not None else None
    return {
        "scenario": "large frame, fast server",
        "variant": variant,
        "max_concurrency": LARGE_CONCURRENCY,
        "rows": run["rows"],
        "seconds": round(run["seconds"], 1),
        "rows_per_s": round(run["rows"] / run["seconds"], 1),
        "first_tenth_rows_per_s": round(rates[0], 1) if rates else None,
        "last_tenth_rows_per_s": round(rates[-1], 1) if rates else None,
        "last_vs_first_tenth": _ratio(rates),
        "cpu_us_per_row_first_tenth": round(cpu[0]) if cpu else None,
        "cpu_us_per_row_last_tenth": round(cpu[-1]) if cpu else None,
        "cpu_per_row_last_vs_first": _ratio(cpu),
        "full_gc_collections": run["full_gc_count"],
        "full_gc_s": round(run["full_gc_s"], 2),
        "full_gc_longest_ms": round(run["full_gc_longest_ms"], 1),
        "peak_rss_growth_mb": round(growth, 1),
        "rss_growth_at_half_mb": round(half, 1) if half is not None else None,
        "output_text_mb": round(run["output_text_mb"], 1),
        "rss_growth_vs_output_text": round(growth / run["output_text_mb"], 1)
        if run["output_text_mb"] > 0 else None,
    }


def large_frames(report: BenchReport, url: str, *, quick: bool) -> None:
    """Rows/s and CPU per row from the first tenth to the last, GC pauses and peak RSS growth."""
    rows = 5_000 if quick else LARGE_ROWS
    runs = [("AgentBlock, cells = response dicts", False),
            ("AgentBlock arrow_safe, cells = JSON text", True)]
    tenths: list[list[float]] = []
    for variant, arrow_safe in runs:
        run = measure_largeframe(url, rows, arrow_safe)
        report.rows.append(_large_row(variant, run))
        tenths.append(run["tenths_rows_per_s"])
        if run["failed"]:
            report.notes.append(f"large frame: {run['failed']} of {rows} rows failed ({variant})")
    measured = report.rows[-len(runs):]
    report.notes.append(
        f"large frame, {rows:,} rows, one generate() each: last_vs_first_tenth = rows/s over the "
        "last tenth of the rows divided by rows/s over the first tenth (wall clock; 1.0 = flat from "
        "start to end): " + ", ".join(f"{row['last_vs_first_tenth']}" for row in measured)
        + ". cpu_per_row_last_vs_first = the client's CPU per row in the last tenth divided by the "
        "first (1.0 = a late row costs what an early one did; less moved by other load than wall "
        "time): " + ", ".join(f"{row['cpu_per_row_last_vs_first']}" for row in measured)
        + ". full_gc_*: generation-2 collections during generate() (finished rows are frozen out "
        "of them every 1,000 rows, so none re-scans the rows already done). Peak RSS growth "
        + ", ".join(f"{row['peak_rss_growth_mb']:.0f} MB (at half the rows "
                    f"{row['rss_growth_at_half_mb']} MB)" for row in measured)
        + "; rss_growth_vs_output_text divides it by the output column's size as JSON text "
        "(output_text_mb): memory follows the output -- the response dicts themselves (~20 Python "
        "objects a row), or their JSON text with arrow_safe -- stored as each row finishes."
    )
    # Every tenth, not only the two ends: one tenth is ~3-4 s, and the client's CPU per row
    # swings by ~0.3x between tenths anywhere in the run on this machine (measured in one
    # quiet run: 228-330 us of user CPU a row), so the series shows whether rows/s falls as
    # rows accumulate better than one ratio of two tenths does.
    report.notes.append(
        "large frame, rows/s in each tenth of the rows, first to last: "
        + "; ".join(f"{row['variant']}: " + " / ".join(f"{rate:,.0f}" for rate in run_rates)
                    for row, run_rates in zip(measured, tenths, strict=True)) + ".")


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One large-frame AgentBlock run (internal child).")
    parser.add_argument("--large", type=int, required=True, help="rows of the run")
    parser.add_argument("--url", required=True, help="the blocks server's URL")
    parser.add_argument("--arrow-safe", action="store_true", help="arrow_safe output")
    args = parser.parse_args(argv)
    print(json.dumps(large_frame_child(args.url, args.large, args.arrow_safe)), flush=True)


if __name__ == "__main__":
    _main()
