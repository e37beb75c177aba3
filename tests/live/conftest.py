"""Live rigs for the ``live`` tests: started on request, stopped by PID afterwards.

Why a fixture per framework: starting a real server costs seconds (LangGraph) to a minute
(Langflow, plus a 1.8 GB install), so each rig starts once per session, and only when
``CONNECTOR_KIT_LIVE`` names it (``langgraph``, ``langflow``, or ``all``). Otherwise the
tests are skipped with that instruction, so the default offline suite never needs a server.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector_kit.testkit.rig import RigHandle, load_rig

REPO = Path(__file__).resolve().parents[2]


def wanted(framework: str) -> bool:
    wanted = {w.strip() for w in os.environ.get("CONNECTOR_KIT_LIVE", "").split(",")}
    return framework in wanted or "all" in wanted


def _rig(framework: str) -> Iterator[RigHandle]:
    if not wanted(framework):
        pytest.skip(f"live {framework} rig not requested: set CONNECTOR_KIT_LIVE={framework} "
                    f"(or all) to install and start it (see live/{framework}/README.md)")
    rig = load_rig(framework, REPO / "live")
    rig.work.mkdir(parents=True, exist_ok=True)
    # One rig folder, possibly several pytest-xdist workers: whoever holds the lock owns the
    # rig until its session ends; another worker waits, then starts it afresh.
    with open(rig.work / "pytest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        handle = rig.start()
        try:
            yield handle
        finally:
            rig.stop()
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def langgraph_rig() -> Iterator[RigHandle]:
    yield from _rig("langgraph")


@pytest.fixture(scope="session")
def langflow_rig() -> Iterator[RigHandle]:
    yield from _rig("langflow")
