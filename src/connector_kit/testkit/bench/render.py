"""Showing a :class:`BenchReport`: a rich table on the terminal, a Markdown table, a PNG chart."""

from __future__ import annotations

import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from .report import BenchReport


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _numeric(rows: list[dict[str, Any]], column: str) -> bool:
    values = [row.get(column) for row in rows if row.get(column) is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def render_table(report: BenchReport) -> Any:
    """The report's rows as a ``rich.table.Table`` (title, numeric columns right-aligned)."""
    from rich.table import Table

    table = Table(title=report.title, title_justify="left", show_lines=False)
    columns = _columns(report.rows)
    for column in columns:
        table.add_column(column, justify="right" if _numeric(report.rows, column) else "left")
    for row in report.rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    return table


def make_console() -> Any:
    """A rich console; wide when not a terminal, so piped tables keep one line per row."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=int(os.environ.get("COLUMNS", 160)))


def print_report(report: BenchReport, console: Any = None) -> None:
    """Print the table and the notes of ``report`` (to ``console``, else stdout)."""
    out = console or make_console()
    out.print(render_table(report))
    for note in report.notes:
        out.print(f"  - {note}", markup=False, highlight=False)
    out.print()


def markdown_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)\n"
    columns = _columns(rows)
    align = ["---:" if _numeric(rows, c) else ":---" for c in columns]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def draw_chart(report: BenchReport, path: Path) -> Path | None:
    """Box plots of the report's latency series into ``path`` (PNG); None without series."""
    series = [s for s in report.series if s.samples_ms]
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    height = max(2.5, 0.55 * len(series) + 1.4)
    fig, ax = plt.subplots(figsize=(11, height))
    try:
        data = [s.samples_ms for s in series]
        style: dict[str, Any] = {"showfliers": True, "whis": (5, 95),
                                 "flierprops": {"markersize": 2, "alpha": 0.4}}
        try:
            ax.boxplot(data, orientation="horizontal", **style)  # matplotlib >= 3.10
        except TypeError:
            ax.boxplot(data, vert=False, **style)
        ax.set_yticks(range(1, len(series) + 1), [s.name for s in series], fontsize=8)
        ax.invert_yaxis()
        low = min(min(d) for d in data)
        high = max(max(d) for d in data)
        if low > 0 and high / low > 50:
            ax.set_xscale("log")
        ax.set_xlabel("milliseconds (box: quartiles, whiskers: p5-p95)")
        ax.grid(axis="x", alpha=0.3)
        title = textwrap.fill(report.title, 130)
        fig.suptitle(title, x=0.01, ha="left", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 * (title.count("\n") + 1) / height))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


