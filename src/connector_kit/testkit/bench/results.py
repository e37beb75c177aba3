"""Writing a results folder: ``<name>.json``/``.md``/``.png`` per report, ``README.md`` and
``summary.md`` for the folder.

``<name>.json`` holds the rows, series summaries and samples, notes, and the environment (CPU
count, platform, Python and package versions, timestamp, command); ``<name>.md`` the table,
notes and chart; ``<name>.png`` box plots of the latency series.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._environment import environment
from .render import draw_chart, markdown_table
from .report import BenchReport, rounded


def report_to_dict(report: BenchReport, env: dict[str, Any]) -> dict[str, Any]:
    """The JSON form of a report: figures, series (summary and samples), notes, environment."""
    return {
        "name": report.name,
        "title": report.title,
        "rows": [{k: _jsonable(v) for k, v in row.items()} for row in report.rows],
        "series": [{"name": s.name, "n": len(s.samples_ms), "median_ms": rounded(s.median()),
                    "p95_ms": rounded(s.p95()),
                    "samples_ms": [rounded(v, 4) for v in s.samples_ms]} for s in report.series],
        "notes": list(report.notes),
        "environment": env,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return rounded(value, 4)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def report_markdown(data: dict[str, Any], chart: str | None) -> str:
    env = data.get("environment") or {}
    lines = [f"# {data['name']}: {data['title']}", ""]
    lines.append(markdown_table(data.get("rows") or []))
    if data.get("notes"):
        lines.extend(f"- {note}" for note in data["notes"])
        lines.append("")
    if chart:
        lines.extend([f"![{data['name']} latency distributions]({chart})", ""])
    lines.append(_environment_line(env))
    return "\n".join(lines) + "\n"


def _environment_line(env: dict[str, Any]) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())
    load = env.get("load_average")
    busy = f" (load average {load[0]:g})" if load else ""
    return (f"Measured {env.get('timestamp', '?')} on {env.get('cpu_count', '?')} CPU(s){busy}, "
            f"{env.get('platform', '?')}, Python {env.get('python', '?')}; {packages}. "
            f"Command: `{env.get('command', '?')}`")


def write_results(reports: Sequence[BenchReport], out_dir: Path, *, command: str | None = None,
                  skipped: dict[str, str] | None = None, order: Sequence[str] = ()) -> list[Path]:
    """Write ``<name>.json``/``.md``/``.png`` per report, then the folder's README/summary.

    The README and summary cover every ``<name>.json`` in ``out_dir``, so running one
    benchmark updates its files without dropping the others from the headline table.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = environment(command)
    written: list[Path] = []
    for report in reports:
        data = report_to_dict(report, env)
        chart = draw_chart(report, out_dir / f"{report.name}.png")
        data["chart"] = chart.name if chart else None
        json_path = out_dir / f"{report.name}.json"
        json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        md_path = out_dir / f"{report.name}.md"
        md_path.write_text(report_markdown(data, data["chart"]), encoding="utf-8")
        written.extend(p for p in (json_path, md_path, chart) if p is not None)
    written.extend(write_index(out_dir, skipped or {}, order=order))
    return written


def _load_results(out_dir: Path, order: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "rows" in data and "title" in data and "name" in data:
            found.append(data)
    rank = {name: i for i, name in enumerate(order)}
    return sorted(found, key=lambda d: (rank.get(str(d["name"]), len(rank)), str(d["name"])))


def write_index(out_dir: Path, skipped: dict[str, str] | None = None, *,
                order: Sequence[str] = ()) -> list[Path]:
    """``README.md`` (headline table) and ``summary.md`` (every table) of a results folder,
    the reports in ``order`` first (the others by name)."""
    results = _load_results(out_dir, order)
    headline_rows = []
    for data in results:
        env = data.get("environment") or {}
        notes = data.get("notes") or []
        headline_rows.append({
            "benchmark": f"[{data['name']}]({data['name']}.md)",
            "what": data["title"],
            "headline": notes[0] if notes else "",
            "measured": env.get("timestamp", ""),
            "command": f"`{env.get('command', '')}`",
        })
    readme = ["# Benchmark results", "",
              "Each benchmark's command is in its row. Comparisons are ratios measured in the same "
              "run.", "",
              markdown_table(headline_rows)]
    if skipped:
        readme.append("Not run this time:\n")
        readme.extend(f"- **{name}**: {reason}" for name, reason in skipped.items())
        readme.append("")
    if results:
        readme.append(_environment_line(results[-1].get("environment") or {}))
    summary = ["# Benchmark summary", ""]
    for data in results:
        summary.append(f"## {data['name']}: {data['title']}\n")
        summary.append(markdown_table(data.get("rows") or []))
        summary.extend(f"- {note}" for note in data.get("notes") or [])
        if data.get("chart"):
            summary.append(f"\n![{data['name']}]({data['chart']})")
        summary.append("")
    readme_path = out_dir / "README.md"
    summary_path = out_dir / "summary.md"
    readme_path.write_text("\n".join(readme) + "\n", encoding="utf-8")
    summary_path.write_text("\n".join(summary) + "\n", encoding="utf-8")
    return [readme_path, summary_path]


