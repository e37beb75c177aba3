"""``import connector_kit.connectors`` stays light: no pandas, no pydantic-monty, no test kit.

(The published package pulls in litellm through its blocks: 4.7-5.7 s and ~346 MB.) The time
is printed for the record (`pytest -s`), not asserted: speed is for benchmarks.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys, time
started = time.perf_counter()
import connector_kit.connectors
import connector_kit.connectors.code_interpreter
elapsed = time.perf_counter() - started
heavy = [m for m in ("pandas", "pyarrow", "numpy", "pydantic_monty", "hypothesis", "vcr",
                     "matplotlib", "connector_kit.testkit", "connector_kit.blocks") if m in sys.modules]
print(json.dumps({"ms": elapsed * 1000, "heavy": heavy}))
"""


def test_importing_the_connectors_loads_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    print(f"import connector_kit.connectors (+ code_interpreter): {result['ms']:.0f} ms")
    assert result["heavy"] == [], f"heavy modules imported at import time: {result['heavy']}"


def test_the_registry_knows_monty_once_code_interpreter_is_imported() -> None:
    probe = ("import connector_kit.connectors.code_interpreter as c, sys;"
             "from connector_kit.connectors import ConnectorRegistry;"
             "print(ConnectorRegistry.list_all(), 'pydantic_monty' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['langflow', 'langgraph', 'monty'] False"
