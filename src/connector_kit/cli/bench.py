"""``connector-kit bench TARGET``: benchmark a connector (retry, timeout and replay figures of an
HTTP connector; execution figures of a code connector)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import Subparsers


def add_bench(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="benchmark a connector: retry, timeout and replay figures "
                                     "(HTTP connectors), execution latency (code connectors)")
    p.add_argument("target", metavar="TARGET", help="registry name or pkg.module:Class")
    p.add_argument("--cassettes", help="the target's recordings: adds replay latency on them, and "
                                       "the faults answer with their real bodies")
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--out", help="also write JSON, Markdown and PNG results to this folder")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ..testkit.bench import target

    return target.main(args.target, cassettes=Path(args.cassettes) if args.cassettes else None,
                       quick=args.quick, out_dir=Path(args.out) if args.out else None)
