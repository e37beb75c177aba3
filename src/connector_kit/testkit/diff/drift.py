"""Drift: compare fresh recordings with the committed ones, value by value, after masking.

What a user of a connector gets from a server is its values, not only its shape, so every
scenario is compared at four levels, each after the connector's own :class:`Normalizer`
has masked what changes every run (ids, timestamps, ports):

- the requests made (aligned by method and masked path, so one extra request is reported
  as one finding instead of shifting every later comparison);
- each response's status and the headers a client acts on (content type and encoding,
  authentication challenges);
- each response body, every list item included; a stream is split into its events by the
  connectors' own parsers and compared producer by producer (:mod:`.streams`: each lane's
  order is kept, a different interleaving of concurrent producers is informational only);
- the connector-level outcome: text, session id, tool trace, error type, status and message.

A finding seen in several scenarios (a server-wide content-type change, say) is reported
once, with the scenarios it affects. Each says where it is (request and JSON path), what
it was and what it is now. ``wire`` findings are changes in what the server sent;
``outcome`` findings change what the connector's parsed result says. A wire-only change
still reaches users who keep the raw response (``AgentBlock``'s output column is that body,
so a changed token usage lands in their frame): wire findings are drift too.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.exceptions import ConnectorKitError
from ..jsondiff import diff
from ..recording.cassettes import Cassette, Interaction
from ..recording.interception import RECORDED_ENCODING
from ..recording.normalize import Normalizer, normalizer_for
from ..recording.outcome import Outcome
from .findings import Finding, GroupedFinding, ValueChange, short, table_cell, value_changes
from .streams import StreamComparison, compare_event_names, compare_streams, stream_events

#: Response headers whose change alters what a client does with the body.
MATTERING_HEADERS = ("content-type", "content-encoding", "www-authenticate",
                     "proxy-authenticate")
#: At most this many differences per compared body (a rewritten body is one story, not 10k).
BODY_LIMIT = 200
#: YAML files in a cassette folder that are not cassettes.
_NOT_CASSETTES = frozenset({"scenarios.yaml", "certify.yaml"})


class DriftError(ConnectorKitError):
    """A drift comparison could not start (a folder is missing)."""


@dataclass
class DriftReport:
    """Everything one committed-vs-fresh comparison found."""

    committed: str
    fresh: str
    compared: list[str] = field(default_factory=list)
    only_committed: list[str] = field(default_factory=list)
    only_fresh: list[str] = field(default_factory=list)
    per_scenario: dict[str, list[Finding]] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def findings(self) -> list[GroupedFinding]:
        """Each distinct finding once, in first-seen order, with the scenarios it affects."""
        groups: dict[tuple[str, ...], GroupedFinding] = {}
        for scenario in self.compared:
            for finding in self.per_scenario.get(scenario, []):
                group = groups.setdefault(finding.key(), GroupedFinding(finding))
                if scenario not in group.scenarios:
                    group.scenarios.append(scenario)
        for scenario in self.only_fresh:
            finding = Finding("wire", "scenario", "", "added", after=scenario)
            groups.setdefault(finding.key(), GroupedFinding(finding, [scenario]))
        return list(groups.values())

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_scenarios) or bool(self.only_fresh)

    @property
    def drifted_scenarios(self) -> list[str]:
        return [name for name in self.compared
                if any(not f.informational for f in self.per_scenario.get(name, []))]

    @property
    def notes(self) -> list[GroupedFinding]:
        """The informational findings (a stream's producers interleaved differently)."""
        return [g for g in self.findings if g.finding.informational]

    @property
    def changes(self) -> list[ValueChange]:
        """The drift rolled up: each change (same was and now) once, with every place."""
        return value_changes(self.findings)

    @property
    def exit_code(self) -> int:
        """0: no drift; 1: drift; 2: nothing was compared (an empty verdict is no verdict)."""
        if not self.compared and not self.only_fresh:
            return 2
        return 1 if self.drifted else 0

    # -- rendering -----------------------------------------------------------------------
    def summary(self) -> str:
        if self.exit_code == 2:
            return (f"Nothing to compare: no scenario is recorded in both {self.committed} "
                    f"and {self.fresh}.")
        notes = f" ({len(self.notes)} informational note(s))" if self.notes else ""
        if not self.drifted:
            return (f"No drift: {len(self.compared)} scenario(s) in {self.fresh} match "
                    f"{self.committed} (status, headers, bodies, outcomes){notes}.")
        groups = [g for g in self.findings if not g.finding.informational]
        changes = len(self.changes)
        rolled = "" if changes == len(groups) else f": {changes} distinct change(s)"
        return (f"Drift: {len(groups)} finding(s) in {len(self.drifted_scenarios)} of "
                f"{len(self.compared)} scenario(s){rolled}{notes}.")

    def to_text(self) -> str:
        lines = [self.summary()]
        changes = self.changes
        if len(changes) < sum(len(c.places) for c in changes):  # some change is in several places
            lines.append("  Distinct changes:")
            lines += [f"  * {change.describe()}" for change in changes]
            lines.append("  Every finding:")
        for group in self.findings:
            layer = "note" if group.finding.informational else group.finding.layer
            lines.append(f"  - [{layer}] {group.finding.describe()}  "
                         f"(in {', '.join(group.scenarios)})")
        if self.only_committed:
            lines.append(f"  Not re-recorded (not compared): {', '.join(self.only_committed)}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        lines = ["# Drift report", "", f"Committed: `{self.committed}`  ", f"Fresh: `{self.fresh}`",
                 ""]
        for side in ("committed", "fresh"):
            if self.versions.get(side):
                shown = ", ".join(f"{k} {v}" for k, v in sorted(self.versions[side].items()))
                lines.append(f"- {side} server versions: {shown}")
        lines += ["", self.summary(), ""]
        if self.findings:
            lines += ["| layer | where | path | was | now | scenarios |",
                      "|---|---|---|---|---|---|"]
            for group in self.findings:
                f = group.finding
                lines.append("| " + " | ".join(table_cell(x) for x in (
                    f.layer, f.where, f.path or "-",
                    "(absent)" if f.change == "added" else short(f.before),
                    "(absent)" if f.change == "removed" else short(f.after),
                    ", ".join(group.scenarios))) + " |")
        changes = self.changes
        if len(changes) < sum(len(c.places) for c in changes):
            lines += ["", "## Distinct changes", "", "| change | was | now | places | scenarios |",
                      "|---|---|---|---|---|"]
            lines += ["| " + " | ".join(table_cell(x) for x in (
                c.change, "(absent)" if c.change == "added" else short(c.before),
                "(absent)" if c.change == "removed" else short(c.after), str(len(c.places)),
                ", ".join(c.scenarios))) + " |" for c in changes]
        if self.only_committed:
            lines += ["", f"Not re-recorded (not compared): {', '.join(self.only_committed)}"]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "committed": self.committed, "fresh": self.fresh, "drifted": self.drifted,
            "exit_code": self.exit_code, "versions": self.versions,
            "compared": self.compared, "only_committed": self.only_committed,
            "only_fresh": self.only_fresh,
            "findings": [g.to_dict() for g in self.findings],
            "changes": [c.to_dict() for c in self.changes],
            "scenarios": {name: [f.describe() for f in self.per_scenario.get(name, [])]
                          for name in self.compared},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)


