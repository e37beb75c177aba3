"""``connector-kit bench TARGET``: benchmark a connector (retry, timeout and replay figures of an
HTTP connector; execution figures of a code connector)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import output
from .common import Subparsers


def add_bench(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="benchmark a connector: retry, timeout and replay figures "
                                     "(HTTP connectors), execution latency (code connectors)")
    p.add_argument("target", nargs="*", metavar="TARGET",
                   help="registry name or pkg.module:Class (the built-in comparisons by name, "
                        "e.g. `agent blocks`, still run here for now)")
    p.add_argument("--cassettes", help="the target's recordings: adds replay latency on them, and "
                                       "the faults answer with their real bodies")
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--out", help="also write JSON, Markdown and PNG results to this folder")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..testkit.bench import builtin, target

    names: list[str] = args.target
    if all(name in builtin.BENCHMARKS for name in names):
        # The comparisons of the built-in connectors, until they move to the repo's benchmarks/.
        return builtin.main(names, quick=args.quick, out_dir=Path(args.out) if args.out else None)
    if len(names) != 1:
        output.err.print(f"bench takes one TARGET (a registry name or pkg.module:Class), got "
                         f"{len(names)}: {' '.join(names)}.")
        return 2
    return target.main(names[0], cassettes=Path(args.cassettes) if args.cassettes else None,
                       quick=args.quick, out_dir=Path(args.out) if args.out else None)
