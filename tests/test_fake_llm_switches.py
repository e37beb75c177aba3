"""The Langflow rig's fake LLM refuses a drift switch it does not know.

Offline: the fake exits before it binds a port. Why it matters: the live drift tests
(tests/live/test_live_drift_switches.py) prove drift catches what a switch changes; a
misspelt switch that the fake ignored would change nothing, and its drift report would
read "no drift" for a server that was never changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FAKE = Path(__file__).resolve().parents[1] / "live" / "langflow" / "fake_openai.py"


def _start(switches: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONNECTOR_KIT_FAKE_DRIFT": switches}
    # Port 1 is never bound: the fake must exit on the switch before it gets that far.
    return subprocess.run([sys.executable, str(FAKE), "1"], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


@pytest.mark.parametrize("switches", ["answer-text", "usage,anwser_text"])
def test_an_unknown_switch_stops_the_fake_and_names_the_known_ones(switches: str) -> None:
    done = _start(switches)
    assert done.returncode == 2
    unknown = [s for s in switches.split(",") if s not in ("answer_text", "usage")]
    assert f"unknown drift switch(es) {', '.join(unknown)}" in done.stderr
    assert "this fake knows answer_text, usage" in done.stderr
