"""The comparisons of the built-in connectors against raw httpx, raw Monty and the peer.

    python benchmarks/run.py [agent blocks monty retry timeout replay stream] [--quick] [--out DIR]

Each ``benchmarks/<name>.py`` has ``run(*, quick: bool = False) -> BenchReport``. No name runs
them all. Results go to ``benchmarks/results/`` (``benchmarks/results/quick/`` for quick runs,
so a smoke run never overwrites the committed figures): ``<name>.json`` (rows, series, notes,
environment, command), ``<name>.md``, ``<name>.png``, and the folder's ``README.md`` and
``summary.md``. To benchmark a connector of your own, use ``connector-kit bench TARGET``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from connector_kit.testkit.bench import BenchRun, run_all, run_one
from connector_kit.testkit.bench.runner import missing_dependency

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Every built-in comparison, in the order they run.
BENCHMARKS = ("agent", "blocks", "monty", "retry", "timeout", "replay", "stream")
RESULTS = HERE / "results"


def run_benchmark(name: str, *, quick: bool = False) -> BenchRun:
    """Import ``benchmarks.<name>`` and run it; never raises."""
    module_name = f"benchmarks.{name}"
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


def main(names: list[str], *, quick: bool, out_dir: Path | None, command: str | None = None) -> int:
    """Run benchmarks by name (all when empty), print them, write the results folder.

    Returns 0 when every chosen benchmark ran or was skipped for a missing dependency,
    1 when one failed, 2 for an unknown name.
    """
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}.",
              file=sys.stderr)
        return 2
    chosen = list(dict.fromkeys(names)) or list(BENCHMARKS)
    target = out_dir if out_dir is not None else (RESULTS / "quick" if quick else RESULTS)
    jobs = [(name, lambda name=name: run_benchmark(name, quick=quick)) for name in chosen]
    return run_all(jobs, quick=quick, out_dir=target, command=command, order=BENCHMARKS)


def _repo_importable() -> None:
    """``benchmarks.<name>`` importable here and in child processes (the stubs, the per-variant
    runs): ``python benchmarks/run.py`` puts benchmarks/ itself on the path, not the repo."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    # The peer (sdg-hub) imports litellm, which fetches its model price map from GitHub at
    # import unless told to use its bundled copy: the benchmarks talk to loopback only.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def cli(argv: list[str] | None = None) -> int:
    _repo_importable()
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: .../quick)")
    args = parser.parse_args(argv)
    return main(args.names, quick=args.quick, out_dir=args.out)


if __name__ == "__main__":
    sys.exit(cli())
