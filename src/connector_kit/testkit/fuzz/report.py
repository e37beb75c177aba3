"""What a fuzz run found: figures per property, minimal failing inputs, and their rendering."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

_SHOWN = 1500  # characters of a minimal input shown in messages (the corpus file has it all)


@dataclass
class PropertyFigures:
    """What one property cost and found."""

    name: str
    examples: int = 0  # generated inputs it was checked on (the sweep's included)
    sweep: int = 0  # of which systematic first-order mutations of the real responses
    corpus: int = 0  # corpus entries tried first
    failures: int = 0
    shrink_calls: int = 0  # checks spent shrinking and reducing failures
    time_ms: float = 0.0  # time inside this property's checks
    skipped: str | None = None

    @property
    def status(self) -> Literal["passed", "failed", "skipped"]:
        if self.skipped:
            return "skipped"
        return "failed" if self.failures else "passed"

    def to_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "sweep": self.sweep, "corpus": self.corpus,
                "failures": self.failures,
                "shrink_calls": self.shrink_calls, "time_ms": round(self.time_ms, 1),
                "status": self.status, **({"skipped": self.skipped} if self.skipped else {})}


@dataclass
class FuzzFailure:
    """A property broken by a (minimal) input."""

    property: str
    input: Any
    exception_type: str
    message: str
    location: str = ""
    source: Literal["corpus", "sweep", "search"] = "search"
    examples_before: int = 0  # generated inputs tried before it was found (0 for the corpus)
    corpus_file: Path | None = None

    @builtins.property
    def input_json(self) -> str:
        return dump_json(self.input)

    @builtins.property
    def exception(self) -> str:
        return f"{self.exception_type}: {self.message}" if self.message else self.exception_type

    def describe(self, limit: int = _SHOWN) -> str:
        shown = self.input_json
        if len(shown) > limit:
            shown = shown[:limit] + f"... ({len(shown)} chars in all)"
        where = f" at {self.location}" if self.location else ""
        origin = (f"corpus entry {self.corpus_file.name}" if self.source == "corpus" and
                  self.corpus_file else f"found after {self.examples_before} example(s)"
                  + (" by the systematic sweep" if self.source == "sweep" else ""))
        lines = [f"{self.property}: {self.exception}{where} ({origin})", f"  minimal input: {shown}"]
        if self.source != "corpus" and self.corpus_file is not None:
            lines.append(f"  saved to {self.corpus_file}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"property": self.property, "input": self.input_json, "exception": self.exception,
                "location": self.location, "source": self.source,
                "examples_before": self.examples_before,
                "corpus_file": str(self.corpus_file) if self.corpus_file else None}


@dataclass
class FuzzReport:
    connector: str
    seed: int
    shape: str
    real_responses: int  # recorded responses the mutations start from
    properties: dict[str, PropertyFigures]
    failures: list[FuzzFailure] = field(default_factory=list)
    corpus_dir: Path | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def failures_for(self, prop: str) -> list[FuzzFailure]:
        return [f for f in self.failures if f.property == prop]

    def to_dict(self) -> dict[str, Any]:
        return {"connector": self.connector, "seed": self.seed, "shape": self.shape,
                "real_responses": self.real_responses, "ok": self.ok,
                "corpus_dir": str(self.corpus_dir) if self.corpus_dir else None,
                "duration_ms": round(self.duration_ms, 1),
                "properties": {n: p.to_dict() for n, p in self.properties.items()},
                "failures": [f.to_dict() for f in self.failures]}


def dump_json(value: Any) -> str:
    """JSON text of a fuzz input: ASCII-escaped, so NUL and lone surrogates survive a round trip
    (NaN/Infinity are written as Python's json module reads them back)."""
    return json.dumps(value, ensure_ascii=True)



def render(report: FuzzReport, console: Any = None) -> None:
    """A table of figures per property, then each failure with its minimal input."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"fuzz {report.connector}  (shape {report.shape}, seed {report.seed}, "
                        f"{report.real_responses} real responses)", title_justify="left")
    for column in ("property", "examples", "corpus", "failures", "shrink calls", "ms", "status"):
        table.add_column(column, justify="left" if column in ("property", "status") else "right")
    style = {"passed": "green", "failed": "bold red", "skipped": "yellow"}
    for name, figures in report.properties.items():
        table.add_row(name, str(figures.examples), str(figures.corpus), str(figures.failures),
                      str(figures.shrink_calls), f"{figures.time_ms:.0f}",
                      f"[{style[figures.status]}]{figures.status}[/]")
    console.print(table)
    for name, figures in report.properties.items():
        if figures.skipped:  # below the table: a long reason would squeeze its columns
            console.print(f"[yellow]{name} skipped:[/] {escape(figures.skipped)}", soft_wrap=True)
    for failure in report.failures:
        console.print(escape(failure.describe()), soft_wrap=True)
    verdict = "[green]no failures[/]" if report.ok else f"[bold red]{len(report.failures)} failure(s)[/]"
    where = f"; corpus {report.corpus_dir}" if report.corpus_dir else ""
    console.print(f"{verdict} in {report.duration_ms / 1000:.1f} s{escape(where)}")



__all__ = ["FuzzFailure", "FuzzReport", "PropertyFigures", "dump_json", "render"]
