"""Timeouts and deadlines measured for real: how late does a call return against a bad server?

A :class:`~connector_kit.testkit.faults.server.FaultServer` on 127.0.0.1 accepts the request and then
never answers (a hang), or answers a valid body 50 ms per piece (a trickle that beats any
per-read timeout). ``LangflowConnector.send()`` and ``asend()`` are timed with ``perf_counter``
(real system clock, real waits); ``overshoot_ms`` = returned - budget, where the budget is the
configured timeout or the call's overall deadline. The goal: every call returns within
:data:`GOAL_MS` of its budget, and with retries the deadline, not ``timeout x attempts``, bounds
the call.

Cases: a hang with timeout 0.2/0.5/1.0 s (quick: 0.2/0.5) and no retries; a hang with
``max_retries=3, timeout=0.5`` (budget 0.5 s, not 2 s); a hang with ``timeout=0.3,
deadline=1.0, max_retries=3`` (retries inside the deadline); a trickle with ``timeout=1.0,
deadline=0.5``. And the three that per-phase timeouts cannot catch (issue 13), each with
``timeout=3`` (quick: 1) and ``max_retries=3``: headers trickled a byte every 0.5 s, endless
``103 Early Hints`` (one every 50 ms), and a two-step LangGraph call whose steps each take
60 % of the budget.

Rows: ``case, mode, budget_ms, n, median_ms, p95_ms, overshoot_median_ms, overshoot_max_ms,
attempts, within_goal``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector_kit.connectors import (
    ConnectorConfig,
    ConnectorTimeoutError,
    LangflowConnector,
    LangGraphConnector,
)
from connector_kit.testkit.bench import BenchReport, Series, median, ms_since, rounded
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply

GOAL_MS = 50.0
COLD_TIMEOUT = 0.2
MESSAGES = [{"role": "user", "content": "are you there?"}]
TRICKLE_BODY = (b'{"session_id": "s", "outputs": [{"outputs": [{"results": {"message": {"text": "'
                + b"slow " * 200 + b'"}}}]}]}')


@dataclass(frozen=True)
class Case:
    label: str
    config: dict[str, Any]
    budget: float  # seconds
    server: str  # "hang", "trickle", "trickle-head", "hints" or "langgraph"


def _cases(quick: bool) -> list[Case]:
    timeouts = (0.2,) if quick else (0.2, 0.5, 1.0)
    cases = [Case(f"hang, timeout {t:g} s, no retries", {"timeout": t, "max_retries": 0}, t, "hang")
             for t in timeouts]
    budget = 0.3 if quick else 0.5
    cases.append(Case(f"hang, timeout {budget:g} s, max_retries 3 (deadline = timeout)",
                      {"timeout": budget, "max_retries": 3}, budget, "hang"))
    if not quick:
        cases.append(Case("hang, timeout 0.3 s, deadline 1.0 s, max_retries 3",
                          {"timeout": 0.3, "deadline": 1.0, "max_retries": 3, "backoff_initial": 0.05,
                           "jitter": 0.0}, 1.0, "hang"))
    cases.append(Case(f"trickle 50 ms/piece, timeout 1.0 s, deadline {budget:g} s",
                      {"timeout": 1.0, "deadline": budget, "max_retries": 3}, budget, "trickle"))
    whole = 1.0 if quick else 3.0
    slow = {"timeout": whole, "max_retries": 3}
    cases.append(Case(f"headers trickled 1 byte / 0.5 s, timeout {whole:g} s", slow, whole,
                      "trickle-head"))
    cases.append(Case(f"endless 103 Early Hints, timeout {whole:g} s", slow, whole, "hints"))
    cases.append(Case(f"LangGraph thread + run, each {0.6 * whole:g} s, timeout {whole:g} s", slow,
                      whole, "langgraph"))
    return cases


def _handler(kind: str, budget: float = 1.0) -> Callable[[ReceivedRequest], Reply]:
    if kind == "hang":
        return lambda request: Reply(hang=True)
    if kind == "trickle-head":
        return lambda request: Reply(200, TRICKLE_BODY, trickle_head=0.5)
    if kind == "hints":
        return lambda request: Reply(200, TRICKLE_BODY, early_hints=-1, early_hints_every=0.05)
    if kind == "langgraph":
        def step(request: ReceivedRequest) -> Reply:
            body: dict[str, Any] = {"thread_id": "t-1"} if request.path == "/threads" else {"messages": []}
            return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"},
                         delay=0.6 * budget)
        return step
    size = max(1, len(TRICKLE_BODY) // 40)  # 40 pieces, 50 ms apart: 2 s in all
    return lambda request: Reply(200, TRICKLE_BODY, {"Content-Type": "application/json"},
                                 trickle=0.05, trickle_bytes=size)


def _measure(case: Case, mode: str, reps: int) -> tuple[list[float], list[int]]:
    """Elapsed ms per call and attempts per call, for ``reps`` calls that must time out."""
    elapsed: list[float] = []
    attempts: list[int] = []
    with FaultServer(default=_handler(case.server, case.budget)) as server:
        kind: type[LangflowConnector] | type[LangGraphConnector] = LangflowConnector
        url = f"{server.url}/api/v1/run/bench"
        if case.server == "langgraph":
            kind, url = LangGraphConnector, server.url
        config = ConnectorConfig(url=url, **case.config)
        if mode == "sync":
            connector = kind(config=config)
            try:
                for _ in range(reps):
                    started = time.perf_counter()
                    try:
                        connector.send(MESSAGES, "bench")
                    except ConnectorTimeoutError:
                        pass
                    else:
                        raise AssertionError(f"{case.label}: the call did not time out")
                    elapsed.append(ms_since(started))
                    stats = connector.http_client.last_stats
                    attempts.append(stats.attempts if stats else 0)
            finally:
                connector.close()
        else:
            async def go() -> None:
                connector = kind(config=config)
                try:
                    for _ in range(reps):
                        started = time.perf_counter()
                        try:
                            await connector.asend(MESSAGES, "bench")
                        except ConnectorTimeoutError:
                            pass
                        else:
                            raise AssertionError(f"{case.label}: the call did not time out")
                        elapsed.append(ms_since(started))
                        stats = connector.http_client.last_stats
                        attempts.append(stats.attempts if stats else 0)
                finally:
                    await connector.aclose()

            asyncio.run(go())
    return elapsed, attempts


_COLD = """
import asyncio, json, sys, time
started = time.perf_counter()
from connector_kit.connectors import ConnectorConfig, ConnectorTimeoutError, LangflowConnector
imported = time.perf_counter()
url, timeout, mode = sys.argv[1], float(sys.argv[2]), sys.argv[3]
connector = LangflowConnector(config=ConnectorConfig(url=url, timeout=timeout, max_retries=0))
messages = [{"role": "user", "content": "are you there?"}]
begin = time.perf_counter()
try:
    if mode == "sync":
        connector.send(messages, "bench")
    else:
        asyncio.run(connector.asend(messages, "bench"))
