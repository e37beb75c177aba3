"""Offline replay vs live: what a replayed request costs, and how long certification takes.

For each built-in agent connector (Langflow, LangGraph) the benchmark uses the committed
cassettes under ``cassettes/<name>/`` when there are successful ones, else it records a
small cassette set into a temporary folder from a
:class:`~connector_kit.testkit.faults.server.FaultServer` answering with real (trimmed) framework
responses, through ``ConnectorTestKit.record`` -- the same path a contributor records with.

- **replay**: ``ConnectorTestKit.replay(scenario)`` (load and parse the cassette, build the
  connector as recorded, send through vcrpy with the kit's matchers, compare the outcome),
  per HTTP request; ``send only`` is the replayed send without the cassette load.
- **plain vcrpy**: ``vcr.use_cassette(path, record_mode="none")`` with vcrpy's defaults
  around the same connector's send, on the same cassette, interleaved with the kit's rounds.
- **live**: the same connector sending the same exchange to a loopback server (in a child
  process) that answers with the recorded bodies: a pooled connector, and a new connector per
  send (as replay does).
- **certification**: the wall time of ``certify(name, cassettes)``, every declared suite
  (quick runs: LangGraph only, fuzz with 10 examples).

Rows: ``case, framework, n, median_ms, p95_ms, per_request_ms, vs_live``; ``vs_live`` is the
ratio to the pooled live send per request, measured in the same run.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import vcr

from connector_kit.connectors.agent.base import BaseAgentConnector
from connector_kit.testkit.bench import (
    BenchReport,
    Series,
    median,
    ms_since,
    p95,
    rounded,
    server_process,
    time_calls,
)
from connector_kit.testkit.faults.exchange import SuccessExchange, builtin_exchange, exchange_from_cassette
from connector_kit.testkit.faults.harness import FaultHarness
from connector_kit.testkit.faults.server import FaultServer
from connector_kit.testkit.kit import ConnectorTestKit

FRAMEWORKS = ("langflow", "langgraph")
API_KEY = "fake-bench-key-0123456789abcdef"  # a fake, scrubbed like a real one
QUICK_CERTIFY = "langgraph"

_CATALOGUES = {
    "langflow": """framework: langflow
connector: langflow
defaults:
  url: "{url}/api/v1/run/4a1f2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d?stream=false"
  config: {api_key: "{api_key}", max_retries: 0, timeout: 30}
scenarios:
  - name: tool_call
    description: Arithmetic makes the agent call its calculator tool.
    messages: "what is 2+3?"
  - name: multi_turn
    description: A conversation history; Langflow sends the last user message.
    messages:
      - {role: user, content: "hi"}
      - {role: assistant, content: "hello"}
      - {role: user, content: "what is 2+3?"}
""",
    "langgraph": """framework: langgraph
connector: langgraph
defaults:
  url: "{url}"
  config: {api_key: "{api_key}", max_retries: 0, timeout: 30}
scenarios:
  - name: tool_call
    description: Arithmetic makes the model call the calculator tool, then answer.
    messages: "what is 2+3?"
  - name: multi_turn
    description: A conversation history is sent.
    messages:
      - {role: user, content: "hi"}
      - {role: assistant, content: "hello"}
      - {role: user, content: "what is 2+3?"}
""",
}


def find_cassettes(name: str) -> Path | None:
    """This repo's ``cassettes/<name>``, when it holds recorded cassettes."""
    candidate = Path(__file__).resolve().parents[1] / "cassettes" / name
    if candidate.is_dir() and ConnectorTestKit(name, candidate).recorded_names():
        return candidate
    return None


def record_fixture(name: str, folder: Path) -> Path:
    """Record the small catalogue of ``name`` into ``folder`` from a loopback FaultServer."""
    from connector_kit.connectors.registry import ConnectorRegistry
    from connector_kit.testkit.recording.targets import load_connector

    cls = load_connector(name)
    assert issubclass(cls, BaseAgentConnector) and ConnectorRegistry.get(name) is cls
    exchange = builtin_exchange(cls)
    assert exchange is not None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scenarios.yaml").write_text(_CATALOGUES[name], encoding="utf-8")
    kit = ConnectorTestKit(name, folder)
    harness = FaultHarness(cls, exchange)
    with FaultServer(default=harness.handler([])) as server:
        for scenario in kit.scenarios():
            result = kit.record(scenario, url=server.url, api_key=API_KEY,
                                metadata={"recorded_by": "benchmarks.replay"})
            if not result.expectation_met:
                raise RuntimeError(f"recording {name}/{scenario.name} failed: {result.outcome}")
    return folder


