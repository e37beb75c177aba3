"""Every operation scenario against the real servers: each step ends as its ``expect`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector_kit.connectors import ConnectorConfig, LangflowConnector, LangGraphConnector
from connector_kit.testkit.recording.operation_scenarios import (
    OperationScenario,
    load_catalogue,
    met,
    run_steps,
)
from connector_kit.testkit.rig import RigHandle

pytestmark = pytest.mark.live

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
LANGGRAPH = load_catalogue(CASSETTES / "langgraph" / "operations")
LANGFLOW = load_catalogue(CASSETTES / "langflow" / "operations")


def _check(connector_cls: type[LangGraphConnector] | type[LangflowConnector], rig: RigHandle,
           scenario: OperationScenario) -> None:
    url, config, options = scenario.resolve({"url": rig.url, "api_key": rig.api_key, **rig.extra})
    with connector_cls(config=ConnectorConfig(url=url, **config), **options) as connector:
        produced = run_steps(connector, scenario.steps)
    unmet = [(step.operation, step.expect, p) for step, p in zip(scenario.steps, produced, strict=True)
             if not met(step, p)]
    assert not unmet, unmet


@pytest.mark.parametrize("scenario", LANGGRAPH, ids=[s.name for s in LANGGRAPH])
def test_langgraph_operations(langgraph_rig: RigHandle, scenario: OperationScenario) -> None:
    _check(LangGraphConnector, langgraph_rig, scenario)


@pytest.mark.parametrize("scenario", LANGFLOW, ids=[s.name for s in LANGFLOW])
def test_langflow_operations(langflow_rig: RigHandle, scenario: OperationScenario) -> None:
    _check(LangflowConnector, langflow_rig, scenario)


def test_every_listed_operation_has_a_live_scenario() -> None:
    covered = {step.operation for s in LANGGRAPH for step in s.steps}
    assert {op.name for op in LangGraphConnector.operations or []} <= covered
    covered = {step.operation for s in LANGFLOW for step in s.steps}
    assert {op.name for op in LangflowConnector.operations or []} - {"flows.get"} <= covered
