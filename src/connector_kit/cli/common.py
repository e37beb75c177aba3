"""What several commands share: where the built-in cassettes are, argument types."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TypeAlias

#: What ``add_subparsers()`` returns: each command module adds its commands to it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

BUILTIN_AGENTS = ("langflow", "langgraph")


def find_dir(name: str) -> Path:
    """``./<name>``, else the nearest parent holding it (so commands work from subfolders)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / name).is_dir():
            return folder / name
    return here / name


def cassettes_for(target: str, given: str | None) -> Path | None:
    if given:
        return Path(given)
    if target in BUILTIN_AGENTS:
        return find_dir("cassettes") / target
    return None



def monty_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("pydantic_monty") is not None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value
