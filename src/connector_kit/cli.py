"""``connector-kit``: certify, record, diff, drift, matrix, fuzz, bench, scan, and the live rigs.

Exit codes: 0 success; 1 a check failed (or, for ``certify``, did not run and was not
bypassed); 2 a usage or input problem, shown as one message (the traceback only with
``--debug``); 3 an internal error (a bug: please report it with the ``--debug`` output).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .connectors.exceptions import ConnectorKitError

BUILTIN_AGENTS = ("langflow", "langgraph")
console = Console()
err = Console(stderr=True)


def _find_dir(name: str) -> Path:
    """``./<name>``, else the nearest parent holding it (so commands work from subfolders)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / name).is_dir():
            return folder / name
    return here / name


def _cassettes_for(target: str, given: str | None) -> Path | None:
    if given:
        return Path(given)
    if target in BUILTIN_AGENTS:
        return _find_dir("cassettes") / target
    return None


# -- certify ----------------------------------------------------------------------------------

def cmd_certify(args: argparse.Namespace) -> int:
    from .testkit.certify import certify, suite_names
    from .testkit.certify.report import render, write_reports

    targets = args.targets or [*BUILTIN_AGENTS, *(["monty"] if _monty_available() else [])]
    if args.cassettes and len(targets) != 1:
        err.print("--cassettes goes with exactly one TARGET.")
        return 2
    unknown = sorted(set(args.suite or []) - set(suite_names()))
    if unknown:
        err.print(f"[red]No suite named {', '.join(map(repr, unknown))}.[/] Installed suites: "
                  f"{', '.join(suite_names())}.")
        return 2
    options: dict[str, Any] = {}
    if args.fuzz_examples is not None:
        options["fuzz"] = {"examples": args.fuzz_examples}
    if args.budget_ms is not None:
        options["timing"] = {"budget_ms": args.budget_ms}
    reports = []
    for target in targets:
        cassettes = _cassettes_for(target, args.cassettes)
        if cassettes is not None and not cassettes.is_dir():
            err.print(f"[red]No cassette folder {cassettes} for {target}.[/] Record it with "
                      f"`connector-kit record {target}` or pass --cassettes DIR.")
            return 2
        reports.append(certify(target, cassettes, strict=not args.lenient,
                               suites=args.suite or None, options=options, target_name=target))
    render(reports, console)
    if not args.no_reports:
        written = write_reports(reports, Path(args.report_dir))
        console.print("Reports: " + ", ".join(str(p) for p in written))
    return 0 if all(r.ok for r in reports) else 1


def _monty_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("pydantic_monty") is not None


# -- record -----------------------------------------------------------------------------------

def cmd_record(args: argparse.Namespace) -> int:
    from .testkit.kit import ConnectorTestKit
    from .testkit.recording.scrub import assert_no_leaks
    from .testkit.rig import load_rig, rig_metadata

    framework = args.framework
    out = Path(args.out) if args.out else _find_dir("cassettes") / framework
    catalogue_dir = Path(args.catalogue) if args.catalogue else (
        out if (out / "scenarios.yaml").exists() else _find_dir("cassettes") / framework)
    kit = ConnectorTestKit(args.connector or framework, catalogue_dir)
    scenarios = [] if args.operations else kit.catalogue.select(args.scenario)
    operations = _operation_scenarios(catalogue_dir, args.scenario) if args.operations else []
    rig = None
    context: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if args.url:
        url = args.url
        api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
        metadata["rig"] = "external server"
    else:
        rig = load_rig(framework, Path(args.live_dir) if args.live_dir else None,
                       server_version=args.server_version)
        console.print(f"Starting the {framework} rig"
                      f"{' on ' + rig.version if rig.version else ''} (installs on first use)…")
        handle = rig.start()
        url, api_key = handle.url, handle.api_key
        context.update(handle.extra)
        metadata.update(rig_metadata(rig, handle))
    table = Table(title=f"record {framework} -> {out}", title_justify="left")
    for column in ("scenario", "outcome", "expected", "file"):
        table.add_column(column)
    unmet = 0
    try:
        if operations:
            unmet += _record_operations(kit, operations, out / "operations", table, url=url,
                                        api_key=api_key, context=context, metadata=metadata)
        for scenario in scenarios:
            result = kit.record(scenario, url=url, api_key=api_key, context=context,
                                metadata=metadata, out_dir=out)
            shown = "ok" if result.outcome.ok else str(result.outcome.error_type)
            style = "green" if result.expectation_met else "bold red"
            unmet += not result.expectation_met
            table.add_row(scenario.name, f"[{style}]{shown}[/]", result.expected,
                          os.path.relpath(result.path) if result.committed
                          else f"not written; attempt kept at {result.kept_at}")
            if result.problem:
                # soft_wrap: the path of the kept attempt stays whole, whatever the terminal
                err.print(f"[bold red]{scenario.name}[/]: {result.problem}", soft_wrap=True)
    finally:
        if rig is not None and not args.keep_rig:
            rig.stop()
    assert_no_leaks([out], [api_key] if api_key else [])
    console.print(table)
    if unmet:
        err.print(f"[bold red]{unmet} scenario(s) did not produce the expected outcome[/]: their "
                  "committed cassettes were left untouched; check the server (its logs) and record "
                  "them again.")
        return 1
    console.print("Secret scan: clean.")
    return 0


