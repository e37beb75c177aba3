"""``connector-kit bench TARGET``: a built-in connector, the example connector and a code connector
benchmark in quick mode; a connector that retries nothing shows it in the figures; a bad TARGET
is a usage error. Figures are never asserted (benchmarks measure): only what the server saw,
how each send ended, and the shape of what is printed and written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector_kit.cli import main
from connector_kit.testkit.bench import target

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
EXAMPLE = "examples.my_framework.connector:MyFrameworkConnector"
NO_RETRY = "tests.fixtures.bench_connectors:NoRetryConnector"


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


@pytest.fixture
def repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """So ``examples.*`` and ``tests.fixtures.*`` targets import as a contributor's would."""
    monkeypatch.syspath_prepend(str(REPO))


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    assert data["environment"]["command"]
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def _retry_rows_by_case(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["case"]: row for row in rows if row["mode"] == "sync"}


def test_bench_a_builtin_connector_with_its_cassettes(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    code = main(["bench", "langgraph", "--quick", "--cassettes", str(LANGGRAPH_CASSETTES),
                 "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for title in ("langgraph: retries on loopback", "langgraph: timeouts and deadlines",
                  "langgraph: offline replay"):
        assert title in printed
    assert "divides_by" in printed
    assert "RETRIES MISSING" not in printed
    retry = _retry_rows_by_case(_rows(out, "retry"))
    # the server saw every attempt the configuration asks for, and each send then succeeded
    for k in range(4):
        label = "plain answer" if k == 0 else next(c for c in retry if c.startswith(f"503 x{k} "))
        assert retry[label]["attempts"] == k + 1 == retry[label]["expected_attempts"]
        assert retry[label]["outcome"].startswith("ok")
    assert {r["configured_ms"] for c, r in retry.items() if c.startswith("backoff")} == {20.0, 40.0, 80.0}
    assert all(r["divides_by"] for r in retry.values())
    assert retry["503 x1 then the answer (1 retry)"]["divides_by"].startswith("per_retry_ms = (median")
    timeouts = _rows(out, "timeout")
    assert {r["mode"] for r in timeouts} == {"sync", "async"}
    assert all(r["outcome"].startswith("ConnectorTimeoutError") for r in timeouts)
    assert any(r["case"].startswith("trickle") for r in timeouts)
    replay = _rows(out, "replay")
    assert replay and all(r["reproduced"] == f"{r['n']}/{r['n']}" for r in replay)
    assert all(r["requests"] >= 1 and r["per_request_ms"] is not None for r in replay)
    assert "answers: cassette" in printed  # the faults answered with recorded bodies
    assert (out / "README.md").read_text(encoding="utf-8").count("](") >= 3


@pytest.mark.usefixtures("repo_on_path")
def test_bench_the_example_connector(capsys: pytest.CaptureFixture[str]) -> None:
    jobs = dict(target.jobs(EXAMPLE, quick=True))
    assert list(jobs) == ["retry", "timeout"]  # no cassettes given: no replay figures
    retry = jobs["retry"]()
    assert retry.report is not None, retry.error
    rows = _retry_rows_by_case(retry.report.rows)
    assert rows["plain answer"]["outcome"].startswith("ok")
    assert all(r["attempts"] == r["expected_attempts"] for c, r in rows.items() if c.startswith("503"))
    assert any("bare `{}` answer" in note for note in retry.report.notes)
    assert main(["bench", EXAMPLE, "--quick"]) == 0
    assert "MyFrameworkConnector" not in capsys.readouterr().err


@pytest.mark.usefixtures("repo_on_path")
def test_a_connector_that_retries_nothing_shows_in_the_figures() -> None:
    [(_name, job)] = [j for j in target.jobs(NO_RETRY, quick=True) if j[0] == "retry"]
    run = job()
    assert run.report is not None, run.error
    rows = _retry_rows_by_case(run.report.rows)
    assert rows["plain answer"]["attempts"] == 1 and rows["plain answer"]["outcome"].startswith("ok")
    once = next(r for c, r in rows.items() if c.startswith("503 x1 "))
    assert once["attempts"] == 1 and once["expected_attempts"] == 2
    assert once["outcome"].startswith("ConnectorHTTPError")
    assert run.report.notes[0].startswith("RETRIES MISSING")


def test_bench_a_code_connector() -> None:
    pytest.importorskip("pydantic_monty")
    [(name, job)] = target.jobs("connector_kit.connectors.code_interpreter:MontyConnector", quick=True)
    run = job()
    assert name == "execution" and run.report is not None, run.error
    cases = [row["case"] for row in run.report.rows]
    assert cases[0].startswith("cold") and "warm: execute_code" in cases
    assert any("in flight" in c for c in cases)
    assert all(row["ok"] == f"{row['n']}/{row['n']}" for row in run.report.rows)
    assert all(row["divides_by"] for row in run.report.rows)


@pytest.mark.parametrize(("argv", "message"), [
    (["bench", "no_such_connector"], "no_such_connector"),
    (["bench", "nowhere.module:Thing"], "Cannot import module 'nowhere.module'"),
    (["bench", "connector_kit.connectors:ConnectorConfig"], "not a BaseConnector subclass"),
    (["bench", "langgraph", "--cassettes", "/no/such/folder"], "No cassette folder"),
])
def test_a_bad_target_is_a_usage_error(argv: list[str], message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["bench"], ["bench", "langgraph", "langflow"]])
def test_bench_takes_exactly_one_target(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: connector-kit" in capsys.readouterr().err
