"""Ctrl-C during ``connector-kit bench --scale``: the run stops with "Interrupted." and exit
code 130, and the delayed stub and the measuring child it had started are gone.

A real terminal's Ctrl-C sends SIGINT to the whole foreground process group, so the test
starts the CLI in a session of its own and signals that group once the stub and a child are
both running (seen by polling /proc, bounded in time: no sleep decides the test).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(),
                                reason="reads the process tree from Linux's /proc")

START_WITHIN_S = 60.0  # the stub and the first child start in ~1 s here


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name: state, ppid, ...; None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _descendants(root: int) -> set[int]:
    """Every live process below ``root``, from each process's parent in /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent == root or parent in found}
        grew, found = not below <= found, found | below
    return found


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a zombie has exited)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def test_ctrl_c_stops_the_scale_run_and_leaves_no_process_behind(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector_kit.cli", "bench", "--scale", "--concurrency", "2",
         "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + START_WITHIN_S
        started: set[int] = set()
        while len(started) < 2 and proc.poll() is None and time.monotonic() < deadline:
            started = _descendants(proc.pid)  # the stub, then a measuring child
        assert len(started) >= 2, f"the stub and a child did not start (exit {proc.poll()})"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert "Interrupted." in err and "Traceback" not in err + out
    assert [pid for pid in started if _running(pid)] == []
    assert not (tmp_path / "agent_scale.json").exists()  # an interrupted run writes no result
