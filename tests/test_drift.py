"""The drift engine, on COPIES of real cassettes changed by hand in this test (hand-made
fixtures, standing in for a server upgrade). The same classes of change made by the live
rigs themselves are in tests/live/test_live_drift_switches.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector_kit.cli import main
from connector_kit.testkit.diff.drift import DriftError, drift_report
from connector_kit.testkit.recording.cassettes import Cassette

COMMITTED = Path(__file__).resolve().parents[1] / "cassettes" / "langgraph"


def _copy(tmp_path: Path) -> Path:
    fresh = tmp_path / "fresh"
    shutil.copytree(COMMITTED, fresh)
    return fresh


def _edit_body(path: Path, index: int, edit: object) -> None:
    cassette = Cassette.load(path)
    response = cassette.interactions[index].response
    body = json.loads(response.body)
    edit(body)  # type: ignore[operator]
    response.body = json.dumps(body)
    cassette.save(path)


def test_identical_recordings_show_no_drift(tmp_path: Path) -> None:
    report = drift_report(COMMITTED, _copy(tmp_path))
    assert len(report.compared) >= 9 and not report.drifted, report.to_text()
    assert report.exit_code == 0


def test_a_value_in_a_middle_list_item_is_reported_with_its_path(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)

    def drop_status(body: dict) -> None:  # the tool message is messages[2] of four
        del body["messages"][2]["status"]
        body["messages"][1]["tool_calls"][0]["args"]["expression"] = "3+2"

    _edit_body(fresh / "tool_call.yaml", -1, drop_status)
    report = drift_report(COMMITTED, fresh)
    described = [g.finding.describe() for g in report.findings]
    where = "POST /threads/<uuid>/runs/wait"
    assert f"{where} body.messages[2].status: removed, was 'success'" in described
    assert f"{where} body.messages[1].tool_calls[0].args.expression: was '2+3', now '3+2'" \
        in described
    assert report.drifted_scenarios == ["tool_call"] and report.exit_code == 1


def test_volatile_values_are_masked_before_comparing(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)

    def new_ids(body: dict) -> None:
        body["messages"][0]["id"] = "11111111-2222-4333-8444-555555555555"

    _edit_body(fresh / "tool_call.yaml", -1, new_ids)
    assert not drift_report(COMMITTED, fresh).drifted


def test_one_finding_per_change_with_every_scenario_it_affects(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)
    for name in ("plain_chat", "tool_call"):
        cassette = Cassette.load(fresh / f"{name}.yaml")
        cassette.interactions[0].response.headers["content-type"] = ["text/plain"]
        cassette.save(fresh / f"{name}.yaml")
    report = drift_report(COMMITTED, fresh)
    assert len(report.findings) == 1, report.to_text()
    group = report.findings[0]
    assert group.scenarios == ["plain_chat", "tool_call"]
    assert (group.finding.where, group.finding.path) == ("POST /threads", "headers.content-type")
    assert (group.finding.before, group.finding.after) == ("application/json", "text/plain")


def test_outcome_status_and_request_changes_are_reported(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)
    cassette = Cassette.load(fresh / "plain_chat.yaml")
    cassette.interactions.append(cassette.interactions[-1])
    assert cassette.outcome is not None
    cassette.outcome.text = "something else"
    cassette.save(fresh / "plain_chat.yaml")
    missing = Cassette.load(fresh / "missing_key.yaml")
    missing.interactions[0].response.status = 403
    missing.save(fresh / "missing_key.yaml")
    report = drift_report(COMMITTED, fresh)
    by_scenario = {name: [f.describe() for f in report.per_scenario[name]]
                   for name in report.drifted_scenarios}
    assert set(by_scenario) == {"plain_chat", "missing_key"}
    assert any(d.endswith("request: added, now '#3 of 3'") for d in by_scenario["plain_chat"])
    assert "outcome text: was 'You said: hello there', now 'something else'" \
        in by_scenario["plain_chat"]
    assert "POST /threads status: was 401, now 403" in by_scenario["missing_key"]
    layers = {f.layer for f in report.per_scenario["plain_chat"]}
    assert layers == {"wire", "outcome"}


def test_cli_exit_codes_and_report_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = _copy(tmp_path)
    assert main(["drift", str(COMMITTED), str(fresh)]) == 0
    cassette = Cassette.load(fresh / "plain_chat.yaml")
    assert cassette.outcome is not None
    cassette.outcome.text = "changed"
    cassette.save(fresh / "plain_chat.yaml")
    out_json, out_md = tmp_path / "r" / "drift.json", tmp_path / "r" / "drift.md"
    assert main(["drift", str(COMMITTED), str(fresh), "--json", str(out_json),
                 "--md", str(out_md)]) == 1
    data = json.loads(out_json.read_text())
    assert data["drifted"] and data["findings"][0]["scenarios"] == ["plain_chat"]
    assert data["findings"][0]["path"] == "text" and data["findings"][0]["now"] == "changed"
    assert "| outcome | outcome | text |" in out_md.read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["drift", str(COMMITTED), str(empty)]) == 2
    assert main(["drift", str(COMMITTED), str(tmp_path / "missing")]) == 2
    with pytest.raises(DriftError):
        drift_report(COMMITTED, tmp_path / "missing")


def test_the_normaliser_can_be_named(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)
    assert main(["drift", str(COMMITTED), str(fresh), "--connector", "langgraph"]) == 0
    # A connector that does not exist is the user's to fix: exit 2 with a message, no traceback.
    assert main(["drift", str(COMMITTED), str(fresh), "--connector", "no-such-connector"]) == 2
