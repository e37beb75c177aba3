"""A user-caused failure is one clear message and exit 2; tracebacks only with --debug."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connector_kit import __version__

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH = REPO / "cassettes" / "langgraph"


def cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command as a user runs it (a fresh process: its real exit code and output)."""
    return subprocess.run([sys.executable, "-m", "connector_kit.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"connector-kit {__version__}"


def test_a_bad_certify_yaml_is_one_message_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph"
    shutil.copytree(LANGGRAPH, folder)
    (folder / "certify.yaml").write_text("suites: contract\n", encoding="utf-8")
    result = cli("certify", "langgraph", "--cassettes", str(folder), "--no-reports")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "DeclarationError" in result.stderr and "certify.yaml" in result.stderr
    assert "suites: Input should be a valid list" in result.stderr
    debug = cli("--debug", "certify", "langgraph", "--cassettes", str(folder), "--no-reports")
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_a_broken_cassette_is_an_error_row_without_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "langgraph"
    shutil.copytree(LANGGRAPH, folder)
    text = (folder / "plain_chat.yaml").read_text(encoding="utf-8")
    (folder / "plain_chat.yaml").write_text(text.replace("connector_kit:\n", "connector_kit: [1]\nx:\n", 1),
                                            encoding="utf-8")
    (folder / "latin1.yaml").write_bytes(b"version: 1\n# caf\xe9\n")
    result = cli("certify", "langgraph", "--cassettes", str(folder), "--no-reports",
                 "--suite", "replay")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "plain_chat.yaml is not a valid cassette" in result.stdout
    assert "latin1.yaml: not UTF-8 text" in result.stdout
    assert "replay.tool_call" in result.stdout  # the good ones still ran


def test_scan_of_a_missing_folder_is_exit_2(tmp_path: Path) -> None:
    result = cli("scan", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Nothing to scan at" in result.stderr


def test_scan_with_an_unset_secret_env_is_exit_2(tmp_path: Path) -> None:
    result = cli("scan", str(tmp_path), "--secret-env", "CK_TEST_UNSET_FAKE_KEY")
    assert result.returncode == 2
    assert "--secret-env CK_TEST_UNSET_FAKE_KEY: not set" in result.stderr


@pytest.mark.parametrize("argv", [["certify", "no.such.module:Nope"], ["record", "nosuchframework"],
                                  ["rig", "status", "nosuchframework"]])
def test_wrong_names_are_one_message_and_exit_2(argv: list[str], tmp_path: Path) -> None:
    result = cli(*argv, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
