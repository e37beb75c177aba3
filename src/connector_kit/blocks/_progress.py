"""A progress bar for long block runs: shown on a terminal, silent in CI and when piped."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

_FALSY = {"", "0", "false", "no", "off"}


def progress_enabled(stream: IO[Any] | None = None, *, requested: bool | None = None) -> bool:
    """Whether to draw a bar on ``stream`` (default ``sys.stderr``).

    ``requested=False`` never draws; otherwise a bar needs a terminal (``isatty()``) and no
    ``CI`` environment variable (CI systems set ``CI=true``). ``requested=True`` still needs a
    terminal: a bar written into a log file is noise.
    """
    if requested is False:
        return False
    if os.environ.get("CI", "").strip().lower() not in _FALSY:
        return False
    target = sys.stderr if stream is None else stream
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (ValueError, OSError):  # closed stream
        return False


@contextmanager
def progress_bar(
    total: int,
    description: str,
    *,
    requested: bool | None = None,
    stream: IO[Any] | None = None,
) -> Iterator[Callable[[], None]]:
    """Yield ``advance()``; it moves a rich progress bar, or does nothing when none is shown.

    ``advance`` may be called from any thread. The bar is transient: it disappears when done.
    """
    if total < 1 or not progress_enabled(stream, requested=requested):
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=stream if stream is not None else sys.stderr)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance() -> None:
            bar.advance(task)

        yield advance


def _nothing() -> None:
    return None


__all__ = ["progress_bar", "progress_enabled"]
