"""The kit's one helper for each naming question: a connector's names, a request's path."""

from __future__ import annotations

import pytest

from connector_kit.connectors import LangGraphConnector
from connector_kit.testkit.recording import TargetError, class_path, load_connector, registry_names
from connector_kit.testkit.recording.cassettes import RecordedRequest, request_path


class Unregistered(LangGraphConnector):
    """A subclass is not registered under its parent's name."""


def test_registry_names_are_the_class_own_registrations_only() -> None:
    assert registry_names(LangGraphConnector) == ["langgraph"]
    assert registry_names(Unregistered) == []


def test_class_path_reads_back_through_load_connector() -> None:
    path = class_path(LangGraphConnector)
    assert path == "connector_kit.connectors.agent.langgraph:LangGraphConnector"
    assert load_connector(path) is LangGraphConnector
    assert load_connector("langgraph") is LangGraphConnector
    with pytest.raises(TargetError, match="not a BaseConnector"):
        load_connector("connector_kit.connectors:ConnectorConfig")


@pytest.mark.parametrize(("uri", "path"), [
    ("http://127.0.0.1:8123/threads/abc/runs/wait", "/threads/abc/runs/wait"),
    ("http://127.0.0.1:7860/api/v1/run/flow?stream=true", "/api/v1/run/flow?stream=true"),
    ("http://127.0.0.1:7860", "/"),
    ("http://127.0.0.1:7860/redirect?to=http://x/y", "/redirect?to=http://x/y"),
    ("http://127.0.0.1/a%20b?q=%2F", "/a%20b?q=%2F"),  # as sent: never decoded
])
def test_request_path_is_path_and_query_as_sent(uri: str, path: str) -> None:
    assert request_path(uri) == path
    assert RecordedRequest("GET", uri).path == path
