"""The ``replay`` suite: every scenario reproduces its recorded outcome offline.

One check per scenario the folder's catalogue (``scenarios.yaml``) declares and per cassette
it holds: a declared scenario with no recording is a "not run" row naming the command that
records it, so a folder missing recordings cannot certify on the checks that remain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ....connectors.exceptions import ConnectorKitError
from ...kit import ConnectorTestKit
from ..checks import Check, CheckFailed, error_check, not_run
from ..plan import Plan, record_hint


def replay_suite(plan: Plan) -> list[Check]:
    if plan.kit is None:
        return [not_run("replay", "no cassette folder given")]
    kit = plan.kit
    names = kit.recorded_names()
    checks: list[Check] = []
    try:
        missing = plan.unrecorded()
    except ConnectorKitError as exc:  # a malformed catalogue: one error row, the cassettes still replay
        checks.append(error_check("replay", exc, name="scenarios.yaml"))
        missing = []
    if not names and not missing:
        return [*checks, not_run("replay", f"no cassettes in {kit.cassettes}; record them first")]
    rows = [Check("replay", name, _replay_check(kit, name),
                  f"scenario '{name}' reproduces its recorded outcome offline") for name in names]
    rows += [not_run("replay", f"scenario '{s.name}' is declared in {kit.cassettes / 'scenarios.yaml'} "
                               f"but has no cassette ({kit.cassette_path(s.name).name}): "
                               + record_hint(plan, [s.name]),
                     name=s.name, description=f"scenario '{s.name}' reproduces its recorded outcome")
             for s in missing]
    return checks + sorted(rows, key=lambda c: c.name)


def _replay_check(kit: ConnectorTestKit, name: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        result = kit.replay(name)
        if not result.reproduced:
            raise CheckFailed(result.explain(), {"elapsed_ms": round(result.elapsed_ms, 2)})
        outcome = result.outcome
        shown = "ok" if outcome is not None and outcome.ok else getattr(outcome, "error_type", "?")
        note = f" ({result.note})" if result.note else ""
        return {"detail": f"reproduced: {shown}, {len(result.requests)} request(s){note}",
                "elapsed_ms": round(result.elapsed_ms, 2), "requests": len(result.requests),
                "exercised": {"scenarios": 1, "requests": len(result.requests)}}

    return run
