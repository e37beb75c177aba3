"""The ``connector-kit`` parser and entry point: one subcommand per module of this package."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from ..connectors.exceptions import ConnectorKitError
from . import bench, certify, compare, files, output, paths, record

#: Subcommands in the order ``--help`` lists them.
_COMMANDS = (certify.add_certify, record.add_record, compare.add_diff, compare.add_drift,
             compare.add_matrix, certify.add_fuzz, bench.add_bench, files.add_scan,
             files.add_operations, record.add_rig)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="connector-kit",
        description="Record, replay, fuzz, fault-inject, benchmark and certify connectors.")
    parser.add_argument("--version", action="version", version=f"connector-kit {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        paths.check_outputs(args)  # an unwritable --out fails now, not after the whole run
        code: int = args.func(args)
    except KeyboardInterrupt:
        output.err.print("Interrupted.")
        return 130
    except (ConnectorKitError, OSError, ValidationError) as exc:
        # What a user caused (a bad file, a wrong name, an unwritable folder): one message.
        output.show_error(exc, args.debug)
        return 2
    except Exception as exc:
        output.show_error(exc, args.debug, internal=True)
        return 3
    return code