def _operation_scenarios(catalogue_dir: Path, names: list[str] | None) -> list[Any]:
    from .testkit.recording.operation_scenarios import FOLDER, load_catalogue
    from .testkit.recording.scenarios import ScenarioError

    found = load_catalogue(catalogue_dir / FOLDER)
    if not found:
        raise ScenarioError(f"No operation scenarios in {catalogue_dir / FOLDER / 'scenarios.yaml'}.")
    if not names:
        return found
    unknown = set(names) - {s.name for s in found}
    if unknown:
        raise ScenarioError(f"No operation scenario {sorted(unknown)}; known: "
                            f"{', '.join(s.name for s in found)}.")
    return [s for s in found if s.name in names]


def _record_operations(kit: Any, scenarios: list[Any], out: Path, table: Table, **live: Any) -> int:
    """Record operation scenarios into ``out``; the number whose steps did not end as expected."""
    from .testkit.recording.operation_record import record_operation_scenario
    from .testkit.recording.operation_scenarios import met

    out.mkdir(parents=True, exist_ok=True)
    context = {"url": live["url"].rstrip("/"), "api_key": live["api_key"], **live["context"]}
    unmet = 0
    for scenario in scenarios:
        result = record_operation_scenario(kit.connector_class, scenario, context, out, kit.normalizer,
                                           metadata=live["metadata"])
        ok = sum(met(step, produced) for step, produced in zip(scenario.steps, result.steps, strict=False))
        style = "green" if result.committed else "bold red"
        unmet += not result.committed
        table.add_row(f"operations/{scenario.name}", f"[{style}]{ok}/{len(scenario.steps)} steps[/]",
                      "each step's expect",
                      os.path.relpath(result.path) if result.committed else "not written")
        if result.problem:
            err.print(f"[bold red]{scenario.name}[/]: {result.problem}", soft_wrap=True)
    return unmet


# -- diff ---------------------------------------------------------------------------------------

def cmd_diff(args: argparse.Namespace) -> int:
    from .testkit.diff.connectors import diff_connectors
    from .testkit.recording.targets import load_connector

    cassettes = _cassettes_for(args.control, args.cassettes)
    if cassettes is None:
        from .testkit.recording.targets import registry_names

        names = registry_names(load_connector(args.control))
        cassettes = _find_dir("cassettes") / names[0] if names else None
    if cassettes is None or not cassettes.is_dir():
        err.print("No recordings to diff on: pass --cassettes DIR.")
        return 2
    report = diff_connectors(args.control, args.target, cassettes, strict=not args.diagnostic)
    if not report.scenarios:
        err.print(f"[red]No recordings in {cassettes}:[/] nothing was compared. Record them "
                  "(connector-kit record ...) or pass --cassettes DIR.")
        return 2
    console.print(report.to_markdown())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "diff.md").write_text(report.to_markdown(), encoding="utf-8")
        (out / "diff.json").write_text(report.to_json(), encoding="utf-8")
        console.print(f"Written: {out / 'diff.md'}, {out / 'diff.json'}")
    if not report.ok:
        err.print(f"[bold red]{len(report.changed)} scenario(s) changed[/] (strict mode; use "
                  "--diagnostic to report without failing).")
        return 1
    return 0


# -- drift --------------------------------------------------------------------------------------

def cmd_drift(args: argparse.Namespace) -> int:
    from .testkit.diff.drift import drift_report

    report = drift_report(Path(args.committed), Path(args.fresh), connector=args.connector)
    # Plain print: findings are long lines a terminal may wrap, but a log must keep whole.
    print(report.to_text(), file=sys.stdout if report.exit_code == 0 else sys.stderr)
    for target, text in ((args.json, report.to_json()), (args.md, report.to_markdown())):
        if target:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(text, encoding="utf-8")
            console.print(f"Written: {target}")
    return report.exit_code