def _successful(kit: ConnectorTestKit) -> list[str]:
    names = []
    for name in kit.recorded_names():
        cassette = kit.load(name)
        if exchange_from_cassette(cassette) is not None:
            names.append(name)
    return names


#: A loopback server in a child process answering each step of an exchange (a JSON file of
#: steps) with its recorded body, as the fault suite's harness does.
_SERVER = """
import json, sys
from connector_kit.connectors import LangflowConnector
from connector_kit.testkit.faults.exchange import Step, SuccessExchange
from connector_kit.testkit.faults.harness import FaultHarness
from connector_kit.testkit.faults.server import FaultServer
with open(sys.argv[1], encoding="utf-8") as fh:
    steps = [Step(**{**s, "body": s["body"].encode("utf-8")}) for s in json.load(fh)]
exchange = SuccessExchange("http://localhost/", {}, {}, [], "s", steps, "bench")
with FaultServer(default=FaultHarness(LangflowConnector, exchange).handler([])) as server:
    print(server.url, flush=True)
    sys.stdin.read()
"""


def _live(harness: FaultHarness, exchange: SuccessExchange, n: int, tmp: Path
          ) -> tuple[list[float], list[float]]:
    """Send times (ms) against a loopback server answering the recorded bodies: pooled, fresh."""
    steps_file = tmp / "steps.json"
    steps_file.write_text(json.dumps([{**dataclasses.asdict(step), "body": step.body.decode("utf-8")}
                                      for step in exchange.steps]), encoding="utf-8")
    with server_process(_SERVER, str(steps_file)) as url:
        pooled = harness.connector(url)

        def send_pooled() -> None:
            pooled.send(list(exchange.messages), exchange.session_id)

        def send_fresh() -> None:
            connector = harness.connector(url)
            try:
                connector.send(list(exchange.messages), exchange.session_id)
            finally:
                connector.close()

        try:
            time_calls(send_pooled, 5)
            pooled_ms = time_calls(send_pooled, n)
        finally:
            pooled.close()
        time_calls(send_fresh, 3)
        fresh_ms = time_calls(send_fresh, max(5, n // 2))
    return pooled_ms, fresh_ms


def _measure_framework(name: str, folder: Path, n: int, report: BenchReport, tmp: Path, *,
                       max_scenarios: int | None = None) -> None:
    kit = ConnectorTestKit(name, folder)
    scenarios = _successful(kit)[:max_scenarios]
    if not scenarios:
        report.notes.append(f"{name}: no successful cassette in {folder}; replay vs live skipped")
        return
    samples: dict[str, list[float]] = collections.defaultdict(list)
    requests = 0
    for scenario in scenarios:
        cassette = kit.load(scenario)
        exchange = exchange_from_cassette(cassette, kit.options)
        assert exchange is not None
        steps = len(exchange.steps)
        requests = max(requests, steps)
        send_only: list[float] = []

        def replay(scenario: str = scenario, send_only: list[float] = send_only) -> None:
            result = kit.replay(scenario)
            if not result.reproduced:
                raise RuntimeError(f"replay of {name}/{scenario} failed: {result.explain()}")
            send_only.append(result.elapsed_ms / len(result.requests))

        def plain(cassette: Any = cassette, exchange: SuccessExchange = exchange) -> None:
            """Plain vcrpy on the same cassette: its defaults, the connector as recorded."""
            connector = kit.replay_connector(cassette)
            try:
                with vcr.use_cassette(str(cassette.path), record_mode="none") as played:
                    connector.send(list(exchange.messages), exchange.session_id)  # type: ignore[attr-defined]
                    if not played.all_played:
                        raise RuntimeError(f"plain vcrpy left interactions of {cassette.path} unplayed")
            finally:
                connector.close()

        for _ in range(3):  # warm up
            replay()
            plain()
        send_only.clear()
        # Interleaved rounds, so both see the same machine load.
        for _ in range(n):
            samples["replay"].extend(t / steps for t in time_calls(replay, 1))
            samples["plain vcrpy"].extend(t / steps for t in time_calls(plain, 1))
        samples["send only"].extend(send_only)
        samples["load"].extend(time_calls(functools.partial(kit.load, scenario), n))

        cls = kit.connector_class
        assert issubclass(cls, BaseAgentConnector)
        pooled, fresh = _live(FaultHarness(cls, exchange), exchange, n, tmp)
        samples["live pooled"].extend(t / steps for t in pooled)
        samples["live new connector"].extend(t / steps for t in fresh)
    live = median(samples["live pooled"])
    labels = {
        "replay": ("replay: kit.replay() (load cassette + build + send + compare)", True),
        "load": ("replay: loading the cassette alone (YAML), per cassette", False),
        "send only": ("replay: the replayed send only", True),
        "plain vcrpy": ("replay: plain vcrpy (use_cassette, default matching) + send", True),
        "live pooled": ("live loopback: send(), pooled connector", True),
        "live new connector": ("live loopback: send(), new connector per send", True),
    }
    for key, (label, per_request) in labels.items():
        values = samples[key]
        report.rows.append({
            "case": label, "framework": name, "n": len(values),
            "median_ms": rounded(median(values)), "p95_ms": rounded(p95(values)),
            "per_request_ms": rounded(median(values)) if per_request else None,
            "vs_live": rounded(median(values) / live, 2),
        })
        report.series.append(Series(f"{name}: {label}", values))
    plain_ms = median(samples["plain vcrpy"])
    report.notes.append(
        f"{name}: kit replay {median(samples['replay']):.2f} ms per request vs plain vcrpy "
        f"{plain_ms:.2f} ms on the same cassettes ({median(samples['replay']) / plain_ms:.2f}x), "
        f"live loopback {live:.2f} ms.")
    report.notes.append(
        f"{name}: a replayed request costs {median(samples['replay']):.2f} ms with the cassette load "
        f"(the YAML load alone {median(samples['load']):.2f} ms per cassette, the replayed send "
        f"{median(samples['send only']):.2f} ms) vs {live:.2f} ms live on loopback "
        f"({len(scenarios)} scenario(s), up to {requests} request(s) per send, cassettes from {folder}).")


def _certify(name: str, folder: Path, reps: int, quick: bool, report: BenchReport) -> None:
    from connector_kit.testkit.certify.framework import certify

    options = {"fuzz": {"examples": 10}} if quick else None
    walls: list[float] = []
    last = None
    for _ in range(reps):
        started = time.perf_counter()
        last = certify(name, folder, options=options)
        walls.append(ms_since(started))
    assert last is not None
    counts = last.counts()
    per_suite: dict[str, float] = collections.defaultdict(float)
    for result in last.results:
        per_suite[result.suite] += result.duration_ms
    report.rows.append({
        "case": f"offline certification, every suite ({len(last.results)} checks)", "framework": name,
        "n": reps, "median_ms": rounded(median(walls), 1), "p95_ms": rounded(max(walls), 1),
        "per_request_ms": None, "vs_live": None,
    })
    report.notes.append(
        f"certify {name}: {median(walls) / 1000:.2f} s wall; "
        + ", ".join(f"{k} {v:.0f}" for k, v in counts.items() if v)
        + "; per suite " + ", ".join(f"{s} {ms / 1000:.2f} s" for s, ms in per_suite.items())
        + f" (cassettes: {folder})")


def run(*, quick: bool = False) -> BenchReport:
    """Replay vs live per request, and offline certification wall time, for Langflow and LangGraph."""
    n = 10 if quick else 50
    report = BenchReport(
        name="replay",
        title=f"Offline replay vs a live loopback call, per HTTP request ({n} sends per scenario; ms), "
              "and offline certification wall time",
    )
    with tempfile.TemporaryDirectory(prefix="ck-bench-replay-") as tmp:
        folders: dict[str, Path] = {}
        for name in FRAMEWORKS:
            committed = find_cassettes(name)
            if committed is not None and _successful(ConnectorTestKit(name, committed)):
                folders[name] = committed
            else:
                folders[name] = record_fixture(name, Path(tmp) / name)
                report.notes.append(f"{name}: no committed cassettes; recorded "
                                    f"{len(ConnectorTestKit(name, folders[name]).recorded_names())} "
                                    "scenario(s) from a loopback FaultServer into a temporary folder")
        for name, folder in folders.items():
            _measure_framework(name, folder, n, report, Path(tmp), max_scenarios=1 if quick else None)
        # Quick runs certify the smaller set only (a whole certification takes seconds).
        for name, folder in folders.items():
            if quick and name != QUICK_CERTIFY:
                continue
            _certify(name, folder, 1 if quick else 2, quick, report)
    headline = [r for r in report.rows if r["case"].startswith("replay: kit.replay")]
    plain = {r["framework"]: r for r in report.rows if r["case"].startswith("replay: plain vcrpy")}
    if headline:
        summary = "; ".join(
            f"{r['framework']} {r['per_request_ms']} ms ({r['vs_live']}x live"
            + (f", {r['median_ms'] / plain[r['framework']]['median_ms']:.2f}x plain vcrpy)"
               if r["framework"] in plain else ")")
            for r in headline)
        report.notes.insert(0, f"replay per request, cassette load included: {summary}.")
    return report
