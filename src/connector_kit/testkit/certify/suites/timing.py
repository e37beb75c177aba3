"""The ``timing`` suite: the connector's own cost within a budget.

For an agent connector, the overhead per replayed scenario (best of a few rounds, since a
busy machine only ever adds time); for a code-interpreter connector, the warm execution
median.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from ....connectors.base import ConnectorConfig
from ..._stats import p95
from ..checks import Check, CheckFailed, elapsed_ms, not_run
from ..plan import Plan, is_code_connector


def timing_suite(plan: Plan) -> list[Check]:
    if is_code_connector(plan.connector_class):
        return [Check("timing", "warm_execution", lambda: _code_timing(plan),
                      "warm execution median within the budget")]
    if plan.kit is None or not plan.kit.recorded_names():
        return [not_run("timing", "no cassettes to time")]
    return [Check("timing", "replay_overhead", lambda: _replay_timing(plan),
                  "the connector's own overhead per replayed scenario is within the budget")]


def _replay_timing(plan: Plan) -> dict[str, Any]:
    assert plan.kit is not None
    budget = float(plan.setting("timing", "budget_ms", 50.0))
    rounds = int(plan.setting("timing", "rounds", 3))
    per_scenario: dict[str, float] = {}
    for name in plan.kit.recorded_names():
        samples = []
        for _ in range(rounds):
            samples.append(plan.kit.replay(name, strict=False).elapsed_ms)
        # Best of the rounds: a busy machine (CI, xdist workers) only ever adds time, and the
        # check is about what the connector itself costs.
        per_scenario[name] = min(samples)
    worst = max(per_scenario, key=lambda n: per_scenario[n])
    figures: dict[str, Any] = {
        "budget_ms": budget, "median_ms": round(statistics.median(per_scenario.values()), 2),
        "worst_scenario": worst, "worst_ms": round(per_scenario[worst], 2)}
    if per_scenario[worst] > budget:
        raise CheckFailed(f"replaying '{worst}' takes {per_scenario[worst]:.1f} ms (best of "
                          f"{rounds}), over the {budget:g} ms budget: the connector itself is slow "
                          "(it sleeps or does heavy work per call).", figures)
    figures["detail"] = (f"median {figures['median_ms']} ms, worst {figures['worst_ms']} ms "
                         f"({worst}), budget {budget:g} ms")
    figures["exercised"] = {"scenarios": len(per_scenario), "replays": len(per_scenario) * rounds}
    return figures


def _code_timing(plan: Plan) -> dict[str, Any]:
    budget = float(plan.setting("timing", "budget_ms", 25.0))
    cls = plan.connector_class
    connector = cls(config=ConnectorConfig(timeout=10))
    try:
        run = connector.execute_code  # type: ignore[attr-defined]
        run("1 + 1")  # warm the pool
        samples = []
        for _ in range(int(plan.setting("timing", "rounds", 30))):
            started = time.perf_counter()
            run("x = 1 + 1")
            samples.append(elapsed_ms(started))
    finally:
        connector.close()
    median = statistics.median(samples)
    figures: dict[str, Any] = {"budget_ms": budget, "median_ms": round(median, 3),
               "p95_ms": round(p95(samples), 3)}
    if median > budget:
        raise CheckFailed(f"warm execution median {median:.2f} ms is over the {budget:g} ms budget.",
                          figures)
    figures["detail"] = f"warm median {figures['median_ms']} ms (budget {budget:g} ms)"
    figures["exercised"] = {"executions": len(samples)}
    return figures
