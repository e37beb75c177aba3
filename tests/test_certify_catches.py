"""Every certification check can fail: a known-bad connector for each, caught by that check.

The good built-in LangGraphConnector passes every check of the contract, replay and timing
suites on the committed ``cassettes/langgraph``; each class in ``fixtures/bad_connectors.py``
changes one thing and the matching check reports it as "failed".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from connector_kit.connectors import BaseConnector, LangGraphConnector
from connector_kit.testkit.certify import (
    CertificationReport,
    CheckResult,
    certify,
    make_plan,
    plan_checks,
)
from connector_kit.testkit.certify.report import to_json, to_junit, to_markdown, write_reports
from fixtures import bad_connectors as bad
from fixtures.final_responses import changed_by

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
SUITES = ["contract", "replay", "timing"]
TIMING = {"timing": {"budget_ms": 50}}


def by_id(report: CertificationReport) -> dict[str, CheckResult]:
    return {r.id: r for r in report.results}


@pytest.fixture(scope="module")
def good() -> dict[str, CheckResult]:
    """The built-in connector's results on every check of the three suites."""
    report = certify(LangGraphConnector, LANGGRAPH_CASSETTES, suites=SUITES, options=TIMING, strict=True)
    assert report.ok, to_markdown([report])
    return by_id(report)


def test_the_good_connector_runs_and_passes_every_check(good: dict[str, CheckResult]) -> None:
    assert set(good) >= {"contract.registration", "contract.config_validation",
                         "contract.headers_and_auth", "contract.build_request",
                         "timing.replay_overhead"}
    replayed = {i for i in good if i.startswith("replay.")}
    assert replayed == {f"replay.{p.stem}" for p in LANGGRAPH_CASSETTES.glob("*.yaml")
                        if p.name != "scenarios.yaml"}
    assert {r.status for r in good.values()} == {"passed"}


@pytest.mark.parametrize(("connector", "check", "says"), [
    (bad.UnregisteredConnector, "contract.registration", "is not registered"),
    (bad.DictConfigConnector, "contract.config_validation", "a valid config was refused"),
    (bad.ForgivingTimeoutConnector, "contract.config_validation",
     "an invalid config was accepted: {'url': 'http://localhost/api', 'timeout': 0}"),
    (bad.KeyInReprConnector, "contract.headers_and_auth", "appears in the connector's or config's repr"),
    (bad.BearerNoneConnector, "contract.headers_and_auth",
     "with no API key, auth headers are still sent: ['Authorization']"),
    (bad.BearerAuthConnector, "contract.headers_and_auth",
     "the recordings authenticate with ['x-api-key'] but the connector now sends ['authorization']"),
    (bad.ExtraFieldConnector, "contract.build_request", "stream_mode: added 'values'"),
    (bad.UnserialisableConnector, "contract.build_request", "not JSON-serialisable"),
], ids=lambda value: value.__name__ if isinstance(value, type) else None)
def test_each_contract_check_catches_its_bad_connector(
        good: dict[str, CheckResult], connector: type[BaseConnector], check: str, says: str) -> None:
    assert good[check].status == "passed"
    results = by_id(certify(connector, LANGGRAPH_CASSETTES, suites=["contract"]))
    assert results[check].status == "failed", results[check].detail
    assert says in results[check].detail
    if connector is not bad.UnregisteredConnector:  # none is registered; only that one is caught for it
        assert check != "contract.registration"


def test_the_replay_check_catches_a_wrong_extractor(good: dict[str, CheckResult]) -> None:
    results = by_id(certify(bad.FirstAIMessageConnector, LANGGRAPH_CASSETTES, suites=["replay"]))
    failed = {i for i, r in results.items() if r.status == "failed"}
    # only scenarios whose final state has more than one AI message (tool calls, history) tell
    # first from last: the bad extractor applied to the good connector's final responses
    predicted = changed_by(LangGraphConnector, bad.FirstAIMessageConnector, "text", LANGGRAPH_CASSETTES)
    assert {"tool_call", "parts_content", "tool_error", "multi_turn"} <= predicted
    assert failed == {f"replay.{name}" for name in predicted}
    assert "text: 'The answer to 2+3 is 5.' -> ''" in results["replay.tool_call"].detail
    assert all(good[i].status == "passed" for i in failed)
    assert results["replay.plain_chat"].status == "passed"


