"""The ConnectorTestKit: record real traffic, replay it offline, certify, diff, fuzz, fault-inject.

Hypothesis-based fuzzing (:mod:`connector_kit.testkit.fuzz`) and the benchmarks
(:mod:`connector_kit.testkit.bench`) are imported from their own modules: they pull in
Hypothesis and matplotlib, which nothing else here needs.
"""

from .cassettes import Cassette, CassetteError, Interaction, KitPersister, Outcome
from .certify import (
    CertificationReport,
    Check,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    Plan,
    certify,
    register_suite,
)
from .diff import DiffReport, diff_connectors
from .drift import DriftReport, drift_report
from .episode import TargetError, load_connector
from .faults import FaultServer, Reply, json_reply
from .interception import KitHooks, OfflineError, kit_vcr
from .kit import ConnectorTestKit, ReplayResult
from .normalize import Normalizer, register_normalizer
from .record import RecordResult
from .replay import ReplayError, ReplayMismatchError, StaleCassetteError, replaying
from .rig import Rig, RigError, RigHandle, load_rig
from .scenarios import Catalogue, Scenario, ScenarioError
from .scrub import SecretLeakError, scan_files

__all__ = [
    "Cassette",
    "CassetteError",
    "Catalogue",
    "CertificationReport",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "ConnectorTestKit",
    "DiffReport",
    "DriftReport",
    "FaultServer",
    "Interaction",
    "KitHooks",
    "KitPersister",
    "Normalizer",
    "OfflineError",
    "Outcome",
    "Plan",
    "RecordResult",
    "ReplayError",
    "ReplayMismatchError",
    "ReplayResult",
    "Reply",
    "Rig",
    "RigError",
    "RigHandle",
    "Scenario",
    "ScenarioError",
    "SecretLeakError",
    "StaleCassetteError",
    "TargetError",
    "certify",
    "diff_connectors",
    "drift_report",
    "json_reply",
    "kit_vcr",
    "load_connector",
    "load_rig",
    "register_normalizer",
    "register_suite",
    "replaying",
    "scan_files",
]