# -- comparison ---------------------------------------------------------------------------

def compare_cassettes(committed: Cassette, fresh: Cassette,
                      normalizer: Normalizer) -> list[Finding]:
    """Every difference between two recordings of one scenario, volatile values masked."""
    findings: list[Finding] = []
    old, new = committed.interactions, fresh.interactions
    old_keys = [_request_label(i, normalizer) for i in old]
    new_keys = [_request_label(i, normalizer) for i in new]
    matcher = difflib.SequenceMatcher(a=old_keys, b=new_keys, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a2 - a1 == b2 - b1):
            for a, b in zip(range(a1, a2), range(b1, b2), strict=True):
                findings += _compare_interaction(old[a], new[b], old_keys[a], new_keys[b],
                                                 normalizer)
            continue
        for a in range(a1, a2):
            findings.append(Finding("wire", old_keys[a], "request", "removed",
                                    before=f"#{a + 1} of {len(old)}"))
        for b in range(b1, b2):
            findings.append(Finding("wire", new_keys[b], "request", "added",
                                    after=f"#{b + 1} of {len(new)}"))
    findings += _compare_outcomes(committed.outcome, fresh.outcome, normalizer)
    return findings


def _request_label(interaction: Interaction, normalizer: Normalizer) -> str:
    path = normalizer.mask_text(interaction.request.path)
    return f"{interaction.request.method} {path}"


def _compare_interaction(a: Interaction, b: Interaction, where_a: str, where_b: str,
                         normalizer: Normalizer) -> list[Finding]:
    out: list[Finding] = []
    if where_a != where_b:
        out.append(Finding("wire", where_b, "request", "changed", where_a, where_b))
    if a.response.status != b.response.status:
        out.append(Finding("wire", where_b, "status", "changed", a.response.status,
                           b.response.status))
    for name in MATTERING_HEADERS:
        before, after = _header(a.response.headers, name), _header(b.response.headers, name)
        if name == "content-encoding":  # stored decoded: the sent encoding is noted aside
            before = before or _header(a.response.headers, RECORDED_ENCODING)
            after = after or _header(b.response.headers, RECORDED_ENCODING)
        if before != after:
            change = "added" if before is None else "removed" if after is None else "changed"
            out.append(Finding("wire", where_b, f"headers.{name}", change, before, after))
    events_a, events_b = stream_events(a.response.body), stream_events(b.response.body)
    if events_a is not None and events_b is not None:
        return out + _findings("wire", where_b, "body",
                               compare_streams(events_a, events_b, normalizer))
    body_a, body_b = _decoded(a.response.body), _decoded(b.response.body)
    for d in diff(normalizer.mask(body_a), normalizer.mask(body_b), "body", limit=BODY_LIMIT):
        out.append(Finding("wire", where_b, d.path, d.kind, d.before, d.after))
    return out


