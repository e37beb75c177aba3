"""The ``replay`` suite: every recorded scenario reproduces its recorded outcome offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...kit import ConnectorTestKit
from ..checks import Check, CheckFailed, not_run
from ..plan import Plan


def replay_suite(plan: Plan) -> list[Check]:
    if plan.kit is None:
        return [not_run("replay", "no cassette folder given")]
    kit = plan.kit
    names = kit.recorded_names()
    if not names:
        return [not_run("replay", f"no cassettes in {kit.cassettes}; record them first")]
    return [Check("replay", name, _replay_check(kit, name),
                  f"scenario '{name}' reproduces its recorded outcome offline") for name in names]


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
