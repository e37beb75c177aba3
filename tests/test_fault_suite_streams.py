"""The fault suite's stream checks on a real FaultServer: a stream cut mid-event and a stall
between events, each with its outcome and the runs the server saw (exactly one).

The stream broken here is a committed recording (cassettes/<fw>/stream*.yaml, recorded by the
rigs); the broken connectors are HAND-MADE (tests/fixtures/broken_streams.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector_kit.testkit.certify import CertificationReport, certify
from connector_kit.testkit.faults import STREAM_FAULTS
from fixtures.broken_streams import PatientLangGraph, ResendingLangGraph, SwallowingLangGraph

ROOT = Path(__file__).resolve().parents[1]
CHECKS = [fault.name for fault in STREAM_FAULTS]


def run(target: Any, framework: str = "langgraph") -> CertificationReport:
    folder = ROOT / "cassettes" / framework
    if not any(folder.glob("stream*.yaml")):
        pytest.skip(f"no recorded stream in {folder}")
    return certify(target, folder, suites=["faults"], options={"faults": {"only": CHECKS}})


@pytest.mark.parametrize("framework", ["langgraph", "langflow"])
def test_our_connectors_end_each_broken_stream_in_its_error_after_one_run(framework: str) -> None:
    report = run(framework, framework)
    results = {r.name: r for r in report.results}
    assert sorted(results) == sorted(CHECKS)
    assert {name: r.status for name, r in results.items()} == dict.fromkeys(CHECKS, "passed")
    cut, stall = results["stream_cut_mid_event"], results["stream_stall_between_events"]
    assert cut.figures["outcome"] == "ConnectorStreamError"
    assert stall.figures["outcome"] == "ConnectorTimeoutError"
    assert cut.figures["runs"] == stall.figures["runs"] == 1
    assert stall.figures["events"] >= 1  # the first event arrived before the stall
    assert cut.exercised["streams"] == 2 and cut.exercised["events"] > 0


def test_a_stream_that_swallows_its_errors_fails_both_checks() -> None:
    problems = {r.name: r.detail for r in run(SwallowingLangGraph).results}
    assert "expected ConnectorStreamError, but the send succeeded" in problems["stream_cut_mid_event"]
    assert "expected ConnectorTimeoutError, but the send succeeded" in problems[
        "stream_stall_between_events"]


def test_a_stream_sent_again_after_it_broke_fails_on_the_run_count() -> None:
    problems = {r.name: r.detail for r in run(ResendingLangGraph).results}
    assert "2 attempt(s) at the faulted step, expected 1" in problems["stream_cut_mid_event"]
    assert "2 attempt(s) at the faulted step, expected 1" in problems["stream_stall_between_events"]


def test_a_stream_that_waits_out_a_stall_is_stopped_and_fails_the_deadline() -> None:
    report = run(PatientLangGraph)
    stall = next(r for r in report.results if r.name == "stream_stall_between_events")
    assert stall.status == "failed"
    assert "never ended by itself" in stall.detail and "deadline" in stall.detail
