"""Timeout and deadline figures of any HTTP connector: how late does a send return when the
server hangs, or trickles its answer 50 ms per piece (so no single read times out)?

``overshoot`` = returned - budget, where the budget is the configured timeout or the send's
overall deadline; the connector should raise ``ConnectorTimeoutError`` (the ``outcome``
column says what it raised). With ``max_retries=3`` the budget stays the timeout: the kit's
connectors bound the whole send by its deadline, not ``timeout x attempts``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ...connectors.agent.base import BaseAgentConnector
from ..faults import FaultHarness, Step, SuccessExchange
from ..faults.server import FaultServer, Reply
from .loopback import faulted_sends, outcome_counts, sends
from .report import BenchReport, Series, median, rounded

GOAL_MS = 50.0
TRICKLE_PIECES = 40
TRICKLE_GAP = 0.05  # 40 pieces 50 ms apart: 2 s in all, past every budget below


@dataclass(frozen=True)
class Case:
    label: str
    config: dict[str, Any]
    budget: float  # seconds
    fault: str  # "hang" or "trickle"


def cases(quick: bool) -> list[Case]:
    timeouts = (0.2,) if quick else (0.2, 0.5)
    found = [Case(f"hang, timeout {t:g} s, no retries", {"timeout": t, "max_retries": 0}, t, "hang")
             for t in timeouts]
    budget = 0.3 if quick else 0.5
    found.append(Case(f"hang, timeout {budget:g} s, max_retries 3", {"timeout": budget, "max_retries": 3},
                      budget, "hang"))
    found.append(Case(f"trickle {TRICKLE_GAP * 1000:g} ms/piece, timeout 1 s, deadline {budget:g} s",
                      {"timeout": 1.0, "deadline": budget, "max_retries": 3}, budget, "trickle"))
    return found


def fault_reply(step: Step, fault: str) -> Reply:
    if fault == "hang":
        return Reply(hang=True)
    # Trailing whitespace keeps the JSON valid and makes ``TRICKLE_PIECES`` pieces of any body.
    body = step.body + b" " * max(0, TRICKLE_PIECES * 16 - len(step.body))
    return Reply(step.status, body, {"Content-Type": step.content_type}, trickle=TRICKLE_GAP,
                 trickle_bytes=-(-len(body) // TRICKLE_PIECES))


def measure(harness: FaultHarness, case: Case, mode: str, reps: int) -> tuple[list[float], list[int],
                                                                           list[str]]:
    """Elapsed ms, attempts at the faulted step and outcome of ``reps`` sends against the fault."""
    faulted = harness.exchange.steps[harness.step]
    pending: list[Reply] = []
    with FaultServer(default=harness.handler(pending)) as server:
        connector = harness.connector(server.url, case.config)
        try:
            done = faulted_sends(harness, server, pending, connector, mode, reps,
                                 lambda: [fault_reply(faulted, case.fault) for _ in range(8)])
        finally:
            connector.close()
    return done.ms, done.attempts, done.outcomes


def _row(case: Case, mode: str, elapsed: list[float], attempts: list[int], outcomes: list[str]
         ) -> dict[str, Any]:
    budget_ms = case.budget * 1000
    over = [e - budget_ms for e in elapsed]
    return {"case": case.label, "mode": mode, "budget_ms": rounded(budget_ms, 1), "n": len(elapsed),
            "median_ms": rounded(median(elapsed)), "overshoot_median_ms": rounded(median(over)),
            "overshoot_max_ms": rounded(max(over)), "attempts": rounded(median(attempts), 1),
            "outcome": outcome_counts(outcomes),
            "within_goal": median(over) <= GOAL_MS and set(outcomes) == {"ConnectorTimeoutError"}}


def run(cls: type[BaseAgentConnector], exchange: SuccessExchange, source: str, *, target: str,
        quick: bool = False) -> BenchReport:
    """Time sends against a hanging and a trickling loopback server, sync and async."""
    reps = 1 if quick else 3
    harness = FaultHarness(cls, copy.deepcopy(exchange))
    report = BenchReport(
        name="timeout",
        title=f"{target}: timeouts and deadlines against a hanging/trickling loopback server ({reps} "
              "send(s) per case and mode; ms)")
    with FaultServer(default=harness.handler([])) as server:  # first-use costs paid before the figures
        warm = harness.connector(server.url)
        try:
            sends(warm, harness.exchange, "sync", 1)
            sends(warm, harness.exchange, "async", 1)
        finally:
            warm.close()
    worst = (float("-inf"), "")
    for case in cases(quick):
        for mode in ("sync", "async"):
            elapsed, attempts, outcomes = measure(harness, case, mode, reps)
            row = _row(case, mode, elapsed, attempts, outcomes)
            worst = max(worst, (row["overshoot_median_ms"], f"{case.label} ({mode})"))
            report.rows.append(row)
            report.series.append(Series(f"{case.label} ({mode}): overshoot",
                                        [e - case.budget * 1000 for e in elapsed]))
    missed = [f"{r['case']} ({r['mode']})" for r in report.rows if not r["within_goal"]]
    report.notes.insert(0, f"sends return {worst[0]:.1f} ms after their budget at worst (median per "
                           f"case; {worst[1]}); goal {GOAL_MS:g} ms with a ConnectorTimeoutError"
                           + (f"; MISSED by: {', '.join(missed)}." if missed else ": met by every case."))
    report.notes.append("overshoot = returned - budget_ms (the timeout, or the deadline when one is "
                        "set); within_goal: median overshoot <= the goal and every send raised "
                        "ConnectorTimeoutError.")
    report.notes.append(f"answers: {source}; faults on the last HTTP step of the send.")
    return report
