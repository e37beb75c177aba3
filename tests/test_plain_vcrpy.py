"""Every committed cassette is a faithful vcrpy cassette: plain vcrpy replays it.

No kit code is involved in the replay: ``vcr.use_cassette(path, record_mode="none")`` with
vcrpy's default matching (method, scheme, host, port, path, query) and its default
persister and serializer. The built-in connector makes the recorded call (its scenario's
url, messages and session id; a scenario of ``steps`` runs them with the connector's public
``send``/``stream``/``resume``) and must reach the recorded outcome.

One kind of recording cannot be replayed by plain vcrpy: a call whose answer was lost (a read
timeout the kit recorded beside vcrpy's cassette in ``connector_kit.metadata.lost``). vcrpy
never held that answer, so it has nothing to serve for it; for those cassettes the test checks
what does apply: every recorded interaction replays through plain vcrpy byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr

from connector_kit.connectors import AgentInterruptedError, ConnectorConfig, ConnectorError
from connector_kit.connectors.agent.base import BaseAgentConnector
from connector_kit.testkit.recording.cassettes import Cassette
from connector_kit.testkit.recording.episode import REPLAY_KEY
from connector_kit.testkit.recording.targets import load_connector

REPO = Path(__file__).resolve().parents[1]
CASSETTES = sorted(p for p in (REPO / "cassettes").glob("*/*.yaml")
                   if p.name not in ("scenarios.yaml", "certify.yaml"))


def _connector(cassette: Cassette) -> BaseAgentConnector:
    section = cassette.scenario
    cls = load_connector(str(cassette.metadata["connector_class"]))
    assert issubclass(cls, BaseAgentConnector)
    config = dict(section.get("config") or {})
    if config.get("api_key"):
        config["api_key"] = REPLAY_KEY
    return cls(config=ConnectorConfig(url=section["url"], **config), **(section.get("options") or {}))


def _as_messages(raw: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw)


def _run_steps(connector: BaseAgentConnector, steps: list[dict[str, Any]], session_id: str,
               events: list[str]) -> dict[str, Any]:
    """The scenario's steps through the connector's public API; the last step's response."""
    response: dict[str, Any] = {}
    thread_id = None
    for index, step in enumerate(steps):
        action = step.get("action", "send")
        try:
            if action == "resume":
                assert thread_id is not None, "a resume step follows an interrupted step"
                response = connector.resume(thread_id, step["value"])  # type: ignore[attr-defined]
            elif action == "stream":
                with connector.stream(_as_messages(step.get("messages", "hello")), session_id) as stream:
                    events.extend(event.event for event in stream)
                assert stream.response is not None
                response = stream.response
            else:
                sent = connector.send(_as_messages(step.get("messages", "hello")), session_id)
                assert isinstance(sent, dict)
                response = sent
        except ConnectorError as exc:
            if isinstance(exc, AgentInterruptedError):
                thread_id = exc.thread_id
            if index == len(steps) - 1 or type(exc).__name__ != step.get("expect", "ok"):
                raise
    return response


def _outcome(connector: BaseAgentConnector, section: dict[str, Any]) -> dict[str, Any]:
    cls = type(connector)
    events: list[str] = []
    try:
        response = (_run_steps(connector, section["steps"], section["session_id"], events)
                    if section.get("steps") else connector.send(section["messages"], section["session_id"]))
    except ConnectorError as exc:
        return {"ok": False, "error_type": type(exc).__name__,
                "status_code": getattr(exc, "status_code", None), "events": events or None}
    assert isinstance(response, dict)
    return {"ok": True, "text": cls.extract_text(response),
            "session_id": cls.extract_session_id(response),
            "tool_trace": cls.extract_tool_trace(response), "events": events or None}


def _lost(path: Path) -> bool:
    """The recording holds an answer vcrpy never had (see the module docstring)."""
    return bool(Cassette.load(path).metadata.get("lost"))


REPLAYABLE = [p for p in CASSETTES if not _lost(p)]
LOST = [p for p in CASSETTES if _lost(p)]


def test_there_are_committed_cassettes_of_both_frameworks() -> None:
    assert {p.parent.name for p in CASSETTES} == {"langflow", "langgraph"}


def test_only_recordings_with_a_lost_answer_are_left_to_the_byte_check() -> None:
    assert len(REPLAYABLE) > len(LOST)
    assert all(not Cassette.load(p).metadata.get("lost") for p in REPLAYABLE)


@pytest.mark.parametrize("path", REPLAYABLE, ids=[f"{p.parent.name}/{p.stem}" for p in REPLAYABLE])
def test_plain_vcrpy_replays_the_committed_cassette(path: Path) -> None:
    cassette = Cassette.load(path)
    assert cassette.outcome is not None
    recorded = {k: v for k, v in cassette.outcome.compared_fields().items() if v is not None}
    connector = _connector(cassette)
    try:
        with vcr.use_cassette(str(path), record_mode="none") as played:
            live = _outcome(connector, cassette.scenario)
            assert played.all_played, f"{played.play_count} of {len(played)} interactions played"
    finally:
        connector.close()
    assert {k: v for k, v in live.items() if v is not None} == recorded


@pytest.mark.parametrize("path", CASSETTES, ids=[f"{p.parent.name}/{p.stem}" for p in CASSETTES])
def test_plain_vcrpy_serves_every_recorded_body(path: Path) -> None:
    interactions = Cassette.load(path).interactions
    assert interactions
    with vcr.use_cassette(str(path), record_mode="none") as played, \
            httpx.Client() as client:
        for interaction in interactions:
            request = interaction.request
            answer = client.request(request.method, request.uri,
                                    content=request.body.encode("utf-8") if request.body else None)
            assert answer.status_code == interaction.response.status
            assert answer.content == interaction.response.body.encode("utf-8")
        assert played.all_played


@pytest.mark.parametrize("path", CASSETTES, ids=[f"{p.parent.name}/{p.stem}" for p in CASSETTES])
def test_stored_headers_agree_with_the_stored_body(path: Path) -> None:
    for interaction in Cassette.load(path).interactions:
        headers = {k.lower(): v for k, v in interaction.response.headers.items()}
        assert "content-encoding" not in headers  # bodies are stored decoded
        assert "transfer-encoding" not in headers  # ... and whole
        assert headers["content-length"] == [str(len(interaction.response.body.encode("utf-8")))]
        assert "server" in headers  # the recording still says which server made it
