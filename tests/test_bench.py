"""Benchmarks: the retry/timeout/replay benchmarks run (quick) and give rows with their documented
keys; results are written as JSON (with the environment), Markdown and PNG; ``main`` discovers,
skips and reports. No figure is asserted: benchmarks measure, tests only check their shape.
"""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from benchmarks import run as runner

from connector_kit.testkit import bench
from connector_kit.testkit.bench import BenchReport, Series

KEYS = {
    "retry": ["case", "n", "configured_ms", "median_ms", "p95_ms", "over_ms", "per_retry_ms", "ratio"],
    "timeout": ["case", "mode", "budget_ms", "n", "median_ms", "p95_ms", "overshoot_median_ms",
                "overshoot_max_ms", "attempts", "within_goal"],
    "replay": ["case", "framework", "n", "median_ms", "p95_ms", "per_request_ms", "vs_live"],
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reports() -> dict[str, BenchReport]:
    """Each of the retry, timeout and replay benchmarks, run once in quick mode."""
    out = {}
    for name in KEYS:
        outcome = runner.run_benchmark(name, quick=True)
        assert outcome.error is None, outcome.error
        assert outcome.report is not None, outcome.skipped
        out[name] = outcome.report
    return out


@pytest.mark.parametrize("name", list(KEYS))
def test_quick_benchmark_rows_have_the_documented_keys(name: str, reports: dict[str, BenchReport]) -> None:
    report = reports[name]
    assert report.name == name and report.title
    assert report.rows, "no rows"
    for row in report.rows:
        assert list(row) == KEYS[name]
        assert isinstance(row["case"], str) and row["case"]
        assert isinstance(row["n"], int) and row["n"] >= 1
        value = row["median_ms"]
        assert value is None or (isinstance(value, float) and math.isfinite(value))
    assert report.series and all(s.samples_ms for s in report.series)
    assert report.notes


def test_retry_benchmark_covers_overhead_backoff_and_retry_after(reports: dict[str, BenchReport]) -> None:
    cases = [row["case"] for row in reports["retry"].rows]
    assert cases[0] == "plain 200"
    assert any("3 retries" in c for c in cases)
    assert {row["configured_ms"] for row in reports["retry"].rows if row["case"].startswith("backoff")} == {
        20.0, 40.0, 80.0}
    assert any(c.startswith("Retry-After: 1") for c in cases)


def test_timeout_benchmark_covers_sync_async_and_the_deadline(reports: dict[str, BenchReport]) -> None:
    rows = reports["timeout"].rows
    assert {row["mode"] for row in rows} == {"sync", "async"}
    assert any("max_retries 3" in row["case"] for row in rows)
    assert all(isinstance(row["within_goal"], bool) for row in rows)


def test_replay_benchmark_compares_with_live_and_times_certification(reports: dict[str, BenchReport]) -> None:
    rows = reports["replay"].rows
    assert {row["framework"] for row in rows} == {"langflow", "langgraph"}
    assert any(row["case"].startswith("replay: kit.replay") for row in rows)
    # the kit's replay and plain vcrpy's, on the same cassettes in the same run
    assert {r["framework"] for r in rows if r["case"].startswith("replay: plain vcrpy")} == {
        r["framework"] for r in rows if r["case"].startswith("replay: kit.replay")}
    assert any(row["case"].startswith("live loopback") and row["vs_live"] == 1.0 for row in rows)
    assert any(row["case"].startswith("offline certification") for row in rows)


def test_write_results_writes_json_md_png_and_the_index(reports: dict[str, BenchReport],
                                                        tmp_path: Path) -> None:
    written = bench.write_results(list(reports.values()), tmp_path, command="connector-kit bench --quick")
    for name in KEYS:
        data = json.loads((tmp_path / f"{name}.json").read_text())
        assert [list(row) for row in data["rows"]] == [KEYS[name]] * len(data["rows"])
        assert data["series"] and data["series"][0]["samples_ms"]
        env = data["environment"]
        assert env["cpu_count"] >= 1
        assert env["python"] and env["platform"] and env["timestamp"]
        assert {"httpx", "pydantic"} <= set(env["packages"])
        assert env["command"] == "connector-kit bench --quick"
        assert data["chart"] == f"{name}.png"
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert (tmp_path / f"{name}.md").read_text().startswith(f"# {name}: ")
    readme = (tmp_path / "README.md").read_text()
    for name in KEYS:
        assert f"[{name}]({name}.md)" in readme
    assert "connector-kit bench --quick" in readme
    assert "## retry" in (tmp_path / "summary.md").read_text()
    assert {p.name for p in written} >= {"README.md", "summary.md", "retry.json", "retry.png"}


def tiny_report(name: str = "agent") -> BenchReport:
    rows: list[dict[str, Any]] = [{"variant": "a", "median_ms": 1.5, "ok": True},
                                  {"variant": "b", "median_ms": float("nan"), "ok": None}]
    return BenchReport(name=name, title="tiny", rows=rows,
                       series=[Series("a", [1.0, 2.0, 3.0]), Series("b", [2.0, 2.5])], notes=["headline"])


def test_render_table_and_markdown_handle_nan_none_and_bools() -> None:
    from rich.console import Console

    console = Console(width=120, record=True)
    bench.print_report(tiny_report(), console)
    text = console.export_text()
    assert "variant" in text and "1.5" in text and "yes" in text and "headline" in text
    md = bench.markdown_table(tiny_report().rows)
    assert "| variant | median_ms | ok |" in md and "| b | - | - |" in md


def test_index_keeps_benchmarks_written_by_earlier_runs(tmp_path: Path) -> None:
    bench.write_results([tiny_report("agent")], tmp_path, command="first")
    bench.write_results([tiny_report("monty")], tmp_path, command="second")
    readme = (tmp_path / "README.md").read_text()
    assert "[agent](agent.md)" in readme and "[monty](monty.md)" in readme
    data = json.loads((tmp_path / "agent.json").read_text())
    assert data["rows"][1]["median_ms"] is None  # NaN is not JSON


def test_report_without_series_has_no_chart(tmp_path: Path) -> None:
    bench.write_results([BenchReport("blocks", "no series", rows=[{"x": 1}])], tmp_path)
    assert not (tmp_path / "blocks.png").exists()
    assert json.loads((tmp_path / "blocks.json").read_text())["chart"] is None


def _module(name: str, run: Any) -> types.ModuleType:
    module = types.ModuleType(f"benchmarks.{name}")
    module.run = run  # type: ignore[attr-defined]
    return module


def test_main_runs_skips_and_reports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    prefix = "benchmarks."
    monkeypatch.setitem(sys.modules, prefix + "agent",
                        _module("agent", lambda *, quick: tiny_report("agent")))
    monkeypatch.setitem(sys.modules, prefix + "blocks", None)  # not written yet

    def needs_extra(*, quick: bool) -> BenchReport:
        raise ModuleNotFoundError("No module named 'pydantic_monty'", name="pydantic_monty")

    monkeypatch.setitem(sys.modules, prefix + "monty", _module("monty", needs_extra))
    assert runner.main(["agent", "blocks", "monty"], quick=True, out_dir=tmp_path) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "skipped" in out
    readme = (tmp_path / "README.md").read_text()
    assert "[agent](agent.md)" in readme
    assert "**blocks**: not available" in readme and "**monty**: dependency missing: pydantic_monty" in readme


def test_main_fails_on_a_crashing_benchmark_and_an_unknown_name(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    def crash(*, quick: bool) -> BenchReport:
        raise RuntimeError("boom")

    monkeypatch.setitem(sys.modules, "benchmarks.agent", _module("agent", crash))
    assert runner.main(["agent"], quick=True, out_dir=tmp_path) == 1
    assert "failed: RuntimeError: boom" in (tmp_path / "README.md").read_text()
    assert runner.main(["nope"], quick=True, out_dir=tmp_path) == 2


def test_environment_and_command() -> None:
    env = bench.environment()
    assert env["cpu_count"] and env["python"] and "httpx" in env["packages"]
    assert bench.current_command(["/x/bin/connector-kit", "bench", "retry", "--quick"]) == (
        "connector-kit bench retry --quick")
    assert bench.current_command(["benchmarks/run.py", "retry"]) == "python benchmarks/run.py retry"
    assert runner.RESULTS.parts[-2:] == ("benchmarks", "results")
