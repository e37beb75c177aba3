"""``connector-kit fuzz TARGET``: fuzz a connector class and print what broke."""

from __future__ import annotations

from pathlib import Path

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.exceptions import ConnectorKitError
from ..recording.targets import load_connector
from .corpus import corpus_dir_for
from .engine import fuzz_connector
from .environment import private_hypothesis_home
from .report import render
from .subject import load_cassettes


def main(target: str, cassettes: Path | None, examples: int, seed: int | None) -> int:
    """0 when every property holds, 1 on failures, 2 on bad use.

    The report goes to stdout; a usage problem to stderr, as every other command does.
    """
    from rich.console import Console
    from rich.markup import escape

    console, err = Console(), Console(stderr=True)
    try:
        cls = load_connector(target)  # a module that fails to import is a TargetError too
    except ConnectorKitError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        return 2
    if not issubclass(cls, BaseAgentConnector):
        err.print(f"[red]{escape(target)} is not an agent connector; fuzzing targets extractors.[/]")
        return 2
    if examples < 1:
        err.print("[red]--examples must be at least 1.[/]")
        return 2
    private_hypothesis_home()
    loaded = load_cassettes(cassettes) if cassettes is not None else []
    report = fuzz_connector(cls, examples=examples, cassettes=loaded,
                            corpus_dir=corpus_dir_for(cassettes) if cassettes is not None else None,
                            seed=seed)
    render(report, console)
    return 0 if report.ok else 1
