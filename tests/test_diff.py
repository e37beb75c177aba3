"""Upgrade diffs: deliberately changed connector versions are caught on the same recordings.

LangGraph runs on the committed ``cassettes/langgraph``. The Langflow cases run on
``cassettes/langflow`` when its recordings exist and are skipped (with the reason) until then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector_kit.connectors import BaseConnector, LangflowConnector, LangGraphConnector
from connector_kit.testkit.diff.connectors import DiffReport, diff_connectors
from connector_kit.testkit.recording.cassettes import Cassette
from fixtures import changed_connectors as changed
from fixtures.final_responses import changed_by

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
LANGFLOW_CASSETTES = REPO / "cassettes" / "langflow"


def recordings(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name not in ("scenarios.yaml", "certify.yaml"))


needs_langflow = pytest.mark.skipif(
    not recordings(LANGFLOW_CASSETTES),
    reason=f"no Langflow recordings in {LANGFLOW_CASSETTES} yet (record them with "
           "`connector-kit record langflow`)")


def changes(report: DiffReport) -> dict[str, dict[str, Any]]:
    """Per changed scenario: request difference paths and outcome difference paths."""
    return {s.scenario: {"requests": sorted({d.path for _, ds in s.request_differences for d in ds}),
                         "outcome": sorted(d.path for d in s.outcome_differences),
                         "errors": s.errors}
            for s in report.changed}


# -- LangGraph -------------------------------------------------------------------------------

def run_bodies(name: str) -> list[dict[str, Any]]:
    """The recorded bodies of a LangGraph recording's run requests (those naming an assistant)."""
    cassette = Cassette.load(LANGGRAPH_CASSETTES / f"{name}.yaml")
    bodies = [json.loads(i.request.body) for i in cassette.interactions if i.request.body]
    return [b for b in bodies if isinstance(b, dict) and "assistant_id" in b]


# The recordings whose requests reach a run (the key scenarios stop at 401 before one; a run
# whose answer was lost to a timeout is joined by GET, so no run body is recorded for it) ...
REACHES_RUN = {p.stem for p in recordings(LANGGRAPH_CASSETTES)
               if any("messages" in (b.get("input") or {}) for b in run_bodies(p.stem))}
# ... and those with a run sent without a config (parts_content sends a run_config).
REACHES_RUN_WITHOUT_CONFIG = {p.stem for p in recordings(LANGGRAPH_CASSETTES)
                              if any("config" not in b for b in run_bodies(p.stem))}


def test_the_predicted_sets_are_the_recordings_they_describe() -> None:
    assert {"plain_chat", "tool_call", "multi_turn", "tool_error", "graph_error",
            "unknown_assistant"} <= REACHES_RUN_WITHOUT_CONFIG
    assert "parts_content" in REACHES_RUN - REACHES_RUN_WITHOUT_CONFIG
    assert not {"missing_key", "wrong_key"} & REACHES_RUN


@pytest.mark.parametrize("target", [LangGraphConnector, changed.SameLangGraph])
def test_an_unchanged_connector_shows_no_differences(target: type[BaseConnector]) -> None:
    report = diff_connectors(LangGraphConnector, target, LANGGRAPH_CASSETTES, strict=True)
    assert report.ok
    assert report.changed == []
    assert {s.scenario for s in report.scenarios} == {p.stem for p in recordings(LANGGRAPH_CASSETTES)}
    assert all(s.request_count[0] == s.request_count[1] > 0 for s in report.scenarios)


def test_a_payload_change_is_reported_with_the_field_path() -> None:
    report = diff_connectors(LangGraphConnector, changed.AlwaysConfigLangGraph, LANGGRAPH_CASSETTES)
    assert changes(report) == {name: {"requests": ["body.config"], "outcome": [], "errors": []}
                               for name in REACHES_RUN_WITHOUT_CONFIG}
    plain = next(s for s in report.scenarios if s.scenario == "plain_chat")
    assert [(index, [str(d) for d in ds]) for index, ds in plain.request_differences] == [
        (1, ["body.config: added {}"])]  # the 2nd request (runs/wait); POST /threads is unchanged


def test_transformed_messages_are_reported() -> None:
    report = diff_connectors(LangGraphConnector, changed.SystemPromptLangGraph, LANGGRAPH_CASSETTES)
    found = changes(report)
    assert set(found) == REACHES_RUN
    plain = found["plain_chat"]
    assert plain["requests"] == ["body.input.messages[0].content", "body.input.messages[0].role",
                                 "body.input.messages[1]"]
    assert plain["outcome"] == []


def test_a_changed_text_extraction_is_reported_as_an_outcome_difference() -> None:
    report = diff_connectors(LangGraphConnector, changed.FirstAIMessageLangGraph, LANGGRAPH_CASSETTES)
    # only recordings whose final state has more than one AI message (tool calls, history) tell
    # first from last: the variant's extractor applied to the good connector's final responses
    predicted = changed_by(LangGraphConnector, changed.FirstAIMessageLangGraph, "text", LANGGRAPH_CASSETTES)
    assert {"tool_call", "parts_content", "tool_error", "multi_turn"} <= predicted
    assert changes(report) == {name: {"requests": [], "outcome": ["text"], "errors": []}
                               for name in predicted}
    tool_call = next(s for s in report.scenarios if s.scenario == "tool_call")
    assert [str(d) for d in tool_call.outcome_differences] == ["text: 'The answer to 2+3 is 5.' -> ''"]


