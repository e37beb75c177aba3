"""Upgrade diffs: replay the same recordings through two connector versions and compare.

The control and the target each run every recorded scenario offline. Each is answered
*positionally* -- its n-th request gets the n-th recorded response -- so a target whose
requests changed still receives the recorded traffic and its differences can be shown,
instead of stopping at the first unmatched request. Requests are compared with the
connector's volatile fields masked; outcomes field by field (text, session id, tool trace,
error type and status).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.base import BaseConnector
from ..jsondiff import Difference, diff
from ..kit import ConnectorTestKit
from ..recording.cassettes import Cassette
from ..recording.episode import REPLAY_KEY, run_connector
from ..recording.interception import KitHooks, OfflineError, kit_vcr, offline
from ..recording.normalize import Normalizer
from ..recording.outcome import Outcome
from ..recording.replay import MatchKey, vcr_key
from ..recording.targets import class_path, load_connector
from ..recording.wire import replaying


class _Positional:
    """A vcrpy matcher answering the n-th request with the n-th recorded interaction.

    It matches only the first interaction not played yet, whatever the request says, and
    remembers the request it matched there -- what the connector sent as its n-th request.
    """

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.cassette: Any = None
        self.by_index: dict[int, MatchKey] = {}

    def match(self, live: Any, recorded: Any) -> None:
        requests = self.cassette.requests
        index = next(i for i, r in enumerate(requests) if r is recorded)
        first_unplayed = next((i for i in range(len(requests)) if not self.cassette.play_counts[i]),
                              None)
        if index != first_unplayed:
            raise AssertionError("positional replay answers the first unplayed interaction")
        self.by_index[index] = vcr_key(self.normalizer, live)

    def sent(self) -> list[MatchKey]:
        return [self.by_index[i] for i in sorted(self.by_index) if self.cassette.play_counts[i]]


@dataclass
class Run:
    outcome: Outcome | None
    requests: list[MatchKey]
    error: str | None = None


@dataclass
class ScenarioDiff:
    scenario: str
    request_differences: list[tuple[int, list[Difference]]] = field(default_factory=list)
    request_count: tuple[int, int] = (0, 0)
    outcome_differences: list[Difference] = field(default_factory=list)
    message_change: tuple[str | None, str | None] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.request_differences or self.outcome_differences or self.errors
                    or self.request_count[0] != self.request_count[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "changed": self.changed,
            "requests": {"control": self.request_count[0], "target": self.request_count[1],
                         "differences": {str(i + 1): [str(d) for d in ds]
                                         for i, ds in self.request_differences}},
            "outcome_differences": [str(d) for d in self.outcome_differences],
            "error_message_change": list(self.message_change) if self.message_change else None,
            "errors": self.errors,
        }


@dataclass
class DiffReport:
    control: str
    target: str
    cassettes: str
    strict: bool
    scenarios: list[ScenarioDiff]

    @property
    def changed(self) -> list[ScenarioDiff]:
        return [s for s in self.scenarios if s.changed]

    @property
    def ok(self) -> bool:
        """Strict mode fails on any difference; diagnostic mode only reports. Comparing
        nothing (no recordings) is never a pass."""
        return bool(self.scenarios) and not (self.strict and self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "target": self.target, "cassettes": self.cassettes,
                "strict": self.strict, "ok": self.ok, "changed": len(self.changed),
                "scenarios": [s.to_dict() for s in self.scenarios]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        mode = "strict" if self.strict else "diagnostic"
        lines = [f"# Connector diff ({mode})", "",
                 f"- control: `{self.control}`", f"- target: `{self.target}`",
                 f"- recordings: `{self.cassettes}` ({len(self.scenarios)} scenarios)",
                 f"- changed: {len(self.changed)}", "",
                 "| scenario | requests (control/target) | request diffs | outcome diffs |",
                 "|---|---|---:|---:|"]
        for s in self.scenarios:
            lines.append(f"| {s.scenario} | {s.request_count[0]}/{s.request_count[1]} | "
                         f"{sum(len(d) for _, d in s.request_differences)} | "
                         f"{len(s.outcome_differences)} |")
        for s in self.changed:
            lines += ["", f"## {s.scenario}", ""]
            for index, differences in s.request_differences:
                lines.append(f"- request #{index + 1}:")
                lines += [f"  - `{d}`" for d in differences]
            lines += [f"- outcome `{d}`" for d in s.outcome_differences]
            if s.message_change:
                lines.append(f"- error message: `{s.message_change[0]}` -> `{s.message_change[1]}`")
            lines += [f"- error: {e}" for e in s.errors]
        return "\n".join(lines) + "\n"


def _run(kit: ConnectorTestKit, cassette: Cassette, cls: type[BaseConnector]) -> Run:
    from vcr.errors import CannotOverwriteExistingCassetteException

    assert cassette.path is not None
    positional = _Positional(kit.normalizer)
    engine = kit_vcr(KitHooks(kit.normalizer, [REPLAY_KEY]), record_mode="none",
                     match_on=("ck_positional",), replay_only=True)
    engine.register_matcher("ck_positional", positional.match)
    connector = kit.replay_connector(cassette, cls)
    section = cassette.scenario
    try:
        with offline(), engine.use_cassette(str(cassette.path)) as played, replaying(
                cassette.metadata):
            positional.cassette = played
            try:
                outcome, _ = run_connector(connector, section.get("messages") or [],
                                           str(section.get("session_id") or "ck-diff"),
                                           fake_clock=True, steps=section.get("steps"))
            except CannotOverwriteExistingCassetteException as exc:
                key = vcr_key(kit.normalizer, exc.failed_request)
                sent = positional.sent()
                return Run(None, [*sent, key],
                           f"ReplayMismatchError: request #{len(sent) + 1} ({key.method} {key.path}) "
                           f"has no recorded counterpart: the recording holds {len(played)} "
                           "request(s).")
    except OfflineError as exc:
        return Run(None, positional.sent(), f"{type(exc).__name__}: {exc}")
    finally:
        connector.close()
    return Run(outcome, positional.sent())


def diff_connectors(control: str | type[BaseConnector], target: str | type[BaseConnector],
                    cassettes: Path, *, strict: bool = True) -> DiffReport:
    """Replay every recording in ``cassettes`` through both versions; report the differences."""
    control_cls, target_cls = load_connector(control), load_connector(target)
    kit = ConnectorTestKit(control_cls, cassettes)
    results = []
    for name in kit.recorded_names():
        cassette = kit.load(name)
        a, b = _run(kit, cassette, control_cls), _run(kit, cassette, target_cls)
        entry = ScenarioDiff(name, request_count=(len(a.requests), len(b.requests)))
        for index in range(min(len(a.requests), len(b.requests))):
            differences = diff(a.requests[index].as_dict(), b.requests[index].as_dict())
            if differences:
                entry.request_differences.append((index, differences))
        if a.error or b.error:
            entry.errors += [f"{who}: {err}" for who, err in (("control", a.error), ("target", b.error))
                             if err]
        if a.outcome is not None and b.outcome is not None:
            entry.outcome_differences = kit.compare(a.outcome, b.outcome)
            if a.outcome.error_message != b.outcome.error_message:
                entry.message_change = (a.outcome.error_message, b.outcome.error_message)
        results.append(entry)
    return DiffReport(
        control=control if isinstance(control, str) else class_path(control_cls),
        target=target if isinstance(target, str) else class_path(target_cls),
        cassettes=str(cassettes), strict=strict, scenarios=results,
    )
