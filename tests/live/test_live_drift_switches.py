"""Drift catches what a server change does to users, shown on the real LangGraph server.

Each test starts the rig with one drift switch of its fake (``CONNECTOR_KIT_FAKE_DRIFT``,
read by live/langgraph/fake_agent.py and fake_wire.py), records a scenario through the kit,
and runs ``connector-kit drift`` against the committed cassettes. No cassette is edited: the
changes come from the server. The plain re-record (no switch) is test_live_drift.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector_kit.cli import main
from connector_kit.testkit.kit import ConnectorTestKit
from connector_kit.testkit.rig import load_rig

from .conftest import REPO, wanted

pytestmark = pytest.mark.live
Recorder = Callable[..., list[dict[str, Any]]]
COMMITTED = REPO / "cassettes" / "langgraph"
RUN = "POST /threads/<uuid>/runs/wait"


@pytest.fixture
def record_with(tmp_path: Path) -> Iterator[Recorder]:
    if not wanted("langgraph"):
        pytest.skip("live langgraph rig not requested: set CONNECTOR_KIT_LIVE=langgraph")
    started = []

    def record(switch: str, *scenarios: str) -> list[dict[str, Any]]:
        rig = load_rig("langgraph", REPO / "live").variant(
            tmp_path / f"rig-{switch}", {"CONNECTOR_KIT_FAKE_DRIFT": switch})
        started.append(rig)
        handle = rig.start()
        fresh = tmp_path / f"fresh-{switch}"
        kit = ConnectorTestKit("langgraph", COMMITTED)
        try:
            for name in scenarios:
                result = kit.record(name, url=handle.url, api_key=handle.api_key,
                                    context=handle.extra, out_dir=fresh)
                assert result.expectation_met, result.outcome
        finally:
            rig.stop()
        report = tmp_path / f"drift-{switch}.json"
        assert main(["drift", str(COMMITTED), str(fresh), "--json", str(report)]) == 1
        findings: list[dict[str, Any]] = json.loads(report.read_text())["findings"]
        return findings

    yield record
    for rig in started:
        rig.stop()


def _seen(findings: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    return {(f["layer"], f["where"], f["path"], f["change"], json.dumps(f["was"]),
             json.dumps(f["now"])) for f in findings}


def test_changed_answer_text(record_with: Recorder) -> None:
    findings = record_with("answer_text", "tool_call")
    assert _seen(findings) == {
        ("wire", RUN, "body.messages[3].content", "changed", '"The answer to 2+3 is 5."',
         '"The result of 2+3 is 5."'),
        ("outcome", "outcome", "text", "changed", '"The answer to 2+3 is 5."',
         '"The result of 2+3 is 5."'),
    }


def test_tool_trace_entry_that_lost_a_field(record_with: Recorder) -> None:
    findings = record_with("trace_field", "tool_call")
    assert _seen(findings) == {
        ("wire", RUN, "body.messages[2].status", "removed", '"success"', "null"),
        ("outcome", "outcome", "tool_trace[1].status", "removed", '"success"', "null"),
    }


def test_key_removed_from_a_middle_message(record_with: Recorder) -> None:
    findings = record_with("middle_key", "tool_call")
    # messages[1] and [2] of four lost it; the last one (what the old drift kept) did not.
    assert _seen(findings) == {
        ("wire", RUN, f"body.messages[{i}].response_metadata", "removed", "{}", "null")
        for i in (1, 2)
    }


def test_changed_content_type_reported_once_for_every_scenario(record_with: Recorder) -> None:
    findings = record_with("content_type", "plain_chat", "missing_key")
    new = "application/json; charset=utf-8"
    by_where = {(f["where"], f["path"]): f for f in findings}
    assert set(by_where) == {("POST /threads", "headers.content-type"),
                             (RUN, "headers.content-type")}
    assert by_where[("POST /threads", "headers.content-type")]["scenarios"] == \
        ["missing_key", "plain_chat"]
    assert all(f["was"] == "application/json" and f["now"] == new for f in findings)
