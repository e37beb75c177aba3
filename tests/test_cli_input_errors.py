"""A user's mistake is caught before the work starts and said as what happened and what to do.

Each test is a case a walk-through of the commands found wrong: ``record`` into a new folder
against a server that is down reported a secret leak that was not there; a malformed ``--url``
ran and blamed the server; ``fuzz --cassettes MISSING`` passed; an unwritable ``--out`` failed
after the whole run with a raw OS message; a contributor module raising at import was an
"internal error"; the example server exited at once when started in the background.
Every command runs in a fresh process (its real exit code, stdout and stderr).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from connector_kit.testkit.recording.scrub import SecretLeakError, assert_no_leaks

REPO = Path(__file__).resolve().parents[1]
LANGGRAPH = REPO / "cassettes" / "langgraph"
FAKE_KEY = "ck-fake-input-errors-key-0001"  # a fake key, for the example server only


def cli(*argv: str, cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """``connector-kit ARGV`` in a fresh process; TMPDIR (where failed attempts go) is ``cwd``."""
    return subprocess.run([sys.executable, "-m", "connector_kit.cli", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False,
                          env={"COLUMNS": "300", "PATH": "/usr/bin:/bin", "TMPDIR": str(cwd),
                               **(env or {})})


def one_line(text: str) -> str:
    return " ".join(text.split())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record(tmp_path: Path, *extra: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return cli("record", "langgraph", "--catalogue", str(LANGGRAPH), "--scenario", "plain_chat",
               *extra, cwd=tmp_path, env=env)


# -- 1. record into a new folder, server down; scan of nothing / of unreadable files -----------

def test_record_into_a_new_folder_against_a_down_server_says_why_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "new-out"
    url = f"http://127.0.0.1:{closed_port()}"
    result = record(tmp_path, "--url", url, "--out", str(out))
    err = one_line(result.stderr)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SecretLeakError" not in err and "Traceback" not in err
    # the connector's own message, not only its class name
    assert f"the connector ended with ConnectorConnectionError: Could not connect to '{url}" in err
    assert "No cassette was written (" in err  # there was none to leave untouched
    assert "plain_chat" in result.stdout  # the results table is printed
    assert not out.exists()


def test_a_failed_recording_leaves_the_committed_cassette_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(LANGGRAPH / "plain_chat.yaml", out / "plain_chat.yaml")
    before = (out / "plain_chat.yaml").read_bytes()
    result = record(tmp_path, "--url", f"http://127.0.0.1:{closed_port()}", "--out", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    left = f"The committed cassette {out / 'plain_chat.yaml'} was left untouched"
    assert left in one_line(result.stderr)
    assert (out / "plain_chat.yaml").read_bytes() == before


def test_scan_of_an_empty_folder_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("scan", str(tmp_path / "empty"), cwd=tmp_path)
    assert result.returncode == 2
    assert "0 files were scanned in" in one_line(result.stderr)
    assert "No secrets found" not in result.stdout


def test_scan_counts_the_files_it_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("hello\n", encoding="utf-8")
    result = cli("scan", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0
    assert "No secrets found in 2 file(s) scanned" in one_line(result.stdout)


def _oversized(folder: Path) -> Path:
    from connector_kit.testkit.recording.scrub import SCAN_MAX_BYTES

    path = folder / "big.yaml"
    path.write_bytes(b"#" * (SCAN_MAX_BYTES + 1))
    return path


def _alias_bomb(folder: Path) -> Path:
    path = folder / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]"
              for i in range(8)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("make", [_oversized, _alias_bomb], ids=["oversized", "alias-bomb"])
def test_scan_reports_unscannable_files_as_such_and_fails(tmp_path: Path,
                                                          make: Callable[[Path], Path]) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    path = make(folder)
    result = cli("scan", str(folder), cwd=tmp_path)
    err = one_line(result.stderr)
    assert result.returncode == 1  # a file that could not be read is not clean
    assert "secret(s) found" not in err
    assert "1 file(s) could not be scanned" in err and f"unscanned {path}: not scanned:" in err


def test_the_recording_gate_says_unscanned_not_secrets_found(tmp_path: Path) -> None:
    from connector_kit.testkit.recording.scrub import scan

    _oversized(tmp_path)
    result = scan([tmp_path])
    assert result.files == 1 and result.leaks == [] and len(result.unscanned) == 1
    with pytest.raises(SecretLeakError) as caught:
        assert_no_leaks([tmp_path])
    assert "1 file(s) could not be scanned" in str(caught.value)
    assert "secret(s) found" not in str(caught.value)


# -- 2. record: a bad --url, an unset --api-key-env ------------------------------------------------

@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1:1", "http://",
                                 "http://h:port"])
def test_record_refuses_a_malformed_url_before_anything_runs(tmp_path: Path, url: str) -> None:
    result = record(tmp_path, "--url", url, "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is not an http:// or https:// URL with a host" in one_line(result.stderr)
    assert result.stdout == ""  # no table: nothing was recorded
    assert not (tmp_path / "connector-kit-failed-recordings").exists()  # no attempt was made


def test_record_refuses_an_unset_api_key_env(tmp_path: Path) -> None:
    result = record(tmp_path, "--url", f"http://127.0.0.1:{closed_port()}",
                    "--api-key-env", "CK_TEST_UNSET_FAKE_KEY", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--api-key-env CK_TEST_UNSET_FAKE_KEY: not set" in one_line(result.stderr)
    assert result.stdout == ""


def test_record_refuses_api_key_env_without_url(tmp_path: Path) -> None:
    result = record(tmp_path, "--api-key-env", "CK_TEST_FAKE_KEY", "--out", str(tmp_path / "out"),
                    env={"CK_TEST_FAKE_KEY": FAKE_KEY})
    assert result.returncode == 2
    assert "--api-key-env goes with --url" in one_line(result.stderr)


# -- 3. fuzz --cassettes -----------------------------------------------------------------------------

def test_fuzz_refuses_a_missing_cassette_folder_on_stderr(tmp_path: Path) -> None:
    result = cli("fuzz", "langgraph", "--cassettes", str(tmp_path / "none"), "--examples", "1",
                 cwd=tmp_path)
    assert result.returncode == 2
    # the words certify gives for the same mistake
    assert f"No cassette folder {tmp_path / 'none'} for langgraph." in one_line(result.stderr)
    assert result.stdout == ""


def test_fuzz_refuses_a_file_given_as_cassettes(tmp_path: Path) -> None:
    result = cli("fuzz", "langgraph", "--cassettes", str(LANGGRAPH / "plain_chat.yaml"),
                 "--examples", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "is a file, not a folder" in one_line(result.stderr)
    assert result.stdout == ""


def test_fuzz_prints_a_bad_target_on_stderr(tmp_path: Path) -> None:
    result = cli("fuzz", "no_such_module_here:Nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "Cannot import module 'no_such_module_here'" in one_line(result.stderr)
    assert result.stdout == ""


# -- 4. output paths that cannot be written, refused before the work -----------------------------

def _cases(tmp: Path) -> list[tuple[list[str], str, str]]:
    a_file = tmp / "a-file"
    a_file.write_text("x", encoding="utf-8")
    cases = [
        (["certify", "langgraph", "--report-dir", str(a_file)], "--report-dir",
         "that is a file, not a folder"),
        (["drift", str(LANGGRAPH), str(LANGGRAPH), "--md", str(tmp)], "--md", "that is a folder"),
        (["drift", str(LANGGRAPH), str(LANGGRAPH), "--json", str(a_file / "x.json")], "--json",
         "is a file, so no file can be created under it"),
        (["diff", "--control", "langgraph", "--target", "langgraph", "--cassettes", str(LANGGRAPH),
          "--out", str(a_file / "sub")], "--out", "is a file, so no folder can be created"),
        (["operations", "--write", str(tmp)], "--write", "that is a folder"),
    ]
    if Path("/proc/self").is_dir():  # a place even root cannot write
        cases += [
            (["certify", "langgraph", "--report-dir", "/proc/x"], "--report-dir", "cannot write there"),
            (["bench", "langgraph", "--quick", "--out", "/proc/x"], "--out", "cannot write there"),
            (["diff", "--control", "langgraph", "--target", "langgraph", "--cassettes",
              str(LANGGRAPH), "--out", "/proc/x"], "--out", "cannot write there"),
        ]
    return cases


def test_unwritable_outputs_are_refused_before_the_work_starts(tmp_path: Path) -> None:
    for argv, option, says in _cases(tmp_path):
        result = cli(*argv, cwd=tmp_path)
        err = one_line(result.stderr)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert f"OutputPathError: {option} " in err and says in err, (argv, err)
        assert "Traceback" not in err
        assert result.stdout == "", argv  # no table, no measurement: nothing ran


def test_operations_write_creates_its_folder_and_the_check_leaves_nothing(tmp_path: Path) -> None:
    from connector_kit.cli.paths import require_writable

    require_writable("--out", tmp_path / "a" / "b", folder=True)
    require_writable("--md", tmp_path / "c.md", folder=False)
    assert list(tmp_path.iterdir()) == []  # the probe left no file behind
    target = tmp_path / "new" / "sub" / "ops.md"
    result = cli("operations", "--write", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8").strip()


def test_an_existing_output_file_is_checked_without_being_changed(tmp_path: Path) -> None:
    from connector_kit.cli.paths import OutputPathError, require_writable

    path = tmp_path / "report.md"
    path.write_text("kept\n", encoding="utf-8")
    require_writable("--md", path, folder=False)
    assert path.read_text(encoding="utf-8") == "kept\n"
    with pytest.raises(OutputPathError, match=r"--report-dir .*that is a file"):
        require_writable("--report-dir", path, folder=True)


# -- 5. a contributor module that raises at import ------------------------------------------------

@pytest.mark.parametrize("command", [["certify", "--no-reports"], ["fuzz"], ["bench", "--quick"],
                                     ["operations"]])
def test_a_module_raising_at_import_is_a_target_error_for_every_command(
        tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "badmod_ck_test.py").write_text('raise RuntimeError("boom at import")\n',
                                                encoding="utf-8")
    result = cli(command[0], "badmod_ck_test:X", *command[1:], cwd=tmp_path)
    err = one_line(result.stderr)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Importing module 'badmod_ck_test'" in err and "RuntimeError: boom at import" in err
    assert "Fix the module" in err
    assert "Internal error" not in err and "Traceback" not in err


# -- 6. the example server, started in the background -------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_example_server_serves_with_stdin_closed_until_signalled(signum: int) -> None:
    # As `python -m examples.my_framework.server &` starts it: stdin at EOF, SIGINT ignored.
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.my_framework.server"], cwd=REPO, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, text=True, env={**os.environ, "MYFRAMEWORK_API_KEY": FAKE_KEY},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the server printed nothing"
        line = proc.stdout.readline()
        assert f"PID {proc.pid}" in line
        url = line.split(" on ", 1)[1].split(",", 1)[0]
        reply = httpx.post(url, json={"conversation_id": "c1", "messages": [{"text": "hi"}]},
                           headers={"Authorization": f"Bearer {FAKE_KEY}"}, timeout=10)
        assert reply.status_code == 200
        assert reply.json()["reply"]["text"] == "echo (1 message(s)): hi"
        assert proc.poll() is None  # still serving after a request
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# -- 7. --cassettes given a file, or to a connector that replays none -----------------------------

def test_diff_with_a_cassette_file_says_it_must_be_a_folder(tmp_path: Path) -> None:
    result = cli("diff", "--control", "langgraph", "--target", "langgraph", "--cassettes",
                 str(LANGGRAPH / "plain_chat.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "is a file, not a folder" in one_line(result.stderr)


def test_bench_of_a_code_connector_refuses_cassettes(tmp_path: Path) -> None:
    pytest.importorskip("pydantic_monty")
    result = cli("bench", "monty", "--quick", "--cassettes", str(REPO / "cassettes" / "langflow"),
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "--cassettes: monty is a code connector" in one_line(result.stderr)
    assert result.stdout == ""
