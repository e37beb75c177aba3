"""The plan of a certification: which connector, which recordings, which suites' checks.

An agent connector gets ``contract``, ``replay``, ``fuzz``, ``faults``, ``timing`` and
``operations`` by default; a code-interpreter connector ``contract``, ``sandbox`` and
``timing``. A folder's ``certify.yaml`` (see :mod:`.declaration`) may choose otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.base import BaseConnector
from ..kit import ConnectorTestKit
from ..recording.cassettes import Cassette
from .checks import Check, CheckResult, error_check, not_run
from .declaration import Declaration, validate_options
from .registry import SuitePluginError, find_suite, unknown_suite_message

AGENT_SUITES = ("contract", "replay", "fuzz", "faults", "timing", "operations")
CODE_SUITES = ("contract", "sandbox", "timing")


@dataclass
class Plan:
    """Everything a suite needs to build its checks for one connector."""

    connector_class: type[BaseConnector]
    kit: ConnectorTestKit | None
    declaration: Declaration
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_options(self.options)

    def setting(self, suite: str, key: str, default: Any) -> Any:
        if key in self.options.get(suite, {}):
            return self.options[suite][key]
        return self.declaration.settings.get(suite, {}).get(key, default)

    def cassettes(self) -> list[Cassette]:
        if self.kit is None:
            return []
        if not hasattr(self, "_cassettes"):
            self._cassettes = [self.kit.load(name) for name in self.kit.recorded_names()]
        return self._cassettes

    def sample_options(self) -> dict[str, Any]:
        """The connector options the first recording was made with ({} without recordings)."""
        for cassette in self.cassettes():
            return dict(cassette.scenario.get("options") or {})
        return {}


def is_code_connector(cls: type[BaseConnector]) -> bool:
    try:
        from ...connectors.code_interpreter import BaseCodeInterpreterConnector
    except ImportError:
        return False
    return issubclass(cls, BaseCodeInterpreterConnector)


def make_plan(target: ConnectorTestKit | str | type[BaseConnector], cassettes: Path | None = None,
              *, options: dict[str, Any] | None = None) -> Plan:
    """The plan for a kit, or for a target (registry name, ``module:Class`` or class)."""
    if isinstance(target, ConnectorTestKit):
        kit: ConnectorTestKit | None = target
    else:
        kit = ConnectorTestKit(target, cassettes) if cassettes is not None else None
    cls = kit.connector_class if kit else _load(target)
    defaults = CODE_SUITES if is_code_connector(cls) else AGENT_SUITES
    return Plan(cls, kit, Declaration.load(kit.cassettes if kit else None, defaults), options or {})


def _load(target: ConnectorTestKit | str | type[BaseConnector]) -> type[BaseConnector]:
    from ..recording.targets import load_connector

    assert not isinstance(target, ConnectorTestKit)
    return load_connector(target)


def plan_checks(plan: Plan, suites: list[str] | None = None) -> list[Check]:
    """Every check of the declared suites; a bypassed, unknown or broken suite is one row."""
    return [check for suite in suites or plan.declaration.suites
            for check in _suite_checks(plan, suite)]


def _suite_checks(plan: Plan, suite: str) -> list[Check]:
    reason = plan.declaration.bypass.get(suite)
    if reason:
        return [not_run(suite, reason, bypass_reason=reason)]
    try:
        builder = find_suite(suite)
        if builder is None:
            return [not_run(suite, unknown_suite_message(suite))]
        built = builder(plan)
        if not isinstance(built, list) or not all(isinstance(c, Check) for c in built):
            raise SuitePluginError(f"suite '{suite}' returned {type(built).__name__}, "
                                   "not a list of Check")
    except Exception as exc:  # a suite that cannot build its checks is one error row
        return [error_check(suite, exc)]
    return built


def run_checks(checks: list[Check]) -> list[CheckResult]:
    return [check.execute() for check in checks]