def test_the_timing_check_catches_a_slow_connector(good: dict[str, CheckResult]) -> None:
    assert good["timing.replay_overhead"].status == "passed"
    assert good["timing.replay_overhead"].figures["budget_ms"] == 50
    report = certify(bad.SlowParseConnector, LANGGRAPH_CASSETTES, suites=["timing"],
                     options={"timing": {"budget_ms": 50, "rounds": 1}})
    result = by_id(report)["timing.replay_overhead"]
    assert result.status == "failed"
    assert "over the 50 ms budget" in result.detail
    assert result.figures["worst_ms"] > 50


# -- declarations: bypass, strictness --------------------------------------------------------------

def declared(tmp_path: Path, certify_yaml: str) -> Path:
    """A copy of the committed LangGraph folder with ``certify_yaml`` as its certify.yaml."""
    folder = tmp_path / "langgraph"
    shutil.copytree(LANGGRAPH_CASSETTES, folder)
    (folder / "certify.yaml").write_text(certify_yaml, encoding="utf-8")
    return folder


def certified(tmp_path: Path, certify_yaml: str) -> CertificationReport:
    """``certify --strict`` of the LangGraph folder declared by ``certify_yaml``."""
    return certify("langgraph", declared(tmp_path, certify_yaml), strict=True)


def bypassed_with(results: dict[str, CheckResult], check: str, reason: str) -> bool:
    return results[check].status == "bypassed" and results[check].detail == reason


def test_a_suite_bypassed_with_a_written_reason_is_reported_as_bypassed(tmp_path: Path) -> None:
    report = certified(tmp_path, "suites: [contract, timing]\n"
                       "bypass: {timing: \"shared CI runners are too noisy for a latency budget\"}\n")
    results = by_id(report)
    assert bypassed_with(results, "timing.*", "shared CI runners are too noisy for a latency budget")
    assert not any(i.startswith("replay.") for i in results)  # only the declared suites
    assert report.ok  # a bypass with a reason is acceptable even in strict mode
    assert "shared CI runners" in to_markdown([report])


def test_one_check_bypassed_with_a_reason_leaves_its_suite_running(tmp_path: Path) -> None:
    report = certified(tmp_path, "suites: [contract]\n"
                       "bypass: {contract.registration: \"registered by the host app, not here\"}\n")
    results = by_id(report)
    assert bypassed_with(results, "contract.registration", "registered by the host app, not here")
    others = [r for i, r in results.items() if i != "contract.registration"]
    assert others and all(r.status == "passed" for r in others)  # the rest of the suite ran
    assert report.ok


def test_a_misspelt_check_bypass_is_an_error_row_naming_the_checks(tmp_path: Path) -> None:
    report = certified(tmp_path, "suites: [contract]\nbypass: {contract.registratoin: \"a typo\"}\n")
    row = by_id(report)["contract.bypass"]
    assert row.status == "error"
    assert "'contract.registratoin', which is not a check of this run" in row.detail
    assert "contract.registration" in row.detail  # the names it could have meant
    assert by_id(report)["contract.registration"].status == "passed"  # nothing was bypassed
    assert not report.ok


@pytest.mark.parametrize("reason", ['""', '"   "', "null"])
def test_a_bypass_without_a_reason_is_an_error(tmp_path: Path, reason: str) -> None:
    folder = declared(tmp_path, f"suites: [contract, timing]\nbypass: {{timing: {reason}}}\n")
    with pytest.raises(ValueError, match="bypassing 'timing' needs a written reason"):
        certify("langgraph", folder)


