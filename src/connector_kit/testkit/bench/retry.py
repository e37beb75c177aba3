"""Retry figures of any HTTP connector: what a retry attempt costs, how exactly the backoff and
``Retry-After`` waits are slept, and how many attempts the server really saw.

The connector is built as its recording was (:func:`~.loopback.exchange_for`) with retry
settings of the bench's own, pointed at a loopback server answering its successful exchange;
the last HTTP step of the send answers ``503`` (or ``429``) first. Every figure is measured
through public APIs: the connector's ``send()``/``asend()``, its ``http_client.clock`` (a clock
that times each real wait), and the attempts counted by the server. A connector that brings
its own HTTP code shows no waits on that clock; its whole-call times and attempts still show.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ...connectors.agent.base import BaseAgentConnector
from ...connectors.http import HttpClient, RetryPolicy, SystemClock
from .._stats import p95
from ..faults import FaultHarness, SuccessExchange
from ..faults.server import FaultServer, Reply
from .loopback import (
    SERVER,
    UNAVAILABLE,
    FaultedSends,
    control,
    faulted_sends,
    outcome_counts,
    sends,
    write_steps,
)
from .report import BenchReport, Series, median, ratio, rounded
from .servers import server_process

BACKOFF = {"backoff_initial": 0.02, "backoff_multiplier": 2.0, "jitter": 0.0}
RETRIES = 3


class TimedClock(SystemClock):
    """The system clock, timing every real wait: ``waits`` holds (asked, actual) seconds."""

    def __init__(self) -> None:
        self.waits: list[tuple[float, float]] = []

    def sleep(self, seconds: float) -> None:
        started = time.perf_counter()
        time.sleep(seconds)
        self.waits.append((seconds, time.perf_counter() - started))

    async def asleep(self, seconds: float) -> None:
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        self.waits.append((seconds, time.perf_counter() - started))


def timed_clock(connector: BaseAgentConnector) -> TimedClock:
    """Put a :class:`TimedClock` on the connector's HttpClient (its public ``clock``)."""
    clock = TimedClock()
    client = connector.http_client
    if isinstance(client, HttpClient):
        client.clock = clock
    return clock


def _row(case: str, mode: str, samples: list[float], *, expected: int, attempts: list[int],
         outcomes: list[str], configured_ms: float | None = None, over_ms: float | None = None,
         per_retry_ms: float | None = None, divides_by: str = "") -> dict[str, Any]:
    return {"case": case, "mode": mode, "n": len(samples), "expected_attempts": expected,
            "attempts": rounded(median(attempts), 1) if attempts else None,
            "outcome": outcome_counts(outcomes),
            "configured_ms": rounded(configured_ms, 1), "median_ms": rounded(median(samples)),
            "p95_ms": rounded(p95(samples)), "over_ms": rounded(over_ms),
            "per_retry_ms": rounded(per_retry_ms), "divides_by": divides_by}


