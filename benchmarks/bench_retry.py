"""Retry benchmark: overhead per retry attempt, backoff accuracy, Retry-After honoured.

    .venv/bin/python benchmarks/bench_retry.py                 # full run (~10 s)
    .venv/bin/python benchmarks/bench_retry.py --quick         # smoke run (< 5 s)
    .venv/bin/python benchmarks/bench_retry.py --out DIR       # also write JSON/Markdown/PNG to DIR

Same as ``connector-kit bench retry``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connector_kit.testkit import bench

NAME = "retry"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or NAME).splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: benchmarks/results/quick)")
    args = parser.parse_args(argv)
    return bench.main([NAME], quick=args.quick, out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
