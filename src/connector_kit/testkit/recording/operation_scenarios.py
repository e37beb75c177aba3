"""Operation scenarios: sequences of ``entity.action`` calls, recorded live and replayed offline.

A catalogue is ``<cassettes>/<framework>/operations/scenarios.yaml``::

    framework: langgraph
    connector: langgraph
    defaults:
      url: "{url}"
      config: {api_key: "{api_key}", max_retries: 0, timeout: 30}
    scenarios:
      - name: thread_conversation
        description: Create a thread, run on it.
        steps:
          - {id: thread, entity: threads, action: create, params: {metadata: {session_id: s1}}}
          - {entity: runs, action: wait, params: {thread_id: "${thread.meta.thread_id}", messages: hi}}

A parameter that is exactly ``"${<step id>.<data|meta>.<key>...}"`` takes that value from an
earlier step's result (ids the server made up, such as a thread id). ``expect`` (default
``ok``) is how a step must end: ``ok``, or the executor or connector error's class name.
``url``, ``config`` and ``options`` are templates filled from the rig, as in ``scenarios.yaml``.

Each scenario is one vcrpy cassette ``<name>.yaml`` beside the catalogue; its
``connector_kit`` section holds the scenario and what each step produced (success, error
type, meta, the shape of the data), which a replay must reproduce.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..._safe_yaml import load_yaml, regular_files, safe_name, validate
from ...connectors.base import BaseConnector
from ...connectors.exceptions import ConnectorError
from ...connectors.executor import ExecutionConfig, ExecutionResult
from .scenarios import Scenario, ScenarioError

CATALOGUE = "scenarios.yaml"
#: The folder, inside a connector's cassette folder, that holds its operation scenarios.
FOLDER = "operations"
_REF = re.compile(r"^\$\{([A-Za-z0-9_]+)\.(data|meta)((?:\.[A-Za-z0-9_-]+)*)\}$")


class Step(BaseModel):
    """One operation call of a scenario."""

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(min_length=1)
    action: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]+$")
    expect: str = "ok"

    @property
    def operation(self) -> str:
        return f"{self.entity}.{self.action}"


class OperationScenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    steps: list[Step] = Field(min_length=1)
    url: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    framework: str = ""

    def resolve(self, context: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """URL, config and options with the rig's values filled in (as a message scenario's)."""
        resolved = Scenario(self.name, self.framework, [], url=self.url or "{url}", config=self.config,
                            options=self.options).resolve(context)
        return resolved.url, resolved.config, resolved.options


class _Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)


class OperationCatalogueFile(BaseModel):
    """The schema of ``operations/scenarios.yaml``."""

    model_config = ConfigDict(extra="forbid")

    framework: str | None = None
    connector: str | None = None
    defaults: _Defaults = Field(default_factory=_Defaults)
    scenarios: list[OperationScenario]


def load_catalogue(folder: Path) -> list[OperationScenario]:
    """The operation scenarios of ``folder`` (``<cassettes>/<fw>/operations``); [] when none."""
    path = folder / CATALOGUE
    try:
        data = load_yaml(path, error=ScenarioError)
    except FileNotFoundError:
        return []
    catalogue = validate(OperationCatalogueFile, data, str(path), error=ScenarioError,
                         what="operation scenario catalogue")
    defaults = catalogue.defaults
    framework = catalogue.framework or folder.parent.name
    seen: set[str] = set()
    scenarios = []
    for scenario in catalogue.scenarios:
        safe_name(scenario.name, f"{path}: scenario name", error=ScenarioError)
        if scenario.name in seen:
            raise ScenarioError(f"{path}: scenario name '{scenario.name}' is used twice.")
        seen.add(scenario.name)
        scenarios.append(scenario.model_copy(update={
            "framework": framework, "url": scenario.url or defaults.url or "{url}",
            "config": {**defaults.config, **scenario.config},
            "options": {**defaults.options, **scenario.options}}))
    return scenarios


def recorded_operation_scenarios(folder: Path) -> list[str]:
    """Names of the recorded operation scenarios in ``folder`` (its cassettes)."""
    if not folder.is_dir():
        return []
    return [p.stem for p in regular_files(folder, "*.yaml")
            if p.name != CATALOGUE and not p.name.startswith(".")]


def run_steps(connector: BaseConnector, steps: list[Step]) -> list[dict[str, Any]]:
    """Run the steps in order; what each produced, as the comparable summary a cassette keeps.

    A connector error (transport, HTTP status) ends that step with its type, as an outcome
    does; kit failures (a replay with no matching recording, an attempt to go online)
    propagate.
    """
    results: dict[str, ExecutionResult] = {}
    produced: list[dict[str, Any]] = []
    for step in steps:
        params = _references(copy.deepcopy(step.params), results)
        try:
            result = connector.execute(ExecutionConfig(step.entity, step.action, params=params))
        except ConnectorError as exc:
            produced.append({"operation": step.operation, "success": False,
                             "error_type": type(exc).__name__,
                             "status_code": getattr(exc, "status_code", None)})
            continue
        if step.id:
            results[step.id] = result
        produced.append(summary(step, result))
    return produced


def summary(step: Step, result: ExecutionResult) -> dict[str, Any]:
    """What a replay must reproduce of a step: success, error type, meta, the data's shape."""
    error_type = type(result.exception).__name__ if result.exception is not None else None
    return {"operation": step.operation, "success": result.success, "error_type": error_type,
            "meta": result.meta or {}, "data": shape(result.data),
            "server_version": result.provenance.server_version if result.provenance else None}


def shape(value: Any, depth: int = 0) -> Any:
    """The structure of a value (keys and kinds, two levels deep), not all of its content."""
    if isinstance(value, dict):
        return {str(k): shape(v, depth + 1) for k, v in sorted(value.items())} if depth < 2 else "object"
    if isinstance(value, list):
        return [shape(value[0], depth + 1), f"x{len(value)}"] if value else []
    return type(value).__name__


def met(step: Step, produced: dict[str, Any]) -> bool:
    """Did the step end as its ``expect`` says?"""
    if step.expect == "ok":
        return bool(produced.get("success"))
    return produced.get("error_type") == step.expect


def _references(value: Any, results: dict[str, ExecutionResult]) -> Any:
    if isinstance(value, dict):
        return {k: _references(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [_references(v, results) for v in value]
    if isinstance(value, str) and (match := _REF.match(value)):
        step_id, part, path = match.groups()
        if step_id not in results:
            raise ScenarioError(f"{value!r} names step '{step_id}', which has not run (or failed).")
        found: Any = getattr(results[step_id], part)
        for key in [p for p in path.split(".") if p]:
            if isinstance(found, list) and key.isdigit():
                found = found[int(key)] if int(key) < len(found) else None
            else:
                found = found.get(key) if isinstance(found, dict) else None
        return found
    return value
