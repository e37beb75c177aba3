"""The comparisons of the built-in connectors (``connector_kit.testkit.benchmarks.<name>``),
run by name: ``python benchmarks/bench_<name>.py`` and, for now, ``connector-kit bench NAME``.

Each module has ``run(*, quick: bool = False) -> BenchReport``. Results go to
``benchmarks/results`` (``benchmarks/results/quick`` for quick runs, so a smoke run never
overwrites the committed figures).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .runner import BenchRun, missing_dependency, run_all, run_one

#: Every built-in comparison, in the order they run.
BENCHMARKS = ("agent", "blocks", "monty", "retry", "timeout", "replay", "stream")


def run_benchmark(name: str, *, quick: bool = False) -> BenchRun:
    """Import ``connector_kit.testkit.benchmarks.<name>`` and run it; never raises."""
    module_name = f"connector_kit.testkit.benchmarks.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return BenchRun(name, skipped=f"not available: no module {module_name}")
        return BenchRun(name, skipped=missing_dependency(exc))
    except ImportError as exc:
        return BenchRun(name, skipped=f"dependency missing: {exc}")
    run = getattr(module, "run", None)
    if not callable(run):
        return BenchRun(name, skipped=f"{module_name} has no run(*, quick=...) function")
    return run_one(name, run, quick=quick)


def default_out_dir(quick: bool) -> Path:
    """``benchmarks/results`` of the nearest folder that has ``benchmarks/`` (quick: ``.../quick``)."""
    here = Path.cwd()
    base = next((f / "benchmarks" for f in (here, *here.parents) if (f / "benchmarks").is_dir()),
                here / "benchmarks")
    return base / "results" / "quick" if quick else base / "results"


def main(names: list[str], *, quick: bool, out_dir: Path | None, command: str | None = None) -> int:
    """Run benchmarks by name (all when empty), print them, write the results folder.

    Returns 0 when every chosen benchmark ran or was skipped for a missing dependency,
    1 when one failed, 2 for an unknown name.
    """
    from rich.console import Console

    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        Console(stderr=True).print(f"Unknown benchmark(s): {', '.join(unknown)}. "
                                   f"Known: {', '.join(BENCHMARKS)}.")
        return 2
    chosen = list(dict.fromkeys(names)) or list(BENCHMARKS)
    target = out_dir if out_dir is not None else default_out_dir(quick)
    jobs = [(name, lambda name=name: run_benchmark(name, quick=quick)) for name in chosen]
    return run_all(jobs, quick=quick, out_dir=target, command=command, order=BENCHMARKS)


def script(name: str, doc: str | None, argv: list[str] | None = None) -> int:
    """The command line shared by ``benchmarks/bench_<name>.py``."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or name).strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: .../quick)")
    args = parser.parse_args(argv)
    return main([name], quick=args.quick, out_dir=args.out)
