"""Re-record every scenario against the real server and compare with the committed cassettes."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_kit.cli import main
from connector_kit.testkit.diff.drift import drift_report
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.rig import RigHandle

from .conftest import REPO

pytestmark = pytest.mark.live


def _rerecord(framework: str, handle: RigHandle, out: Path) -> ConnectorTestKit:
    kit = ConnectorTestKit(framework, REPO / "cassettes" / framework)
    for scenario in kit.scenarios():
        result = kit.record(scenario, url=handle.url, api_key=handle.api_key, context=handle.extra,
                            out_dir=out)
        assert result.expectation_met, (
            f"{scenario.name}: expected {result.expected}, got "
            f"{result.outcome.error_type or 'ok'}: {result.outcome.error_message}")
    return kit


@pytest.mark.parametrize("framework", ["langgraph", "langflow"])
def test_no_drift_against_live_server(framework: str, request: pytest.FixtureRequest,
                                      tmp_path: Path) -> None:
    handle = request.getfixturevalue(f"{framework}_rig")
    committed = REPO / "cassettes" / framework
    _rerecord(framework, handle, tmp_path)
    report = drift_report(committed, tmp_path)
    # Value by value (text, tool trace, every list item, headers), not just structure; every
    # committed scenario was re-recorded, so an empty comparison cannot pass for "no drift".
    assert report.compared and not report.only_committed, report.to_text()
    assert not report.drifted, report.to_text()
    assert main(["drift", str(committed), str(tmp_path)]) == 0


@pytest.mark.parametrize("framework", ["langgraph", "langflow"])
def test_fresh_recordings_replay_offline(framework: str, request: pytest.FixtureRequest,
                                         tmp_path: Path) -> None:
    handle = request.getfixturevalue(f"{framework}_rig")
    kit = _rerecord(framework, handle, tmp_path)
    fresh = ConnectorTestKit(kit.connector_class, tmp_path, framework=framework)
    for name in fresh.recorded_names():
        result = fresh.replay(name)
        assert result.reproduced, f"{name}: {result.explain()}"
