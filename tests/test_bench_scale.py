"""``connector-kit bench --scale``: AgentBlock at scale against the delayed stub, each variant in
a fresh child process. Run here with tiny settings (4 in flight, a 20 ms agent, one run per
figure, no peer: sdg-hub is never imported in tests). Figures are never asserted (benchmarks
measure): only the report's shape, what the stub counted, and that every row succeeded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector_kit.cli import main
from connector_kit.testkit.bench import scale

VARIANTS = ["httpx.AsyncClient (raw, 8 in flight per client)",
            "httpx.AsyncClient (raw, one client)", "AgentBlock (connector-kit)"]


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


def test_the_scale_report_has_a_row_per_variant_and_names_what_it_divides_by() -> None:
    report = scale.run(concurrencies=(4,), waves=2, latency_s=0.02, repeats={}, peer=False)
    assert report.name == scale.NAME
    assert [row["variant"] for row in report.rows] == VARIANTS
    for row in report.rows:
        assert (row["concurrency"], row["rows"], row["runs"], row["failed"]) == (4, 8, 1, 0)
        assert row["ideal_rows_per_s"] == 200.0  # 4 in flight / 20 ms
        assert row["efficiency"] > 0
        assert row["efficiency"] == pytest.approx(row["rows_per_s"] / 200.0, abs=0.001)
        assert row["cpu_us_per_row"] > 0 and row["peak_rss_mb"] > 0
    ours = report.rows[-1]
    # Counted by the stub over the measured batch (after the warm-up wave opened them).
    assert isinstance(ours["connects"], int) and 0 <= ours["connects"] <= 4
    assert report.rows[0]["cpu_vs_raw"] == 1.0  # the raw-8 row divides by itself
    [note] = report.notes  # no goal verdict at 4 in flight; no peer note when peer=False
    assert "efficiency = rows/s / ideal, ideal = concurrency / 20 ms agent latency" in note
    assert "cpu_vs_raw divides it by the 'httpx.AsyncClient (raw, 8 in flight per client)'" in note
    assert "1 each" in note


def test_bench_scale_from_the_cli_prints_and_writes_the_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--scale", "--quick", "--concurrency", "2", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "AgentBlock at scale: 200 ms delayed agent in its own process, 2 in flight" in printed
    data = json.loads((tmp_path / f"{scale.NAME}.json").read_text(encoding="utf-8"))
    assert [row["variant"] for row in data["rows"]][:3] == VARIANTS
    assert all(row["failed"] == 0 and row["rows"] == 2 * scale.QUICK_WAVES for row in data["rows"])


def test_a_target_and_scale_run_both_target_first_into_one_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "monty", "--scale", "--quick", "--concurrency", "2", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert printed.index("bench execution (quick)") < printed.index(f"bench {scale.NAME} (quick)")
    assert "monty: code execution latency" in printed
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == ["README.md", f"{scale.NAME}.json", f"{scale.NAME}.md", "execution.json",
                       "execution.md", "execution.png", "summary.md"]
    # Each file once, though the folder's README and summary are rewritten after each job.
    assert f"Wrote {len(written)} file(s) to {tmp_path}" in printed
    headline = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert headline.index("monty: code execution latency") < headline.index("AgentBlock at scale")


def test_bench_with_neither_target_nor_scale_says_what_to_type(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "give a TARGET to benchmark" in err and "--scale" in err


@pytest.mark.parametrize("argv", [
    ["bench", "--scale", "--concurrency", "0"],
    ["bench", "--scale", "--concurrency", "10,abc"],
    ["bench", "--scale", "--concurrency", "10,"],
    ["bench", "--scale", "--concurrency", str(scale.MAX_CONCURRENCY + 1)],
    ["bench", "--concurrency", "10"],  # without --scale
])
def test_a_bad_concurrency_is_a_usage_error(argv: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "concurrency" in err and "Traceback" not in err


def test_the_package_refuses_a_bad_level_too() -> None:
    with pytest.raises(ValueError, match="from 1 to"):
        scale.check_concurrencies([10, 0])
    with pytest.raises(ValueError, match="at least one"):
        scale.check_concurrencies([])


def test_cassettes_without_a_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "--scale", "--cassettes", "cassettes/langgraph"])
    assert exited.value.code == 2
    assert "--cassettes belongs to a TARGET" in capsys.readouterr().err
