"""Certification of the built-in connectors, one pytest test per check (how CI runs it).

``pytest -n auto tests/test_certification_builtin.py`` spreads the checks over all cores.
The Langflow certification is defined only once ``cassettes/langflow`` holds recordings.
"""

from __future__ import annotations

from pathlib import Path

from connector_kit.pytest_plugin import certification_tests

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


def _recorded(framework: str) -> bool:
    folder = CASSETTES / framework
    return folder.is_dir() and any(p.name not in ("scenarios.yaml", "certify.yaml")
                                   for p in folder.glob("*.yaml"))


test_langgraph = certification_tests("langgraph", CASSETTES / "langgraph")

if _recorded("langflow"):
    test_langflow = certification_tests("langflow", CASSETTES / "langflow")
