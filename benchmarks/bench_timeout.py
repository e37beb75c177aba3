"""Timeout benchmark: how long after the timeout / overall deadline a call returns (sync and async).

    .venv/bin/python benchmarks/bench_timeout.py               # full run (~20 s: every call waits its budget)
    .venv/bin/python benchmarks/bench_timeout.py --quick       # smoke run (~5 s)
    .venv/bin/python benchmarks/bench_timeout.py --out DIR     # also write JSON/Markdown/PNG to DIR

Same as ``connector-kit bench timeout``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connector_kit.testkit import bench

NAME = "timeout"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or NAME).splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: benchmarks/results/quick)")
    args = parser.parse_args(argv)
    return bench.main([NAME], quick=args.quick, out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
