"""Streams and lost answers in cassettes: recorded with their frames, replayed in order.

The server is a FaultServer on 127.0.0.1 answering with HAND-MADE LangGraph-shaped bodies (the
committed cassettes hold the real ones, recorded from the rigs); the recording itself goes
through the kit's real engine (vcrpy) into a temporary folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.recording.cassettes import Cassette
from connector_kit.testkit.recording.scenarios import Catalogue

THREAD = "11111111-2222-4333-8444-555555555555"
RUN = "66666666-7777-4888-8999-000000000000"
STATE = {"messages": [{"type": "human", "content": "hi", "id": "h1"},
                      {"type": "ai", "content": "You said: hi", "id": "a1"}]}
FRAMES = [b'event: metadata\r\ndata: {"run_id": "r"}\r\n\r\n',
          b"event: values\r\ndata: " + json.dumps({"messages": STATE["messages"][:1]}).encode()
          + b"\r\n\r\n",
          b"event: values\r\ndata: " + json.dumps(STATE).encode() + b"\r\n\r\n"]

CATALOGUE = """
framework: langgraph
connector: langgraph
defaults: {url: "{url}", config: {max_retries: 0, timeout: 5}}
scenarios:
  - name: streamed
    steps: [{action: stream, messages: "hi"}]
  - name: joined
    config: {timeout: 0.3, deadline: 5, max_retries: 2}
    messages: "hi"
  - name: fresh
    fresh_session: true
    messages: "hi"
"""


def handler(request: ReceivedRequest) -> Reply:
    if request.path == "/threads":
        return json_reply({"thread_id": THREAD})
    if request.path.endswith("/runs/stream"):
        body = b"".join(FRAMES)
        # one frame per piece, 20 ms apart: the recording keeps each frame's arrival
        return Reply(200, body, {"Content-Type": "text/event-stream"}, trickle=0.02,
                     trickle_bytes=len(FRAMES[0]))
    if request.path.endswith("/runs/wait"):
        # headers (naming the run) at once, then a stall: the client's read times out
        return Reply(200, json.dumps(STATE).encode(),
                     {"Content-Type": "application/json",
                      "location": f"/threads/{THREAD}/runs/{RUN}/join"}, trickle=2.0,
                     trickle_bytes=1)
    if request.path.endswith("/runs?limit=1"):
        return json_reply([{"run_id": RUN, "status": "running"}])
    return json_reply(STATE)


def kit_in(tmp_path: Path) -> ConnectorTestKit:
    (tmp_path / "scenarios.yaml").write_text(CATALOGUE, encoding="utf-8")
    assert Catalogue.load(tmp_path).get("streamed").steps
    return ConnectorTestKit("langgraph", tmp_path)


def test_a_stream_is_recorded_with_its_frames_and_replayed_frame_by_frame(
        server: FaultServer, tmp_path: Path) -> None:
    server.set_default(handler)
    kit = kit_in(tmp_path)
    result = kit.record("streamed", url=server.url)
    assert result.expectation_met, result.outcome
    cassette = Cassette.load(result.path)
    [stream] = cassette.metadata["streams"]
    frames: list[dict[str, Any]] = stream["frames"]
    assert [f["event"] for f in frames] == ["metadata", "values", "values"]
    assert [f["at"] for f in frames] == sorted(f["at"] for f in frames)
    assert cassette.outcome is not None
    assert cassette.outcome.events == ["metadata", "values", "values"]
    assert cassette.outcome.text == "You said: hi"
    # the body is the exact stream, so plain vcrpy replays it as one body
    assert b"event: values" in str(cassette.interactions[-1].response.body).encode()
    for pace in (0.0, 0.5):
        replayed = kit.replay("streamed", pace=pace)
        assert replayed.reproduced, (replayed.explain(), replayed.outcome)


def test_a_lost_answer_is_kept_and_replay_joins_the_run_again(server: FaultServer,
                                                              tmp_path: Path) -> None:
    server.set_default(handler)
    kit = kit_in(tmp_path)
    result = kit.record("joined", url=server.url)
    assert result.expectation_met, result.outcome
    # under vcrpy the headers of the lost answer never reach the client: the run is found on
    # its fresh thread and joined -- still exactly one run
    assert [r.path.split("/")[-1] for r in server.requests] == [
        "threads", "wait", "runs?limit=1", "join"]
    cassette = Cassette.load(result.path)
    [lost] = cassette.metadata["lost"]
    assert (lost["method"], lost["error"]) == ("POST", "ReadTimeout")
    assert lost["uri"].endswith("/runs/wait") and "location" in lost["headers"]  # as it came
    assert THREAD not in json.dumps(lost)  # canonicalised like the interactions
    replayed = kit.replay("joined")
    assert replayed.reproduced, replayed.explain()
    assert replayed.outcome is not None and replayed.outcome.text == "You said: hi"


def test_a_fresh_session_scenario_records_a_new_session_each_time(server: FaultServer,
                                                                 tmp_path: Path) -> None:
    def answer(request: ReceivedRequest) -> Reply:
        return json_reply({"thread_id": THREAD} if request.path == "/threads" else STATE)

    kit = kit_in(tmp_path)
    sent: list[str] = []
    for _ in range(2):
        server.reset(answer)
        result = kit.record("fresh", url=server.url)
        assert result.expectation_met, result.outcome
        sent.append(server.requests[0].json()["metadata"]["session_id"])
    first, second = sent
    assert first != second and first.startswith("ck-fresh-") and second.startswith("ck-fresh-")
    # the cassette holds it canonicalised, in the requests and the scenario alike, so the
    # re-recording is byte-comparable and replay sends what was recorded
    cassette = Cassette.load(tmp_path / "fresh.yaml")
    canonical = cassette.scenario["session_id"]
    assert canonical.startswith("ck-fresh-00000000-0000-4000-8000-")
    assert canonical in str(cassette.interactions[0].request.body)
    assert kit.replay("fresh").reproduced
