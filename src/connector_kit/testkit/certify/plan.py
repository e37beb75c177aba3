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
from ..recording.scenarios import CATALOGUE, Catalogue, Scenario, ScenarioError
from .checks import Check, CheckResult, error_check, not_run
from .declaration import Declaration, DeclarationError, validate_options
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

    def catalogue(self) -> Catalogue | None:
        """The folder's ``scenarios.yaml`` (None without a kit or a catalogue).

        Raises :class:`ScenarioError` when the catalogue is malformed.
        """
        if self.kit is None or not (self.kit.cassettes / CATALOGUE).is_file():
            return None
        return self.kit.catalogue

    def unrecorded(self) -> list[Scenario]:
        """The scenarios the catalogue declares that have no cassette: each is a "not run"
        row, so a folder missing recordings cannot certify with fewer checks."""
        catalogue = self.catalogue()
        if catalogue is None or self.kit is None:
            return []
        recorded = set(self.kit.recorded_names())
        return [s for s in catalogue.scenarios if s.name not in recorded]

    def unrecorded_streams(self) -> list[str]:
        """Names of declared successful stream scenarios with no recording: the checks that
        break a recorded stream (``fuzz.stream``, ``faults.stream_*``) are "not run" for them.
        A malformed catalogue gives [] here: the replay suite reports it."""
        try:
            missing = self.unrecorded()
        except ScenarioError:
            return []
        return [s.name for s in missing if is_stream_scenario(s)]

    def sample_options(self) -> dict[str, Any]:
        """The connector options the first recording was made with ({} without recordings)."""
        for cassette in self.cassettes():
            return dict(cassette.scenario.get("options") or {})
        return {}


def is_stream_scenario(scenario: Scenario) -> bool:
    """One streamed call that should succeed: what the stream faults and fuzz break."""
    steps = scenario.steps
    return (scenario.expect == "ok" and len(steps) == 1 and steps[0].get("action") == "stream"
            and str(steps[0].get("expect", "ok")) == "ok")


def missing_stream_reason(names: list[str], plan: Plan) -> str:
    """Why a check that breaks a recorded stream did not run, and what to do."""
    shown = ", ".join(f"'{n}'" for n in names)
    where = plan.kit.cassettes if plan.kit is not None else "the cassette folder"
    return (f"the catalogue declares stream scenario(s) {shown} but {where} has no recording "
            f"of them, so there is no recorded stream to break: {record_hint(plan, names)}")


def record_hint(plan: Plan, names: list[str]) -> str:
    """The command that records ``names`` into the plan's folder."""
    them = "it" if len(names) == 1 else "them"
    if plan.kit is None:
        return f"record {them} (connector-kit record <framework> --scenario NAME)"
    scenarios = " ".join(f"--scenario {n}" for n in names)
    return (f"record {them} (connector-kit record {framework_of(plan)} {scenarios} "
            f"--out {plan.kit.cassettes})")


def framework_of(plan: Plan) -> str:
    """The framework name a ``connector-kit record`` hint uses (the folder's name when the
    catalogue cannot say: a malformed one is reported by its own row)."""
    if plan.kit is None:
        return "<framework>"
    try:
        return plan.kit.framework
    except ScenarioError:
        return plan.kit.cassettes.name


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
    """Every check of the declared suites; a bypassed, unknown or broken suite is one row.

    A bypass names a suite (``faults``) or one check (``operations.replay``): a folder with
    no operation recordings can set that one row aside, with its reason, and keep the
    suite's other checks. A check bypass that names no check of a suite run is an error
    row, so a misspelt name cannot read as a bypass that worked.
    """
    run = suites or plan.declaration.suites
    checks = [check for suite in run for check in _suite_checks(plan, suite)]
    by_id = {check.id: check for check in checks}
    for key, reason in plan.declaration.bypass.items():
        suite, dot, _ = key.partition(".")
        if not dot or suite not in run or plan.declaration.bypass.get(suite):
            continue  # a suite bypass, another suite's check, or inside a bypassed suite
        check = by_id.get(key)
        if check is not None:
            check.bypass_reason = reason
        else:
            known = ", ".join(sorted(i for i in by_id if i.startswith(f"{suite}."))) or "none"
            checks.append(error_check(suite, DeclarationError(
                f"certify.yaml bypasses '{key}', which is not a check of this run (its {suite} "
                f"checks: {known}); fix the name"), name="bypass"))
    return checks


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
