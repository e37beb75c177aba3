"""Certification: checks and verdicts, the plan, suite discovery, the run and its reports.

The built-in suites live in :mod:`.suites` and, like a contributor's, are found through the
``connector_kit.suites`` entry points (see :mod:`.registry`).
"""

from .checks import (
    STATUSES,
    Check,
    CheckFailed,
    CheckNotRun,
    CheckResult,
    CheckSkipped,
    Status,
    describe_error,
    error_check,
    not_run,
)
from .declaration import Declaration, DeclarationError
from .framework import CertificationReport, certify
from .plan import AGENT_SUITES, CODE_SUITES, Plan, is_code_connector, make_plan, plan_checks, run_checks
from .registry import (
    ENTRY_POINT_GROUP,
    SuiteBuilder,
    SuitePluginError,
    find_suite,
    register_suite,
    suite_names,
)

__all__ = [
    "AGENT_SUITES",
    "CODE_SUITES",
    "ENTRY_POINT_GROUP",
    "STATUSES",
    "CertificationReport",
    "Check",
    "CheckFailed",
    "CheckNotRun",
    "CheckResult",
    "CheckSkipped",
    "Declaration",
    "DeclarationError",
    "Plan",
    "Status",
    "SuiteBuilder",
    "SuitePluginError",
    "certify",
    "describe_error",
    "error_check",
    "find_suite",
    "is_code_connector",
    "make_plan",
    "not_run",
    "plan_checks",
    "register_suite",
    "run_checks",
    "suite_names",
]