# -- matrix -------------------------------------------------------------------------------------

def cmd_matrix(args: argparse.Namespace) -> int:
    from .testkit.diff.matrix import run_matrix

    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    committed = Path(args.cassettes) if args.cassettes else _find_dir("cassettes") / args.framework
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
    console.print(table)
    for version, run in matrix.runs.items():
        if run.error:
            err.print(f"[bold red]{version}[/]: {run.error}", highlight=False)
    console.print("Written: " + ", ".join(str(p) for p in written))
    return matrix.exit_code


# -- scan, rig, bench, fuzz ---------------------------------------------------------------------

def cmd_scan(args: argparse.Namespace) -> int:
    from .testkit.recording.scrub import scan_files

    paths = [Path(p) for p in args.paths] or [_find_dir("cassettes")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]Nothing to scan at {', '.join(missing)}[/]: no such file or folder.")
        return 2
    unset = [name for name in args.secret_env if not os.environ.get(name)]
    if unset:
        err.print(f"[red]--secret-env {', '.join(unset)}: not set[/] (or empty), so that secret "
                  "cannot be looked for. Export it, or drop the option.")
        return 2
    secrets = [os.environ[name] for name in args.secret_env]
    leaks = scan_files(paths, secrets)
    for leak in leaks:
        err.print(f"[red]leak[/] {leak}")
    if leaks:
        err.print(f"[bold red]{len(leaks)} secret(s) found.[/] Scrub and re-record; do not commit.")
        return 1
    console.print(f"No secrets found in {', '.join(map(str, paths))}.")
    return 0


def cmd_rig(args: argparse.Namespace) -> int:
    import json

    from .testkit.rig import load_rig

    rig = load_rig(args.framework, Path(args.live_dir) if args.live_dir else None,
                   server_version=args.server_version)
    if args.action == "install":
        rig.install(quiet=False)
        console.print(f"{args.framework} rig{' ' + rig.version if rig.version else ''} "
                      f"installed in {rig.venv} (pins: {rig.lock})")
    elif args.action == "up":
        handle = rig.start()
        print(json.dumps({**handle.__dict__, "api_key": "<in " + str(rig.state_file) + ">"}, indent=2))
    elif args.action == "down":
        rig.stop()
        console.print(f"{args.framework} rig stopped.")
    else:
        running = rig.status()
        print(json.dumps({**running.__dict__, "api_key": "<in " + str(rig.state_file) + ">"}
                         if running else {"running": False}, indent=2))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .testkit import bench

    return bench.main(args.names, quick=args.quick, out_dir=Path(args.out) if args.out else None)


def cmd_fuzz(args: argparse.Namespace) -> int:
    from .testkit.fuzz import engine as fuzz

    cassettes = _cassettes_for(args.target, args.cassettes)
    return fuzz.main(args.target, cassettes if cassettes and cassettes.is_dir() else None,
                     args.examples, args.seed)


def cmd_operations(args: argparse.Namespace) -> int:
    from .connectors.llm import operations_document
    from .testkit.recording.targets import load_connector

    text = load_connector(args.target).to_llm() if args.target else operations_document()
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        console.print(f"Wrote {args.write}")
    else:
        print(text, end="")
    return 0


