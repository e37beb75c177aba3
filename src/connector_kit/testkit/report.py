"""Certification reports: a terminal table, and Markdown, JSON and JUnit XML files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.table import Table

from .certify import CertificationReport
from .drift import describe_versions

_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "bypassed": "yellow",
          "skipped": "yellow"}


def render(reports: list[CertificationReport], console: Console | None = None) -> None:
    console = console or Console()
    for report in reports:
        table = Table(title=f"{report.target}  ({report.connector_class})", title_justify="left",
                      show_lines=False)
        table.add_column("check")
        table.add_column("status")
        table.add_column("ms", justify="right")
        table.add_column("detail", overflow="fold")
        for result in report.results:
            detail = result.detail.split("\n", 3)
            table.add_row(result.id, f"[{_STYLE[result.status]}]{result.status}[/]",
                          f"{result.duration_ms:.0f}", "\n".join(detail[:3]))
        console.print(table)
        counts = report.counts()
        verdict = "[green]CERTIFIED[/]" if report.ok else "[bold red]NOT CERTIFIED[/]"
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        mode = " (strict)" if report.strict else ""
        console.print(f"{verdict}{mode}: {summary} in {report.duration_ms / 1000:.1f} s")
        if report.cassettes:
            console.print(f"Recordings from server versions: "
                          f"{describe_versions(report.server_versions)}", highlight=False)
        console.print()


def to_markdown(reports: list[CertificationReport]) -> str:
    lines = ["# Certification report", ""]
    for report in reports:
        verdict = "certified" if report.ok else "NOT certified"
        lines += [f"## {report.target}: {verdict}", "",
                  f"Connector `{report.connector_class}`, cassettes `{report.cassettes or '-'}`, "
                  f"strict: {report.strict}, {report.duration_ms / 1000:.1f} s.", "",
                  *([f"Recordings from server versions: "
                     f"{describe_versions(report.server_versions)}.", ""]
                    if report.cassettes else []),
                  "| check | status | ms | detail |", "|---|---|---:|---|"]
        for r in report.results:
            detail = r.detail.split("\n", 1)[0].replace("|", "\\|")
            lines.append(f"| `{r.id}` | {r.status} | {r.duration_ms:.0f} | {detail} |")
        failures = [r for r in report.results if r.status in ("failed", "error")]
        for r in failures:
            lines += ["", f"### `{r.id}` {r.status}", "", "```", r.detail, "```"]
        lines.append("")
    return "\n".join(lines)


def to_json(reports: list[CertificationReport]) -> str:
    return json.dumps({"ok": all(r.ok for r in reports), "reports": [r.to_dict() for r in reports]},
                      indent=2, default=str)


def to_junit(reports: list[CertificationReport]) -> str:
    suites = ET.Element("testsuites", name="connector-kit certification")
    for report in reports:
        counts = report.counts()
        suite = ET.SubElement(
            suites, "testsuite", name=report.target, tests=str(len(report.results)),
            failures=str(counts["failed"]), errors=str(counts["error"]),
            skipped=str(counts["skipped"] + counts["bypassed"]),
            time=f"{report.duration_ms / 1000:.3f}",
        )
        for r in report.results:
            case = ET.SubElement(suite, "testcase", classname=f"{report.target}.{r.suite}",
                                 name=r.name, time=f"{r.duration_ms / 1000:.3f}")
            text = _xml_safe(r.detail)
            if r.status == "failed":
                ET.SubElement(case, "failure", message=text.split("\n", 1)[0][:200]).text = text
            elif r.status == "error":
                ET.SubElement(case, "error", message=text.split("\n", 1)[0][:200]).text = text
            elif r.status in ("skipped", "bypassed"):
                ET.SubElement(case, "skipped", message=f"{r.status}: {text[:200]}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def write_reports(reports: list[CertificationReport], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("certification.md", to_markdown(reports)),
                       ("certification.json", to_json(reports)),
                       ("certification.junit.xml", to_junit(reports))):
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _XML_BAD.sub("?", text)
