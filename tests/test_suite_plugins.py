"""Suites plug in by entry point (``connector_kit.suites``), found once their package is installed.

Each "installed package" here is a hand-made folder on the path: a package plus a
``<name>-<version>.dist-info`` holding METADATA and entry_points.txt, which is all
``importlib.metadata`` reads -- exactly what ``pip install`` leaves behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from connector_kit.testkit.certify import (
    ENTRY_POINT_GROUP,
    Check,
    certify,
    make_plan,
    plan_checks,
    register_suite,
    suite_names,
)
from connector_kit.testkit.certify import registry as suite_registry

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"

GOOD_SUITE = '''
from connector_kit.testkit.certify import Check


def seen_suite(plan):
    def run():
        return {"detail": f"saw {plan.connector_class.__name__}", "exercised": {"classes": 1}}

    return [Check("seen", "connector_class", run, "the plug-in saw the connector")]


NOT_A_BUILDER = 42


def not_a_list(plan):
    return "checks"
'''


def install(site: Path, dist: str, version: str, package: str, source: str,
            entry_points: dict[str, str]) -> None:
    """Lay out an installed distribution the way pip does (package + dist-info)."""
    (site / package).mkdir(parents=True, exist_ok=True)
    (site / package / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = site / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
                                   encoding="utf-8")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    install(site, "seensuite", "0.1", "seensuite", GOOD_SUITE,
            {"seen": "seensuite:seen_suite", "uncallable": "seensuite:NOT_A_BUILDER",
             "stringly": "seensuite:not_a_list"})
    install(site, "brokensuite", "0.2", "brokensuite", "import no_such_module_anywhere\n",
            {"broken": "brokensuite:suite"})
    return site


def run_cli(site: Path, reports: Path, *suites: str) -> tuple[int, str, dict[str, object]]:
    cli = Path(sys.executable).with_name("connector-kit")
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "300"}
    args = [str(cli), "certify", "langgraph", "--cassettes", str(LANGGRAPH_CASSETTES),
            "--report-dir", str(reports)]
    for suite in suites:
        args += ["--suite", suite]
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    report = json.loads((reports / "certification.json").read_text(encoding="utf-8"))
    return done.returncode, output, report


def test_an_installed_contributor_suite_runs_under_the_real_cli(site: Path, tmp_path: Path) -> None:
    code, output, report = run_cli(site, tmp_path / "reports", "seen")
    assert code == 0, output
    [checks] = [r["checks"] for r in report["reports"]]  # type: ignore[index]
    assert [(c["id"], c["status"], c["detail"]) for c in checks] == [
        ("seen.connector_class", "passed", "saw LangGraphConnector")]
    assert "seen.connector_class" in output and "CERTIFIED" in output


def test_broken_plugins_are_error_rows_naming_their_distribution(site: Path, tmp_path: Path) -> None:
    code, output, report = run_cli(site, tmp_path / "reports", "broken", "uncallable", "stringly",
                                   "seen")
    assert code == 1, output
    assert "Traceback" not in output
    rows = {c["id"]: c for r in report["reports"] for c in r["checks"]}  # type: ignore[attr-defined]
    assert rows["seen.connector_class"]["status"] == "passed"  # the good one still ran
    broken = rows["broken.*"]
    assert broken["status"] == "error"
    assert "distribution brokensuite 0.2" in broken["detail"]
    assert "no_such_module_anywhere" in broken["detail"]
    uncallable = rows["uncallable.*"]
    assert uncallable["status"] == "error"
    assert "distribution seensuite 0.1" in uncallable["detail"] and "not a suite builder" in (
        uncallable["detail"])
    assert rows["stringly.*"]["status"] == "error"
    assert "not a list of Check" in rows["stringly.*"]["detail"]


def test_every_builtin_suite_is_an_installed_entry_point() -> None:
    from importlib.metadata import entry_points

    declared = {p.name for p in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"contract", "replay", "timing", "fuzz", "faults", "sandbox", "operations"} <= declared
    assert set(suite_names()) >= declared


def test_installed_suites_are_listed_and_two_claims_on_one_name_are_an_error(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(site, "rivalsuite", "1.0", "rivalsuite", GOOD_SUITE, {"seen": "rivalsuite:seen_suite"})
    monkeypatch.syspath_prepend(str(site))
    assert {"seen", "broken", "uncallable"} <= set(suite_names())
    plan = make_plan("langgraph", LANGGRAPH_CASSETTES)
    [check] = plan_checks(plan, ["seen"])
    result = check.execute()
    assert result.status == "error"
    assert "seensuite 0.1" in result.detail and "rivalsuite 1.0" in result.detail


def test_a_suite_registered_in_process_takes_precedence(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(suite_registry, "_REGISTERED", dict(suite_registry._REGISTERED))

    @register_suite("broken")
    def fixed(plan: object) -> list[Check]:
        return [Check("broken", "fixed", lambda: {"detail": "in-process", "exercised": {"runs": 1}})]

    report = certify("langgraph", LANGGRAPH_CASSETTES, suites=["broken"])
    assert [(r.id, r.status) for r in report.results] == [("broken.fixed", "passed")]


def test_an_unknown_suite_is_not_run_and_names_the_installed_ones() -> None:
    report = certify("langgraph", LANGGRAPH_CASSETTES, suites=["nowhere"])
    [result] = report.results
    assert result.status == "not run"
    assert "no suite named 'nowhere'" in result.detail and "contract" in result.detail
    assert not report.ok


def test_an_install_without_the_builtin_entry_points_says_to_reinstall(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # What a checkout installed before the suites became entry points looks like: none declared.
    monkeypatch.setattr(suite_registry, "_installed", list)
    monkeypatch.setattr(suite_registry, "_REGISTERED", {})
    report = certify("langgraph", LANGGRAPH_CASSETTES, suites=["contract"])
    [result] = report.results
    assert result.status == "not run"
    assert "reinstall it" in result.detail
    monkeypatch.undo()
    ok = certify("langgraph", LANGGRAPH_CASSETTES, suites=["nowhere"]).results[0]
    assert "reinstall" not in ok.detail  # a real install only names the known suites
