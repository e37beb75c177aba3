"""The two consoles every command writes to (stdout for results, stderr for problems), and how
an error is shown: one message, the traceback only with ``--debug``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True)


def show_error(exc: BaseException, debug: bool, *, internal: bool = False) -> None:
    if debug:
        err.print_exception(show_locals=False)
    message = escape(str(exc)) or "(no message)"
    if internal:
        err.print(f"[bold red]Internal error[/] {type(exc).__name__}: {message}\n"
                  "This is a bug in connector-kit or in the connector: rerun with --debug and "
                  "report the traceback.")
    else:
        err.print(f"[bold red]{type(exc).__name__}[/]: {message}")

