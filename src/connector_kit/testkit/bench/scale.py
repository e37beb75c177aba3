"""AgentBlock at hundreds in flight: efficiency vs ideal, connects per batch, CPU per row, peak RSS.

``connector-kit bench --scale`` (and the repo's ``python benchmarks/run.py agent``). The agent is
:mod:`.delay_stub` (asyncio, keep-alive, every answer after the latency) in its own process.
Each measurement runs in a fresh child process of its own (:mod:`.scale_variants`, started as
``python -m connector_kit.testkit.bench.scale_variants --child ...``), so its peak RSS and CPU
time are its alone:

- ``AgentBlock (connector-kit)``: ``AgentBlock.generate`` on ``concurrency x waves`` rows with
  ``max_concurrency = concurrency``;
- ``httpx.AsyncClient (raw, 8 in flight per client)``: the floor, ``concurrency`` coroutines
  posting the same payload, spread over plain clients carrying 8 each (what one careful user
  of httpx gets); ``httpx.AsyncClient (raw, one client)``: the same through one client whose
  pool may hold ``concurrency`` connections;
- ``sdg-hub AgentBlock (async_mode)``: the published package, same rows and concurrency, when
  the ``peer`` extra is installed.

Each child first runs one warm-up wave (imports, first connections), then the measured batch.
The fast variants are measured in :data:`REPEATS` fresh children and the median one is reported,
with the range.
Figures, and what each ratio divides by:

- ``efficiency = rows/s / ideal``, ``ideal = concurrency / latency`` (every slot busy all the
  time with zero client cost);
- ``connects``: TCP connections the stub accepted during the measured batch (counted by the stub);
- ``cpu_us_per_row``: the child's CPU time (user + system) during the batch / rows;
  ``cpu_vs_raw`` divides it by the ``raw, 8 in flight per client`` row's at the same concurrency;
- ``peak_rss_mb``: the child's peak resident set (``VmHWM``; see
  :func:`.scale_variants.peak_rss_mb`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .delay_stub import ANSWER, STUB_SCRIPT
from .report import BenchReport, rounded
from .runner import BenchRun, run_one
from .scale_variants import NAMES
from .servers import server_process

#: The report's name (its results files: ``agent_scale.json``, ``.md``, ``.png``).
NAME = "agent_scale"
LATENCY_S = 0.2
CONCURRENCIES = (10, 50, 200, 500)
QUICK_CONCURRENCIES = (10, 200)
#: The largest concurrency ``--concurrency`` accepts: the stub, the client and the raw floor
#: share two cores, and each level's batch is ``concurrency x waves`` rows.
MAX_CONCURRENCY = 2000
WAVES = 10
QUICK_WAVES = 3
GOALS = {200: 0.9, 500: 0.85}
#: Fresh processes per figure, the median one reported: one 2-second batch swings by ~0.05 of
#: ideal with the scheduling of two processes on two cores. The slow variants (one plain
#: client, the peer: 100-150 s a batch at 500 in flight) run once.
REPEATS = {"ours": 3, "raw8": 3}
#: Longest one child may take (the peer's batch at 500 in flight: ~150 s).
CHILD_TIMEOUT_S = 600


def peer_installed() -> bool:
    """Whether the ``peer`` extra (sdg-hub) is installed; found without importing it."""
    return importlib.util.find_spec("sdg_hub") is not None


def _measure(variant: str, url: str, concurrency: int, rows: int) -> dict[str, Any]:
    # The peer imports litellm, which fetches its price map from the internet at import unless
    # told to use its bundled copy; set for every child (the peer's child sets it again).
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, "-m", "connector_kit.testkit.bench.scale_variants", "--child", variant,
         url, str(concurrency), str(rows)],
        capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant} at concurrency {concurrency} failed: {done.stderr[-1500:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def check_concurrencies(levels: Sequence[int]) -> tuple[int, ...]:
    """``levels`` as a tuple, or ValueError saying what is wrong (empty, < 1, too large)."""
    if not levels:
        raise ValueError("give at least one concurrency level, e.g. 10,50,200")
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, "
                             f"got {level!r}")
    return tuple(dict.fromkeys(levels))


def measure(report: BenchReport, *, quick: bool, concurrencies: Sequence[int] | None = None,
            waves: int | None = None, latency_s: float = LATENCY_S,
            repeats: Mapping[str, int] | None = None, peer: bool | None = None) -> None:
    """Add the AgentBlock-at-scale rows and notes to ``report``.

    ``quick``: :data:`QUICK_CONCURRENCIES`, :data:`QUICK_WAVES`, one run per figure. The keyword
    settings override those (``repeats`` per variant, others 1); ``peer`` None adds the peer rows
    when sdg-hub is installed, False never runs it.
    """
    levels = check_concurrencies(concurrencies or (QUICK_CONCURRENCIES if quick else CONCURRENCIES))
    waves = waves or (QUICK_WAVES if quick else WAVES)
    repeats = dict(repeats if repeats is not None else ({} if quick else REPEATS))
    variants = ["raw8", "raw", "ours"]
    if peer is None:
        peer = peer_installed()
        if not peer:
            report.notes.append("AgentBlock at scale: sdg-hub not installed, so no peer rows "
                                "(pip install 'connector-kit[peer]' to add them).")
    if peer:
        variants.append("peer")
    verdicts = []
    with server_process(STUB_SCRIPT, "--delay", str(latency_s)) as url:
        for concurrency in levels:
            rows = concurrency * waves
            ideal = concurrency / latency_s
            raw_cpu = None
            for variant in variants:
                try:
                    runs = sorted((_measure(variant, url, concurrency, rows)
                                   for _ in range(repeats.get(variant, 1))),
                                  key=lambda run: run["seconds"])
                except RuntimeError as exc:
                    if variant != "peer":
                        raise
                    report.notes.append(f"sdg-hub AgentBlock failed at concurrency {concurrency}: "
                                        f"{str(exc)[-300:]}")
                    continue
                result = runs[len(runs) // 2]
                spread = [rows / run["seconds"] / ideal for run in runs]
                rate = rows / result["seconds"]
                cpu_row = result["cpu_s"] / rows * 1e6
                if variant == "raw8":
                    raw_cpu = cpu_row
                report.rows.append({
                    "case": f"AgentBlock scale, {latency_s * 1000:g} ms agent",
                    "variant": NAMES[variant], "concurrency": concurrency, "rows": rows,
                    "rows_per_s": rounded(rate, 1), "ideal_rows_per_s": rounded(ideal, 1),
                    "efficiency": rounded(rate / ideal, 3),
                    "efficiency_range": (f"{min(spread):.3f}-{max(spread):.3f}"
                                         if len(spread) > 1 else None),
                    "runs": len(runs), "connects": result["connects"],
                    "cpu_us_per_row": rounded(cpu_row, 1),
                    "cpu_vs_raw": rounded(cpu_row / raw_cpu, 2) if raw_cpu else None,
                    "peak_rss_mb": rounded(result["peak_rss_mb"], 1), "failed": result["failed"],
                })
                if variant == "ours" and concurrency in GOALS:
                    goal = GOALS[concurrency]
                    verdicts.append(f"{rate / ideal:.2f} of ideal at {concurrency} in flight "
                                    f"({'meets' if rate / ideal >= goal else 'MISSES'} >= {goal}; "
                                    f"median of {len(runs)} runs, {min(spread):.2f}-"
                                    f"{max(spread):.2f}; {result['connects']} connects for "
                                    f"{rows} rows)")
    if verdicts:
        report.notes.insert(0, "AgentBlock at scale: " + "; ".join(verdicts) + ".")
    counted = [f"{NAMES[v]} {repeats[v]}" for v in variants if repeats.get(v, 1) > 1]
    report.notes.append(
        f"AgentBlock scale rows: efficiency = rows/s / ideal, ideal = concurrency / "
        f"{latency_s * 1000:g} ms agent latency; connects = TCP connections the stub accepted "
        f"during the measured batch of concurrency x {waves} rows (after a warm-up wave); every "
        f"answer is the same {len(ANSWER):,}-byte Langflow JSON body (at 500 in flight the "
        "client is CPU-bound, so a larger body lowers efficiency); cpu_us_per_row = the "
        "measuring process's CPU time over the batch / rows; cpu_vs_raw "
        "divides it by the 'httpx.AsyncClient (raw, 8 in flight per client)' row's at the same "
        "concurrency (one plain client is slower: httpcore's pool scan grows with the square of "
        "its connections); peak_rss_mb is "
        "that process's peak RSS (each variant runs in a fresh process; the stub in another). "
        "runs: fresh processes measured for the row ("
        + (", ".join(counted) + ", the others 1" if counted else "1 each")
        + "); the row is the median run by rows/s (its CPU, connects and RSS), "
        "efficiency_range the lowest and highest of the runs.")


def run(*, quick: bool = False, concurrencies: Sequence[int] | None = None,
        waves: int | None = None, latency_s: float = LATENCY_S,
        repeats: Mapping[str, int] | None = None, peer: bool | None = None) -> BenchReport:
    """The AgentBlock-at-scale report on its own (``connector-kit bench --scale``).

    Settings as :func:`measure`'s; a bad concurrency level is a ValueError saying which.
    """
    levels = check_concurrencies(concurrencies or (QUICK_CONCURRENCIES if quick else CONCURRENCIES))
    report = BenchReport(
        name=NAME,
        title=(f"AgentBlock at scale: {latency_s * 1000:g} ms delayed agent in its own process, "
               f"{', '.join(map(str, levels))} in flight"),
    )
    measure(report, quick=quick, concurrencies=levels, waves=waves, latency_s=latency_s,
            repeats=repeats, peer=peer)
    return report


def job(*, quick: bool = False, concurrencies: Sequence[int] | None = None
        ) -> tuple[str, Callable[[], BenchRun]]:
    """``(NAME, job)`` for :func:`.runner.run_all`: the scale report, run by :func:`.run_one`."""
    return NAME, lambda: run_one(
        NAME, lambda *, quick: run(quick=quick, concurrencies=concurrencies), quick=quick)