# -- parser -------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="connector-kit",
        description="Record, replay, fuzz, fault-inject, benchmark and certify connectors.")
    parser.add_argument("--version", action="version", version=f"connector-kit {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("certify", help="certify connectors offline from their cassettes")
    p.add_argument("targets", nargs="*", metavar="TARGET",
                   help="registry name or pkg.module:Class (default: every built-in connector)")
    p.add_argument("--cassettes", help="cassette folder (default: cassettes/<name> for built-ins)")
    p.add_argument("--strict", action="store_true",
                   help="(the default) fail on any check that neither ran nor was bypassed with "
                        "a written reason")
    p.add_argument("--lenient", action="store_true",
                   help="report checks that did not run without failing on them (exploring; "
                        "the result is not a certification)")
    p.add_argument("--suite", action="append", help="run only this suite (repeatable)")
    p.add_argument("--fuzz-examples", type=_positive_int,
                   help="examples per fuzz property (deep runs)")
    p.add_argument("--budget-ms", type=_positive_float, help="timing budget per replayed scenario")
    p.add_argument("--report-dir", default="reports", help="where the report files go")
    p.add_argument("--no-reports", action="store_true", help="print only; write no files")
    p.set_defaults(func=cmd_certify)

    p = sub.add_parser("record", help="record the scenario catalogue against a live server")
    p.add_argument("framework", help="langflow, langgraph, or your framework's name")
    p.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    p.add_argument("--url", help="record against this running server instead of starting the rig")
    p.add_argument("--api-key-env", help="with --url: environment variable holding the API key")
    p.add_argument("--connector", help="connector to record with (default: the framework's)")
    p.add_argument("--catalogue", help="folder holding scenarios.yaml (default: the output folder)")
    p.add_argument("--out", help="cassette folder (default: cassettes/<framework>)")
    p.add_argument("--live-dir", help="folder holding the rigs (default: ./live)")
    p.add_argument("--keep-rig", action="store_true", help="leave the rig running afterwards")
    p.add_argument("--operations", action="store_true",
                   help="record the operation scenarios (<catalogue>/operations/) instead")
    p.add_argument("--server-version", help="record against this server release (own venv)")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("diff", help="replay the same recordings through two connector versions")
    p.add_argument("--control", required=True, help="the current connector (name or mod:Class)")
    p.add_argument("--target", required=True, help="the upgraded connector (name or mod:Class)")
    p.add_argument("--cassettes", help="recordings to replay (default: the control's folder)")
    p.add_argument("--diagnostic", action="store_true", help="report differences without failing")
    p.add_argument("--out", help="write diff.md and diff.json here")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("drift", help="compare fresh recordings with committed ones, value by value")
    p.add_argument("committed", help="the committed cassette folder (e.g. cassettes/langgraph)")
    p.add_argument("fresh", help="a folder of fresh recordings of the same scenarios")
    p.add_argument("--connector", help="normalise with this connector (default: the recorded one)")
    p.add_argument("--json", help="also write the report as JSON to this file")
    p.add_argument("--md", help="also write the report as Markdown to this file")
    p.set_defaults(func=cmd_drift)

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

    p = sub.add_parser("fuzz", help="fuzz a connector's extractors and parsers with Hypothesis")
    p.add_argument("target", help="registry name or pkg.module:Class")
    p.add_argument("--cassettes", help="recordings to mutate; failures are saved beside them")
    p.add_argument("--examples", type=_positive_int, default=200, help="examples per property")
    p.add_argument("--seed", type=int, help="seed for a reproducible run")
    p.set_defaults(func=cmd_fuzz)

    p = sub.add_parser("bench", help="retry, timeout, Monty, replay, agent and block benchmarks")
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--out", help="results folder (default: benchmarks/results)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("scan", help="fail if a secret or key-shaped value is in the cassettes")
    p.add_argument("paths", nargs="*", help="files or folders (default: cassettes/)")
    p.add_argument("--secret-env", action="append", default=[],
                   help="also look for the value of this environment variable (repeatable)")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("operations", help="print a connector's operations as an agent reads them")
    p.add_argument("target", nargs="?", help="registry name or pkg.module:Class (default: built-ins)")
    p.add_argument("--write", help="write to this file (e.g. docs/operations.md) instead of printing")
    p.set_defaults(func=cmd_operations)

    p = sub.add_parser("rig", help="install, start, stop or inspect a live framework server")
    p.add_argument("action", choices=["install", "up", "down", "status"])
    p.add_argument("framework", help="langflow or langgraph")
    p.add_argument("--live-dir", help="folder holding the rigs (default: ./live)")
    p.add_argument("--server-version",
                   help="server release (LangGraph: langgraph-api; Langflow: the langflow release)"
                        "; each has its own venv (default: the committed lock's)")
    p.set_defaults(func=cmd_rig)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        return 130
    except (ConnectorKitError, OSError, ValidationError) as exc:
        # What a user caused (a bad file, a wrong name, an unwritable folder): one message.
        _show(exc, args.debug)
        return 2
    except Exception as exc:
        _show(exc, args.debug, internal=True)
        return 3
    return code


def _show(exc: BaseException, debug: bool, *, internal: bool = False) -> None:
    if debug:
        err.print_exception(show_locals=False)
    message = escape(str(exc)) or "(no message)"
    if internal:
        err.print(f"[bold red]Internal error[/] {type(exc).__name__}: {message}\n"
                  "This is a bug in connector-kit or in the connector: rerun with --debug and "
                  "report the traceback.")
    else:
        err.print(f"[bold red]{type(exc).__name__}[/]: {message}")


if __name__ == "__main__":
    sys.exit(main())
