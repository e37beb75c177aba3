"""The sandbox suite passes Monty and catches an interpreter that is not a sandbox."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from connector_kit.connectors.code_interpreter import BaseCodeInterpreterConnector, CodeExecutionResult
from connector_kit.testkit.certify import certify, make_plan, plan_checks

pytest.importorskip("pydantic_monty")


class SubprocessInterpreter(BaseCodeInterpreterConnector):
    """Hand-made known-bad fixture: plain CPython in a subprocess -- a time limit, no sandbox."""

    def execute_code(self, code: str, inputs: dict[str, Any] | None = None,
                     timeout: float | None = None) -> CodeExecutionResult:
        started = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  timeout=timeout or 5, check=False)
        except subprocess.TimeoutExpired:
            return CodeExecutionResult(success=False, error="TimeoutError: timed out",
                                       execution_time_ms=(time.perf_counter() - started) * 1000)
        ok = done.returncode == 0
        return CodeExecutionResult(success=ok, output=done.stdout,
                                   error=None if ok else done.stderr.strip().splitlines()[-1],
                                   return_value=2 if ok and code == "1 + 1" else None,
                                   execution_time_ms=(time.perf_counter() - started) * 1000)


@pytest.mark.parametrize("check", ["read_file", "environment", "subprocess", "socket",
                                   "dunder_import"])
def test_sandbox_suite_catches_a_plain_interpreter(check: str) -> None:
    plan = make_plan(SubprocessInterpreter)
    [chosen] = [c for c in plan_checks(plan, ["sandbox"]) if c.name == check]
    result = chosen.execute()
    assert result.status == "failed", result
    assert "let" in result.detail and "succeed" in result.detail


def test_monty_passes_every_sandbox_check() -> None:
    report = certify("monty", suites=["sandbox"])
    assert report.ok, [(r.id, r.detail) for r in report.results if r.status != "passed"]
    assert len(report.results) >= 14
