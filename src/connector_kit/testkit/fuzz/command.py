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
    """0 when every property holds, 1 on failures, 2 on bad use."""
    from rich.console import Console

    console = Console()
    try:
        cls = load_connector(target)
    except ConnectorKitError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    except Exception as exc:  # a contributor module that fails to import
        console.print(f"[red]Cannot load {target}: {type(exc).__name__}: {exc}[/]")
        return 2
    if not issubclass(cls, BaseAgentConnector):
        console.print(f"[red]{target} is not an agent connector; fuzzing targets extractors.[/]")
        return 2
    if examples < 1:
        console.print("[red]--examples must be at least 1.[/]")
        return 2
    private_hypothesis_home()
    loaded = load_cassettes(cassettes) if cassettes is not None else []
    report = fuzz_connector(cls, examples=examples, cassettes=loaded,
                            corpus_dir=corpus_dir_for(cassettes) if cassettes is not None else None,
                            seed=seed)
    render(report, console)
    return 0 if report.ok else 1
