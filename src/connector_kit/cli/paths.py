"""Checks on the paths a user gives a command, made before the command's work starts.

An output option naming a place that cannot be written (``--report-dir /proc/x``, ``--md /tmp``)
used to fail after the whole run -- after every benchmark had been measured -- with a raw OS
message. :func:`check_outputs` runs before any command and names the option and what to do.
A ``--cassettes`` path that is missing or a file is refused the same way by every command that
reads recordings (:func:`cassette_folder_problem`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from rich.markup import escape

from ..connectors.exceptions import ConnectorKitError


class OutputPathError(ConnectorKitError):
    """An output option names a place the command could not write to (exit 2, before any work)."""


#: The options naming what a command writes, checked before the command runs:
#: ``(command, argparse dest) -> True`` for a folder, ``False`` for a file.
OUTPUTS: dict[tuple[str, str], bool] = {
    ("certify", "report_dir"): True,
    ("record", "out"): True,
    ("diff", "out"): True,
    ("drift", "json"): False,
    ("drift", "md"): False,
    ("matrix", "out"): True,
    ("bench", "out"): True,
    ("operations", "write"): False,
}


def check_outputs(args: argparse.Namespace) -> None:
    """Raise :class:`OutputPathError` if an output option of ``args.command`` cannot be written."""
    for (command, dest), folder in OUTPUTS.items():
        value = getattr(args, dest, None)
        if args.command != command or value is None:
            continue
        if command == "certify" and getattr(args, "no_reports", False):
            continue  # --no-reports: the report folder is never written
        require_writable(f"--{dest.replace('_', '-')}", Path(value), folder=folder)


def require_writable(option: str, path: Path, *, folder: bool) -> None:
    """Fail unless ``path`` is (or can be created as) a folder / file this process can write.

    Nothing is left behind: an existing file is opened for appending without writing, and a
    place to be created is probed with an anonymous temporary file in its nearest existing
    folder (the only test that holds for root, read-only mounts and ``/proc`` alike; ``os.access``
    says yes to root everywhere).
    """
    what = "folder" if folder else "file"
    if path.exists():
        if folder and not path.is_dir():
            raise OutputPathError(f"{option} {path}: that is a file, not a folder. Give a folder "
                                  "to write into (it is created if missing).")
        if not folder and path.is_dir():
            raise OutputPathError(f"{option} {path}: that is a folder. Give the path of a file "
                                  f"to write (e.g. {path / 'report.md'}).")
        if not folder and not path.is_file():
            raise OutputPathError(f"{option} {path}: not a regular file. Give the path of a file "
                                  "to write.")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path.cwd())
    if existing != path and not existing.is_dir():
        raise OutputPathError(f"{option} {path}: {existing} is a file, so no {what} can be "
                              f"created under it. Choose another {what}.")
    try:
        if existing.is_dir():
            with tempfile.TemporaryFile(dir=existing):
                pass
        else:  # an existing regular file, to be replaced
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as exc:
        raise OutputPathError(f"{option} {path}: cannot write there ({exc.strerror or exc}). "
                              f"Choose a {what} you can write to.") from None


def cassette_folder_problem(target: str, cassettes: Path) -> str | None:
    """What is wrong with ``--cassettes`` (markup for the error console), or None if it is a folder.

    The missing-folder message is the one ``certify``, ``bench`` and ``diff`` give.
    """
    if cassettes.is_dir():
        return None
    if cassettes.exists():
        return (f"[red]--cassettes {escape(str(cassettes))} is a file, not a folder.[/] Give the "
                f"folder holding the recordings (e.g. {escape(str(cassettes.parent))}).")
    return (f"[red]No cassette folder {escape(str(cassettes))} for {escape(target)}.[/] Record it "
            f"with `connector-kit record {escape(target)}` or pass --cassettes DIR.")
