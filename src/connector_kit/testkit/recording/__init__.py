"""Recording and replay on vcrpy: cassettes, the engine's hooks and matchers, scrubbing,
normalising, scenario catalogues, and running one scenario through a connector."""

from .cassettes import Cassette, CassetteError, Interaction, KitPersister
from .interception import KitHooks, OfflineError, kit_vcr
from .normalize import Normalizer, register_normalizer
from .outcome import Outcome
from .record import RecordResult
from .replay import ConnectorRaisedError, ReplayError, ReplayMismatchError, StaleCassetteError, replaying
from .scenarios import Catalogue, Scenario, ScenarioError
from .scrub import SecretLeakError, scan_files
from .targets import TargetError, class_path, load_connector, registry_names

__all__ = [
    "Cassette",
    "CassetteError",
    "Catalogue",
    "ConnectorRaisedError",
    "Interaction",
    "KitHooks",
    "KitPersister",
    "Normalizer",
    "OfflineError",
    "Outcome",
    "RecordResult",
    "ReplayError",
    "ReplayMismatchError",
    "Scenario",
    "ScenarioError",
    "SecretLeakError",
    "StaleCassetteError",
    "TargetError",
    "class_path",
    "kit_vcr",
    "load_connector",
    "register_normalizer",
    "registry_names",
    "replaying",
    "scan_files",
]
