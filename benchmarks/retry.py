"""Retries measured for real on loopback: what an attempt costs, how exactly waits are slept.

Three measurements against a :class:`~connector_kit.testkit.faults.server.FaultServer` on
127.0.0.1 (real sockets, a kept-alive pooled connection), all with the real system clock:

- **overhead per retry attempt**: calls answered ``503 x k`` then ``200`` (k = 1, 2, 3) with a
  zero backoff, against plain ``200`` calls, interleaved; ``per_retry_ms`` = (median of the
  retried call - median of the plain call) / k. This server runs in a child process: in the
  same process it would compete with the client for the GIL and inflate back-to-back requests.
- **backoff schedule**: ``backoff_initial=0.02``, ``multiplier=2``, ``jitter=0`` -> configured
  waits 20/40/80 ms; each real wait is timed with ``perf_counter`` around the clock's sleep
  (sync ``time.sleep`` and async ``asyncio.sleep``); ``over_ms`` = actual - configured.
- **Retry-After honoured**: ``429 Retry-After: 1`` then ``200``; the wait the client slept and
  the whole call, against the 1 s asked for. The full run adds Retry-After as an HTTP date
  (the configured wait is then what the client computed from the date).

Rows: ``case, n, configured_ms, median_ms, p95_ms, over_ms, per_retry_ms, ratio``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from connector_kit.connectors.http import HttpClient, RetryPolicy
from connector_kit.testkit.bench import BenchReport, Series, median, ms_since, p95, rounded, server_process
from connector_kit.testkit.bench.retry import TimedClock
from connector_kit.testkit.faults.server import FaultServer, Reply, json_reply

OK_BODY = {"ok": True, "text": "done"}
PAYLOAD = {"input_value": "retry bench"}
BACKOFF_INITIAL = 0.02
BACKOFF_MULTIPLIER = 2.0
BACKOFF_RETRIES = 3


def _row(case: str, n: int, configured_ms: float | None, samples: list[float], *,
         over_ms: float | None = None, per_retry_ms: float | None = None,
         ratio: float | None = None) -> dict[str, Any]:
    return {"case": case, "n": n, "configured_ms": rounded(configured_ms, 1),
            "median_ms": rounded(median(samples)), "p95_ms": rounded(p95(samples)),
            "over_ms": rounded(over_ms), "per_retry_ms": rounded(per_retry_ms),
            "ratio": rounded(ratio, 2)}


#: A FaultServer in a child process (so it does not share the GIL with the client under test):
#: ``/fail/<k>/<nonce>`` answers 503 to the first k requests of each nonce, then 200.
_SERVER = """
import sys, threading
from connector_kit.testkit.faults.server import FaultServer, Reply, json_reply
seen = {}
lock = threading.Lock()
def handler(request):
    parts = request.path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "fail":
        with lock:
            count = seen.pop(parts[2], 0)
            if count < int(parts[1]):
                seen[parts[2]] = count + 1
                return Reply(503, b'{"detail": "unavailable"}', {"Content-Type": "application/json"})
    return json_reply({"ok": True, "text": "done"})
