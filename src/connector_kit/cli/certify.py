"""``connector-kit certify`` and ``connector-kit fuzz``: check a connector offline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import output
from .common import BUILTIN_AGENTS, Subparsers, cassettes_for, monty_available, positive_float, positive_int


def add_certify(sub: Subparsers) -> None:
    p = sub.add_parser("certify", help="certify connectors offline from their cassettes")
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="registry name or pkg.module:Class (default: every built-in connector)")
    p.add_argument("--cassettes", help="cassette folder (default: cassettes/<name> for built-ins)")
    mode = p.add_mutually_exclusive_group()  # one or the other: both at once is a usage error
    mode.add_argument("--strict", action="store_true",
                      help="(the default) fail on any check that neither ran nor was bypassed "
                           "with a written reason")
    mode.add_argument("--lenient", action="store_true",
                      help="report checks that did not run without failing on them (exploring; "
                           "the verdict is PASSED (lenient, not a certification), exit 0)")
    p.add_argument("--suite", action="append", help="run only this suite (repeatable)")
    p.add_argument("--fuzz-examples", type=positive_int,
                   help="examples per fuzz property (deep runs)")
    p.add_argument("--budget-ms", type=positive_float, help="timing budget per replayed scenario")
    p.add_argument("--report-dir", default="reports", help="where the report files go")
    p.add_argument("--no-reports", action="store_true", help="print only; write no files")
    p.set_defaults(func=cmd_certify)


def add_fuzz(sub: Subparsers) -> None:
    p = sub.add_parser("fuzz", help="fuzz a connector's extractors and parsers with Hypothesis")
    p.add_argument("target", help="registry name or pkg.module:Class")
    p.add_argument("--cassettes", help="recordings to mutate; failures are saved beside them")
    p.add_argument("--examples", type=positive_int, default=200, help="examples per property")
    p.add_argument("--seed", type=int, help="seed for a reproducible run")
    p.set_defaults(func=cmd_fuzz)


def cmd_certify(args: argparse.Namespace) -> int:
    from ..testkit.certify import certify, suite_names
    from ..testkit.certify.report import render, write_reports

    targets = args.targets or [*BUILTIN_AGENTS, *(["monty"] if monty_available() else [])]
    if args.cassettes and len(targets) != 1:
        output.err.print("--cassettes goes with exactly one TARGET.")
        return 2
    unknown = sorted(set(args.suite or []) - set(suite_names()))
    if unknown:
        output.err.print(f"[red]No suite named {', '.join(map(repr, unknown))}.[/] Installed suites: "
                  f"{', '.join(suite_names())}.")
        return 2
    options: dict[str, Any] = {}
    if args.fuzz_examples is not None:
        options["fuzz"] = {"examples": args.fuzz_examples}
    if args.budget_ms is not None:
        options["timing"] = {"budget_ms": args.budget_ms}
    reports = []
    for target in targets:
        cassettes = cassettes_for(target, args.cassettes)
        if cassettes is not None and not cassettes.is_dir():
            output.err.print(f"[red]No cassette folder {cassettes} for {target}.[/] Record it with "
                      f"`connector-kit record {target}` or pass --cassettes DIR.")
            return 2
        reports.append(certify(target, cassettes, strict=not args.lenient,
                               suites=args.suite or None, options=options, target_name=target))
    render(reports, output.console)
    if not args.no_reports:
        written = write_reports(reports, Path(args.report_dir))
        output.console.print("Reports: " + ", ".join(str(p) for p in written))
    return 0 if all(r.ok for r in reports) else 1


def cmd_fuzz(args: argparse.Namespace) -> int:
    from ..testkit import fuzz
    from .paths import cassette_folder_problem

    # Given, --cassettes must be a folder (as certify, bench and diff insist); the built-in
    # default folder is only used when it is there.
    problem = cassette_folder_problem(args.target, Path(args.cassettes)) if args.cassettes else None
    if problem:
        output.err.print(problem)
        return 2
    cassettes = cassettes_for(args.target, args.cassettes)
    return fuzz.main(args.target, cassettes if cassettes and cassettes.is_dir() else None,
                     args.examples, args.seed)
