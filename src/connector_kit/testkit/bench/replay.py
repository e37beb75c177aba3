"""Replay figures of any connector on its cassettes: what ``ConnectorTestKit.replay`` costs per
scenario and per HTTP request, and whether each replay reproduced the recorded outcome."""

from __future__ import annotations

import time
from pathlib import Path

from ...connectors.base import BaseConnector
from .._stats import p95
from ..kit import ConnectorTestKit
from .report import BenchReport, Series, median, ms_since, out_of, rounded, short_rows


def run(cls: type[BaseConnector], cassettes: Path, *, target: str, quick: bool = False) -> BenchReport:
    """Replay every recorded scenario ``n`` times; whole replay, replayed send, per request."""
    n = 5 if quick else 30
    kit = ConnectorTestKit(cls, cassettes)
    names = kit.recorded_names()
    report = BenchReport(
        name="replay",
        title=f"{target}: offline replay of its cassettes in {cassettes} ({n} replays per scenario; ms)")
    if not names:
        raise LookupError(f"no recorded cassettes in {cassettes}: record them with "
                          "`connector-kit record ...` or pass another --cassettes DIR")
    for name in names[:3] if quick else names:
        whole: list[float] = []
        sends: list[float] = []
        requests = 0
        reproduced = 0
        kit.replay(name)  # warm up: imports, the first YAML parse
        for _ in range(n):
            started = time.perf_counter()
            result = kit.replay(name)
            whole.append(ms_since(started))
            sends.append(result.elapsed_ms)
            requests = max(requests, len(result.requests))
            reproduced += result.reproduced
        report.rows.append({
            "scenario": name, "n": n, "requests": requests, "median_ms": rounded(median(whole)),
            "p95_ms": rounded(p95(whole)), "send_ms": rounded(median(sends)),
            "per_request_ms": rounded(median(whole) / requests) if requests else None,
            "reproduced": out_of(reproduced, n),
        })
        report.series.append(Series(f"replay {name}", whole))
    slowest = max(report.rows, key=lambda r: r["median_ms"] or 0.0)
    report.notes.append(
        f"slowest scenario {slowest['scenario']}: {slowest['median_ms']} ms per replay (load the "
        f"cassette + build the connector + send offline + compare); per_request_ms divides that "
        f"median by the HTTP requests of the scenario, send_ms is the replayed send alone.")
    failed = short_rows(report.rows, "scenario", "reproduced")
    if failed:
        report.notes.insert(0, f"NOT REPRODUCED: {', '.join(failed)} (run `connector-kit certify` "
                               "for the differences).")
    return report
