"""AgentBlock on a large frame (part of the ``blocks`` benchmark): rows/s from the first tenth of
the rows to the last, and peak RSS growth, each run in its own process (so its peak RSS is its
own) against the ``blocks`` loopback server."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

import httpx

from connector_kit.testkit.bench import BenchReport

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


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def large_frame_child(url: str, rows: int, arrow_safe: bool) -> dict[str, Any]:
    """In a fresh process: one ``generate`` on ``rows`` rows; rows/s per tenth, RSS growth."""
    import gc

    from connector_kit.blocks import AgentBlock

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
        started = time.perf_counter()
        out = block.generate(df)
        seconds = time.perf_counter() - started
        peak = _peak_rss_mb()
        stats = httpx.get(url + "/stats", timeout=10).json()
    finally:
        block.close()
    summary = block.last_summary
    marks = dict((int(count), float(at)) for count, at in stats["marks"])
    tenth = rows // 10
    rates = []
    for part in range(10):
        begin, end = marks.get(part * tenth), marks.get((part + 1) * tenth)
        if begin is not None and end is not None and end > begin:
            rates.append(tenth / (end - begin))
    output_mb = (sum(len(v.encode()) for v in out["response"] if isinstance(v, str)) / 2**20
                 if arrow_safe else None)
    return {"rows": rows, "seconds": seconds, "failed": summary.failed if summary else None,
            "rss_before_mb": before, "rss_peak_mb": peak, "tenths_rows_per_s": rates,
            "output_text_mb": output_mb}


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


def _large_row(variant: str, run: dict[str, Any]) -> dict[str, Any]:
    rates = run["tenths_rows_per_s"]
    growth = run["rss_peak_mb"] - run["rss_before_mb"]
    return {
        "scenario": "large frame, fast server",
        "variant": variant,
        "max_concurrency": LARGE_CONCURRENCY,
        "rows": run["rows"],
        "seconds": round(run["seconds"], 1),
        "rows_per_s": round(run["rows"] / run["seconds"], 1),
        "first_tenth_rows_per_s": round(rates[0], 1) if rates else None,
        "last_tenth_rows_per_s": round(rates[-1], 1) if rates else None,
        "last_vs_first_tenth": round(rates[-1] / rates[0], 2) if len(rates) > 1 else None,
        "peak_rss_growth_mb": round(growth, 1),
        "rss_mb_per_10k_rows": round(growth / run["rows"] * 10_000, 1),
        "output_text_mb": round(run["output_text_mb"], 1) if run["output_text_mb"] is not None else None,
    }


def large_frames(report: BenchReport, url: str, *, quick: bool) -> None:
    """Rows/s from the first tenth to the last, and peak RSS growth, on a large frame."""
    big = 5_000 if quick else LARGE_ROWS
    small = big // 5
    runs = [
        ("AgentBlock, cells = response dicts", big, False),
        ("AgentBlock, cells = response dicts", small, False),
        ("AgentBlock arrow_safe, cells = JSON text", big, True),
    ]
    measured = []
    for variant, rows, arrow_safe in runs:
        run = measure_largeframe(url, rows, arrow_safe)
        measured.append(run)
        report.rows.append(_large_row(variant, run))
        if run["failed"]:
            report.notes.append(f"large frame: {run['failed']} of {rows} rows failed ({variant})")
    flat = [row["last_vs_first_tenth"] for row in report.rows if row.get("last_vs_first_tenth")]
    growth_big = measured[0]["rss_peak_mb"] - measured[0]["rss_before_mb"]
    growth_small = measured[1]["rss_peak_mb"] - measured[1]["rss_before_mb"]
    report.notes.append(
        f"large frame: rows/s of the last tenth of the rows divided by the first tenth: "
        f"{', '.join(f'{value:.2f}' for value in flat)} (1.0 = flat from start to end). Peak RSS "
        f"grows {growth_small:.0f} MB for {small:,} rows and {growth_big:.0f} MB for {big:,} rows "
        f"({growth_big / max(growth_small, 1e-9):.1f}x for {big // small}x the rows): it follows the "
        "output, which is the response dicts themselves (or their JSON text with arrow_safe; "
        "output_text_mb is that text's size), stored into the output column as each row finishes."
    )


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One large-frame AgentBlock run (internal child).")
    parser.add_argument("--large", type=int, required=True, help="rows of the run")
    parser.add_argument("--url", required=True, help="the blocks server's URL")
    parser.add_argument("--arrow-safe", action="store_true", help="arrow_safe output")
    args = parser.parse_args(argv)
    print(json.dumps(large_frame_child(args.url, args.large, args.arrow_safe)), flush=True)


if __name__ == "__main__":
    _main()
