"""``connector-kit diff``, ``drift`` and ``matrix``: compare connector versions, recordings and
server releases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table

from . import output
from .common import Subparsers, cassettes_for, find_dir
from .paths import cassette_folder_problem


def add_diff(sub: Subparsers) -> None:
    p = sub.add_parser("diff", help="replay the same recordings through two connector versions")
    p.add_argument("--control", required=True, help="the current connector (name or mod:Class)")
    p.add_argument("--target", required=True, help="the upgraded connector (name or mod:Class)")
    p.add_argument("--cassettes", help="recordings to replay (default: the control's folder)")
    p.add_argument("--diagnostic", action="store_true", help="report differences without failing")
    p.add_argument("--out", help="write diff.md and diff.json here")
    p.set_defaults(func=cmd_diff)


def add_drift(sub: Subparsers) -> None:
    p = sub.add_parser("drift", help="compare fresh recordings with committed ones, value by value")
    p.add_argument("committed", help="the committed cassette folder (e.g. cassettes/langgraph)")
    p.add_argument("fresh", help="a folder of fresh recordings of the same scenarios")
    p.add_argument("--connector", help="normalise with this connector (default: the recorded one)")
    p.add_argument("--json", help="also write the report as JSON to this file")
    p.add_argument("--md", help="also write the report as Markdown to this file")
    p.set_defaults(func=cmd_drift)


def add_matrix(sub: Subparsers) -> None:
    p = sub.add_parser("matrix", help="record the catalogue on several server releases; compare")
    p.add_argument("framework", help="langflow or langgraph")
    p.add_argument("--versions", required=True,
                   help="comma-separated releases (LangGraph: langgraph-api; Langflow: langflow)")
    p.add_argument("--out", default="reports/matrix", help="where recordings and reports go")
    p.add_argument("--cassettes", help="the committed baseline (default: cassettes/<framework>)")
    p.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    p.add_argument("--connector", help="connector to record with (default: the framework's)")
    p.add_argument("--live-dir", help="folder holding the rigs (default: ./live)")
    p.set_defaults(func=cmd_matrix)


def cmd_diff(args: argparse.Namespace) -> int:
    from ..testkit.diff.connectors import diff_connectors
    from ..testkit.recording.targets import load_connector

    if args.cassettes and Path(args.cassettes).exists() and not Path(args.cassettes).is_dir():
        output.err.print(cassette_folder_problem(args.control, Path(args.cassettes)))
        return 2
    cassettes = cassettes_for(args.control, args.cassettes)
    if cassettes is None:
        from ..testkit.recording.targets import registry_names

        names = registry_names(load_connector(args.control))
        cassettes = find_dir("cassettes") / names[0] if names else None
    if cassettes is None or not cassettes.is_dir():
        output.err.print(f"No recordings to diff on{f' (no folder {cassettes})' if cassettes else ''}: "
                         "pass --cassettes DIR, the folder holding the control's recordings.")
        return 2
    report = diff_connectors(args.control, args.target, cassettes, strict=not args.diagnostic)
    if not report.scenarios:
        output.err.print(f"[red]No recordings in {cassettes}:[/] nothing was compared. Record them "
                  "(connector-kit record ...) or pass --cassettes DIR.")
        return 2
    output.console.print(report.to_markdown())
    if args.out:  # checked writable before the command ran (paths.check_outputs)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "diff.md").write_text(report.to_markdown(), encoding="utf-8")
        (out / "diff.json").write_text(report.to_json(), encoding="utf-8")
        output.console.print(f"Written: {out / 'diff.md'}, {out / 'diff.json'}")
    if not report.ok:
        output.err.print(f"[bold red]{len(report.changed)} scenario(s) changed[/] (strict mode; use "
                  "--diagnostic to report without failing).")
        return 1
    return 0



def cmd_drift(args: argparse.Namespace) -> int:
    from ..testkit.diff.drift import drift_report

    report = drift_report(Path(args.committed), Path(args.fresh), connector=args.connector)
    # Plain print: findings are long lines a terminal may wrap, but a log must keep whole.
    print(report.to_text(), file=sys.stdout if report.exit_code == 0 else sys.stderr)
    for target, text in ((args.json, report.to_json()), (args.md, report.to_markdown())):
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(text, encoding="utf-8")
            output.console.print(f"Written: {target}")
    return report.exit_code



def cmd_matrix(args: argparse.Namespace) -> int:
    from ..testkit.diff.matrix import run_matrix

    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    committed = Path(args.cassettes) if args.cassettes else find_dir("cassettes") / args.framework
    if committed.is_absolute() and committed.is_relative_to(Path.cwd()):
        committed = committed.relative_to(Path.cwd())  # reports name it as a reader's checkout does
    out = Path(args.out)
    matrix = run_matrix(args.framework, versions, out, committed=committed,
                        live_dir=Path(args.live_dir) if args.live_dir else None,
                        connector=args.connector, scenarios=args.scenario)
    written = matrix.write(out)
    table = Table(title=f"{args.framework}: each release vs the committed {matrix.baseline}",
                  title_justify="left")
    table.add_column("scenario")
    for version in matrix.versions:
        table.add_column(version)
    style = {"same": "green", "changed": "yellow", "broken": "bold red"}
    for name, row in matrix.scenarios.items():
        table.add_row(name, *(f"[{style[row[v].verdict]}]{row[v].verdict}[/]"
                              for v in matrix.versions))
    output.console.print(table)
    for version, run in matrix.runs.items():
        if run.error:
            output.err.print(f"[bold red]{version}[/]: {run.error}", highlight=False)
    output.console.print("Written: " + ", ".join(str(p) for p in written))
    return matrix.exit_code