except ConnectorTimeoutError:
    pass
else:
    raise SystemExit("the call did not time out")
end = time.perf_counter()
print(json.dumps({"elapsed_ms": (end - begin) * 1000, "import_ms": (imported - started) * 1000}))
"""


def _cold(timeout: float, mode: str, reps: int) -> list[float]:
    """The first send() of a fresh Python process (nothing pooled, nothing imported lazily yet)."""
    samples = []
    with FaultServer(default=_handler("hang")) as server:
        for _ in range(reps):
            done = subprocess.run([sys.executable, "-c", _COLD, f"{server.url}/api/v1/run/bench",
                                   str(timeout), mode], capture_output=True, text=True, timeout=60,
                                  check=True)
            samples.append(float(json.loads(done.stdout.strip().splitlines()[-1])["elapsed_ms"]))
    return samples


def _warm_up() -> None:
    """One answered call each way, so the warm cases do not pay first-use costs (imports, TLS context)."""
    with FaultServer() as server:
        connector = LangflowConnector(config=ConnectorConfig(url=f"{server.url}/api/v1/run/w", timeout=5))
        connector.send(MESSAGES, "warm")

        async def go() -> None:
            await connector.asend(MESSAGES, "warm")
            await connector.aclose()

        asyncio.run(go())
        connector.close()


def _row(label: str, mode: str, budget_ms: float, elapsed: list[float], attempts: list[int] | None
         ) -> dict[str, Any]:
    over = [e - budget_ms for e in elapsed]
    return {
        "case": label, "mode": mode, "budget_ms": rounded(budget_ms, 1), "n": len(elapsed),
        "median_ms": rounded(median(elapsed)), "p95_ms": rounded(max(elapsed)),
        "overshoot_median_ms": rounded(median(over)), "overshoot_max_ms": rounded(max(over)),
        "attempts": rounded(median(attempts), 1) if attempts else 1.0,
        "within_goal": median(over) <= GOAL_MS,
    }


def run(*, quick: bool = False) -> BenchReport:
    """Time calls against hanging and trickling loopback servers, sync and async."""
    reps = 1 if quick else 3
    report = BenchReport(
        name="timeout",
        title=f"Timeouts and deadlines against a hanging/trickling loopback server ({reps} calls per "
              f"case and mode; ms)",
    )
    _warm_up()
    worst_median = (0.0, "")
    worst_single = (0.0, "")
    for case in _cases(quick):
        for mode in ("sync", "async"):
            elapsed, attempts = _measure(case, mode, reps)
            budget_ms = case.budget * 1000
            row = _row(case.label, mode, budget_ms, elapsed, attempts)
            label = f"{case.label} ({mode})"
            worst_median = max(worst_median, (row["overshoot_median_ms"], label))
            worst_single = max(worst_single, (row["overshoot_max_ms"], label))
            report.rows.append(row)
            report.series.append(Series(f"{label}: overshoot", [e - budget_ms for e in elapsed]))
    cold_reps = 1 if quick else 3
    cold = (0.0, "")
    for mode in ("sync",) if quick else ("sync", "async"):
        elapsed = _cold(COLD_TIMEOUT, mode, cold_reps)
        row = _row(f"hang, timeout {COLD_TIMEOUT:g} s, first call of a fresh process", mode,
                   COLD_TIMEOUT * 1000, elapsed, None)
        cold = max(cold, (row["overshoot_median_ms"], mode))
        report.rows.append(row)
        report.series.append(Series(f"first call, fresh process ({mode}): overshoot",
                                    [e - COLD_TIMEOUT * 1000 for e in elapsed]))
    verdict = "meets" if worst_median[0] <= GOAL_MS else "MISSES"
    report.notes.insert(0, f"warm calls return {worst_median[0]:.1f} ms after their budget at worst (median "
                           f"per case; {worst_median[1]}): {verdict} the goal of {GOAL_MS:g} ms. Slowest "
                           f"single call +{worst_single[0]:.1f} ms ({worst_single[1]}). The first call of a "
                           f"fresh process: +{cold[0]:.1f} ms ({cold[1]}).")
    report.notes.append("within_goal compares the median overshoot with the goal; overshoot_max_ms shows "
                        "the slowest single call (scheduling noise on a busy machine lands there).")
    report.notes.append("The first call of a process also pays one-off set-up (building the pooled "
                        "httpx client, first imports inside httpx/httpcore); HttpClient takes the client "
                        "construction off the attempt's timeout, the rest shows as the first-call row.")
    report.notes.append("p95_ms is the slowest call (few calls per case: each one waits its budget).")
    report.notes.append("The chart shows the overshoot (returned - budget) per call, in ms.")
    return report
