"""Running benchmarks one after the other: print each report, write the results folder as each
one ends (so a later crash does not lose the earlier figures), and say what was skipped."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .render import make_console, print_report
from .report import BenchReport
from .results import write_results

#: A benchmark: ``run(quick=...)`` -> its report.
Benchmark = Callable[..., BenchReport]


@dataclass
class BenchRun:
    """What became of one benchmark in a run: its report, or why it was skipped or failed."""

    name: str
    report: BenchReport | None = None
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0


def missing_dependency(exc: ImportError) -> str:
    """The skip reason for a benchmark whose optional dependency is not installed."""
    name = exc.name if isinstance(exc, ModuleNotFoundError) and exc.name else exc
    return f"dependency missing: {name} (install its extra)"


def run_one(name: str, run: Benchmark, *, quick: bool = False) -> BenchRun:
    """``run(quick=quick)``, timed; never raises (a missing dependency skips, a crash is kept)."""
    started = time.perf_counter()
    try:
        report = run(quick=quick)
    except ModuleNotFoundError as exc:  # an optional dependency imported lazily by the benchmark
        return BenchRun(name, skipped=missing_dependency(exc), seconds=time.perf_counter() - started)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        return BenchRun(name, error=detail, seconds=time.perf_counter() - started)
    if not isinstance(report, BenchReport):
        return BenchRun(name, error=f"run() returned {type(report).__name__}, not a BenchReport",
                        seconds=time.perf_counter() - started)
    return BenchRun(name, report=report, seconds=time.perf_counter() - started)


def run_all(jobs: Sequence[tuple[str, Callable[[], BenchRun]]], *, quick: bool,
            out_dir: Path | None, command: str | None = None, order: Sequence[str] = (),
            console: Any = None) -> int:
    """Run each ``(name, job)``; print its table or why it did not run; write to ``out_dir``.

    ``out_dir`` None: print only. Returns 0 when every benchmark ran or was skipped for a
    missing dependency, 1 when one failed.
    """
    out = console or make_console()
    skipped: dict[str, str] = {}
    failed = False
    written: set[Path] = set()  # the folder's README/summary are rewritten after each job
    for name, job in jobs:
        out.print(f"[bold]bench {name}[/]{' (quick)' if quick else ''} ...")
        result = job()
        if result.report is not None:
            print_report(result.report, out)
            out.print(f"  ({result.seconds:.1f} s)\n", style="dim")
        elif result.skipped is not None:
            out.print(f"  skipped: {result.skipped}\n", style="yellow", markup=False)
            skipped[name] = result.skipped
        else:
            out.print(f"  FAILED: {result.error}\n", style="red", markup=False)
            skipped[name] = f"failed: {(result.error or '').splitlines()[0]}"
            failed = True
        if out_dir is not None:
            reports = [result.report] if result.report is not None else []
            written.update(write_results(reports, out_dir, command=command, skipped=skipped,
                                         order=order))
    if out_dir is not None:
        out.print(f"Wrote {len(written)} file(s) to {out_dir}", markup=False)
    return 1 if failed else 0
