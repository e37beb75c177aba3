"""Recording and replay on vcrpy: cassettes, the engine's hooks and matchers, scrubbing,
normalising, scenario catalogues, and running one scenario through a connector."""

from .cassettes import Cassette, CassetteError, Interaction, KitPersister, Outcome
from .episode import TargetError, load_connector
from .interception import KitHooks, OfflineError, kit_vcr
from .normalize import Normalizer, register_normalizer
from .record import RecordResult
from .replay import ReplayError, ReplayMismatchError, StaleCassetteError, replaying
from .scenarios import Catalogue, Scenario, ScenarioError
from .scrub import SecretLeakError, scan_files

__all__ = [
    "Cassette",
    "CassetteError",
    "Catalogue",
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
    "kit_vcr",
    "load_connector",
    "register_normalizer",
    "replaying",
    "scan_files",
]
