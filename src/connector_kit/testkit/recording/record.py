"""Recording: run a scenario against a live server through vcrpy and write its cassette.

vcrpy records the exchange (the kit's hooks scrub and canonicalise it on the way in) into
an *attempt* file outside the cassette folder. Only when the attempt is good -- something was
recorded, the outcome is the scenario's ``expect``, the secret scan is clean -- does it
replace the committed cassette (an atomic rename). Otherwise the committed cassette is left
untouched and the attempt is kept where :attr:`RecordResult.kept_at` says.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ... import __version__
from ..._safe_yaml import safe_name
from ...connectors.base import BaseConnector
from .cassettes import Cassette, CassetteError, atomic_write, clear_section, set_section
from .episode import build_connector, run_connector, stats_dicts
from .interception import KitHooks, kit_vcr
from .normalize import Canonicalizer, Normalizer
from .outcome import Outcome
from .scenarios import Scenario
from .scrub import PLACEHOLDER, SecretLeakError, assert_no_leaks, scrub_text, scrub_value
from .targets import class_path
from .wire import watching


@dataclass
class RecordResult:
    scenario: str
    #: The committed cassette (written only when the recording was good).
    path: Path
    outcome: Outcome
    expectation_met: bool
    expected: str
    #: Where a failed attempt was kept (the committed cassette untouched), else None.
    kept_at: Path | None = None
    #: Why the attempt was not committed ("" when it was).
    problem: str = ""

    @property
    def committed(self) -> bool:
        return self.kept_at is None


def failed_attempts_dir() -> Path:
    """Where failed recording attempts are kept (outside any cassette folder)."""
    return Path(tempfile.gettempdir()) / "connector-kit-failed-recordings"


def record_scenario(
    connector_cls: type[BaseConnector],
    scenario: Scenario,
    context: dict[str, Any],
    out_dir: Path,
    normalizer: Normalizer,
    *,
    secrets: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> RecordResult:
    """Run ``scenario`` live through vcrpy; commit its cassette only if the recording is good."""
    resolved = scenario.resolve(context)
    name = safe_name(scenario.name, "scenario name", error=CassetteError)  # never leaves out_dir
    session_id = scenario.effective_session_id + (f"-{uuid.uuid4()}" if scenario.fresh_session
                                                  else "")
    connector = build_connector(connector_cls, resolved.url, resolved.config, resolved.options)
    secret_values = [s for s in [*(secrets or []), context.get("api_key"),
                                 *connector.config.secret_values()] if isinstance(s, str) and s]
    hooks = KitHooks(normalizer, secret_values)
    attempts = Path(tempfile.mkdtemp(prefix="ck-record-"))
    attempt = attempts / f"{name}.yaml"
    engine = kit_vcr(hooks, record_mode="all")
    try:
        with engine.use_cassette(str(attempt)):
            try:
                with watching() as watch:
                    outcome, stats = run_connector(connector, scenario.messages, session_id,
                                                   steps=scenario.steps or None)
            finally:
                connector.close()
            canon = hooks.canon
            wire: dict[str, Any] = {}
            if watch.streams():
                wire["streams"] = watch.streams()
            lost = watch.lost(lambda value: canon.text(scrub_text(value, secret_values)))
            if lost:
                wire["lost"] = lost
            recorded = Outcome.from_dict(scrub_value(canon.value(outcome.to_dict()), secret_values))
            section = Cassette(
                scenario=_scenario_section(scenario, session_id, resolved.url, resolved.config,
                                           resolved.options, canon, secret_values),
                metadata={
                    "framework": scenario.framework,
                    "connector_class": class_path(connector_cls),
                    "connector_kit_version": __version__,
                    "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    **scrub_value(metadata or {}, secret_values),
                    **wire,
                },
                outcome=recorded,
                stats=canon.value(scrub_value(stats_dicts(stats), secret_values)),
            ).section()
            set_section(attempt, lambda _existing: section)
    finally:
        clear_section(attempt)
    leak = hooks.leak_error()
    if leak is not None:
        # The save hook refused the save before anything was written: nothing secret to keep.
        _discard(attempt)
        raise leak
    met = (outcome.ok if scenario.expect == "ok" else outcome.error_type == scenario.expect)
    if not attempt.exists():
        # vcrpy saves only what it recorded: no interaction at all (server down, refused).
        Cassette(scenario=section["scenario"], metadata=section["metadata"], outcome=recorded,
                 stats=section["stats"]).save(attempt)
        # The message as the connector raised it, secrets scrubbed (the recorded one is also
        # canonicalised: its 127.0.0.1:PORT reads "localhost", which would mislead here).
        raw = Outcome.from_dict(scrub_value(outcome.to_dict(), secret_values))
        return _keep(scenario, out_dir, attempt, recorded, _nothing_recorded(raw))
    try:
        assert_no_leaks([attempt], secret_values)
    except SecretLeakError:
        _discard(attempt)
        raise
    if not met:
        return _keep(scenario, out_dir, attempt, recorded,
                     f"the outcome is {'ok' if recorded.ok else recorded.error_type}, the scenario "
                     f"expects {scenario.expect}")
    path = out_dir / f"{name}.yaml"
    atomic_write(path, attempt.read_text(encoding="utf-8"))
    attempt.unlink()
    attempts.rmdir()
    return RecordResult(scenario.name, path, recorded, True, scenario.expect)


def _nothing_recorded(outcome: Outcome) -> str:
    """Why a recording holds no interaction, in the connector's own words (already scrubbed)."""
    if not outcome.error_type:
        return "no HTTP interaction was recorded (the connector sent no request)"
    if outcome.error_type == "ConnectorConfigError":
        hint = "; fix the scenario's url and config (or --url)"
    else:  # a transport error's own message already says what to check
        hint = "" if outcome.error_message else "; is the server running at that URL?"
    ended = f"{outcome.error_type}: {outcome.error_message}" if outcome.error_message \
        else outcome.error_type
    return f"no HTTP interaction was recorded (the connector ended with {ended}){hint}"


