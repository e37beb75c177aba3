"""ConnectorTestKit: a connector class, its options and a cassette folder, bound together."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._safe_yaml import safe_name
from ..connectors.base import BaseConnector
from .cassettes import Cassette, CassetteError, Outcome
from .episode import REPLAY_KEY, build_connector, load_connector, run_connector
from .interception import replaying
from .jsondiff import Difference, diff
from .normalize import Normalizer, normalizer_for
from .record import RecordResult, record_scenario
from .replay import MatchKey, Replayer, ReplayError
from .scenarios import Catalogue, Scenario
from .scrub import PLACEHOLDER

if TYPE_CHECKING:
    from .certify import CertificationReport

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

    @property
    def reproduced(self) -> bool:
        return self.error is None and not self.differences and self.outcome is not None

    def explain(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        if self.differences:
            return "outcome differs from the recording:\n  " + "\n  ".join(map(str, self.differences))
        return "reproduced"


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
        path = scenario if isinstance(scenario, Path) else self.cassette_path(scenario)
        return Cassette.load(path)

    def replay(self, scenario: str | Scenario | Path, *,
               connector_class: type[BaseConnector] | None = None,
               strict: bool = True) -> ReplayResult:
        """Run the recorded scenario offline and compare its outcome with the recorded one.

        ``strict`` also fails when recorded interactions were left unused (stale cassette).
        """
        cassette = self.load(scenario)
        cls = connector_class or self.connector_class
        section = cassette.scenario
        name = str(section.get("name") or (cassette.path.stem if cassette.path else "?"))
        replayer = Replayer(cassette, normalizer_for(cls, self.framework))
        started = time.perf_counter()
        outcome: Outcome | None = None
        error: ReplayError | None = None
        connector = self.replay_connector(cassette, cls)
        try:
            with replaying(replayer.answer):
                outcome, _ = run_connector(connector, section.get("messages") or [],
                                           str(section.get("session_id") or "ck-replay"),
                                           fake_clock=True)
            if strict:
                replayer.check_all_used()
        except ReplayError as exc:
            error = exc
        finally:
            connector.close()
        elapsed = (time.perf_counter() - started) * 1000
        result = ReplayResult(name, outcome, cassette.outcome, requests=replayer.sent, error=error,
                              elapsed_ms=elapsed)
        if outcome is not None and cassette.outcome is not None:
            result.differences = self.compare(cassette.outcome, outcome, cls)
        return result

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
        """Run the certification suites; see :func:`connector_kit.testkit.certify.certify`."""
        from .certify import certify

        return certify(self, **kwargs)
