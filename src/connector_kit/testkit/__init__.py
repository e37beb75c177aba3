"""The ConnectorTestKit: record real traffic, replay it offline, certify, diff, fuzz, fault-inject.

``connector_kit.testkit.certify`` is the certification package (its ``certify()`` function is
``connector_kit.testkit.certify.certify``, or ``ConnectorTestKit.certify()``).

Hypothesis-based fuzzing (:mod:`connector_kit.testkit.fuzz`) and the benchmarks
(:mod:`connector_kit.testkit.bench`) are imported from their own modules: they pull in
Hypothesis and matplotlib, which nothing else here needs.
"""

from .certify import (
    CertificationReport,
    Check,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    Plan,
    register_suite,
)
from .diff import DiffReport, DriftReport, diff_connectors, drift_report
from .faults import FaultServer, Reply, json_reply
from .kit import ConnectorTestKit, ReplayResult
from .recording import (
    Cassette,
    CassetteError,
    Catalogue,
    ConnectorRaisedError,
    Interaction,
    KitHooks,
    KitPersister,
    Normalizer,
    OfflineError,
    Outcome,
    RecordResult,
    ReplayError,
    ReplayMismatchError,
    Scenario,
    ScenarioError,
    SecretLeakError,
    StaleCassetteError,
    TargetError,
    kit_vcr,
    load_connector,
    register_normalizer,
    replaying,
    scan_files,
)
from .rig import Rig, RigError, RigHandle, load_rig

__all__ = [
    "Cassette",
    "CassetteError",
    "Catalogue",
    "CertificationReport",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "ConnectorRaisedError",
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
