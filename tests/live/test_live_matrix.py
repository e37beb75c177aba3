"""The version matrix on the real LangGraph server: verdicts, report files and their shape.

The committed release against itself is ``same`` everywhere; with the fake's drift switches a
wire-only change (content type) is ``changed`` and an answer change is ``broken``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector_kit.cli import main
from connector_kit.testkit.diff.matrix import run_matrix
from connector_kit.testkit.rig import load_rig

from .conftest import REPO, wanted

pytestmark = pytest.mark.live
COMMITTED = REPO / "cassettes" / "langgraph"


@pytest.fixture(autouse=True)
def _langgraph_requested() -> None:
    if not wanted("langgraph"):
        pytest.skip("live langgraph rig not requested: set CONNECTOR_KIT_LIVE=langgraph")


def test_the_committed_release_against_itself_is_same_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = load_rig("langgraph", REPO / "live").version
    assert version
    monkeypatch.chdir(REPO)
    out = tmp_path / "matrix"
    assert main(["matrix", "langgraph", "--versions", version, "--out", str(out),
                 "--scenario", "plain_chat", "--scenario", "missing_key"]) == 0
    data = json.loads((out / "matrix.json").read_text())
    assert data["framework"] == "langgraph" and data["baseline"] == version
    assert data["versions"] == [version]
    assert data["scenarios"] == {name: {version: {"verdict": "same", "differences": []}}
                                 for name in ("plain_chat", "missing_key")}
    html = (out / "matrix.html").read_text()
    assert "<td class='same'>same</td>" in html
    assert not any(outside in html for outside in ("<script", "src=", "href="))  # self-contained
    assert "| plain_chat | same |" in (out / "matrix.md").read_text()


def test_wire_change_is_changed_and_outcome_change_is_broken(tmp_path: Path) -> None:
    version = load_rig("langgraph", REPO / "live").version
    assert version
    matrix = run_matrix("langgraph", [version], tmp_path, committed=COMMITTED,
                        live_dir=REPO / "live", scenarios=["plain_chat", "tool_call"],
                        server_env={"CONNECTOR_KIT_FAKE_DRIFT": "content_type,answer_text"})
    plain, tool = matrix.scenarios["plain_chat"][version], matrix.scenarios["tool_call"][version]
    assert plain.verdict == "changed", plain.differences
    assert all(d.startswith("[wire]") and "content-type" in d for d in plain.differences)
    assert tool.verdict == "broken", tool.differences
    assert "[outcome] outcome text: was 'The answer to 2+3 is 5.', now 'The result of 2+3 is " \
        "5.'" in tool.differences
    assert matrix.exit_code == 1
