"""Health checks and a plain send against the real servers."""

from __future__ import annotations

import pytest

from connector_kit.connectors import ConnectorConfig, LangflowConnector, LangGraphConnector
from connector_kit.testkit.rig import RigHandle

pytestmark = pytest.mark.live


def test_langgraph_check_and_send(langgraph_rig: RigHandle) -> None:
    config = ConnectorConfig(url=langgraph_rig.url, api_key=langgraph_rig.api_key)
    with LangGraphConnector(config=config) as connector:
        assert connector.check().healthy
        response = connector.send([{"role": "user", "content": "what is 6*7?"}], "live-health")
        assert isinstance(response, dict)
        assert LangGraphConnector.extract_text(response) == "The answer to 6*7 is 42."
        trace = LangGraphConnector.extract_tool_trace(response) or []
        assert [entry["type"] for entry in trace] == ["tool_use", "tool_result"]


def test_langflow_check_and_send(langflow_rig: RigHandle) -> None:
    flow = langflow_rig.extra["flows"]["agent"]["id"]
    config = ConnectorConfig(url=f"{langflow_rig.url}/api/v1/run/{flow}",
                             api_key=langflow_rig.api_key)
    with LangflowConnector(config=config) as connector:
        assert connector.check().healthy
        response = connector.send([{"role": "user", "content": "what is 2+3?"}], "live-health-1")
        assert isinstance(response, dict)
        assert "5" in (LangflowConnector.extract_text(response) or "")
        assert any(entry.get("type") == "tool_use"
                   for entry in LangflowConnector.extract_tool_trace(response) or [])