with FaultServer(default=handler) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def _overhead(n: int, report: BenchReport) -> None:
    policy = RetryPolicy(max_retries=3, backoff_initial=0.0, jitter=0.0)
    client = HttpClient(timeout=10.0, policy=policy)
    variants = {0: "plain 200", 1: "503 then 200 (1 retry)", 2: "503 x2 then 200 (2 retries)",
                3: "503 x3 then 200 (3 retries)"}
    samples: dict[int, list[float]] = {k: [] for k in variants}
    nonces = itertools.count()
    with server_process(_SERVER) as url:
        try:
            def call(k: int) -> float:
                target = f"{url}/fail/{k}/{next(nonces)}"
                started = time.perf_counter()
                client.post_sync(target, PAYLOAD)
                elapsed = ms_since(started)
                stats = client.last_stats
                assert stats is not None and stats.attempts == k + 1, stats
                return elapsed

            for k in variants:  # warm the pool and the code paths
                for _ in range(10):
                    call(k)
            chunk = max(1, n // 10)
            while min(len(s) for s in samples.values()) < n:
                for k in variants:
                    samples[k].extend(call(k) for _ in range(min(chunk, n - len(samples[k]))))
        finally:
            client.close()
    plain = median(samples[0])
    for k, label in variants.items():
        extra = median(samples[k]) - plain
        report.rows.append(_row(label, n, 0.0, samples[k], over_ms=extra,
                                per_retry_ms=extra / k if k else None,
                                ratio=median(samples[k]) / plain))
        report.series.append(Series(f"call: {label}", samples[k]))
    per_retry = [(median(samples[k]) - plain) / k for k in (1, 2, 3)]
    per_k = ", ".join(f"{v:.3f}" for v in per_retry)
    report.notes.append(
        f"one retry attempt (503 answered, zero backoff, pooled connection, server in another "
        f"process) costs {median(per_retry):.3f} ms over a plain {plain:.3f} ms call, i.e. "
        f"{median(per_retry) / plain:.2f} round trips (per k: {per_k} ms).")


def _backoff(server: FaultServer, reps: int, report: BenchReport) -> None:
    policy = RetryPolicy(max_retries=BACKOFF_RETRIES, backoff_initial=BACKOFF_INITIAL,
                         backoff_multiplier=BACKOFF_MULTIPLIER, jitter=0.0)
    failure = Reply(503, b'{"detail": "unavailable"}', {"Content-Type": "application/json"})
    configured = [policy.backoff(i) for i in range(1, BACKOFF_RETRIES + 1)]
    url = server.url + "/run"
    worst = 0.0
    for mode in ("sync", "async"):
        clock = TimedClock()
        client = HttpClient(timeout=10.0, policy=policy, clock=clock)
        calls: list[float] = []
        if mode == "sync":
            try:
                for _ in range(reps):
                    server.script(*([failure] * BACKOFF_RETRIES))
                    started = time.perf_counter()
                    client.post_sync(url, PAYLOAD)
                    calls.append(ms_since(started))
            finally:
                client.close()
        else:
            calls = asyncio.run(_async_calls(client, server, url, reps, failure))
        per_index: list[list[float]] = [[] for _ in configured]
        for index, (asked, slept) in enumerate(clock.waits):
            per_index[index % BACKOFF_RETRIES].append(slept * 1000)
            assert abs(asked - configured[index % BACKOFF_RETRIES]) < 1e-9
        for index, (wanted, actual) in enumerate(zip(configured, per_index, strict=True)):
            over = median(actual) - wanted * 1000
            worst = max(worst, max(a - wanted * 1000 for a in actual))
            report.rows.append(_row(f"backoff wait #{index + 1} ({mode})", len(actual), wanted * 1000,
                                    actual, over_ms=over, ratio=median(actual) / (wanted * 1000)))
            report.series.append(Series(f"wait #{index + 1} {mode} (configured {wanted * 1000:g} ms)",
                                        actual))
        total = sum(configured) * 1000
        report.rows.append(_row(f"whole call, 3 x 503 then 200 ({mode})", reps, total, calls,
                                over_ms=median(calls) - total, ratio=median(calls) / total))
    report.notes.append(
        f"backoff {', '.join(f'{w * 1000:g}' for w in configured)} ms (jitter 0) is slept within "
        f"{worst:.2f} ms of the configured value (worst single wait, sync and async).")


async def _async_calls(client: HttpClient, server: FaultServer, url: str, reps: int,
                       failure: Reply) -> list[float]:
    calls: list[float] = []
    try:
        await client.post(url, PAYLOAD)  # open the loop's pooled connection first
        client.clock.waits.clear()  # type: ignore[attr-defined]
        for _ in range(reps):
            server.script(*([failure] * BACKOFF_RETRIES))
            started = time.perf_counter()
            await client.post(url, PAYLOAD)
            calls.append(ms_since(started))
    finally:
        await client.aclose()
    return calls


def _retry_after(server: FaultServer, reps: int, with_date: bool, report: BenchReport) -> None:
    url = server.url + "/run"
    cases: list[tuple[str, Callable[[], str]]] = [("Retry-After: 1 (seconds)", lambda: "1")]
    if with_date:
        # A date 2 s ahead: HTTP dates have whole seconds, so the client waits 1-2 s.
        cases.append(("Retry-After: HTTP date (+2 s)",
                      lambda: formatdate(time.time() + 2, usegmt=True)))
    for label, header in cases:
        waits: list[float] = []
        asked: list[float] = []
        calls: list[float] = []
        for _ in range(reps):
            clock = TimedClock()
            client = HttpClient(timeout=30.0, policy=RetryPolicy(max_retries=1), clock=clock)
            try:
                server.script(Reply(429, b'{"detail": "slow down"}',
                                    {"Content-Type": "application/json", "Retry-After": header()}))
                started = time.perf_counter()
                client.post_sync(url, PAYLOAD)
                calls.append(ms_since(started))
            finally:
                client.close()
            [(wanted, actual)] = clock.waits
            asked.append(wanted * 1000)
            waits.append(actual * 1000)
        wanted_ms = median(asked)
        report.rows.append(_row(f"{label}: wait slept", reps, wanted_ms, waits,
                                over_ms=median(waits) - wanted_ms, ratio=median(waits) / wanted_ms))
        report.rows.append(_row(f"{label}: whole call", reps, wanted_ms, calls,
                                over_ms=median(calls) - wanted_ms, ratio=median(calls) / wanted_ms))
        report.series.append(Series(f"{label}: wait", waits))
        if label.startswith("Retry-After: 1"):
            report.notes.append(f"Retry-After: 1 honoured: slept {median(waits):.1f} ms, whole call "
                                f"{median(calls):.1f} ms (asked 1000 ms).")


def run(*, quick: bool = False) -> BenchReport:
    """Measure retry overhead, backoff accuracy and Retry-After on a loopback fault server."""
    n = 40 if quick else 300
    backoff_reps = 2 if quick else 8
    after_reps = 1 if quick else 2
    report = BenchReport(
        name="retry",
        title=f"Retries on loopback: overhead per attempt ({n} calls per variant), backoff and "
              "Retry-After waits (real clock, ms)",
    )
    with FaultServer(default=lambda request: json_reply(OK_BODY)) as server:
        _overhead(n, report)
        _backoff(server, backoff_reps, report)
        _retry_after(server, after_reps, not quick, report)
    return report
