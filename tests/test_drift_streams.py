"""Streamed bodies are compared event by event (hand-made fixtures: two small cassettes built
in this test, standing in for a stream recorded twice)."""

from __future__ import annotations

import json

from connector_kit.testkit.diff.drift import compare_cassettes
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
    assert found == [("body[1].data.messages[0].content", "hello", "hullo")]


def test_ndjson_events_are_compared_one_by_one() -> None:
    def ndjson(*tokens: str) -> str:
        return "\n".join(json.dumps({"event": "token", "data": {"chunk": t}}) for t in tokens)

    a = _cassette(ndjson("a", "b", "c"), "text/event-stream")
    b = _cassette(ndjson("a", "B", "c", "d"), "text/event-stream")
    found = {(f.path, f.change) for f in compare_cassettes(a, b, LANGFLOW)}
    assert found == {("body[1].data.chunk", "changed"), ("body[3]", "added")}


def test_a_server_that_stops_compressing_is_reported() -> None:
    # Bodies are stored decoded; the encoding the server sent is kept aside by the recorder.
    a = _cassette('{"a": 1}', "application/json")
    a.interactions[0].response.headers["x-connector-kit-content-encoding"] = ["gzip"]
    b = _cassette('{"a": 1}', "application/json")
    found = [(f.path, f.change, f.before, f.after) for f in compare_cassettes(a, b, LANGFLOW)]
    assert found == [("headers.content-encoding", "removed", "gzip", None)]
