"""Streamed bodies are compared event by event (hand-made fixtures: two small cassettes built
in this test, standing in for a stream recorded twice)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector_kit.cli import main
from connector_kit.testkit.diff.drift import compare_cassettes, drift_report
from connector_kit.testkit.diff.findings import Finding
from connector_kit.testkit.diff.streams import event_labels, lane_of, stream_events
from connector_kit.testkit.recording.cassettes import (
    Cassette,
    Interaction,
    Outcome,
    RecordedRequest,
    RecordedResponse,
)
from connector_kit.testkit.recording.normalize import LANGFLOW, LANGGRAPH


def _cassette(body: str, content_type: str) -> Cassette:
    response = RecordedResponse(200, "OK", {"content-type": [content_type]}, body)
    request = RecordedRequest("POST", "http://localhost/stream")
    return Cassette([Interaction(request, response)], outcome=Outcome(ok=True, text="hi"))


def test_sse_events_are_compared_one_by_one() -> None:
    def sse(text: str, run: str) -> str:
        return (f"event: metadata\r\ndata: {json.dumps({'run_id': run})}\r\n\r\n"
                f"event: values\r\ndata: {json.dumps({'messages': [{'content': text}]})}\r\n\r\n")

    a = _cassette(sse("hello", "1"), "text/event-stream")
    b = _cassette(sse("hullo", "2"), "text/event-stream")  # run_id is volatile: masked
    found = [(f.path, f.before, f.after) for f in compare_cassettes(a, b, LANGGRAPH)]
    assert found == [("body[values 1].data.messages[0].content", "hello", "hullo")]


def test_ndjson_events_are_compared_one_by_one() -> None:
    def ndjson(*tokens: str) -> str:
        return "\n".join(json.dumps({"event": "token", "data": {"chunk": t}}) for t in tokens)

    a = _cassette(ndjson("a", "b", "c"), "text/event-stream")
    b = _cassette(ndjson("a", "B", "c", "d"), "text/event-stream")
    found = {(f.path, f.change) for f in compare_cassettes(a, b, LANGFLOW)}
    assert found == {("body[token 2].data.chunk", "changed"), ("body[token 4]", "added")}


def test_a_long_event_name_is_clipped_in_the_path() -> None:
    name = "e" * 10_000  # a server chooses its event names
    events = [{"event": name, "data": {"id": "x" * 5_000}}, {"event": name, "data": {}}]
    labels = event_labels(events, [lane_of(e, LANGFLOW) for e in events])
    clipped = "e" * 79 + "…"
    assert labels == [f"{clipped} 1 {'from ' + 'x' * 74}…", f"{clipped} 1"]  # two lanes


def test_a_server_that_stops_compressing_is_reported() -> None:
    # Bodies are stored decoded; the encoding the server sent is kept aside by the recorder.
    a = _cassette('{"a": 1}', "application/json")
    a.interactions[0].response.headers["x-connector-kit-content-encoding"] = ["gzip"]
    b = _cassette('{"a": 1}', "application/json")
    found = [(f.path, f.change, f.before, f.after) for f in compare_cassettes(a, b, LANGFLOW)]
    assert found == [("headers.content-encoding", "removed", "gzip", None)]


# -- order: what the framework guarantees, on the live-recorded Langflow stream --------------------
# The variants below are HAND-MADE from a COPY of the committed cassettes/langflow/stream.yaml
# (recorded by the rig), changed in memory here; the committed file is never touched.

STREAM = Path(__file__).resolve().parents[1] / "cassettes" / "langflow" / "stream.yaml"


def _events(cassette: Cassette) -> list[dict[str, Any]]:
    found = stream_events(cassette.interactions[0].response.body)
    assert found is not None
    return found


def _variant(edit: Callable[[list[dict[str, Any]]], None], *, outcome: bool = True) -> Cassette:
    """A copy of the recorded stream whose events ``edit`` changed (the outcome's event names
    follow the new order, as a connector would report them)."""
    cassette = copy.deepcopy(Cassette.load(STREAM))
    events = _events(cassette)
    edit(events)
    cassette.interactions[0].response.body = "\n\n".join(json.dumps(e) for e in events) + "\n\n"
    if outcome:
        assert cassette.outcome is not None
        cassette.outcome.events = [e["event"] for e in events]
    return cassette


def _index(events: list[dict[str, Any]], kind: str, nth: int = 0, **data: Any) -> int:
    hits = [i for i, e in enumerate(events) if e["event"] == kind
            and all(e["data"].get(k) == v for k, v in data.items())]
    return hits[nth]


def _findings(fresh: Cassette) -> list[Finding]:
    return compare_cassettes(Cassette.load(STREAM), fresh, LANGFLOW)


def test_the_recorded_stream_interleaves_two_concurrent_producers() -> None:
    # what the live recordings showed: the Agent's own logs, the Calculator tool's
    # build_start/log/build_end and the messages' add_message/token are separate lanes
    events = _events(Cassette.load(STREAM))
    lanes = {lane_of(e, LANGFLOW) for e in events}
    assert lanes == {"from Agent-bbbb2", "from Calculator-gggg7", "from <uuid>", "event end"}
    assert lane_of(events[0], LANGGRAPH) == ""  # LangGraph: one ordered sequence


def test_a_different_interleaving_of_producers_is_only_a_note() -> None:
    def tool_before_agent_log(events: list[dict[str, Any]]) -> None:
        agent = _index(events, "log", 0, component_id="Agent-bbbb2")
        tool = _index(events, "build_start")
        events.insert(agent, events.pop(tool))  # the tool's build starts before the agent's log

    found = _findings(_variant(tool_before_agent_log))
    assert found and all(f.informational and f.change == "interleaved" for f in found)
    assert {f.layer for f in found} == {"wire", "outcome"}


def test_a_missing_event_is_drift() -> None:
    found = _findings(_variant(lambda events: events.pop(_index(events, "token", 3))))
    drift = [f for f in found if not f.informational]
    assert [(f.layer, f.change) for f in drift] == [("wire", "removed"), ("outcome", "changed")]
    assert drift[0].before["event"] == "token" and drift[1].path == "events['token']"


def test_a_changed_payload_is_drift() -> None:
    def reword(events: list[dict[str, Any]]) -> None:
        events[_index(events, "token", 2)]["data"]["chunk"] = "CHANGED"

    drift = [f for f in _findings(_variant(reword)) if not f.informational]
    assert [(f.path, f.after) for f in drift] == [("body[token 3 from <uuid>].data.chunk", "CHANGED")]


def test_a_change_keeps_its_path_whatever_the_interleaving() -> None:
    """An event is named by its producer and its number among that producer's events of its
    name, not by its place in the stream, which moves with the interleaving: the same change
    recorded twice gets the same path, so reports of two runs (or versions) line up."""
    def reword(events: list[dict[str, Any]]) -> None:
        events[_index(events, "token", 0, chunk="answer ")]["data"]["chunk"] = "result "

    def reword_and_tool_ends_later(events: list[dict[str, Any]]) -> None:
        reword(events)
        token = _index(events, "token", 0, chunk="result ")
        end = _index(events, "build_end")
        assert end < token  # so the move below shifts the token's place in the stream
        events.insert(token, events.pop(end))  # the tool's last event, after the token

    paths, notes = [], []
    for edit in (reword, reword_and_tool_ends_later):
        found = _findings(_variant(edit))
        drift = [f for f in found if not f.informational]
        assert [(f.change, f.before, f.after) for f in drift] == [("changed", "answer ", "result ")]
        paths.append(drift[0].path)
        notes.append([(f.layer, f.change) for f in found if f.informational])
    assert paths == ["body[token 2 from <uuid>].data.chunk"] * 2
    # The other interleaving is still said beside the change, on the wire and in the
    # outcome's event names (whose counts agree: no drift there).
    assert notes == [[], [("wire", "interleaved"), ("outcome", "interleaved")]]


def test_one_change_seen_in_many_places_is_rolled_up(tmp_path: Path) -> None:
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    committed.mkdir()
    fresh.mkdir()
    Cassette.load(STREAM).save(committed / "stream.yaml")
    reworded = copy.deepcopy(Cassette.load(STREAM))  # hand-made: the answer reworded everywhere
    body = reworded.interactions[0].response.body
    reworded.interactions[0].response.body = body.replace("The answer is", "The result is")
    reworded.save(fresh / "stream.yaml")
    report = drift_report(committed, fresh, connector="langflow")
    findings = [g for g in report.findings if not g.finding.informational]
    [change] = report.changes  # every copy of the answer changed the same way
    assert (change.before, change.after) == ('The answer is 5. (tool said: {"result": "5"})',
                                             'The result is 5. (tool said: {"result": "5"})')
    assert len(findings) > 10 and change.places == [
        f"{g.finding.where} {g.finding.path}" for g in findings]
    assert "body[end 1].data.result.outputs[0].outputs[0].messages[0].message" in change.places[-1]
    assert f"Drift: {len(findings)} finding(s) in 1 of 1 scenario(s): 1 distinct change(s)." \
        == report.summary()
    text = report.to_text()
    assert "Distinct changes:" in text and text.index("Distinct changes:") < text.index("Every finding:")
    assert report.to_dict()["changes"][0]["places"] == change.places
    assert "## Distinct changes" in report.to_markdown()


def test_a_reordered_sequence_within_one_producer_is_drift() -> None:
    def swap(events: list[dict[str, Any]], first: int, second: int) -> None:
        events[first], events[second] = events[second], events[first]

    # two tokens of one message: the text the user reads changes
    tokens = _variant(lambda ev: swap(ev, _index(ev, "token", 1), _index(ev, "token", 2)))
    drift = [f for f in _findings(tokens) if not f.informational]
    assert {(f.change, (f.before or f.after)["data"]["chunk"]) for f in drift} == {
        ("removed", "is "), ("added", "is ")}  # one token moved past the other
    # the tool's own sequence: its log after its build_end
    tool = _variant(lambda ev: swap(ev, _index(ev, "log", 0, component_id="Calculator-gggg7"),
                                    _index(ev, "build_end")))
    drift = [f for f in _findings(tool) if not f.informational]
    assert drift and all(f.layer == "wire" for f in drift)  # the outcome's name counts agree


def test_without_lanes_the_whole_stream_keeps_its_order() -> None:
    def sse(*names: str) -> str:
        return "".join(f"event: {n}\r\ndata: {json.dumps({'n': n})}\r\n\r\n" for n in names)

    a = _cassette(sse("metadata", "values", "updates"), "text/event-stream")
    b = _cassette(sse("metadata", "updates", "values"), "text/event-stream")
    found = compare_cassettes(a, b, LANGGRAPH)
    assert found and not any(f.informational for f in found)


def test_a_report_of_notes_only_is_no_drift(tmp_path: Path) -> None:
    committed, fresh = tmp_path / "committed", tmp_path / "fresh"
    committed.mkdir()
    fresh.mkdir()
    Cassette.load(STREAM).save(committed / "stream.yaml")

    def later_end_of_tool(events: list[dict[str, Any]]) -> None:
        events.insert(_index(events, "end"), events.pop(_index(events, "build_end")))

    _variant(later_end_of_tool).save(fresh / "stream.yaml")
    report = drift_report(committed, fresh, connector="langflow")
    assert not report.drifted and report.exit_code == 0, report.to_text()
    assert len(report.notes) == 2 and "informational" in report.to_text()
    assert main(["drift", str(committed), str(fresh)]) == 0
