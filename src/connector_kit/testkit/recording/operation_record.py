"""Recording and replaying operation scenarios with the kit's vcrpy engine.

Recording runs a scenario's steps against a live server inside ``kit_vcr`` (the kit's
scrubbing and canonicalising hooks) into an attempt file; only when every step ended as
its ``expect`` says and the secret scan is clean does the attempt replace the committed
cassette. Replaying runs the same steps offline against the cassette (``replaying``: strict
matching, every interaction used) and compares what each step produced with the recording.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import __version__
from ..._safe_yaml import safe_name
from ...connectors.agent.base import BaseAgentConnector
from ...connectors.base import BaseConnector
from ..jsondiff import Difference, diff
from .cassettes import SECTION, CassetteError, atomic_write, clear_section, load_document, set_section
from .episode import REPLAY_KEY, build_connector
from .interception import KitHooks, kit_vcr
from .normalize import Normalizer, normalizer_for
from .operation_scenarios import OperationScenario, Step, met, run_steps
from .replay import ReplayError, replaying
from .scrub import PLACEHOLDER, SecretLeakError, assert_no_leaks, scrub_value
from .targets import class_path

if TYPE_CHECKING:
    from ..kit import ConnectorTestKit


@dataclass
class OperationRecordResult:
    scenario: str
    path: Path
    steps: list[dict[str, Any]]
    committed: bool
    problem: str = ""


@dataclass
class OperationReplayResult:
    scenario: str
    steps: list[dict[str, Any]]
    recorded: list[dict[str, Any]]
    differences: list[Difference] = field(default_factory=list)
    error: ReplayError | None = None
    requests: int = 0

    @property
    def reproduced(self) -> bool:
        return self.error is None and not self.differences and bool(self.steps)

    def explain(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        if self.differences:
            return "steps differ from the recording:\n  " + "\n  ".join(map(str, self.differences[:8]))
        return "reproduced" if self.steps else "no step ran"


def record_operation_scenario(connector_cls: type[BaseConnector], scenario: OperationScenario,
                              context: dict[str, Any], out_dir: Path, normalizer: Normalizer, *,
                              metadata: dict[str, Any] | None = None) -> OperationRecordResult:
    """Run the steps live; commit the cassette only if every step ended as it ``expect``s."""
    name = safe_name(scenario.name, "scenario name", error=CassetteError)
    url, config, options = scenario.resolve(context)
    connector = build_connector(connector_cls, url, config, options)
    secrets = [s for s in [context.get("api_key"), *connector.config.secret_values()]
               if isinstance(s, str) and s]
    hooks = KitHooks(normalizer, secrets)
    attempts = Path(tempfile.mkdtemp(prefix="ck-record-op-"))
    attempt = attempts / f"{name}.yaml"
    try:
        with kit_vcr(hooks, record_mode="all").use_cassette(str(attempt)):
            try:
                steps = run_steps(connector, scenario.steps)
            finally:
                connector.close()
            recorded = hooks.canon.value(scrub_value(steps, secrets))
            section = _section(connector_cls, scenario, url, config, options, hooks, secrets,
                               recorded, metadata)
            set_section(attempt, lambda _existing: section)
    finally:
        clear_section(attempt)
    leak = hooks.leak_error()
    path = out_dir / f"{name}.yaml"
    if leak is not None:
        _discard(attempt)
        raise leak
    unmet = [f"step {i + 1} ({s.operation}) expected {s.expect}, got "
             f"{'ok' if p.get('success') else p.get('error_type')}"
             for i, (s, p) in enumerate(zip(scenario.steps, steps, strict=True)) if not met(s, p)]
    if not attempt.exists():
        return OperationRecordResult(scenario.name, path, recorded, False,
                                     "no HTTP interaction was recorded; is the server running?")
    try:
        assert_no_leaks([attempt], secrets)
    except SecretLeakError:
        _discard(attempt)
        raise
    if unmet:
        return OperationRecordResult(scenario.name, path, recorded, False,
                                     "; ".join(unmet) + f". The committed cassette was left untouched; "
                                     f"the attempt is at {attempt}.")
    atomic_write(path, attempt.read_text(encoding="utf-8"))
    _discard(attempt)
    return OperationRecordResult(scenario.name, path, recorded, True)


def _section(cls: type[BaseConnector], scenario: OperationScenario, url: str, config: dict[str, Any],
             options: dict[str, Any], hooks: KitHooks, secrets: list[str], steps: Any,
             metadata: dict[str, Any] | None) -> dict[str, Any]:
    saved = dict(config)
    if saved.get("api_key") is not None:
        saved["api_key"] = PLACEHOLDER
    return {
        "kind": "operations",
        "scenario": {"name": scenario.name, "framework": scenario.framework,
                     "description": scenario.description,
                     "steps": [step.model_dump(exclude_defaults=True) for step in scenario.steps],
                     "url": hooks.canon.text(url), "config": scrub_value(saved, secrets),
                     "options": hooks.canon.value(scrub_value(options, secrets))},
        "metadata": {"framework": scenario.framework, "connector_class": class_path(cls),
                     "connector_kit_version": __version__,
                     "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     **scrub_value(metadata or {}, secrets)},
        "steps": steps,
    }


def _discard(attempt: Path) -> None:
    attempt.unlink(missing_ok=True)
    if attempt.parent.is_dir() and not any(attempt.parent.iterdir()):
        attempt.parent.rmdir()


def replay_operation_scenario(kit: ConnectorTestKit, path: Path, *,
                              connector_class: type[BaseConnector] | None = None) -> OperationReplayResult:
    """Run the recorded steps offline (strict matching, every interaction used) and compare."""
    from ...connectors.http import FakeClock

    cls = connector_class or kit.connector_class
    section = load_document(path).get(SECTION) or {}
    scenario = section.get("scenario") or {}
    recorded = list(section.get("steps") or [])
    config = dict(scenario.get("config") or {})
    if config.get("api_key") == PLACEHOLDER:
        config["api_key"] = REPLAY_KEY
    steps = [Step.model_validate(step) for step in scenario.get("steps") or []]
    normalizer = normalizer_for(cls, kit.framework)
    connector = build_connector(cls, scenario.get("url"), config,
                                {**(scenario.get("options") or {}), **kit.options})
    produced: list[dict[str, Any]] = []
    error: ReplayError | None = None
    played: Any = None
    try:
        if isinstance(connector, BaseAgentConnector):
            connector.http_client.clock = FakeClock()  # recorded retry waits are not slept again
        with replaying([path], normalizer, strict=True) as played:
            produced = run_steps(connector, steps)
    except ReplayError as exc:
        error = exc
    finally:
        connector.close()
    requests = sum(1 for i in range(len(played)) if played.play_counts[i]) if played is not None else 0
    result = OperationReplayResult(str(scenario.get("name") or path.stem), produced, recorded,
                                   error=error, requests=requests)
    if error is None:
        result.differences = diff(normalizer.mask(recorded), normalizer.mask(produced))
    return result
