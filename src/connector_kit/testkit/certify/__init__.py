"""Certification: the framework (plans, checks, verdicts), its reports, and the suites."""

from .framework import (
    CertificationReport,
    Check,
    CheckFailed,
    CheckResult,
    CheckSkipped,
    DeclarationError,
    Plan,
    certify,
    register_suite,
    suite_names,
)

__all__ = [
    "CertificationReport",
    "Check",
    "CheckFailed",
    "CheckResult",
    "CheckSkipped",
    "DeclarationError",
    "Plan",
    "certify",
    "register_suite",
    "suite_names",
]
