"""The version matrix: record the scenario catalogue against several server releases and
compare each with the committed cassettes, so a maintainer sees what an upgrade changes.

Per scenario and version the verdict is one of:

- ``same``: nothing differs once volatile values are masked;
- ``changed``: the wire changed (status, a header that matters, a body value) but what the
  connector hands its users did not;
- ``broken``: the connector's outcome changed (text, session id, tool trace, error), or the
  certification of the scenario did -- its expected outcome was not met, or the fresh
  recording does not replay offline -- or the rig could not run that version at all.

Written as ``matrix.json`` (shape below), ``matrix.md`` and ``matrix.html`` (one file, no
scripts or outside resources)::

    {"framework": ..., "baseline": "<committed server version>", "versions": [...],
     "scenarios": {"<scenario>": {"<version>": {"verdict": ..., "differences": [...]}}}}
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...connectors.exceptions import ConnectorKitError
from ..kit import ConnectorTestKit
from ..rig import Rig, load_rig, rig_metadata
from .drift import DriftReport, drift_report, recorded_server_versions

VERDICTS = ("same", "changed", "broken")


@dataclass
class Cell:
    verdict: str
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "differences": self.differences}


@dataclass
class VersionRun:
    """One release recorded: where its cassettes are and what the rig reported."""

    version: str
    fresh: Path
    installed: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    unmet: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Matrix:
    framework: str
    baseline: str
    versions: list[str]
    scenarios: dict[str, dict[str, Cell]]
    runs: dict[str, VersionRun] = field(default_factory=dict)
    committed: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework, "baseline": self.baseline, "versions": self.versions,
            "scenarios": {name: {v: cell.to_dict() for v, cell in row.items()}
                          for name, row in self.scenarios.items()},
            "committed": self.committed,
            "runs": {v: {"installed": r.installed, "error": r.error,
                         "seconds": round(r.seconds, 1)} for v, r in self.runs.items()},
        }

    def counts(self, version: str) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for row in self.scenarios.values():
            if version in row:
                counts[row[version].verdict] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0: nothing broken; 1: something broke; 2: nothing was compared."""
        if not self.scenarios:
            return 2
        broken = any(c.verdict == "broken" for row in self.scenarios.values() for c in row.values())
        return 1 if broken else 0

    def to_markdown(self) -> str:
        lines = [f"# {self.framework} version matrix", "",
                 f"Baseline (committed cassettes `{self.committed}`): **{self.baseline}**. "
                 "Each column is a release recorded live by the rig and compared with the "
                 "baseline: `same`, `changed` (the wire changed, the connector's outcome did "
                 "not), `broken` (the outcome or the certification changed).", "",
                 "| scenario | " + " | ".join(self.versions) + " |",
                 "|---|" + "---|" * len(self.versions)]
        for name, row in self.scenarios.items():
            lines.append(f"| {name} | " + " | ".join(
                _md_verdict(row.get(v)) for v in self.versions) + " |")
        lines += ["", "| release | same | changed | broken | installed | seconds |",
                  "|---|---:|---:|---:|---|---:|"]
        for version in self.versions:
            run = self.runs.get(version)
            counts = self.counts(version)
            installed = ", ".join(f"{k} {v}" for k, v in sorted((run.installed if run else {})
                                                                 .items()))
            lines.append(f"| {version} | {counts['same']} | {counts['changed']} | "
                         f"{counts['broken']} | {installed or '-'} | "
                         f"{run.seconds:.0f} |" if run else f"| {version} | - | - | - | - | - |")
        for version in self.versions:
            lines += ["", f"## {version}", ""]
            run = self.runs.get(version)
            if run and run.error:
                lines += [f"The rig failed: {run.error}", ""]
            any_shown = False
            for name, row in self.scenarios.items():
                cell = row.get(version)
                if cell is None or not cell.differences:
                    continue
                any_shown = True
                lines.append(f"- **{name}** ({cell.verdict})")
                lines += [f"  - {_md(d)}" for d in cell.differences]
            if not any_shown:
                lines.append("No differences from the baseline.")
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(v)}</th>" for v in self.versions)
        rows = []
        for name, row in self.scenarios.items():
            cells = []
            for version in self.versions:
                cell = row.get(version)
                if cell is None:
                    cells.append("<td class='none'>-</td>")
                    continue
                detail = "".join(f"<li>{esc(d)}</li>" for d in cell.differences)
                body = (f"<details><summary>{cell.verdict}</summary><ul>{detail}</ul></details>"
                        if detail else cell.verdict)
                cells.append(f"<td class='{cell.verdict}'>{body}</td>")
            rows.append(f"<tr><th scope='row'>{esc(name)}</th>{''.join(cells)}</tr>")
        return _HTML.format(
            title=esc(f"{self.framework} version matrix"), baseline=esc(self.baseline),
            committed=esc(self.committed), head=head, rows="\n".join(rows))

    def write(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in (("matrix.json", json.dumps(self.to_dict(), indent=2,
                                                      ensure_ascii=False)),
                           ("matrix.md", self.to_markdown()), ("matrix.html", self.to_html())):
            (out / name).write_text(text, encoding="utf-8")
            written.append(out / name)
        return written


def run_matrix(framework: str, versions: list[str], out: Path, *,
               committed: Path, live_dir: Path | None = None,
               connector: str | None = None, scenarios: list[str] | None = None,
               server_env: dict[str, str] | None = None) -> Matrix:
    """Record ``scenarios`` (default: the whole catalogue) on each release; compare.

    ``server_env`` is extra environment for the servers (e.g. a fake's drift switch). Each
    release's rig keeps its state under ``out/<version>/rig``.
    """
    if not versions:
        raise ConnectorKitError("--versions names no release: give e.g. --versions 0.15.0,0.16.7")
    kit = ConnectorTestKit(connector or framework, committed)
    chosen = kit.catalogue.select(scenarios)
    base_rig = load_rig(framework, live_dir)
    runs: dict[str, VersionRun] = {}
    reports: dict[str, DriftReport] = {}
    for version in versions:
        # Its own state folder: a rig of that version already running (a test session's,
        # a maintainer's `rig up`) is neither reused nor stopped by the matrix.
        rig = base_rig.for_version(version).variant(out / version / "rig", server_env or {})
        run = _record(rig, kit, [s.name for s in chosen], out / version / "cassettes")
        runs[version] = run
        if run.error is None:
            reports[version] = drift_report(committed, run.fresh, connector=connector)
    matrix = Matrix(framework, _baseline(committed, base_rig), list(versions), {}, runs,
                    str(committed))
    for scenario in chosen:
        row = matrix.scenarios.setdefault(scenario.name, {})
        for version in versions:
            row[version] = _verdict(scenario.name, runs[version], reports.get(version), kit)
    return matrix


def _record(rig: Rig, kit: ConnectorTestKit, names: list[str], fresh: Path) -> VersionRun:
    run = VersionRun(rig.version or "?", fresh)
    started = time.monotonic()
    try:
        handle = rig.start()
    except ConnectorKitError as exc:
        run.error = f"{type(exc).__name__}: {str(exc)[:500]}"
        run.seconds = time.monotonic() - started
        return run
    try:
        run.installed = dict(handle.versions)
        metadata = rig_metadata(rig, handle)
        for name in names:
            result = kit.record(name, url=handle.url, api_key=handle.api_key,
                                context=handle.extra, metadata=metadata, out_dir=fresh)
            if not result.expectation_met:
                got = result.outcome.error_type or "ok"
                run.unmet[name] = (f"expected {result.expected}, got {got}: "
                                   f"{(result.outcome.error_message or '')[:200]}").rstrip(": ")
    except ConnectorKitError as exc:
        run.error = f"{type(exc).__name__}: {str(exc)[:500]}"
    finally:
        rig.stop()
        run.seconds = time.monotonic() - started
    return run


def _verdict(name: str, run: VersionRun, report: DriftReport | None,
             kit: ConnectorTestKit) -> Cell:
    if run.error is not None or report is None:
        return Cell("broken", [f"rig: {run.error}"])
    if name not in report.compared:
        return Cell("broken", ["not recorded on this release"])
    # an informational note (a stream's producers interleaved differently) is no change
    findings = [f for f in report.per_scenario.get(name, []) if not f.informational]
    differences = [f"[{f.layer}] {f.describe()}" for f in findings]
    broken = [f"certification: {run.unmet[name]}"] if name in run.unmet else []
    replayed = ConnectorTestKit(kit.connector_class, run.fresh,
                                framework=kit.framework).replay(name)
    if not replayed.reproduced:
        broken.append(f"certification: the fresh recording does not replay: "
                      f"{replayed.explain()[:300]}")
    if broken or any(f.layer == "outcome" for f in findings):
        return Cell("broken", broken + differences)
    return Cell("changed" if findings else "same", differences)


def _baseline(committed: Path, rig: Rig) -> str:
    seen = recorded_server_versions(committed).get(rig.version_package, [])
    return "/".join(seen) if seen else "unknown (recordings name no server version)"


def _md_verdict(cell: Cell | None) -> str:
    if cell is None:
        return "-"
    return {"same": "same", "changed": "**changed**", "broken": "**BROKEN**"}[cell.verdict]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
td.same {{ background: #e6f4ea; }} td.changed {{ background: #fff4ce; }}
td.broken {{ background: #fde2e1; font-weight: bold; }} td.none {{ color: #999; }}
details ul {{ font-weight: normal; margin: 4px 0 0 0; padding-left: 1.2em; max-width: 60em; }}
summary {{ cursor: pointer; }}
</style></head><body>
<h1>{title}</h1>
<p>Baseline: the committed cassettes (<code>{committed}</code>), recorded on <b>{baseline}</b>.
<b>same</b>: no difference once volatile values are masked; <b>changed</b>: the wire changed,
the connector's outcome did not; <b>broken</b>: the outcome or the certification changed.
Open a cell to see its differences.</p>
<table><thead><tr><th>scenario</th>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
