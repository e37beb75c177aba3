"""Certification: run a connector's declared suites and report every check's verdict.

Suites for an agent connector: ``contract`` (registration, config validation, headers and
auth, build_request vs the recordings), ``replay`` (every scenario reproduces its recorded
outcome), ``fuzz``, ``faults``, ``operations`` and ``timing`` (replay overhead within a
budget). A code-interpreter connector gets ``contract``, ``sandbox`` and ``timing``. Each
suite lives in its own module and is found by entry point (:mod:`.registry`); a folder may
choose its suites in ``certify.yaml`` (:mod:`.declaration`).

Every check can fail: ``tests/test_certify_catches.py`` holds a known-bad connector for each.

A verdict means work was done (:mod:`.checks`): a check that exercised nothing -- no
cassette, no matched request, zero examples, an unknown suite -- is "not run", never
"passed". A strict report (the default) is certified only when every check passed or was
bypassed with a written reason. A lenient report (``strict=False``) is ``ok`` despite checks
that did not run, but its verdict says it is not a certification (:attr:`CertificationReport.certified`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.base import BaseConnector
from ..diff.drift import recorded_server_versions
from ..kit import ConnectorTestKit
from ..recording.targets import class_path
from .checks import STATUSES, CheckResult, elapsed_ms
from .plan import make_plan, plan_checks, run_checks

#: The verdict of a lenient run that passed with checks not run: exit 0, but no certification.
LENIENT_PASS = "PASSED (lenient, not a certification)"


@dataclass
class CertificationReport:
    target: str
    connector_class: str
    cassettes: str | None
    strict: bool
    results: list[CheckResult]
    duration_ms: float = 0.0
    #: Server versions the recordings came from: package -> the distinct versions seen.
    server_versions: dict[str, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {s: 0 for s in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def ok(self) -> bool:
        """Certified: something was checked and nothing failed; strict: every check ran."""
        bad: set[str] = {"failed", "error", "not run"} if self.strict else {"failed", "error"}
        ran = any(r.status == "passed" for r in self.results)
        return ran and not any(r.status in bad for r in self.results)

    @property
    def certified(self) -> bool:
        """A certification: :attr:`ok` and every check ran or was bypassed with a reason. A
        lenient run with checks that did not run can be ``ok`` (exit 0) but is not one."""
        return self.ok and not self.counts()["not run"]

    @property
    def verdict(self) -> str:
        """``CERTIFIED``, ``PASSED (lenient, not a certification)`` or ``NOT CERTIFIED``."""
        if self.certified:
            return "CERTIFIED"
        return LENIENT_PASS if self.ok else "NOT CERTIFIED"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "connector_class": self.connector_class,
            "cassettes": self.cassettes, "strict": self.strict, "ok": self.ok,
            "certified": self.certified, "verdict": self.verdict,
            "counts": self.counts(), "duration_ms": round(self.duration_ms, 1),
            "server_versions": self.server_versions,
            "checks": [{"id": r.id, "suite": r.suite, "name": r.name, "status": r.status,
                        "detail": r.detail, "duration_ms": round(r.duration_ms, 2),
                        "exercised": r.exercised, "figures": r.figures} for r in self.results],
        }


def certify(kit_or_target: ConnectorTestKit | str | type[BaseConnector],
            cassettes: Path | None = None, *, strict: bool = True,
            suites: list[str] | None = None, options: dict[str, Any] | None = None,
            target_name: str | None = None) -> CertificationReport:
    """Certify a connector: run every declared check and return the report."""
    started = time.perf_counter()
    plan = make_plan(kit_or_target, cassettes, options=options)
    results = run_checks(plan_checks(plan, suites))
    return CertificationReport(
        target=target_name or (kit_or_target if isinstance(kit_or_target, str)
                               else class_path(plan.connector_class)),
        connector_class=class_path(plan.connector_class),
        cassettes=str(plan.kit.cassettes) if plan.kit else None,
        strict=strict, results=results, duration_ms=elapsed_ms(started),
        server_versions=recorded_server_versions(plan.kit.cassettes) if plan.kit else {},
    )
