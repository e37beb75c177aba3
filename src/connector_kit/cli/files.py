"""``connector-kit scan`` and ``connector-kit operations``: secrets in files, operations as an
agent reads them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.markup import escape

from . import output
from .common import Subparsers, find_dir


def add_scan(sub: Subparsers) -> None:
    p = sub.add_parser("scan", help="fail if a secret or key-shaped value is in the cassettes")
    p.add_argument("paths", nargs="*", help="files or folders (default: cassettes/)")
    p.add_argument("--secret-env", action="append", default=[],
                   help="also look for the value of this environment variable (repeatable)")
    p.set_defaults(func=cmd_scan)


def add_operations(sub: Subparsers) -> None:
    p = sub.add_parser("operations", help="print a connector's operations as an agent reads them")
    p.add_argument("target", nargs="?", help="registry name or pkg.module:Class (default: built-ins)")
    p.add_argument("--write", help="write to this file (e.g. docs/operations.md) instead of printing")
    p.set_defaults(func=cmd_operations)


def cmd_scan(args: argparse.Namespace) -> int:
    from ..testkit.recording.scrub import SCAN_MAX_BYTES, scan

    paths = [Path(p) for p in args.paths] or [find_dir("cassettes")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        output.err.print(f"[red]Nothing to scan at {', '.join(missing)}[/]: no such file or folder.")
        return 2
    unset = [name for name in args.secret_env if not os.environ.get(name)]
    if unset:
        output.err.print(f"[red]--secret-env {', '.join(unset)}: not set[/] (or empty), so that secret "
                  "cannot be looked for. Export it, or drop the option.")
        return 2
    secrets = [os.environ[name] for name in args.secret_env]
    result = scan(paths, secrets)
    where = ", ".join(map(str, paths))
    if result.files == 0:
        # A scan that looked at nothing is not a pass: most likely the wrong folder was given.
        output.err.print(f"[red]0 files were scanned in {escape(where)}[/]: there is nothing in it to "
                         "check. Point scan at the files or the folder holding the recordings.")
        return 2
    for leak in result.leaks:
        output.err.print(f"[red]leak[/] {escape(str(leak))}", soft_wrap=True)
    for leak in result.unscanned:
        output.err.print(f"[yellow]unscanned[/] {escape(str(leak))}", soft_wrap=True)
    if result.leaks:
        output.err.print(f"[bold red]{len(result.leaks)} secret(s) found[/] ({result.files} file(s) "
                         "scanned). Scrub and re-record; do not commit.")
    if result.unscanned:
        output.err.print(f"[bold red]{len(result.unscanned)} file(s) could not be scanned[/] (no secret "
                         "was seen in them, but a file that could not be read is not known to be "
                         "clean). Replace or remove them (regular files of at most "
                         f"{SCAN_MAX_BYTES:,} bytes are scanned), then scan again.")
    if result.findings:
        return 1
    output.console.print(f"No secrets found in {result.files} file(s) scanned in {escape(where)}.")
    return 0


def cmd_operations(args: argparse.Namespace) -> int:
    from ..connectors.llm import operations_document
    from ..testkit.recording.targets import load_connector

    text = load_connector(args.target).to_llm() if args.target else operations_document()
    if args.write:  # checked writable before the command ran (paths.check_outputs)
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(text, encoding="utf-8")
        output.console.print(f"Wrote {args.write}")
    else:
        print(text, end="")
    return 0
