"""Drift: re-record against a live server and compare structure with the committed cassettes.

Values change between runs (that is what normalisation absorbs); structure should not. A
drift report lists, per scenario, status changes, keys added or removed and types changed
in each response body, a different number of requests, and outcome changes (ok vs error,
error type). Cassettes silently going stale is the failure mode this exists to catch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cassettes import Cassette
from .jsondiff import diff, shape


@dataclass
class ScenarioDrift:
    scenario: str
    findings: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.findings)


@dataclass
class DriftReport:
    committed: str
    fresh: str
    scenarios: list[ScenarioDrift]

    @property
    def drifted(self) -> list[ScenarioDrift]:
        return [s for s in self.scenarios if s.drifted]

    def to_text(self) -> str:
        if not self.drifted:
            return f"No drift: {len(self.scenarios)} scenario(s) match {self.committed} structurally."
        lines = [f"Drift in {len(self.drifted)} of {len(self.scenarios)} scenario(s):"]
        for entry in self.drifted:
            lines.append(f"  {entry.scenario}:")
            lines += [f"    - {finding}" for finding in entry.findings]
        return "\n".join(lines)


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def compare_cassettes(committed: Cassette, fresh: Cassette) -> list[str]:
    findings: list[str] = []
    old, new = committed.interactions, fresh.interactions
    if len(old) != len(new):
        findings.append(f"requests: {len(old)} recorded, {len(new)} now")
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        where = f"#{index + 1} {b.request.method} {b.request.path}"
        if a.response.status != b.response.status:
            findings.append(f"{where}: status {a.response.status} -> {b.response.status}")
        for difference in diff(shape(_body(a.response.body)), shape(_body(b.response.body)),
                               "body", limit=10):
            findings.append(f"{where}: {difference}")
    if committed.outcome and fresh.outcome:
        before, after = committed.outcome, fresh.outcome
        if (before.ok, before.error_type) != (after.ok, after.error_type):
            findings.append(f"outcome: {before.error_type or 'ok'} -> {after.error_type or 'ok'}")
        for name in ("text", "session_id", "tool_trace"):
            if (getattr(before, name) is None) != (getattr(after, name) is None):
                findings.append(f"outcome.{name}: present {getattr(before, name) is not None} -> "
                                f"{getattr(after, name) is not None}")
    return findings


def drift_report(committed_dir: Path, fresh_dir: Path) -> DriftReport:
    """Compare every cassette recorded in ``fresh_dir`` with its committed counterpart."""
    entries = []
    for path in sorted(fresh_dir.glob("*.yaml")):
        if path.name == "scenarios.yaml":
            continue
        committed_path = committed_dir / path.name
        if not committed_path.exists():
            entries.append(ScenarioDrift(path.stem, ["new scenario: no committed cassette"]))
            continue
        entries.append(ScenarioDrift(path.stem, compare_cassettes(Cassette.load(committed_path),
                                                                  Cassette.load(path))))
    return DriftReport(str(committed_dir), str(fresh_dir), entries)
