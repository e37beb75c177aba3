"""``connector-kit`` commands, run in-process through ``connector_kit.cli.main``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from connector_kit.cli import main
from connector_kit.connectors import LangGraphConnector
from connector_kit.testkit.faults.server import FaultServer, ReceivedRequest, Reply, json_reply
from fixtures.changed_connectors import NoToolResultLangGraph
from fixtures.final_responses import changed_by

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH_CASSETTES = REPO / "cassettes" / "langgraph"
FAST_SUITES = ["--suite", "contract", "--suite", "replay", "--suite", "timing"]


pytestmark = pytest.mark.usefixtures("wide_console")  # conftest.py: one line per message


@pytest.fixture
def repo_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """So ``tests.fixtures.<module>:<Class>`` targets import as a contributor's would."""
    monkeypatch.syspath_prepend(str(REPO))


# -- certify ---------------------------------------------------------------------------------------

def test_certify_a_builtin_connector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    code = main(["certify", "langgraph", "--cassettes", str(LANGGRAPH_CASSETTES),
                 "--report-dir", str(reports), *FAST_SUITES])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "CERTIFIED" in out and "NOT CERTIFIED" not in out
    assert "contract.registration" in out and "replay.tool_call" in out
    assert sorted(p.name for p in reports.iterdir()) == [
        "certification.json", "certification.junit.xml", "certification.md"]
    data = json.loads((reports / "certification.json").read_text(encoding="utf-8"))
    assert data["ok"] is True and data["reports"][0]["target"] == "langgraph"
    root = ET.parse(reports / "certification.junit.xml").getroot()
    assert root.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]


def test_certify_without_a_target_certifies_every_builtin(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if not (REPO / "cassettes" / "langflow").is_dir():
        pytest.skip("no cassettes/langflow folder yet: `certify` with no target needs both frameworks")
    monkeypatch.chdir(REPO / "tests")  # cassettes/ is found from a subfolder too
    code = main(["certify", "--suite", "contract", "--no-reports"])
    out = capsys.readouterr().out
    assert code == 0, out
    for target in ("langflow", "langgraph"):
        assert f"{target}  (connector_kit.connectors.agent.{target}:" in out
    assert "NOT CERTIFIED" not in out and out.count("CERTIFIED") >= 2


@pytest.mark.usefixtures("repo_on_path")
def test_certify_a_bad_connector_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["certify", "tests.fixtures.bad_connectors:ExtraFieldConnector",
                 "--cassettes", str(LANGGRAPH_CASSETTES), "--suite", "contract",
                 "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "NOT CERTIFIED" in out
    data = json.loads((tmp_path / "certification.json").read_text(encoding="utf-8"))
    failed = {c["id"] for c in data["reports"][0]["checks"] if c["status"] == "failed"}
    assert failed == {"contract.registration", "contract.build_request"}


def test_certify_an_unknown_suite_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["certify", "langgraph", "--cassettes", str(LANGGRAPH_CASSETTES), "--no-reports",
            "--suite", "contract", "--suite", "nonexistent"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "No suite named 'nonexistent'" in err and "contract" in err


def test_certify_with_a_missing_cassette_folder_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code = main(["certify", "langgraph", "--cassettes", str(missing), "--no-reports"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"No cassette folder {missing} for langgraph" in " ".join(err.split())
    assert "connector-kit record langgraph" in err


def test_certify_with_a_reasonless_bypass_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "langgraph"
    shutil.copytree(LANGGRAPH_CASSETTES, folder)
    (folder / "certify.yaml").write_text("bypass: {timing: ''}\n", encoding="utf-8")
    code = main(["certify", "langgraph", "--cassettes", str(folder), "--no-reports"])
    assert code == 2
    assert "bypassing 'timing' needs a written reason" in " ".join(capsys.readouterr().err.split())


def test_certify_an_unknown_target_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["certify", "no_such_module_xyz:Connector", "--cassettes", str(LANGGRAPH_CASSETTES),
                 "--no-reports"])
    assert code == 2
    assert "Cannot import module 'no_such_module_xyz'" in " ".join(capsys.readouterr().err.split())


# -- record ------------------------------------------------------------------------------------------

def langgraph_like(request: ReceivedRequest) -> Reply:
    if request.path == "/threads":
        return json_reply({"thread_id": str(uuid.uuid4())})
    sent = request.json()["input"]["messages"]
    return json_reply({"messages": [{"type": "ai", "content": f"You said: {sent[-1]['content']}"}]})


def test_record_against_a_running_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    key = "ck-cli-" + uuid.uuid4().hex
    monkeypatch.setenv("CK_CLI_TEST_KEY", key)
    out = tmp_path / "out"
    with FaultServer(langgraph_like) as server:
        code = main(["record", "langgraph", "--catalogue", str(LANGGRAPH_CASSETTES), "--out", str(out),
                     "--url", server.url, "--api-key-env", "CK_CLI_TEST_KEY",
                     "--scenario", "plain_chat", "--scenario", "missing_key"])
        assert server.requests[0].headers["x-api-key"] == key
    captured = capsys.readouterr()
    # this server accepts a missing key, so the missing_key scenario does not meet its expectation
    assert code == 1
    assert "1 scenario(s) did not produce the expected outcome" in " ".join(captured.err.split())
    # ... so its recording is not committed: it is kept elsewhere, and the message says where
    assert sorted(p.name for p in out.glob("*.yaml")) == ["plain_chat.yaml"]
    err = " ".join(captured.err.split())
    assert "No cassette was written (" in err and "missing_key.yaml does not exist); the attempt is at" in err
    kept = Path(err.split("the attempt is at ")[1].split()[0].rstrip("."))
    assert kept.name == "missing_key.yaml" and out not in kept.parents
    kept.unlink()
    assert all(key not in p.read_text(encoding="utf-8") for p in out.iterdir())
    assert main(["scan", str(out), "--secret-env", "CK_CLI_TEST_KEY"]) == 0


# -- diff --------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("repo_on_path")
def test_diff_strict_and_diagnostic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = "tests.fixtures.changed_connectors:NoToolResultLangGraph"
    base = ["diff", "--control", "langgraph", "--target", target, "--cassettes", str(LANGGRAPH_CASSETTES)]

    # the recordings whose final response carries a tool result (derived, so new ones count)
    expected = len(changed_by(LangGraphConnector, NoToolResultLangGraph, "tool_trace", LANGGRAPH_CASSETTES))
    assert expected >= 3  # tool_call, tool_error, parts_content at least
    assert main([*base, "--out", str(tmp_path / "strict")]) == 1
    captured = capsys.readouterr()
    assert f"{expected} scenario(s) changed" in " ".join(captured.err.split())
    assert "tool_trace[1]: removed" in captured.out
    data = json.loads((tmp_path / "strict" / "diff.json").read_text(encoding="utf-8"))
    assert data["strict"] is True and data["ok"] is False and data["changed"] == expected
    markdown = (tmp_path / "strict" / "diff.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Connector diff (strict)")

    assert main([*base, "--diagnostic", "--out", str(tmp_path / "diag")]) == 0
    data = json.loads((tmp_path / "diag" / "diff.json").read_text(encoding="utf-8"))
    assert data["strict"] is False and data["ok"] is True and data["changed"] == expected


@pytest.mark.usefixtures("repo_on_path")
def test_diff_of_an_identical_connector_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "--control", "langgraph", "--target",
                 "tests.fixtures.changed_connectors:SameLangGraph",
                 "--cassettes", str(LANGGRAPH_CASSETTES)])
    assert code == 0
    assert "- changed: 0" in capsys.readouterr().out


def test_diff_without_recordings_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", "--control", "langgraph", "--target", "langgraph",
                 "--cassettes", str(tmp_path / "none")])
    assert code == 2
    assert "No recordings to diff on" in capsys.readouterr().err


