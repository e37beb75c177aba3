"""Agent connector benchmark: send()/asend() vs raw pooled httpx on loopback, vs a client per request.

    .venv/bin/python benchmarks/bench_agent.py                 # ~2000 calls per variant (~10 s)
    .venv/bin/python benchmarks/bench_agent.py --quick         # ~200 calls per variant (< 5 s)
    .venv/bin/python benchmarks/bench_agent.py --out DIR       # write JSON/Markdown/PNG to DIR

Prints the table (median and p95 per variant, ratio to raw httpx) and writes the results, as
``connector-kit bench agent`` does. The goal is a send()/raw median ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connector_kit.testkit import bench

NAME = "agent"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or NAME).splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~200 calls per variant instead of ~2000")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: benchmarks/results/quick)")
    args = parser.parse_args(argv)
    return bench.main([NAME], quick=args.quick, out_dir=args.out)


if __name__ == "__main__":
    sys.exit(main())
