"""Benchmark results: one shape for every benchmark, so the CLI can print, save and chart them.

A benchmark is a module ``connector_kit.testkit.benchmarks.<name>`` with
``run(*, quick: bool = False) -> BenchReport``. :func:`main` (``connector-kit bench``) runs
the chosen ones, prints each as a table (:func:`render_table`) and writes, per benchmark,
``<name>.json`` (rows, series summaries and samples, notes, and the environment: CPU count,
platform, Python and package versions, timestamp, command), ``<name>.md`` and ``<name>.png``
(box plots of the latency series), plus ``README.md`` and ``summary.md`` for the whole
results folder (:func:`write_results`).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

#: Every benchmark ``connector-kit bench`` knows, in the order they run.
BENCHMARKS = ("agent", "blocks", "monty", "retry", "timeout", "replay", "stream")
PACKAGES = ("connector-kit", "httpx", "httpcore", "pydantic", "pydantic-monty", "pandas",
            "matplotlib", "rich", "sdg-hub")


@dataclass
class Series:
    """One latency distribution (milliseconds), drawn in the benchmark's chart."""

    name: str
    samples_ms: list[float]

    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    def p95(self) -> float:
        if not self.samples_ms:
            return float("nan")
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@dataclass
class BenchReport:
    """A benchmark's figures: table rows (same keys in each row), distributions, notes."""

    name: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- small measuring helpers shared by the benchmarks ------------------------------------------

def ms_since(started: float) -> float:
    """Milliseconds elapsed since ``started`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - started) * 1000.0


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: Sequence[float]) -> float:
    return Series("", list(values)).p95()


def rounded(value: float | None, digits: int = 3) -> float | None:
    """``value`` rounded, None for None/NaN (JSON has no NaN)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(value, digits)


@contextlib.contextmanager
def server_process(script: str, *args: str) -> Iterator[str]:
    """Run ``python -c script *args`` -- a server that prints its URL, then serves until its
    stdin closes -- and yield that URL.

    Loopback servers of benchmarks run in their own process: in the client's process they
    would compete with it for the GIL and inflate back-to-back requests.
    """
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the server process did not start (exit code {proc.poll()})")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- environment --------------------------------------------------------------------------------

def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the figures (missing ones left out)."""
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def current_command(argv: Sequence[str] | None = None) -> str:
    """The command line that is running, as a user would type it."""
    args = list(sys.argv if argv is None else argv)
    if not args:
        return "python"
    program = args[0]
    if program.endswith(".py"):
        with contextlib.suppress(ValueError):  # another drive (Windows)
            program = os.path.relpath(program)
        head = ["python", program]
    else:
        head = [Path(program).name or program]
    return shlex.join([*head, *args[1:]])


def _load_average() -> list[float] | None:
    """1/5/15-minute load averages (Unix): figures taken on a busy machine say so."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment(command: str | None = None) -> dict[str, Any]:
    """Where the figures were measured: machine, Python, package versions, time, command."""
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "load_average": _load_average(),
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command or current_command(),
    }


# -- rendering ----------------------------------------------------------------------------------

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


def write_results(reports: Sequence[BenchReport], out_dir: Path, *, command: str | None = None,
                  skipped: dict[str, str] | None = None) -> list[Path]:
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
    written.extend(write_index(out_dir, skipped or {}))
    return written