# -- scan --------------------------------------------------------------------------------------------

def test_scan_of_the_committed_cassettes_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(REPO / "cassettes")]) == 0
    assert "No secrets found" in capsys.readouterr().out


def test_scan_finds_a_key_shaped_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clean.yaml").write_text("body: hello\n", encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 0
    capsys.readouterr()

    key_shaped = "sk" + "-" + "abcdefghijklmnopqrstuvwxyz"[:20]  # built at runtime, not a literal
    (tmp_path / "leaky.yaml").write_text(f"headers: {{authorization: {key_shaped}}}\n", encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "leaky.yaml:1" in err and "key-shaped value ('sk-…')" in err
    assert key_shaped not in err  # the report never prints the whole value


def test_scan_secret_env_finds_a_configured_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    secret = "plain" + "-looking-" + "value-42"
    monkeypatch.setenv("CK_TEST_SECRET", secret)
    (tmp_path / "c.json").write_text(json.dumps({"body": f"echo {secret}"}), encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 0  # not key-shaped: only found when configured
    assert main(["scan", str(tmp_path), "--secret-env", "CK_TEST_SECRET"]) == 1
    err = capsys.readouterr().err
    assert "configured secret #1 present" in err
    assert secret not in err


# -- rig ---------------------------------------------------------------------------------------------

def test_rig_status_of_an_unknown_framework_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rig", "status", "nosuchframework", "--live-dir", str(tmp_path)])
    assert code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "RigError" in err and "No rig for 'nosuchframework'" in err


# -- the console script ----------------------------------------------------------------------------------

def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "connector-kit"
    assert script.exists(), f"{script} missing: reinstall the package (pip install -e .)"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for command in ("certify", "record", "diff", "fuzz", "bench", "scan", "rig"):
        assert command in done.stdout