def test_strict_mode_fails_when_a_suite_does_not_run() -> None:
    lenient = certify("langgraph", LANGGRAPH_CASSETTES, suites=["contract", "nonexistent"],
                      strict=False)
    strict = certify("langgraph", LANGGRAPH_CASSETTES, suites=["contract", "nonexistent"])
    for report in (lenient, strict):
        result = by_id(report)["nonexistent.*"]
        assert result.status == "not run"
        assert "no suite named 'nonexistent'" in result.detail
    assert lenient.ok is True
    assert strict.ok is False


def test_plan_checks_lists_one_check_per_scenario() -> None:
    checks = plan_checks(make_plan("langgraph", LANGGRAPH_CASSETTES), ["replay"])
    assert sorted(c.id for c in checks) == sorted(
        f"replay.{p.stem}" for p in LANGGRAPH_CASSETTES.glob("*.yaml") if p.name != "scenarios.yaml")
    assert all(c.execute().status == "passed" for c in checks[:2])


# -- report writers ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reports() -> list[CertificationReport]:
    """One passing and one failing report, plus awkward details (pipes, newlines, XML, NUL)."""
    passing = certify("langgraph", LANGGRAPH_CASSETTES, suites=["contract"])
    failing = certify(bad.BearerAuthConnector, LANGGRAPH_CASSETTES, suites=["contract", "nonexistent"],
                      target_name="bad-auth")
    failing.results.append(CheckResult("custom", "awkward", "error",
                                       "a | b <tag> & 'quotes'\x00\nsecond line | here"))
    return [passing, failing]


def test_markdown_report_is_well_formed(reports: list[CertificationReport]) -> None:
    text = to_markdown(reports)
    lines = text.splitlines()
    assert lines[0] == "# Certification report"
    assert "## langgraph: certified" in lines
    assert "## bad-auth: NOT certified" in lines
    rows = [line for line in lines if line.startswith("|")]
    # every table row has the header's 5 cells (escaped pipes inside a cell do not count)
    for row in rows:
        cells = [c for c in row.replace("\\|", "").split("|")[1:-1]]
        assert len(cells) == 5, row
    assert sum(1 for line in lines if line == "|---|---|---:|---|---|") == 2
    assert "| `custom.awkward` | error |" in text
    assert text.count("```") % 2 == 0  # fenced blocks are closed
    assert "### `contract.registration` failed" in text


def test_json_report_parses_and_counts(reports: list[CertificationReport]) -> None:
    data = json.loads(to_json(reports))
    assert data["ok"] is False
    first, second = data["reports"]
    assert first["ok"] is True and first["counts"]["passed"] == 4
    assert second["counts"] == {"passed": 2, "failed": 2, "error": 1, "bypassed": 0, "not run": 1}
    assert {c["id"] for c in second["checks"] if c["status"] == "failed"} == {
        "contract.registration", "contract.headers_and_auth"}


def test_junit_report_parses_and_counts_failures(reports: list[CertificationReport]) -> None:
    root = ET.fromstring(to_junit(reports).encode("utf-8"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["langgraph", "bad-auth"]
    bad_suite = suites[1]
    assert bad_suite.get("tests") == str(len(bad_suite.findall("testcase"))) == "6"
    # strict: a check that did not run is a failure, not a skip
    assert bad_suite.get("failures") == str(len(bad_suite.findall("testcase/failure"))) == "3"
    assert bad_suite.get("errors") == str(len(bad_suite.findall("testcase/error"))) == "1"
    assert bad_suite.get("skipped") == str(len(bad_suite.findall("testcase/skipped"))) == "0"
    assert suites[0].get("failures") == "0"
    error = bad_suite.find("testcase[@name='awkward']/error")
    assert error is not None and "<tag> & 'quotes'" in (error.text or "")


def test_write_reports_writes_the_three_files(reports: list[CertificationReport], tmp_path: Path) -> None:
    written = write_reports(reports, tmp_path / "out")
    assert sorted(p.name for p in written) == ["certification.json", "certification.junit.xml",
                                               "certification.md"]
    json.loads((tmp_path / "out" / "certification.json").read_text(encoding="utf-8"))
    ET.parse(tmp_path / "out" / "certification.junit.xml")
