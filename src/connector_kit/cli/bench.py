"""``connector-kit bench [TARGET] [--scale]``: benchmark a connector (retry, timeout and replay
figures of an HTTP connector; execution figures of a code connector) and/or AgentBlock at
hundreds in flight against a delayed stub."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from rich.markup import escape

from . import output
from .common import Subparsers
from .paths import cassette_folder_problem


def concurrency_levels(text: str) -> tuple[int, ...]:
    """``10,50,200`` -> ``(10, 50, 200)``; anything else is a usage error saying what to type."""
    from ..testkit.bench.scale import MAX_CONCURRENCY

    levels = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= MAX_CONCURRENCY:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a concurrency level: give whole numbers from 1 to "
                f"{MAX_CONCURRENCY}, separated by commas (e.g. 10,50,200)")
        levels.append(int(part))
    return tuple(dict.fromkeys(levels))


def add_bench(sub: Subparsers) -> None:
    p = sub.add_parser(
        "bench", help="benchmark a connector: retry, timeout and replay figures (HTTP connectors), "
                      "execution latency (code connectors); --scale: AgentBlock at scale",
        description="Benchmark TARGET, or AgentBlock at scale with --scale, or both (TARGET's "
                    "reports first, then the scale report). Give at least one of them.")
    p.add_argument("target", metavar="TARGET", nargs="?",
                   help="registry name or pkg.module:Class")
    p.add_argument("--cassettes", help="the target's recordings: adds replay latency on them, and "
                                       "the faults answer with their real bodies")
    p.add_argument("--scale", action="store_true",
                   help="AgentBlock at 10, 50, 200 and 500 in flight (--quick: 10 and 200) against "
                        "a 200 ms delayed stub in its own process: efficiency vs ideal, connects "
                        "per batch, CPU per row, peak RSS, beside raw httpx and, when the peer "
                        "extra is installed, sdg-hub's AgentBlock")
    p.add_argument("--concurrency", type=concurrency_levels, metavar="N[,N...]",
                   help="with --scale: the concurrency levels to measure (e.g. 10,50)")
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--out", help="also write JSON, Markdown and PNG results to this folder")
    p.set_defaults(func=functools.partial(cmd_bench, parser=p))


def cmd_bench(args: argparse.Namespace, *, parser: argparse.ArgumentParser) -> int:
    from ..testkit.bench import run_all, scale, target

    if args.target is None and not args.scale:
        parser.error("give a TARGET to benchmark (e.g. connector-kit bench langflow), or --scale "
                     "to measure AgentBlock at scale (connector-kit bench --scale --quick)")
    if args.concurrency is not None and not args.scale:
        parser.error("--concurrency chooses the levels of --scale: add --scale")
    if args.cassettes is not None and args.target is None:
        parser.error("--cassettes belongs to a TARGET: name the connector they record")
    if args.cassettes is not None:
        problem = _cassettes_problem(args.target, Path(args.cassettes))
        if problem:
            output.err.print(problem)
            return 2
    jobs = []
    if args.target is not None:
        jobs += target.jobs(args.target, quick=args.quick,
                            cassettes=Path(args.cassettes) if args.cassettes else None)
    if args.scale:
        jobs.append(scale.job(quick=args.quick, concurrencies=args.concurrency))
    return run_all(jobs, quick=args.quick, out_dir=Path(args.out) if args.out else None,
                   order=(*target.REPORTS, scale.NAME))


def _cassettes_problem(target: str, cassettes: Path) -> str | None:
    """Why ``--cassettes`` cannot be used for ``target`` (before any measurement), else None."""
    from ..connectors.code_interpreter import BaseCodeInterpreterConnector
    from ..testkit.recording.targets import load_connector

    problem = cassette_folder_problem(target, cassettes)
    if problem is None and issubclass(load_connector(target), BaseCodeInterpreterConnector):
        # Its figures (cold start, warm latency, throughput) replay nothing: say so, not ignore.
        problem = (f"[red]--cassettes: {escape(target)} is a code connector[/]: its benchmarks "
                   "(cold start, warm latency, runs/s) replay no recordings. Drop --cassettes.")
    return problem
