"""Certification verdicts say what ran: each case a user walk-through found misleading.

Before: a folder holding the catalogue and one of its 13 recordings certified strictly on the
34 checks left (the 12 scenarios with no recording, and the stream checks, vanished);
``--lenient`` printed ``CERTIFIED`` (JSON ``"ok": true``) with checks not run, and took
``--strict`` too; a connector whose ``build_request`` raised was reported as a stale cassette
("re-record the cassette"), its own exception never shown; the ``operations`` checks showed
no ``exercised`` work and, with no cassette folder, no row for operation replay at all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from examples.operations.count_assistants import CountingLangGraph

from connector_kit.cli import main
from connector_kit.connectors import LangflowConnector, LangGraphConnector
from connector_kit.testkit import ConnectorRaisedError, ConnectorTestKit
from connector_kit.testkit.certify import CertificationReport, certify, make_plan, plan_checks
from connector_kit.testkit.certify.report import to_json, to_junit, to_markdown, verdict_line
from connector_kit.testkit.recording.episode import REPLAY_KEY

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "cassettes"
FIXED = "examples.my_framework.connector_fixed:FixedMyFrameworkConnector"
QUICK = ["--suite", "contract", "--suite", "replay", "--suite", "timing"]


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


@pytest.fixture
def one_recording(tmp_path: Path) -> Path:
    """The committed Langflow catalogue (13 scenarios) beside only one of its recordings."""
    folder = tmp_path / "langflow"
    folder.mkdir()
    for name in ("scenarios.yaml", "plain_chat.yaml"):
        shutil.copy(CASSETTES / "langflow" / name, folder / name)
    return folder


def _declared(framework: str) -> set[str]:
    return {s.name for s in ConnectorTestKit(framework, CASSETTES / framework).scenarios()}


# -- 1. a declared scenario without a recording is a row, "not run" -------------------------------

def test_declared_scenarios_without_a_recording_are_not_run(
        one_recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = certify("langflow", one_recording, suites=["replay"])
    rows = {r.name: r for r in report.results}
    assert set(rows) == _declared("langflow") and len(rows) == 13
    assert rows["plain_chat"].status == "passed"
    missing = [r for name, r in rows.items() if name != "plain_chat"]
    assert {r.status for r in missing} == {"not run"}
    assert "has no cassette (stream.yaml)" in rows["stream"].detail
    assert "connector-kit record langflow --scenario stream" in rows["stream"].detail
    assert report.ok is False
    assert main(["certify", "langflow", "--cassettes", str(one_recording), "--no-reports",
                 "--suite", "replay"]) == 1
    assert "NOT CERTIFIED (strict): 1 passed, 12 not run" in capsys.readouterr().out


def test_checks_that_break_an_unrecorded_stream_are_not_run(one_recording: Path) -> None:
    checks = {c.id: c for c in plan_checks(make_plan("langflow", one_recording), ["fuzz", "faults"])}
    stream_checks = ["fuzz.stream", "faults.stream_cut_mid_event", "faults.stream_stall_between_events"]
    for check_id in stream_checks:
        result = checks[check_id].execute()
        assert result.status == "not run", (check_id, result.detail)
        assert "declares stream scenario(s) 'stream'" in result.detail
        assert "--scenario stream" in result.detail


def test_the_committed_folders_declare_nothing_unrecorded() -> None:
    """The full folders still certify on every declared scenario: one replay row each."""
    for framework in ("langflow", "langgraph"):
        checks = plan_checks(make_plan(framework, CASSETTES / framework), ["replay"])
        assert {c.name for c in checks} == _declared(framework)
        assert not any(c.bypass_reason for c in checks)
    streams = plan_checks(make_plan("langflow", CASSETTES / "langflow"), ["fuzz", "faults"])
    assert {"fuzz.stream", "faults.stream_cut_mid_event"} <= {c.id for c in streams}


def test_a_malformed_catalogue_is_an_error_row_beside_the_replays(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph"
    folder.mkdir()
    shutil.copy(CASSETTES / "langgraph" / "plain_chat.yaml", folder / "plain_chat.yaml")
    (folder / "scenarios.yaml").write_text("framework: langgraph\nscenarios: 3\n", encoding="utf-8")
    report = certify("langgraph", folder, suites=["replay"])
    rows = {r.name: r for r in report.results}
    assert rows["scenarios.yaml"].status == "error"
    assert "ScenarioError" in rows["scenarios.yaml"].detail
    assert "plain_chat" in rows
    assert report.ok is False


# -- 2. a lenient run is not a certification --------------------------------------------------------

def test_a_lenient_pass_says_it_is_not_a_certification(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out_dir = tmp_path / "reports"
    code = main(["certify", FIXED, "--cassettes", str(empty), "--lenient", "--report-dir",
                 str(out_dir), *QUICK])
    out = capsys.readouterr().out
    assert code == 0, out  # exploring still exits 0, as the README documents
    assert "PASSED (lenient, not a certification): 3 passed, 3 not run" in out
    assert "a strict run (the default) fails on them" in out
    assert "CERTIFIED" not in out
    data = json.loads((out_dir / "certification.json").read_text(encoding="utf-8"))
    assert data["ok"] is True and data["certified"] is False
    assert data["reports"][0]["verdict"] == "PASSED (lenient, not a certification)"
    markdown = (out_dir / "certification.md").read_text(encoding="utf-8")
    assert f"## {FIXED}: passed (lenient, not a certification)" in markdown
    assert "certified" not in markdown.replace("not a certification", "")
    suite = ET.parse(out_dir / "certification.junit.xml").getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"verdict": "PASSED (lenient, not a certification)", "certified": "false"}


def test_strict_and_lenient_together_are_a_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["certify", FIXED, "--cassettes", str(tmp_path), "--strict", "--lenient"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_verdicts_of_each_kind() -> None:
    from connector_kit.testkit.certify import CheckResult

    passed, not_run = CheckResult("s", "a", "passed"), CheckResult("s", "b", "not run")
    failed = CheckResult("s", "c", "failed", "broke")
    cases: list[tuple[bool, list[CheckResult], str, bool, bool]] = [
        (True, [passed], "CERTIFIED (strict)", True, True),
        (False, [passed], "CERTIFIED:", True, True),  # lenient, but everything ran
        (False, [passed, not_run], "PASSED (lenient, not a certification)", True, False),
        (True, [passed, not_run], "NOT CERTIFIED (strict)", False, False),
        (False, [passed, failed], "NOT CERTIFIED (lenient)", False, False),
    ]
    for strict, results, line, ok, certified in cases:
        report = CertificationReport("t", "c", None, strict, results)
        assert verdict_line(report).startswith(line), (line, verdict_line(report))
        assert (report.ok, report.certified) == (ok, certified), line
        assert json.loads(to_json([report]))["certified"] is certified
        heading = to_markdown([report]).splitlines()[2]
        assert heading.endswith(": certified") is certified, heading
        assert f'value="{str(certified).lower()}"' in to_junit([report])


# -- 3. a connector that raised is named, not called a stale cassette ----------------------------

class RaisingLangflow(LangflowConnector):
    """Hand-made bad subject: build_request raises a KeyError naming the (fake) key."""

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        raise KeyError(f"flow_id (key {self.config.api_key})")


class RaisingLangGraph(LangGraphConnector):
    """Hand-made bad subject: the thread is created, then building the run raises."""

    def build_request(self, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
        raise KeyError("assistant_id")


@pytest.mark.parametrize(("cls", "framework", "when"), [
    (RaisingLangflow, "langflow", "before sending any request"),
    (RaisingLangGraph, "langgraph", "after 1 of the 2 recorded request(s)"),
])
def test_a_replay_names_the_exception_the_connector_raised(
        cls: type[Any], framework: str, when: str) -> None:
    result = ConnectorTestKit(cls, CASSETTES / framework).replay("plain_chat")
    assert isinstance(result.error, ConnectorRaisedError)
    detail = result.explain()
    assert "The connector raised KeyError (not a ConnectorError" in detail
    assert when in detail
    assert "StaleCassetteError" not in detail and "re-record the cassette" not in detail
    report = certify(cls, CASSETTES / framework, suites=["replay"], target_name="raising")
    row = next(r for r in report.results if r.name == "plain_chat")
    assert row.status == "failed" and "ConnectorRaisedError: The connector raised KeyError" in row.detail


def test_the_connectors_message_is_shown_with_its_secrets_masked() -> None:
    detail = ConnectorTestKit(RaisingLangflow, CASSETTES / "langflow").replay("plain_chat").explain()
    assert "flow_id (key ***)" in detail
    assert REPLAY_KEY not in detail


# -- 4. operations rows show their work, and a missing replay is a row ---------------------------

def test_operations_checks_show_what_they_exercised() -> None:
    report = certify(LangGraphConnector, CASSETTES / "langgraph", suites=["operations"])
    rows = {r.name: r for r in report.results}
    assert report.ok, [(r.id, r.detail) for r in report.results if r.status != "passed"]
    assert rows["schema"].exercised["schemas validated"] >= 10
    assert rows["to_llm"].exercised["operations found"] == rows["schema"].exercised["schemas validated"]
    assert rows["fuzz"].exercised["invalid parameter sets"] == rows["fuzz"].figures["cases"] > 50
    replays = [r for name, r in rows.items() if name.startswith("replay.")]
    assert replays and all(r.exercised["requests"] >= 1 and r.exercised["steps"] >= 1 for r in replays)
    assert all(r.work() for r in report.results)  # the column is never empty on a pass


def test_operation_replay_without_a_cassette_folder_is_not_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    report = certify(CountingLangGraph, None, suites=["operations"])
    replay = next(r for r in report.results if r.name == "replay")
    assert replay.status == "not run" and "no cassette folder given" in replay.detail
    assert report.ok is False
    assert main(["certify", "examples.operations.count_assistants:CountingLangGraph",
                 "--suite", "operations", "--no-reports"]) == 1
    assert "NOT CERTIFIED (strict): 3 passed, 1 not run" in capsys.readouterr().out


def test_declared_operation_scenarios_without_a_recording_are_not_run(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph" / "operations"
    folder.mkdir(parents=True)
    source = CASSETTES / "langgraph" / "operations"
    for name in ("scenarios.yaml", "discovery.yaml"):
        shutil.copy(source / name, folder / name)
    report = certify(LangGraphConnector, folder.parent, suites=["operations"])
    rows = {r.name: r for r in report.results if r.name.startswith("replay.")}
    assert rows["replay.discovery"].status == "passed"
    assert rows["replay.thread_lifecycle"].status == "not run"
    assert "connector-kit record langgraph --operations" in rows["replay.thread_lifecycle"].detail
    assert report.ok is False


def test_every_pass_of_the_contract_suite_shows_its_work() -> None:
    """The README's promise for the ``exercised`` column holds for the contract rows too."""
    report = certify(LangGraphConnector, CASSETTES / "langgraph", suites=["contract"])
    assert report.certified, [(r.id, r.detail) for r in report.results]
    assert {r.name: bool(r.work()) for r in report.results} == {
        "registration": True, "config_validation": True, "headers_and_auth": True,
        "build_request": True}
    headers = next(r for r in report.results if r.name == "headers_and_auth")
    assert headers.exercised["recorded auth headers"] >= 1
