"""The drift report catches structural change (on hand-modified COPIES of real cassettes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from connector_kit.testkit.cassettes import Cassette
from connector_kit.testkit.drift import drift_report

COMMITTED = Path(__file__).resolve().parents[1] / "cassettes" / "langgraph"


def _copy(tmp_path: Path) -> Path:
    fresh = tmp_path / "fresh"
    shutil.copytree(COMMITTED, fresh)
    return fresh


def test_identical_recordings_show_no_drift(tmp_path: Path) -> None:
    report = drift_report(COMMITTED, _copy(tmp_path))
    assert report.scenarios and not report.drifted, report.to_text()


def test_renamed_key_changed_type_and_status_are_reported(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)
    # A hand-made change to a copy, standing in for a server upgrade.
    cassette = Cassette.load(fresh / "tool_call.yaml")
    run = cassette.interactions[-1].response
    body = json.loads(run.body)
    for message in body["messages"]:
        message["msg_type"] = message.pop("type")
        message["additional_kwargs"] = []
    run.body = json.dumps(body)
    cassette.save(fresh / "tool_call.yaml")
    missing = Cassette.load(fresh / "missing_key.yaml")
    missing.interactions[0].response.status = 403
    missing.save(fresh / "missing_key.yaml")

    report = drift_report(COMMITTED, fresh)
    drifted = {entry.scenario: entry.findings for entry in report.drifted}
    assert set(drifted) == {"tool_call", "missing_key"}
    text = "\n".join(drifted["tool_call"])
    assert ".type: removed" in text and ".msg_type: added" in text
    assert "type object -> array" in text
    assert any("status 401 -> 403" in f for f in drifted["missing_key"])


def test_extra_request_and_outcome_change_are_reported(tmp_path: Path) -> None:
    fresh = _copy(tmp_path)
    cassette = Cassette.load(fresh / "plain_chat.yaml")
    cassette.interactions.append(cassette.interactions[-1])
    assert cassette.outcome is not None
    cassette.outcome.ok, cassette.outcome.error_type = False, "ConnectorHTTPError"
    cassette.save(fresh / "plain_chat.yaml")
    findings = {e.scenario: e.findings for e in drift_report(COMMITTED, fresh).drifted}
    assert "requests: 2 recorded, 3 now" in findings["plain_chat"]
    assert "outcome: ok -> ConnectorHTTPError" in findings["plain_chat"]
