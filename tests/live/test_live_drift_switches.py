"""Drift catches what a server change does to users, shown on the real LangGraph and Langflow servers.

Each LangGraph test starts the rig with one drift switch of its fake (``CONNECTOR_KIT_FAKE_DRIFT``,
read by live/langgraph/fake_agent.py and fake_wire.py), records a scenario through the kit,
and runs ``connector-kit drift`` against the committed cassettes. Langflow starts in 16-28 s,
so its tests share one start with two switches of live/langflow/fake_openai.py (the LLM behind
the real Langflow server): each switch's findings are told apart by their values. No cassette
is edited: the changes come from the servers. The plain re-record (no switch) is
test_live_drift.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter
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


# -- Langflow: one rig start, two switches of the fake LLM ------------------------------------

LANGFLOW = REPO / "cassettes" / "langflow"
LF_RUN = "POST /api/v1/run/<uuid>"
LF_STREAM = "POST /api/v1/run/<uuid>?stream=true"
#: fake_openai.py's final answer after the calculator, committed and with ``answer_text``.
ANSWER = (json.dumps('The answer is 5. (tool said: {"result": "5"})'),
          json.dumps('The result is 5. (tool said: {"result": "5"})'))
#: Token usage of one LLM call (20/10/30 committed, 26/13/39 with ``usage``), and Langflow's
#: sum over a tool round trip's two calls, as JSON text.
PER_CALL = {"input_tokens": ("20", "26"), "output_tokens": ("10", "13"),
            "total_tokens": ("30", "39")}
SUMMED = {"input_tokens": ("40", "52"), "output_tokens": ("20", "26"),
          "total_tokens": ("60", "78")}
#: Where the final answer sits in the Agent flow's /run body, under outputs[0].outputs[0].
ANSWER_PATHS = (
    "results.message.data.text",
    "results.message.data.content_blocks[0].contents[1].text",
    "results.message.data.content_blocks[0].contents[2].text",
    "results.message.content_blocks[0].contents[1].text",
    "results.message.content_blocks[0].contents[2].text",
    "results.message.content_blocks[0].contents[3].text",
    "results.message.text",
    "artifacts.message",
    "outputs.message.message",
    "messages[0].message",
)
#: The usage copies in that body: the message's properties and its data's.
USAGE_PATHS = ("results.message.data.properties.usage", "results.message.properties.usage")


@pytest.fixture(scope="module")
def langflow_findings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        list[dict[str, Any]]]:
    """Drift findings of tool_call, plain_chat and stream recorded on Langflow with the fake
    LLM's ``answer_text`` and ``usage`` switches on (one start; the rig stopped by PID)."""
    if not wanted("langflow"):
        pytest.skip("live langflow rig not requested: set CONNECTOR_KIT_LIVE=langflow")
    tmp = tmp_path_factory.mktemp("langflow-drift")
    rig = load_rig("langflow", REPO / "live").variant(
        tmp / "rig", {"CONNECTOR_KIT_FAKE_DRIFT": "answer_text,usage"})
    fresh = tmp / "fresh"
    kit = ConnectorTestKit("langflow", LANGFLOW)
    try:
        handle = rig.start()
        for name in ("tool_call", "plain_chat", "stream"):
            result = kit.record(name, url=handle.url, api_key=handle.api_key,
                                context=handle.extra, out_dir=fresh)
            assert result.expectation_met, result.outcome
    finally:
        rig.stop()
    report = tmp / "drift.json"
    assert main(["drift", str(LANGFLOW), str(fresh), "--json", str(report)]) == 1
    yield json.loads(report.read_text())["findings"]


def _in(findings: list[dict[str, Any]], scenario: str) -> Counter[tuple[str, ...]]:
    """The findings seen in ``scenario``, with the scenarios each was seen in; a stream
    event's name (``body[add_message 7 from <uuid>]``) reads ``[*]``, so events are counted."""
    return Counter((f["layer"], f["where"], re.sub(r"^body\[[^]]+\]", "body[*]", f["path"]),
                    f["change"], json.dumps(f["was"]), json.dumps(f["now"]),
                    ",".join(f["scenarios"]))
                   for f in findings if scenario in f["scenarios"] and not f["informational"])


