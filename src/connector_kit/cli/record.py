"""``connector-kit record`` and ``connector-kit rig``: live framework servers and recording from them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.markup import escape
from rich.table import Table

from . import output
from .common import Subparsers, find_dir


def add_record(sub: Subparsers) -> None:
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


def add_rig(sub: Subparsers) -> None:
    p = sub.add_parser("rig", help="install, start, stop or inspect a live framework server")
    p.add_argument("action", choices=["install", "up", "down", "status"])
    p.add_argument("framework", help="langflow or langgraph")
    p.add_argument("--live-dir", help="folder holding the rigs (default: ./live)")
    p.add_argument("--server-version",
                   help="server release (LangGraph: langgraph-api; Langflow: the langflow release)"
                        "; each has its own venv (default: the committed lock's)")
    p.set_defaults(func=cmd_rig)


def cmd_record(args: argparse.Namespace) -> int:
    from ..testkit.kit import ConnectorTestKit
    from ..testkit.recording.scrub import assert_no_leaks
    from ..testkit.rig import load_rig, rig_metadata

    problem = _live_options_problem(args)
    if problem:
        output.err.print(problem)
        return 2
    framework = args.framework
    out = Path(args.out) if args.out else find_dir("cassettes") / framework
    catalogue_dir = Path(args.catalogue) if args.catalogue else (
        out if (out / "scenarios.yaml").exists() else find_dir("cassettes") / framework)
    kit = ConnectorTestKit(args.connector or framework, catalogue_dir)
    scenarios = [] if args.operations else kit.catalogue.select(args.scenario)
    operations = _operation_scenarios(catalogue_dir, args.scenario) if args.operations else []
    rig = None
    context: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if args.url:
        url = args.url
        api_key = os.environ[args.api_key_env] if args.api_key_env else None
        metadata["rig"] = "external server"
    else:
        rig = load_rig(framework, Path(args.live_dir) if args.live_dir else None,
                       server_version=args.server_version)
        output.console.print(f"Starting the {framework} rig"
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
                output.err.print(f"[bold red]{scenario.name}[/]: {result.problem}", soft_wrap=True)
    finally:
        if rig is not None and not args.keep_rig:
            rig.stop()
    output.console.print(table)
    if out.exists():  # nothing may have been written (every scenario failed, into a new folder)
        assert_no_leaks([out], [api_key] if api_key else [])
    if unmet:
        output.err.print(f"[bold red]{unmet} scenario(s) did not produce the expected outcome[/]: "
                         "nothing was written for them (a cassette committed before was left as it "
                         "was); see each one's reason above, fix it and record them again.")
        return 1
    output.console.print("Secret scan: clean.")
    return 0


def _live_options_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with --url / --api-key-env (checked before any rig starts), else None."""
    from ..connectors._secrets import mask_url

    if args.api_key_env and not args.url:
        return ("[red]--api-key-env goes with --url[/]: the rig started without --url brings its own "
                "key. Add --url URL, or drop --api-key-env.")
    if args.url:
        try:
            parts = urlsplit(args.url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            _ = parts.port  # a port that is not a number raises here
        except ValueError:
            ok = False
        if not ok:
            shown = mask_url(args.url, [os.environ.get(args.api_key_env or "")])
            return (f"[red]--url {escape(shown)} is not an http:// or https:// URL with a host.[/] "
                    "Give the running server's address, e.g. --url http://127.0.0.1:8123.")
    if args.api_key_env and not os.environ.get(args.api_key_env):
        return (f"[red]--api-key-env {escape(args.api_key_env)}: not set[/] (or empty), so there is "
                "no key to send. Export it, or drop the option if the server needs no key.")
    return None


def _operation_scenarios(catalogue_dir: Path, names: list[str] | None) -> list[Any]:
    from ..testkit.recording.operation_scenarios import FOLDER, load_catalogue
    from ..testkit.recording.scenarios import ScenarioError

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
    from ..testkit.recording.operation_record import record_operation_scenario
    from ..testkit.recording.operation_scenarios import met

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
            output.err.print(f"[bold red]{scenario.name}[/]: {result.problem}", soft_wrap=True)
    return unmet



def cmd_rig(args: argparse.Namespace) -> int:
    import json

    from ..testkit.rig import load_rig

    rig = load_rig(args.framework, Path(args.live_dir) if args.live_dir else None,
                   server_version=args.server_version)
    if args.action == "install":
        rig.install(quiet=False)
        output.console.print(f"{args.framework} rig{' ' + rig.version if rig.version else ''} "
                      f"installed in {rig.venv} (pins: {rig.lock})")
    elif args.action == "up":
        handle = rig.start()
        print(json.dumps({**handle.__dict__, "api_key": "<in " + str(rig.state_file) + ">"}, indent=2))
    elif args.action == "down":
        rig.stop()
        output.console.print(f"{args.framework} rig stopped.")
    else:
        running = rig.status()
        print(json.dumps({**running.__dict__, "api_key": "<in " + str(rig.state_file) + ">"}
                         if running else {"running": False}, indent=2))
    return 0
