"""Every committed cassette is a faithful vcrpy cassette: plain vcrpy replays it.

No kit code is involved in the replay: ``vcr.use_cassette(path, record_mode="none")`` with
vcrpy's default matching (method, scheme, host, port, path, query) and its default
persister and serializer. The built-in connector makes the recorded call (its scenario's
url, messages and session id) and must reach the recorded outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import vcr

from connector_kit.connectors import ConnectorConfig, ConnectorError
from connector_kit.connectors.agent.base import BaseAgentConnector
from connector_kit.testkit.cassettes import Cassette
from connector_kit.testkit.episode import REPLAY_KEY, load_connector

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


def _outcome(connector: BaseAgentConnector, section: dict[str, Any]) -> dict[str, Any]:
    cls = type(connector)
    try:
        response = connector.send(section["messages"], section["session_id"])
    except ConnectorError as exc:
        return {"ok": False, "error_type": type(exc).__name__,
                "status_code": getattr(exc, "status_code", None)}
    assert isinstance(response, dict)
    return {"ok": True, "text": cls.extract_text(response),
            "session_id": cls.extract_session_id(response),
            "tool_trace": cls.extract_tool_trace(response)}


def test_there_are_committed_cassettes_of_both_frameworks() -> None:
    assert {p.parent.name for p in CASSETTES} == {"langflow", "langgraph"}


@pytest.mark.parametrize("path", CASSETTES, ids=[f"{p.parent.name}/{p.stem}" for p in CASSETTES])
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
def test_stored_headers_agree_with_the_stored_body(path: Path) -> None:
    for interaction in Cassette.load(path).interactions:
        headers = {k.lower(): v for k, v in interaction.response.headers.items()}
        assert "content-encoding" not in headers  # bodies are stored decoded
        assert "transfer-encoding" not in headers  # ... and whole
        assert headers["content-length"] == [str(len(interaction.response.body.encode("utf-8")))]
        assert "server" in headers  # the recording still says which server made it