def test_a_dropped_tool_result_is_reported() -> None:
    report = diff_connectors(LangGraphConnector, changed.NoToolResultLangGraph, LANGGRAPH_CASSETTES)
    with_tool_results = {p.stem for p in recordings(LANGGRAPH_CASSETTES)
                         if any(e.get("type") == "tool_result"
                                for e in (Cassette.load(p).outcome.tool_trace or []))}  # type: ignore[union-attr]
    assert {"tool_call", "tool_error", "parts_content"} <= with_tool_results
    assert with_tool_results == changed_by(LangGraphConnector, changed.NoToolResultLangGraph, "tool_trace",
                                           LANGGRAPH_CASSETTES)
    assert changes(report) == {name: {"requests": [], "outcome": ["tool_trace[1]"], "errors": []}
                               for name in with_tool_results}


def test_strict_mode_fails_and_diagnostic_mode_reports_but_passes() -> None:
    strict = diff_connectors(LangGraphConnector, changed.NoToolResultLangGraph, LANGGRAPH_CASSETTES,
                             strict=True)
    diagnostic = diff_connectors(LangGraphConnector, changed.NoToolResultLangGraph, LANGGRAPH_CASSETTES,
                                 strict=False)
    assert strict.ok is False
    assert diagnostic.ok is True
    assert [s.scenario for s in diagnostic.changed] == [s.scenario for s in strict.changed] != []


def test_markdown_and_json_outputs() -> None:
    report = diff_connectors("langgraph", changed.AlwaysConfigLangGraph, LANGGRAPH_CASSETTES, strict=False)
    data = json.loads(report.to_json())
    assert data["strict"] is False and data["ok"] is True
    assert data["changed"] == len(REACHES_RUN_WITHOUT_CONFIG)
    assert data["control"] == "langgraph"
    assert data["target"] == "fixtures.changed_connectors:AlwaysConfigLangGraph"
    by_name = {s["scenario"]: s for s in data["scenarios"]}
    assert by_name["plain_chat"]["requests"] == {
        "control": 2, "target": 2, "differences": {"2": ["body.config: added {}"]}}
    assert by_name["missing_key"]["changed"] is False

    text = report.to_markdown()
    lines = text.splitlines()
    assert lines[0] == "# Connector diff (diagnostic)"
    assert f"- changed: {len(REACHES_RUN_WITHOUT_CONFIG)}" in lines
    assert "| plain_chat | 2/2 | 1 | 0 |" in lines
    assert "| missing_key | 1/1 | 0 | 0 |" in lines
    assert "## plain_chat" in lines and "## missing_key" not in lines
    assert "  - `body.config: added {}`" in lines
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(recordings(LANGGRAPH_CASSETTES))
    assert all(line.count("|") == 5 for line in table)


# -- Langflow (when its recordings exist) ------------------------------------------------------

def _predicted(variant: type[LangflowConnector], field: str) -> set[str]:
    """The scenarios where the variant's extractor gives another answer than the recorded one
    (applied to the good connector's final response: a whole reply, or a folded stream)."""
    return changed_by(LangflowConnector, variant, field, LANGFLOW_CASSETTES)


@needs_langflow
def test_langflow_unchanged_shows_no_differences() -> None:
    report = diff_connectors(LangflowConnector, changed.SameLangflow, LANGFLOW_CASSETTES)
    assert report.ok and report.changed == []


@needs_langflow
def test_langflow_payload_change_is_reported() -> None:
    report = diff_connectors(LangflowConnector, changed.TextInputLangflow, LANGFLOW_CASSETTES)
    sent = {p.stem for p in recordings(LANGFLOW_CASSETTES)
            if any(i.request.body for i in Cassette.load(p).interactions)}
    assert sent, "no Langflow recording sends a body"
    assert {name: c["requests"] for name, c in changes(report).items()} == {
        name: ["body.input_type"] for name in sent}
    assert report.ok is False


@needs_langflow
@pytest.mark.parametrize(("variant", "field"), [
    (changed.NoSessionLangflow, "session_id"),
    (changed.FirstWordLangflow, "text"),
    (changed.NoToolUseLangflow, "tool_trace"),
], ids=["session_id", "text", "tool_trace"])
def test_langflow_outcome_changes_are_reported(variant: type[LangflowConnector], field: str) -> None:
    predicted = _predicted(variant, field)
    if not predicted:
        pytest.skip(f"no Langflow recording where {variant.__name__} changes {field}")
    strict = diff_connectors(LangflowConnector, variant, LANGFLOW_CASSETTES, strict=True)
    found = changes(strict)
    assert set(found) == predicted
    assert all(c["requests"] == [] and c["outcome"] and
               all(p.split("[")[0] == field for p in c["outcome"]) for c in found.values())
    assert strict.ok is False
    assert diff_connectors(LangflowConnector, variant, LANGFLOW_CASSETTES, strict=False).ok is True
