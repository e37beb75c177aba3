"""Scenario catalogues: what to send to a framework, as data a contributor can extend.

A catalogue is ``<cassettes>/<framework>/scenarios.yaml``::

    framework: langflow
    connector: langflow                 # registry name or "package.module:Class"
    defaults:
      url: "{url}/api/v1/run/{flows[agent][id]}"
      config: {api_key: "{api_key}", max_retries: 0}
    scenarios:
      - name: plain_chat
        description: One user message, echoed back.
        messages: "hello there"          # a string is one user message
        expect: ok                       # or the error class the call should raise

Templates (``{url}``, ``{api_key}``, ``{flows[agent][id]}``) are filled from the live rig
when recording; a literal ``api_key`` (e.g. a deliberately wrong one) is sent as written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._safe_yaml import load_yaml, safe_name, validate
from ...connectors.exceptions import ConnectorKitError
from .schemas import CatalogueFile

CATALOGUE = "scenarios.yaml"


class ScenarioError(ConnectorKitError):
    """A scenario catalogue is missing, malformed, or names an unknown scenario."""


@dataclass
class Scenario:
    name: str
    framework: str
    messages: list[dict[str, Any]]
    description: str = ""
    session_id: str | None = None
    url: str = "{url}"
    config: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    expect: str = "ok"
    tags: list[str] = field(default_factory=list)
    #: Several calls in order (streams, a session's turns, interrupt then resume): steps.py.
    steps: list[dict[str, Any]] = field(default_factory=list)
    #: Record on a new session each time (``<session id>-<uuid4>``, canonicalised in the
    #: cassette): for answers that show the session's history (Langflow's stream logs hold
    #: the LLM's input), so a re-recording on a server that already ran it gives the same bytes.
    fresh_session: bool = False

    @property
    def effective_session_id(self) -> str:
        return self.session_id or f"ck-{self.name.replace('_', '-')}"

    def resolve(self, context: dict[str, Any]) -> ResolvedScenario:
        """Fill the templates with a live target's values (url, api_key, flows...)."""
        try:
            url = self.url.format_map(context)
            config = {k: _fill(v, context) for k, v in self.config.items()}
            options = {k: _fill(v, context) for k, v in self.options.items()}
        except (KeyError, IndexError, AttributeError) as exc:
            raise ScenarioError(
                f"Scenario '{self.name}': the template needs {exc} but the target does not provide "
                f"it (it provides: {', '.join(sorted(context))})."
            ) from None
        return ResolvedScenario(self, url, config, options)


@dataclass
class ResolvedScenario:
    scenario: Scenario
    url: str
    config: dict[str, Any]
    options: dict[str, Any]


def _fill(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value == "{api_key}":  # keep None when the target has no key
            return context.get("api_key")
        return value.format_map(context)
    if isinstance(value, dict):
        return {k: _fill(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, context) for v in value]
    return value


def _steps(raw: Any, where: str) -> list[dict[str, Any]]:
    from .steps import StepsError, check_steps

    try:
        return check_steps(raw, where)
    except StepsError as exc:
        raise ScenarioError(str(exc)) from None


def as_messages(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) for m in value):
        return copy.deepcopy(value)
    raise ScenarioError(f"messages must be a string or a list of message dicts, got {value!r:.80}")


@dataclass
class Catalogue:
    framework: str
    connector: str
    scenarios: list[Scenario]
    path: Path | None = None

    def get(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        names = ", ".join(s.name for s in self.scenarios)
        raise ScenarioError(f"No scenario '{name}' in {self.path or self.framework}. Known: {names}")

    def select(self, names: list[str] | None) -> list[Scenario]:
        return [self.get(n) for n in names] if names else list(self.scenarios)

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        if path.is_dir():
            path = path / CATALOGUE
        try:
            data = load_yaml(path, error=ScenarioError)
        except FileNotFoundError:
            raise ScenarioError(
                f"No scenario catalogue at {path}. Create one (see docs/contributing-a-connector.md)."
            ) from None
        validate(CatalogueFile, data, str(path), error=ScenarioError, what="scenario catalogue")
        framework = str(data.get("framework") or path.parent.name)
        defaults = data.get("defaults") or {}
        scenarios = []
        seen: set[str] = set()
        for index, raw in enumerate(data["scenarios"]):
            if not isinstance(raw, dict) or not raw.get("name"):
                raise ScenarioError(f"{path}: scenario #{index + 1} needs a 'name'.")
            name = safe_name(str(raw["name"]), f"{path}: scenario name", error=ScenarioError)
            if name in seen:
                raise ScenarioError(f"{path}: scenario name '{name}' is used twice.")
            seen.add(name)
            merged = {**copy.deepcopy(defaults), **raw}
            merged["config"] = {**(defaults.get("config") or {}), **(raw.get("config") or {})}
            merged["options"] = {**(defaults.get("options") or {}), **(raw.get("options") or {})}
            unknown = set(merged) - set(Scenario.__dataclass_fields__) - {"framework"}
            if unknown:
                raise ScenarioError(f"{path}: scenario '{name}' has unknown keys {sorted(unknown)}.")
            scenarios.append(Scenario(
                name=name,
                framework=framework,
                messages=as_messages(merged.get("messages", "hello")),
                description=str(merged.get("description", "")),
                session_id=merged.get("session_id"),
                url=str(merged.get("url", "{url}")),
                config=dict(merged["config"]),
                options=dict(merged["options"]),
                expect=str(merged.get("expect", "ok")),
                tags=list(merged.get("tags") or []),
                steps=_steps(merged.get("steps"), f"{path}: scenario '{name}'"),
                fresh_session=bool(merged.get("fresh_session", False)),
            ))
        return cls(framework, str(data.get("connector") or framework), scenarios, path)
