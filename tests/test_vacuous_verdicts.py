"""No vacuous pass: each case that used to certify having done nothing now fails.

Before: ``certify langflow --cassettes EMPTY_DIR`` said "CERTIFIED: 29 passed, 3 skipped"
(exit 0); ``--suite nosuch`` certified "1 skipped"; ``--fuzz-examples -5`` passed the fuzz
suite; ``diff`` over an empty folder reported "changed: 0" in strict mode; the contract check
``build_request`` passed with "0 recorded request(s) match".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from connector_kit.cli import main
from connector_kit.testkit.certify import (
    CertificationReport,
    Check,
    CheckResult,
    DeclarationError,
    certify,
)
from connector_kit.testkit.diff.connectors import diff_connectors

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH = REPO / "cassettes" / "langgraph"
QUICK = ["--suite", "contract", "--suite", "replay", "--suite", "timing"]


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


def test_certify_over_an_empty_folder_is_not_certified(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["certify", "langgraph", "--cassettes", str(empty), "--report-dir",
                 str(tmp_path / "reports"), *QUICK])
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT CERTIFIED (strict)" in out and "did not run" in out
    data = json.loads((tmp_path / "reports" / "certification.json").read_text(encoding="utf-8"))
    statuses = {c["id"]: c["status"] for c in data["reports"][0]["checks"]}
    assert statuses["contract.build_request"] == "not run"
    assert statuses["replay.*"] == "not run" and statuses["timing.*"] == "not run"
    # exploring is still possible, but it is not called strict
    assert main(["certify", "langgraph", "--cassettes", str(empty), "--no-reports", "--lenient",
                 *QUICK]) == 0


def test_an_unknown_suite_is_a_usage_error_and_not_run_in_a_report(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certify", "langgraph", "--cassettes", str(LANGGRAPH), "--no-reports",
                 "--suite", "nosuch"]) == 2
    assert "No suite named 'nosuch'" in capsys.readouterr().err
    report = certify("langgraph", LANGGRAPH, suites=["nosuch"])
    assert [r.status for r in report.results] == ["not run"]
    assert report.ok is False
    # even leniently: a report in which nothing passed certifies nothing
    assert certify("langgraph", LANGGRAPH, suites=["nosuch"], strict=False).ok is False


@pytest.mark.parametrize("argv", [
    ["certify", "langgraph", "--fuzz-examples", "-5"],
    ["certify", "langgraph", "--fuzz-examples", "0"],
    ["certify", "langgraph", "--budget-ms", "0"],
    ["certify", "langgraph", "--budget-ms", "nan"],
    ["fuzz", "langgraph", "--examples", "-1"],
])
def test_invalid_numbers_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "must be" in capsys.readouterr().err


@pytest.mark.parametrize("options", [{"fuzz": {"examples": -5}}, {"fuzz": {"examples": 0}},
                                     {"timing": {"budget_ms": 0}}, {"timing": {"rounds": 0}}])
def test_invalid_numbers_in_code_are_declaration_errors(options: dict[str, dict[str, int]]) -> None:
    with pytest.raises(DeclarationError, match="certification options"):
        certify("langgraph", LANGGRAPH, suites=["timing"], options=options)


def test_build_request_with_no_matched_request_is_not_run(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph"
    folder.mkdir()
    for name in ("scenarios.yaml", "wrong_key.yaml", "missing_key.yaml"):  # calls that failed at auth
        shutil.copy(LANGGRAPH / name, folder / name)
    report = certify("langgraph", folder, suites=["contract"])
    result = {r.id: r for r in report.results}["contract.build_request"]
    assert result.status == "not run", result.detail
    assert "no recorded request to compare" in result.detail
    assert report.ok is False


def test_a_check_that_exercised_nothing_is_not_run() -> None:
    empty = Check("fuzz", "p", lambda: {"detail": "0 examples", "exercised": {"examples": 0}})
    some = Check("fuzz", "p", lambda: {"exercised": {"examples": 3}})
    assert empty.execute().status == "not run"
    assert "exercised nothing (0 examples)" in empty.execute().detail
    result = some.execute()
    assert result.status == "passed" and result.exercised == {"examples": 3}


def test_a_report_counts_the_work_behind_each_pass() -> None:
    report = certify("langgraph", LANGGRAPH, suites=["contract", "replay"])
    assert report.ok, [(r.id, r.status, r.detail) for r in report.results]
    by_id = {r.id: r for r in report.results}
    assert by_id["contract.build_request"].exercised["scenarios"] >= 1
    assert by_id["replay.tool_call"].exercised == {"scenarios": 1, "requests": 2}
    assert all(r.exercised for r in report.results if r.suite == "replay")


def test_all_bypassed_certifies_nothing() -> None:
    report = CertificationReport("t", "c", None, True,
                                 [CheckResult("timing", "*", "bypassed", "too noisy")])
    assert report.ok is False


def test_diff_over_nothing_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert diff_connectors("langgraph", "langgraph", empty).ok is False
    assert diff_connectors("langgraph", "langgraph", empty, strict=False).ok is False
    assert main(["diff", "--control", "langgraph", "--target", "langgraph", "--cassettes",
                 str(empty)]) == 2
    assert "nothing was compared" in capsys.readouterr().err