def _discard(attempt: Path) -> None:
    attempt.unlink(missing_ok=True)
    if attempt.parent.is_dir() and not any(attempt.parent.iterdir()):
        attempt.parent.rmdir()


def _keep(scenario: Scenario, out_dir: Path, attempt: Path, outcome: Outcome,
          problem: str) -> RecordResult:
    """Leave the committed cassette alone; keep the attempt in a known place."""
    kept = failed_attempts_dir() / re.sub(r"[^A-Za-z0-9_.-]", "_", str(out_dir.absolute()).strip("/"))
    kept.mkdir(parents=True, exist_ok=True)
    target = kept / attempt.name
    atomic_write(target, attempt.read_text(encoding="utf-8"))
    _discard(attempt)
    committed = out_dir / f"{scenario.name}.yaml"
    left = (f"The committed cassette {committed} was left untouched" if committed.exists()
            else f"No cassette was written ({committed} does not exist)")
    return RecordResult(scenario.name, committed, outcome, False, scenario.expect, kept_at=target,
                        problem=f"{problem.rstrip('.')}{'' if problem.endswith('?') else '.'} "
                                f"{left}; the attempt is at {target}.")


def _scenario_section(scenario: Scenario, session_id: str, url: str, config: dict[str, Any],
                      options: dict[str, Any], canon: Canonicalizer,
                      secrets: list[str]) -> dict[str, Any]:
    config = dict(config)
    if config.get("api_key") is not None:
        config["api_key"] = PLACEHOLDER
    return {
        "name": scenario.name,
        "framework": scenario.framework,
        "description": scenario.description,
        "messages": scrub_value(scenario.messages, secrets),
        "session_id": canon.text(session_id),  # a fresh session's uuid as in the requests
        "url": canon.text(scrub_text(url, secrets)),
        "config": scrub_value(config, secrets),
        "options": canon.value(scrub_value(options, secrets)),
        "expect": scenario.expect,
        **({"steps": canon.value(scrub_value(scenario.steps, secrets))} if scenario.steps else {}),
    }