def _load_results(out_dir: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "rows" in data and "title" in data and "name" in data:
            found.append(data)
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    return sorted(found, key=lambda d: (order.get(str(d["name"]), len(order)), str(d["name"])))


def write_index(out_dir: Path, skipped: dict[str, str] | None = None) -> list[Path]:
    """``README.md`` (headline table) and ``summary.md`` (every table) of a results folder."""
    results = _load_results(out_dir)
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
              "Produced by `connector-kit bench` (or `python benchmarks/bench_<name>.py`); each "
              "benchmark's command is in its row. Comparisons are ratios measured in the same run.", "",
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


# -- running ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What became of one benchmark in a run: its report, or why it was skipped/failed."""

    name: str
    report: BenchReport | None = None
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0


def run_benchmark(name: str, *, quick: bool = False) -> Outcome:
    """Import ``connector_kit.testkit.benchmarks.<name>`` and run it; never raises."""
    module_name = f"connector_kit.testkit.benchmarks.{name}"
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return Outcome(name, skipped=f"not available: no module {module_name}")
        return Outcome(name, skipped=f"dependency missing: {exc.name or exc} (install its extra)")
    except ImportError as exc:
        return Outcome(name, skipped=f"dependency missing: {exc}")
    run = getattr(module, "run", None)
    if not callable(run):
        return Outcome(name, skipped=f"{module_name} has no run(*, quick=...) function")
    try:
        report = run(quick=quick)
    except ModuleNotFoundError as exc:
        return Outcome(name, skipped=f"dependency missing: {exc.name or exc} (install its extra)",
                       seconds=time.perf_counter() - started)
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        return Outcome(name, error=detail, seconds=time.perf_counter() - started)
    if not isinstance(report, BenchReport):
        return Outcome(name, error=f"run() returned {type(report).__name__}, not a BenchReport",
                       seconds=time.perf_counter() - started)
    return Outcome(name, report=report, seconds=time.perf_counter() - started)


def default_out_dir(quick: bool) -> Path:
    """``benchmarks/results`` of the nearest folder that has ``benchmarks/`` (quick: ``.../quick``)."""
    here = Path.cwd()
    base = next((f / "benchmarks" for f in (here, *here.parents) if (f / "benchmarks").is_dir()),
                here / "benchmarks")
    return base / "results" / "quick" if quick else base / "results"


def main(names: list[str], *, quick: bool, out_dir: Path | None, command: str | None = None) -> int:
    """Run benchmarks by name (all when empty), print them, write the results folder.

    Returns 0 when every chosen benchmark ran or was skipped for a missing dependency,
    1 when one failed, 2 for an unknown name. ``out_dir`` None: ``benchmarks/results``
    (``benchmarks/results/quick`` for ``quick`` runs, so a smoke run never overwrites the
    committed figures).
    """
    from rich.console import Console

    console = make_console()
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        Console(stderr=True).print(f"Unknown benchmark(s): {', '.join(unknown)}. "
                                   f"Known: {', '.join(BENCHMARKS)}.")
        return 2
    chosen = list(dict.fromkeys(names)) or list(BENCHMARKS)
    target = out_dir if out_dir is not None else default_out_dir(quick)
    skipped: dict[str, str] = {}
    failed = False
    written = 0
    for name in chosen:
        console.print(f"[bold]bench {name}[/]{' (quick)' if quick else ''} ...")
        outcome = run_benchmark(name, quick=quick)
        if outcome.report is not None:
            print_report(outcome.report, console)
            console.print(f"  ({outcome.seconds:.1f} s)\n", style="dim")
        elif outcome.skipped is not None:
            console.print(f"  skipped: {outcome.skipped}\n", style="yellow", markup=False)
            skipped[name] = outcome.skipped
        else:
            console.print(f"  FAILED: {outcome.error}\n", style="red", markup=False)
            skipped[name] = f"failed: {(outcome.error or '').splitlines()[0]}"
            failed = True
        # Written as each benchmark ends, so a later crash does not lose the earlier figures.
        reports = [outcome.report] if outcome.report is not None else []
        written += len(write_results(reports, target, command=command, skipped=skipped))
    console.print(f"Wrote {written} file(s) to {target}", markup=False)
    return 1 if failed else 0


def script(name: str, doc: str | None, argv: list[str] | None = None) -> int:
    """The command line shared by ``benchmarks/bench_<name>.py`` (same as ``connector-kit bench``)."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or name).strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: benchmarks/results, quick: .../quick)")
    args = parser.parse_args(argv)
    return main([name], quick=args.quick, out_dir=args.out)
