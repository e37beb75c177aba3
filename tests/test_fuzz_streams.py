"""The fuzzer's ``stream`` property: broken and byte-mutated recorded streams through
``stream()``/``astream()`` against a real FaultServer. Our connectors hold it; each HAND-MADE
broken connector (tests/fixtures/broken_streams.py) is caught the way it breaks.

The streams are the committed rig recordings (cassettes/<fw>/stream*.yaml).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_kit.connectors import BaseConnector, LangflowConnector, LangGraphConnector
from connector_kit.testkit.certify import certify
from connector_kit.testkit.fuzz import FuzzReport, fuzz_connector, load_cassettes
from connector_kit.testkit.fuzz.streams import StreamCase, stream_sweep
from connector_kit.testkit.recording.cassettes import Cassette
from fixtures.broken_streams import (
    CrashingLangGraph,
    PatientLangGraph,
    ResendingLangGraph,
    SwallowingLangGraph,
)

ROOT = Path(__file__).resolve().parents[1]
BROKEN_KINDS = {"cut line", "cut mid-event", "bad JSON", "unknown event", "missing end", "error event",
                "stall between events", "empty", "oversized line"}


def recorded(framework: str) -> list[Cassette]:
    folder = ROOT / "cassettes" / framework
    found = load_cassettes(folder) if folder.is_dir() else []
    if not any(c.scenario.get("steps") == [{"action": "stream", "messages": "what is 2+3?"}]
               for c in found):
        pytest.skip(f"no recorded stream in {folder}")
    return found


def fuzz(cls: type[BaseConnector], framework: str = "langgraph", examples: int = 30,
         corpus: Path | None = None) -> FuzzReport:
    return fuzz_connector(cls, examples=examples, stream_examples=examples,
                          cassettes=recorded(framework), properties=["stream"],
                          seed=0, corpus_dir=corpus, max_failures=1)


def test_the_sweep_breaks_a_recorded_stream_every_way_the_issue_names() -> None:
    body = b"event: metadata\r\ndata: {}\r\n\r\nevent: values\r\ndata: {\"messages\": []}\r\n\r\n"
    cases = stream_sweep([body], 100)
    assert {case.label for case in cases if case.broken} == BROKEN_KINDS - {"missing end"}
    # LangGraph's SSE has no end marker: a stream cut at a frame boundary may be a short run
    assert [case.label for case in cases if not case.broken] == ["recorded", "missing end"]
    assert {case.mode for case in cases} == {"sync", "async"}
    cut = next(case for case in cases if case.label == "cut line")
    assert not cut.body.endswith(b"\n")  # the last line really is cut
    again = StreamCase.from_json(cut.to_json())
    assert (again.body, again.label, again.broken) == (cut.body, cut.label, cut.broken)


@pytest.mark.parametrize(("cls", "framework"), [(LangGraphConnector, "langgraph"),
                                                (LangflowConnector, "langflow")])
def test_our_connectors_hold_the_stream_property(cls: type[BaseConnector], framework: str) -> None:
    report = fuzz(cls, framework)
    figures = report.properties["stream"]
    assert report.failures == [] and figures.status == "passed"
    assert figures.examples == 30 and figures.sweep >= len(BROKEN_KINDS)


def test_a_stream_that_swallows_errors_is_caught_as_a_broken_stream_ended_as_success() -> None:
    [failure] = fuzz(SwallowingLangGraph).failures
    assert failure.property == "stream" and failure.source == "sweep"
    assert "ended as a success" in failure.message


def test_a_connector_crashing_on_odd_stream_data_is_caught_with_its_own_exception() -> None:
    [failure] = fuzz(CrashingLangGraph, examples=60).failures
    assert failure.exception_type in ("KeyError", "TypeError", "IndexError")
    assert "broken_streams.py" in failure.location


def test_a_stream_sent_twice_is_caught() -> None:
    [failure] = fuzz(ResendingLangGraph).failures
    assert "sent the stream 2 times" in failure.message


def test_a_stream_that_waits_out_a_stall_is_caught_as_hung() -> None:
    [failure] = fuzz(PatientLangGraph).failures
    assert "still running" in failure.message and "stall between events" in failure.message


def test_a_stream_failure_is_saved_and_tried_first_next_time(tmp_path: Path) -> None:
    [found] = fuzz(SwallowingLangGraph, corpus=tmp_path).failures
    assert found.corpus_file is not None and found.corpus_file.is_file()
    again = fuzz(SwallowingLangGraph, corpus=tmp_path)
    assert again.properties["stream"].corpus == 1
    assert again.failures[0].source == "corpus"
    assert fuzz(LangGraphConnector, corpus=tmp_path).failures == []  # the fixed connector passes it


def test_the_fuzz_suite_reports_what_the_stream_property_exercised() -> None:
    recorded("langgraph")
    report = certify("langgraph", ROOT / "cassettes" / "langgraph", suites=["fuzz"],
                     options={"fuzz": {"examples": 10, "http_examples": 2}})
    stream = next(r for r in report.results if r.name == "stream")
    assert stream.status == "passed", stream.detail
    assert stream.exercised["streams"] == 10 and stream.exercised["broken on purpose"] == 5
