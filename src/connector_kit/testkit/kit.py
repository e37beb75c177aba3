"""ConnectorTestKit: a connector class, its options and a cassette folder, bound together."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._safe_yaml import safe_name
from ..connectors.base import BaseConnector
from .jsondiff import Difference, diff
from .recording.cassettes import Cassette, CassetteError
from .recording.episode import REPLAY_KEY, build_connector, run_connector
from .recording.interception import KitHooks, kit_vcr, offline
from .recording.normalize import Normalizer, normalizer_for
from .recording.outcome import Outcome
from .recording.record import RecordResult, record_scenario
from .recording.replay import (
    MatchKey,
    ReplayError,
    connector_raised_error,
    mismatch_error,
    stale_error,
    vcr_key,
)
from .recording.scenarios import Catalogue, Scenario, ScenarioError
from .recording.scrub import PLACEHOLDER
from .recording.targets import load_connector
from .recording.wire import replaying

if TYPE_CHECKING:
    from .certify.framework import CertificationReport

#: YAML files a cassette folder holds that are not cassettes (the catalogue, the declaration).
_NOT_CASSETTES = frozenset({"scenarios.yaml", "certify.yaml"})


@dataclass
class ReplayResult:
    """A replayed scenario: what the connector produced offline vs what was recorded."""

    scenario: str
    outcome: Outcome | None
    recorded: Outcome | None
    differences: list[Difference] = field(default_factory=list)
    requests: list[MatchKey] = field(default_factory=list)
    error: ReplayError | None = None
    elapsed_ms: float = 0.0
    #: "recorded" (the cassette's connector_kit section), or "first replay" for a plain
    #: vcrpy / pytest-recording cassette: its outcome was not recorded, so a first replay
    #: gave it and a second one was compared with that.
    outcome_source: str = "recorded"

    @property
    def reproduced(self) -> bool:
        return self.error is None and not self.differences and self.outcome is not None

    @property
    def note(self) -> str:
        if self.outcome_source == "first replay":
            return ("the cassette has no connector_kit section (a plain vcrpy cassette): its "
                    "outcome was not recorded but taken from a first replay")
        return ""

    def explain(self) -> str:
        suffix = f" ({self.note})" if self.note else ""
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}{suffix}"
        if self.differences:
            return ("outcome differs from the recording" + suffix + ":\n  "
                    + "\n  ".join(map(str, self.differences)))
        return "reproduced" + suffix


class ConnectorTestKit:
    """Record, replay and certify one connector against one cassette folder.

    Args:
        connector: the connector class, its registry name, or ``"pkg.module:Class"``.
        cassettes: folder holding ``scenarios.yaml`` and ``<scenario>.yaml`` cassettes.
        options: extra connector constructor kwargs applied on top of each scenario's.
        framework: the framework name (defaults to the catalogue's, else the folder name).
    """

    def __init__(self, connector: str | type[BaseConnector], cassettes: str | Path, *,
                 options: dict[str, Any] | None = None, framework: str | None = None) -> None:
        self.connector_class = load_connector(connector)
        self.cassettes = Path(cassettes)
        self.options = dict(options or {})
        self._framework = framework
        self._catalogue: Catalogue | None = None

    def __repr__(self) -> str:
        return f"ConnectorTestKit({self.connector_class.__name__}, cassettes={str(self.cassettes)!r})"

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = Catalogue.load(self.cassettes)
        return self._catalogue

    @property
    def framework(self) -> str:
        if self._framework:
            return self._framework
        catalogue = self.cassettes / "scenarios.yaml"
        return self.catalogue.framework if catalogue.exists() else self.cassettes.name

    @property
    def normalizer(self) -> Normalizer:
        return normalizer_for(self.connector_class, self.framework)

    def scenarios(self) -> list[Scenario]:
        return list(self.catalogue.scenarios)

    def cassette_path(self, scenario: str | Scenario) -> Path:
        name = scenario.name if isinstance(scenario, Scenario) else scenario
        return self.cassettes / f"{safe_name(name, 'scenario name', error=CassetteError)}.yaml"

    def recorded_names(self) -> list[str]:
        return sorted(p.stem for p in self.cassettes.glob("*.yaml") if p.name not in _NOT_CASSETTES
                      and not p.name.startswith("."))

    # -- record ------------------------------------------------------------------------
    def record(self, scenario: str | Scenario, *, url: str, api_key: str | None = None,
               context: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
               out_dir: Path | None = None) -> RecordResult:
        """Run ``scenario`` against the live server at ``url`` and write its cassette."""
        chosen = scenario if isinstance(scenario, Scenario) else self.catalogue.get(scenario)
        if self.options:
            chosen = Scenario(**{**chosen.__dict__, "options": {**chosen.options, **self.options}})
        full_context = {"url": url.rstrip("/"), "api_key": api_key, **(context or {})}
        return record_scenario(self.connector_class, chosen, full_context, out_dir or self.cassettes,
                               self.normalizer, metadata=metadata)

    # -- replay ------------------------------------------------------------------------
    def load(self, scenario: str | Scenario | Path) -> Cassette:
        """The cassette; a plain vcrpy one gets its scenario from ``scenarios.yaml``."""
        path = scenario if isinstance(scenario, Path) else self.cassette_path(scenario)
        cassette = Cassette.load(path)
        if not cassette.scenario:
            cassette.scenario = self._catalogue_section(cassette)
        return cassette

    def _catalogue_section(self, cassette: Cassette) -> dict[str, Any]:
        """What to send for a cassette without a connector_kit section: its scenario in
        ``scenarios.yaml`` (same name), the url's ``{url}`` being the recorded origin."""
        assert cassette.path is not None
        name = cassette.path.stem
        try:
            scenario = self.catalogue.get(name)
        except ScenarioError as exc:
            raise CassetteError(
                f"{cassette.path} is a plain vcrpy cassette (no connector_kit section), so the kit "
                f"needs its messages and session id from {self.cassettes / 'scenarios.yaml'}: add a "
                f"scenario named '{name}'. ({exc})") from None
        first = cassette.interactions[0].request.uri if cassette.interactions else "http://localhost"
        scheme, _, rest = first.partition("://")
        origin = f"{scheme}://{rest.split('/', 1)[0]}"
        resolved = scenario.resolve({"url": origin, "api_key": PLACEHOLDER})
        return {"name": name, "framework": scenario.framework, "description": scenario.description,
                "messages": scenario.messages, "session_id": scenario.effective_session_id,
                "url": resolved.url, "config": resolved.config, "options": resolved.options,
                "expect": scenario.expect, "steps": scenario.steps or None}

    def replay(self, scenario: str | Scenario | Path, *,
               connector_class: type[BaseConnector] | None = None,
               strict: bool = True, pace: float = 0.0) -> ReplayResult:
        """Run the recorded scenario offline (vcrpy, the kit's strict matching) and compare
        its outcome with the recorded one.

        ``strict`` also fails when recorded interactions were left unused (stale cassette).
        ``pace`` > 0 serves recorded streams at their recorded pace (1 = real time), so
        time-to-first-event can be measured offline; 0 serves them frame by frame at once.
        A cassette with no recorded outcome (plain vcrpy) is replayed twice: the first
        replay gives the outcome the second is compared with (``outcome_source``).
        """
        cassette = self.load(scenario)
        cls = connector_class or self.connector_class
        name = str(cassette.scenario.get("name") or (cassette.path.stem if cassette.path else "?"))
        started = time.perf_counter()
        outcome, error, requests = self._replay_once(cassette, cls, strict, pace)
        elapsed = (time.perf_counter() - started) * 1000
        recorded, source = cassette.outcome, "recorded"
        if recorded is None and outcome is not None and error is None:
            recorded, source = outcome, "first replay"
            outcome, error, requests = self._replay_once(cassette, cls, strict, pace)
        result = ReplayResult(name, outcome, recorded, requests=requests, error=error,
                              elapsed_ms=elapsed, outcome_source=source)
        if outcome is not None and recorded is not None:
            result.differences = self.compare(recorded, outcome, cls)
        return result

    def _replay_once(self, cassette: Cassette, cls: type[BaseConnector], strict: bool,
                     pace: float = 0.0) -> tuple[Outcome | None, ReplayError | None, list[MatchKey]]:
        from vcr.errors import CannotOverwriteExistingCassetteException

        assert cassette.path is not None
        section = cassette.scenario
        normalizer = normalizer_for(cls, self.framework)
        engine = kit_vcr(KitHooks(normalizer, [REPLAY_KEY]), record_mode="none", replay_only=True)
        outcome: Outcome | None = None
        error: ReplayError | None = None
        connector = self.replay_connector(cassette, cls)
        try:
            with offline(), engine.use_cassette(str(cassette.path)) as played, replaying(
                    cassette.metadata, pace=pace):
                try:
                    outcome, _ = run_connector(connector, section.get("messages") or [],
                                               str(section.get("session_id") or "ck-replay"),
                                               fake_clock=True, steps=section.get("steps"))
                except CannotOverwriteExistingCassetteException as exc:
                    error = mismatch_error(exc, normalizer)
            if error is None and strict and not played.all_played:
                # Left unplayed because the connector raised before sending them: say so,
                # with its exception, not "stale" (re-recording would not fix the connector).
                if outcome is not None and not outcome.ok and outcome.error_type:
                    error = connector_raised_error(
                        played, outcome.error_type, outcome.error_message or "",
                        [REPLAY_KEY, *connector.config.secret_values()])
                else:
                    error = stale_error(played)
        finally:
            connector.close()
        requests = [vcr_key(normalizer, r) for i, r in enumerate(played.requests)
                    if played.play_counts[i]]
        return outcome, error, requests

    def replay_connector(self, cassette: Cassette, cls: type[BaseConnector] | None = None) -> BaseConnector:
        """The connector as the recording configured it, with a stand-in for any scrubbed key."""
        section = cassette.scenario
        config = dict(section.get("config") or {})
        if config.get("api_key") == PLACEHOLDER:
            config["api_key"] = REPLAY_KEY
        options = {**(section.get("options") or {}), **self.options}
        return build_connector(cls or self.connector_class, section.get("url"), config, options)

    def compare(self, recorded: Outcome, live: Outcome,
                cls: type[BaseConnector] | None = None) -> list[Difference]:
        normalizer = normalizer_for(cls or self.connector_class, self.framework)
        return diff(normalizer.mask(recorded.compared_fields()),
                    normalizer.mask(live.compared_fields()))

    # -- certify -----------------------------------------------------------------------
    def certify(self, **kwargs: Any) -> CertificationReport:
        """Run the certification suites; see :func:`connector_kit.testkit.certify.framework.certify`."""
        from .certify.framework import certify

        return certify(self, **kwargs)