def _answer_and_usage(where: str, prefix: str, scenarios: str) -> Counter[tuple[str, ...]]:
    """The wire findings of a reworded answer and of other usage in one Agent /run body."""
    return Counter(
        [("wire", where, f"{prefix}.{path}", "changed", *ANSWER, scenarios)
         for path in ANSWER_PATHS]
        + [("wire", where, f"{prefix}.{path}.{key}", "changed", was, now, scenarios)
           for path in USAGE_PATHS for key, (was, now) in SUMMED.items()])


#: The outcome findings of the reworded answer, one each for both scenarios that run the tool.
OUTCOME = Counter(("outcome", "outcome", path, "changed", *ANSWER, "stream,tool_call")
                  for path in ("text", "tool_trace[1].text", "tool_trace[2].text"))


def test_langflow_reworded_answer_and_usage(langflow_findings: list[dict[str, Any]]) -> None:
    # answer_text: every copy of the answer in the body, and what the connector returns;
    # usage: Langflow's sum over the two LLM calls, wire only (the outcome has no usage).
    assert _in(langflow_findings, "tool_call") == (
        _answer_and_usage(LF_RUN, "body.outputs[0].outputs[0]", "tool_call") + OUTCOME)


def test_langflow_usage_alone_without_a_tool(langflow_findings: list[dict[str, Any]]) -> None:
    # No tool, one LLM call: answer_text changes nothing, usage shows in both copies.
    assert _in(langflow_findings, "plain_chat") == Counter(
        ("wire", LF_RUN, f"body.outputs[0].outputs[0].{path}.{key}", "changed", was, now,
         "plain_chat")
        for path in USAGE_PATHS for key, (was, now) in PER_CALL.items())


def test_langflow_stream_changes_found_producer_by_producer(
        langflow_findings: list[dict[str, Any]]) -> None:
    """The NDJSON stream is compared lane by lane: the changes are found in every event that
    carries them, not taken for a different interleaving."""
    def wire(path: str, was: str, now: str, times: int = 1) -> Counter[tuple[str, ...]]:
        return Counter({("wire", LF_STREAM, f"body[*].{path}", "changed", was, now,
                         "stream"): times})

    expected = (
        wire("data.chunk", '"answer "', '"result "')  # the one token event that changed
        # the Agent's add_message updates: the answer, and usage once the run is done
        + wire("data.text", *ANSWER, 5) + wire("data.data.text", *ANSWER, 5)
        + wire("data.content_blocks[0].contents[1].text", *ANSWER, 5)
        + wire("data.content_blocks[0].contents[2].text", *ANSWER, 2)
        + wire("data.data.content_blocks[0].contents[1].text", *ANSWER, 4)
        + wire("data.data.content_blocks[0].contents[2].text", *ANSWER, 2)
        + sum((wire(f"{where}.properties.usage.{key}", was, now, 3)
               for where in ("data", "data.data") for key, (was, now) in SUMMED.items()),
              Counter())
        # the Agent's log events carry the LLM's input: its earlier answers and their usage
        + sum((wire(f"data.message.inputs.messages[1].usage_metadata.{key}", was, now, 4)
               + wire(f"data.message.inputs.messages[3].usage_metadata.{key}", was, now)
               for key, (was, now) in PER_CALL.items()), Counter())
        + wire("data.message.inputs.messages[3].content", *ANSWER)
        # the end event holds the whole /run result
        + _answer_and_usage(LF_STREAM, "body[*].data.result.outputs[0].outputs[0]", "stream")
        + OUTCOME)
    assert _in(langflow_findings, "stream") == expected
    # Events are named by producer and number, not by their place in this run's interleaving.
    assert [f["path"] for f in langflow_findings if f["was"] == "answer "] == [
        "body[token 2 from <uuid>].data.chunk"]
