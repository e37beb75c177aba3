"""``connector-kit bench TARGET``: benchmark any connector a contributor names.

TARGET is loaded the way ``certify`` loads one (a registry name or ``module:Class``). For an
HTTP (agent) connector: the retry figures (:mod:`.retry`), the timeout figures
(:mod:`.timeout`) and, given cassettes, the replay figures (:mod:`.replay`); for a code
connector: the execution figures (:mod:`.execution`). Each report names what its figures
divide by.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.code_interpreter import BaseCodeInterpreterConnector
from ..recording import TargetError, load_connector
from . import execution, replay, retry, timeout
from .loopback import exchange_for
from .runner import BenchRun, run_all, run_one

#: The reports a target run writes, in order.
REPORTS = ("retry", "timeout", "replay", "execution")


def jobs(target: str, *, cassettes: Path | None = None, quick: bool = False
         ) -> list[tuple[str, Callable[[], BenchRun]]]:
    """The benchmarks that fit ``target``, each ready to run (``TargetError`` if none fits)."""
    cls = load_connector(target)
    if cassettes is not None and not cassettes.is_dir():
        raise TargetError(f"No cassette folder {cassettes}: pass --cassettes DIR with recordings "
                          f"of {target} (or leave it out).")
    if issubclass(cls, BaseCodeInterpreterConnector):
        return [("execution", lambda: run_one(
            "execution", lambda *, quick: execution.run(cls, target=target, quick=quick), quick=quick))]
    if not issubclass(cls, BaseAgentConnector):
        raise TargetError(f"{cls.__name__} is neither an HTTP (BaseAgentConnector) nor a code "
                          "(BaseCodeInterpreterConnector) connector: there is nothing to benchmark.")
    exchange, source = exchange_for(cls, cassettes)
    found: list[tuple[str, Callable[[], BenchRun]]] = [
        ("retry", lambda: run_one("retry", lambda *, quick: retry.run(
            cls, exchange, source, target=target, quick=quick), quick=quick)),
        ("timeout", lambda: run_one("timeout", lambda *, quick: timeout.run(
            cls, exchange, source, target=target, quick=quick), quick=quick)),
    ]
    if cassettes is not None:
        folder = cassettes
        found.append(("replay", lambda: run_one("replay", lambda *, quick: replay.run(
            cls, folder, target=target, quick=quick), quick=quick)))
    return found


def main(target: str, *, cassettes: Path | None = None, quick: bool = False,
         out_dir: Path | None = None, command: str | None = None, console: Any = None) -> int:
    """Run the benchmarks that fit ``target``; print them; write ``out_dir`` when given.

    Returns 0 when every benchmark ran, 1 when one failed; a TARGET that cannot be loaded or
    benchmarked raises :class:`TargetError` (the CLI's usage error, exit 2).
    """
    return run_all(jobs(target, cassettes=cassettes, quick=quick), quick=quick, out_dir=out_dir,
                   command=command, order=REPORTS, console=console)
