"""The ``sandbox`` certification suite for code-interpreter connectors.

Each check feeds the connector one escape or resource attack and requires what issue #3
promises: ``success=False`` with a message naming the problem, the host process alive, and
the next execution on the same connector working. A connector that lets one through --
or crashes, or hangs past the time limit -- fails that check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ....connectors.base import ConnectorConfig
from ..checks import Check, CheckFailed, not_run
from ..plan import Plan, is_code_connector


@dataclass(frozen=True)
class Attack:
    name: str
    code: str
    expect_in_error: tuple[str, ...]  # any of these must appear in the error
    timeout: float = 2.0
    inputs: dict[str, Any] | None = None


ATTACKS = (
    Attack("infinite_loop", "while True:\n    pass", ("Timeout", "timed out", "time limit"), 0.5),
    Attack("huge_single_operation", "x = 7 ** (10 ** 8)",
           ("Timeout", "timed out", "time limit", "killed", "Crash", "Memory"), 0.5),
    Attack("huge_allocation", "x = [0] * 10 ** 10", ("Memory",)),
    Attack("growing_list", "x = []\nwhile True:\n    x.append('a' * 10000)",
           ("Memory", "Timeout", "timed out")),
    Attack("deep_recursion", "def f(n):\n    return f(n + 1)\nf(0)", ("Recursion",)),
    Attack("long_sleep", "import time\ntime.sleep(10 ** 6)",
           ("sleep", "Timeout", "timed out", "time limit")),
    Attack("read_file", "open('/etc/passwd').read()", ("Permission", "Error")),
    Attack("environment", "import os\nos.environ['HOME']", ("Error",)),
    Attack("subprocess", "import subprocess", ("ModuleNotFound", "No module")),
    Attack("socket", "import socket", ("ModuleNotFound", "No module")),
    Attack("dunder_import", "__import__('os')", ("NameError", "not defined")),
    Attack("dunder_chain", "().__class__.__bases__[0].__subclasses__()",
           ("AttributeError", "Error")),
    Attack("syntax_error", "def broken(:\n    pass", ("Syntax",)),
    Attack("unconvertible_input", "x", ("Conversion", "convert", "Error"), 2.0,
           {"x": object()}),
)


def _attack_check(cls: type[Any], attack: Attack) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        connector = cls(config=ConnectorConfig(timeout=10))
        try:
            result = connector.execute_code(attack.code, inputs=attack.inputs,
                                            timeout=attack.timeout)
            if result.success:
                raise CheckFailed(f"the sandbox let `{attack.code[:40]}` succeed "
                                  f"(return value {result.return_value!r:.60}).")
            error = result.error or ""
            if not any(word.lower() in error.lower() for word in attack.expect_in_error):
                raise CheckFailed(f"failed with an unclear error: {error[:200]!r}; expected one "
                                  f"mentioning {' / '.join(attack.expect_in_error)}.")
            after = connector.execute_code("1 + 1", timeout=5)
            if not after.success or after.return_value != 2:
                raise CheckFailed(f"the next execution failed after this attack: {after.error}")
            return {"detail": error.split("\n", 1)[0][:120],
                    "execution_time_ms": round(result.execution_time_ms or 0.0, 1),
                    "exercised": {"executions": 2}}  # the attack and the run after it
        finally:
            connector.close()

    return run


def sandbox_suite(plan: Plan) -> list[Check]:
    cls = plan.connector_class
    if not is_code_connector(cls):
        return [not_run("sandbox", "the sandbox suite applies to code-interpreter connectors")]
    return [Check("sandbox", attack.name, _attack_check(cls, attack),
                  f"`{attack.code.splitlines()[0]}` fails cleanly and the next run works")
            for attack in ATTACKS]