def overhead(harness: FaultHarness, n: int, report: BenchReport) -> None:
    """Calls answered ``503 x k`` then the answer (k = 0..3, zero backoff), interleaved."""
    exchange = harness.exchange
    config = {"timeout": 10.0, "max_retries": RETRIES, "backoff_initial": 0.0, "jitter": 0.0}
    samples: dict[int, list[float]] = {k: [] for k in range(RETRIES + 1)}
    attempts: dict[int, list[int]] = {k: [] for k in samples}
    outcomes: dict[int, list[str]] = {k: [] for k in samples}
    with tempfile.TemporaryDirectory(prefix="ck-bench-") as tmp, \
            server_process(SERVER, str(write_steps(exchange, Path(tmp) / "steps.json"))) as url, \
            httpx.Client(timeout=10.0) as controller:
        connector = harness.connector(url, config)

        def arming(k: int) -> Callable[[int], object]:
            return lambda _i: control(controller, url, k)

        def counting(k: int) -> Callable[[int], object]:
            return lambda _i: attempts[k].append(control(controller, url, 0))

        try:
            for k in samples:  # warm the pool and the code paths
                sends(connector, exchange, "sync", 5, before=arming(k), after=counting(k))
                attempts[k].clear()
            chunk = max(1, n // 10)
            while min(len(s) for s in samples.values()) < n:
                for k in samples:
                    done = sends(connector, exchange, "sync", min(chunk, n - len(samples[k])),
                                 before=arming(k), after=counting(k))
                    samples[k].extend(ms for ms, _ in done)
                    outcomes[k].extend(outcome for _, outcome in done)
        finally:
            connector.close()
    plain = median(samples[0])
    for k in samples:
        label = "plain answer" if k == 0 else f"503 x{k} then the answer ({k} retr{'y' if k == 1 else 'ies'})"
        extra = median(samples[k]) - plain
        report.rows.append(_row(
            label, "sync", samples[k], expected=k + 1, attempts=attempts[k], outcomes=outcomes[k],
            configured_ms=0.0, over_ms=extra if k else None, per_retry_ms=extra / k if k else None,
            divides_by="per_retry_ms = (median - median of the plain answer) / retries" if k else
            "the baseline of per_retry_ms"))
        report.series.append(Series(f"call: {label}", samples[k]))
    per_retry = [(median(samples[k]) - plain) / k for k in range(1, RETRIES + 1)]
    report.notes.append(
        f"one retry attempt (503, zero backoff, server in another process) costs "
        f"{median(per_retry):.3f} ms over a plain {plain:.3f} ms send = "
        f"{ratio(median(per_retry), plain):.2f} plain sends (per_retry_ms divided by the plain "
        f"send's median).")
    _say_missing_retries(report, attempts, outcomes)


def _say_missing_retries(report: BenchReport, attempts: dict[int, list[int]],
                         outcomes: dict[int, list[str]]) -> None:
    wrong = [k for k in attempts if k and (median(attempts[k]) != k + 1 or outcomes[k][0] != "ok")]
    if wrong:
        report.notes.insert(0, "RETRIES MISSING: after " + ", ".join(
            f"{k} x 503 the server saw {median(attempts[k]):g} attempt(s) (expected {k + 1}) and the "
            f"send ended {outcomes[k][0]}" for k in wrong)
            + f"; the connector was configured max_retries={RETRIES}.")


def backoff(harness: FaultHarness, reps: int, report: BenchReport) -> None:
    """``backoff_initial=0.02, multiplier=2, jitter=0``: each wait slept vs configured."""
    policy = RetryPolicy(max_retries=RETRIES, **BACKOFF)  # type: ignore[arg-type]
    configured = [policy.backoff(i) * 1000 for i in range(1, RETRIES + 1)]
    pending: list[Reply] = []
    with FaultServer(default=harness.handler(pending)) as server:
        for mode in ("sync", "async"):
            _backoff_mode(harness, server, pending, mode, reps, configured, report)
    report.notes.append(f"backoff configured {', '.join(f'{w:g}' for w in configured)} ms (jitter 0).")


def _backoff_mode(harness: FaultHarness, server: FaultServer, pending: list[Reply], mode: str,
                  reps: int, configured: list[float], report: BenchReport) -> None:
    connector = harness.connector(server.url, {"timeout": 10.0, "max_retries": RETRIES,
                                               **BACKOFF})
    clock = timed_clock(connector)
    try:  # the first send, unfaulted, opens the pooled connection
        done = faulted_sends(harness, server, pending, connector, mode, reps,
                             lambda: [UNAVAILABLE] * RETRIES, warm=1)
    finally:
        connector.close()
    calls, attempts, outcomes = done.ms, done.attempts, done.outcomes
    per_index: list[list[float]] = [[] for _ in configured]
    for index, (_asked, slept) in enumerate(clock.waits):
        per_index[index % RETRIES].append(slept * 1000)
    for index, (wanted, actual) in enumerate(zip(configured, per_index, strict=True)):
        if actual:
            report.rows.append(_row(
                f"backoff wait #{index + 1}", mode, actual, expected=RETRIES + 1,
                attempts=attempts, outcomes=outcomes, configured_ms=wanted,
                over_ms=median(actual) - wanted, divides_by="over_ms = slept - configured"))
            report.series.append(Series(f"wait #{index + 1} {mode} (configured {wanted:g} ms)",
                                        actual))
    total = sum(configured)
    report.rows.append(_row(
        "whole send, 3 x 503 then the answer", mode, calls, expected=RETRIES + 1,
        attempts=attempts, outcomes=outcomes, configured_ms=total, over_ms=median(calls) - total,
        divides_by="over_ms = send - the sum of the configured waits"))
    if not clock.waits:
        report.notes.append(f"{mode}: no wait went through the connector's http_client.clock "
                            "(it sleeps by other means, or does not retry): only whole sends "
                            "are shown.")


def retry_after(harness: FaultHarness, reps: int, report: BenchReport) -> None:
    """``429 Retry-After: 1`` then the answer: the wait slept and the whole send, vs 1000 ms."""
    pending: list[Reply] = []
    waits: list[float] = []
    done = FaultedSends()
    with FaultServer(default=harness.handler(pending)) as server:
        for _ in range(reps):
            connector = harness.connector(server.url, {"timeout": 30.0, "max_retries": 1})
            clock = timed_clock(connector)
            try:
                one = faulted_sends(harness, server, pending, connector, "sync", 1, lambda: [Reply(
                    429, b'{"detail": "slow down"}',
                    {"Content-Type": "application/json", "Retry-After": "1"})])
            finally:
                connector.close()
            done.ms += one.ms
            done.attempts += one.attempts
            done.outcomes += one.outcomes
            waits.extend(actual * 1000 for _asked, actual in clock.waits)
    calls, attempts, outcomes = done.ms, done.attempts, done.outcomes
    if waits:
        report.rows.append(_row("Retry-After: 1, the wait slept", "sync", waits, expected=2,
                                attempts=attempts, outcomes=outcomes, configured_ms=1000.0,
                                over_ms=median(waits) - 1000.0, divides_by="over_ms = slept - 1000"))
        report.series.append(Series("Retry-After: 1, wait", waits))
    report.rows.append(_row("Retry-After: 1, whole send", "sync", calls, expected=2, attempts=attempts,
                            outcomes=outcomes, configured_ms=1000.0, over_ms=median(calls) - 1000.0,
                            divides_by="over_ms = send - 1000"))
    report.notes.append(f"Retry-After: 1 -> slept {median(waits):.1f} ms, whole send "
                        f"{median(calls):.1f} ms (asked 1000 ms).")


def run(cls: type[BaseAgentConnector], exchange: SuccessExchange, source: str, *, target: str,
        quick: bool = False) -> BenchReport:
    """Retry overhead, backoff and Retry-After figures of ``cls`` on loopback."""
    n = 30 if quick else 300
    harness = FaultHarness(cls, copy.deepcopy(exchange))
    report = BenchReport(
        name="retry",
        title=f"{target}: retries on loopback -- overhead per attempt ({n} sends per variant), backoff "
              "and Retry-After waits (real clock, ms)")
    overhead(harness, n, report)
    backoff(harness, 2 if quick else 8, report)
    retry_after(harness, 1 if quick else 2, report)
    report.notes.append(f"answers: {source}; faults on the last HTTP step of the send.")
    return report
