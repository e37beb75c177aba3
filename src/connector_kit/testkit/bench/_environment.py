"""Where the figures were measured: machine, load, Python and package versions, time, command."""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("connector-kit", "httpx", "httpcore", "pydantic", "pydantic-monty", "pandas",
            "matplotlib", "rich", "sdg-hub")


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the figures (missing ones left out)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def current_command(argv: Sequence[str] | None = None) -> str:
    """The command line that is running, as a user would type it."""
    args = list(sys.argv if argv is None else argv)
    if not args:
        return "python"
    program = args[0]
    if program.endswith(".py"):
        with contextlib.suppress(ValueError):  # another drive (Windows)
            program = os.path.relpath(program)
        head = ["python", program]
    else:
        head = [Path(program).name or program]
    return shlex.join([*head, *args[1:]])


def _load_average() -> list[float] | None:
    """1/5/15-minute load averages (Unix): figures taken on a busy machine say so."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment(command: str | None = None) -> dict[str, Any]:
    """Where the figures were measured: machine, Python, package versions, time, command."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "load_average": _load_average(),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or current_command(),
    }