def _findings(layer: str, where: str, path: str, compared: StreamComparison) -> list[Finding]:
    out = [Finding(layer, where, d.path, d.kind, d.before, d.after)
           for d in compared.differences]
    if compared.interleaving is not None:
        before, after = compared.interleaving
        out.append(Finding(layer, where, path, "interleaved", before, after, informational=True))
    return out


def _compare_outcomes(before: Outcome | None, after: Outcome | None,
                      normalizer: Normalizer) -> list[Finding]:
    if before is None and after is None:
        return []
    if before is None or after is None:
        return [Finding("outcome", "outcome", "", "added" if before is None else "removed",
                        before.to_dict() if before else None, after.to_dict() if after else None)]
    a = normalizer.mask({**before.compared_fields(), "error_message": before.error_message})
    b = normalizer.mask({**after.compared_fields(), "error_message": after.error_message})
    events = compare_event_names(a.pop("events"), b.pop("events"), normalizer)
    return [*(Finding("outcome", "outcome", d.path, d.kind, d.before, d.after)
              for d in diff(a, b, "", limit=BODY_LIMIT)),
            *_findings("outcome", "outcome", "events", events)]


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    values = [v for k, vs in headers.items() if k.lower() == name for v in vs]
    return ", ".join(values) if values else None


def _decoded(text: str) -> Any:
    """A body that is not a stream, as data: JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- folders ------------------------------------------------------------------------------

def cassette_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml")
                  if p.name not in _NOT_CASSETTES and not p.name.startswith("."))


def drift_report(committed_dir: Path, fresh_dir: Path, *,
                 connector: str | type[Any] | None = None) -> DriftReport:
    """Compare every cassette in ``fresh_dir`` with its namesake in ``committed_dir``.

    The normaliser is the connector's (``connector``, else the class named in the fresh
    cassette's metadata, else its framework's rule list).
    """
    for folder in (committed_dir, fresh_dir):
        if not folder.is_dir():
            raise DriftError(f"{folder} is not a folder of cassettes. Pass two cassette folders: "
                             "connector-kit drift COMMITTED FRESH.")
    old, new = set(cassette_names(committed_dir)), set(cassette_names(fresh_dir))
    report = DriftReport(str(committed_dir), str(fresh_dir), compared=sorted(old & new),
                         only_committed=sorted(old - new), only_fresh=sorted(new - old))
    for name in report.compared:
        committed = Cassette.load(committed_dir / f"{name}.yaml")
        fresh = Cassette.load(fresh_dir / f"{name}.yaml")
        normalizer = _normalizer(fresh, connector)
        report.per_scenario[name] = compare_cassettes(committed, fresh, normalizer)
        for side, cassette in (("committed", committed), ("fresh", fresh)):
            report.versions.setdefault(side, {}).update(server_versions(cassette))
    return report


def server_versions(cassette: Cassette) -> dict[str, str]:
    """The server versions a cassette was recorded against (``{}`` when not recorded)."""
    raw = cassette.metadata.get("server_versions")
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def recorded_server_versions(folder: Path) -> dict[str, list[str]]:
    """Per server package, the distinct versions the folder's cassettes were recorded on.

    A cassette that cannot be read is left out here: the checks that use it report it.
    """
    seen: dict[str, set[str]] = {}
    for name in cassette_names(folder) if folder.is_dir() else []:
        try:
            cassette = Cassette.load(folder / f"{name}.yaml")
        except ConnectorKitError:
            continue
        for package, version in server_versions(cassette).items():
            seen.setdefault(package, set()).add(version)
    return {package: sorted(versions) for package, versions in sorted(seen.items())}


def describe_versions(versions: dict[str, list[str]]) -> str:
    """``langgraph-api 0.16.7, langgraph 1.2.22`` (or ``not recorded``)."""
    if not versions:
        return "not recorded"
    return ", ".join(f"{package} {'/'.join(found)}" for package, found in versions.items())


_NORMALIZERS: dict[str, Normalizer] = {}


def _normalizer(cassette: Cassette, connector: str | type[Any] | None) -> Normalizer:
    from ..recording.targets import load_connector

    framework = str(cassette.metadata.get("framework") or cassette.scenario.get("framework")
                    or "")
    target = connector or cassette.metadata.get("connector_class")
    cache_key = f"{target}|{framework}"
    if cache_key not in _NORMALIZERS:
        cls = None
        if connector is not None:
            cls = load_connector(connector)  # asked for by name: a bad name is the user's to fix
        elif target:
            try:
                cls = load_connector(str(target))
            except ConnectorKitError:
                cls = None  # not importable here: the framework's rule list still applies
        _NORMALIZERS[cache_key] = normalizer_for(cls, framework or None)
    return _NORMALIZERS[cache_key]
