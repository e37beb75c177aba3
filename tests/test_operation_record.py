"""Recording operation scenarios: a recording is committed only when every step met its expect.

The "live" server here is the scripted loopback server (a real HTTP server on 127.0.0.1);
what it answers is hand-made for these tests, the committed cassettes come from the rigs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_kit.connectors import LangGraphConnector, OpCall, OperationContext
from connector_kit.connectors.agent.langgraph_params import ThreadParams
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.recording.cassettes import SECTION, load_document
from connector_kit.testkit.recording.normalize import normalizer_for
from connector_kit.testkit.recording.operation_record import (
    record_operation_scenario,
    replay_operation_scenario,
)
from connector_kit.testkit.recording.operation_scenarios import OperationScenario, Step, load_catalogue
from connector_kit.testkit.recording.scenarios import ScenarioError

FAKE_KEY = "fake-key-for-record-tests-0000"
THREAD = "0190a1b2-0000-7000-8000-00000000abcd"


def _answer(request: ReceivedRequest) -> Reply:
    if request.path == "/info":
        return json_reply({"version": "9.9.9"})
    if request.path == "/threads" and request.method == "POST":
        return json_reply({"thread_id": THREAD, "status": "idle", "metadata": request.json()["metadata"]})
    if request.path == f"/threads/{THREAD}":
        return json_reply({"thread_id": THREAD, "status": "idle"})
    return json_reply({"detail": "not found"}, 404)


def _scenario(*steps: Step) -> OperationScenario:
    return OperationScenario(name="made_here", framework="langgraph", steps=list(steps), url="{url}",
                             config={"api_key": "{api_key}", "max_retries": 0})


def _record(server: FaultServer, out: Path, scenario: OperationScenario):  # type: ignore[no-untyped-def]
    server.reset(_answer)
    return record_operation_scenario(LangGraphConnector, scenario, {"url": server.url, "api_key": FAKE_KEY},
                                     out, normalizer_for(LangGraphConnector, "langgraph"))


GOOD = (Step(entity="threads", action="create", id="t", params={"metadata": {"session_id": "s"}}),
        Step(entity="threads", action="get", params={"thread_id": "${t.meta.thread_id}"}))


def test_a_good_recording_is_written_scrubbed_and_replays(server: FaultServer, tmp_path: Path) -> None:
    result = _record(server, tmp_path, _scenario(*GOOD))
    assert result.committed, result.problem
    text = result.path.read_text()
    assert FAKE_KEY not in text and THREAD not in text  # key scrubbed, server's id canonical
    section = load_document(result.path)[SECTION]
    assert [s["operation"] for s in section["steps"]] == ["threads.create", "threads.get"]
    assert section["steps"][1]["meta"]["status"] == "idle"
    replay = replay_operation_scenario(ConnectorTestKit(LangGraphConnector, tmp_path), result.path)
    assert replay.reproduced, replay.explain()
    assert replay.requests == 3  # /info, POST /threads, GET /threads/<id>


def test_an_unmet_step_never_overwrites_the_committed_cassette(server: FaultServer, tmp_path: Path) -> None:
    good = _record(server, tmp_path, _scenario(*GOOD))
    before = good.path.read_bytes()
    bad = _record(server, tmp_path, _scenario(GOOD[0], Step(entity="runs", action="list",
                                                             params={"thread_id": THREAD})))
    assert not bad.committed and "expected ok, got ConnectorHTTPError" in bad.problem
    assert good.path.read_bytes() == before


def test_a_replay_that_differs_is_reported(server: FaultServer, tmp_path: Path) -> None:
    result = _record(server, tmp_path, _scenario(*GOOD))

    class Renamed(LangGraphConnector):
        """Hand-made: threads.get reports no status any more."""

    @Renamed.operation("threads", "get", readonly=True)
    def get(ctx: OperationContext, params: ThreadParams):  # type: ignore[no-untyped-def]
        """Get a thread.

        Next: nothing.
        """
        return (yield OpCall("GET", f"/threads/{params.thread_id}"))

    replay = replay_operation_scenario(ConnectorTestKit(LangGraphConnector, tmp_path), result.path,
                                       connector_class=Renamed)
    assert not replay.reproduced and "status" in replay.explain()


def test_a_malformed_catalogue_names_the_problem(tmp_path: Path) -> None:
    (tmp_path / "scenarios.yaml").write_text("scenarios:\n  - name: x\n    steps: [{entity: threads}]\n")
    with pytest.raises(ScenarioError, match="action"):
        load_catalogue(tmp_path)
    assert load_catalogue(tmp_path / "absent") == []
