"""Certification reports: a terminal table, and Markdown, JSON and JUnit XML files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..diff.drift import describe_versions
from .framework import CertificationReport

_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "bypassed": "yellow",
          "not run": "bold yellow"}


def render(reports: list[CertificationReport], console: Console | None = None) -> None:
    console = console or Console()
    for report in reports:
        table = Table(title=f"{report.target}  ({report.connector_class})", title_justify="left",
                      show_lines=False)
        table.add_column("check", no_wrap=True)  # ids stay whole: readers grep for them
        table.add_column("status", no_wrap=True)
        table.add_column("ms", justify="right")
        table.add_column("exercised")
        table.add_column("detail", overflow="fold")
        for result in report.results:
            detail = result.detail.split("\n", 3)
            table.add_row(escape(result.id), f"[{_STYLE[result.status]}]{result.status}[/]",
                          f"{result.duration_ms:.0f}", escape(result.work()),
                          escape("\n".join(detail[:3])))
        console.print(table)
        console.print(verdict_line(report, markup=True))
        if report.cassettes:
            console.print(f"Recordings from server versions: "
                          f"{describe_versions(report.server_versions)}", highlight=False)
        console.print()


def verdict_line(report: CertificationReport, *, markup: bool = False) -> str:
    """CERTIFIED / PASSED (lenient, not a certification) / NOT CERTIFIED with the counts, and
    why when nothing or not everything ran."""
    counts = report.counts()
    verdict = report.verdict
    if markup:
        colour = "green" if report.certified else "bold yellow" if report.ok else "bold red"
        verdict = f"[{colour}]{verdict}[/]"
    summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no checks"
    mode = " (strict)" if report.strict else "" if report.ok else " (lenient)"
    why = ""
    if not counts["passed"]:
        why = " -- nothing was checked"
    elif counts["not run"]:
        why = (f" -- {counts['not run']} check(s) did not run (bypass them with a reason in "
               "certify.yaml)" if report.strict else
               f" -- {counts['not run']} check(s) did not run; a strict run (the default) fails on them")
    return f"{verdict}{mode}: {summary} in {report.duration_ms / 1000:.1f} s{why}"


def to_markdown(reports: list[CertificationReport]) -> str:
    lines = ["# Certification report", ""]
    for report in reports:
        verdict = ("certified" if report.certified else
                   "passed (lenient, not a certification)" if report.ok else "NOT certified")
        lines += [f"## {report.target}: {verdict}", "",
                  f"Connector `{report.connector_class}`, cassettes `{report.cassettes or '-'}`, "
                  f"strict: {report.strict}, {report.duration_ms / 1000:.1f} s.", "",
                  verdict_line(report), "",
                  *([f"Recordings from server versions: "
                     f"{describe_versions(report.server_versions)}.", ""]
                    if report.cassettes else []),
                  "| check | status | ms | exercised | detail |", "|---|---|---:|---|---|"]
        for r in report.results:
            detail = r.detail.split("\n", 1)[0].replace("|", "\\|")
            lines.append(f"| `{r.id}` | {r.status} | {r.duration_ms:.0f} | {r.work()} | {detail} |")
        failures = [r for r in report.results if r.status in ("failed", "error")]
        for r in failures:
            lines += ["", f"### `{r.id}` {r.status}", "", "```", r.detail, "```"]
        lines.append("")
    return "\n".join(lines)


def to_json(reports: list[CertificationReport]) -> str:
    return json.dumps({"ok": all(r.ok for r in reports),
                       "certified": all(r.certified for r in reports),
                       "reports": [r.to_dict() for r in reports]}, indent=2, default=str)


def to_junit(reports: list[CertificationReport]) -> str:
    suites = ET.Element("testsuites", name="connector-kit certification")
    for report in reports:
        counts = report.counts()
        suite = ET.SubElement(
            suites, "testsuite", name=report.target, tests=str(len(report.results)),
            failures=str(counts["failed"] + (counts["not run"] if report.strict else 0)),
            errors=str(counts["error"]),
            skipped=str(counts["bypassed"] + (0 if report.strict else counts["not run"])),
            time=f"{report.duration_ms / 1000:.3f}",
        )
        # the verdict said as the text report says it (a lenient pass is not a certification)
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="verdict", value=report.verdict)
        ET.SubElement(properties, "property", name="certified", value=str(report.certified).lower())
        for r in report.results:
            case = ET.SubElement(suite, "testcase", classname=f"{report.target}.{r.suite}",
                                 name=r.name, time=f"{r.duration_ms / 1000:.3f}")
            text = _xml_safe(r.detail)
            if r.status == "failed" or (r.status == "not run" and report.strict):
                ET.SubElement(case, "failure", message=f"{r.status}: {text.split(chr(10), 1)[0][:200]}"
                              ).text = text
            elif r.status == "error":
                ET.SubElement(case, "error", message=text.split("\n", 1)[0][:200]).text = text
            elif r.status in ("not run", "bypassed"):
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
