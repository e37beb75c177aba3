"""Benchmarks: one report shape, its rendering and results folder, and ``connector-kit bench
TARGET`` (retry, timeout and replay figures of an HTTP connector; execution figures of a code
connector), measured through the public APIs of the connector and the kit.

- :mod:`.report`: :class:`BenchReport`, :class:`Series` and the measuring helpers.
- :mod:`.render`, :mod:`.results`, :mod:`._environment`: tables, charts, the results folder.
- :mod:`.runner`: run benchmarks in turn, print, write (:class:`BenchRun` per benchmark).
- :mod:`.target`: ``connector-kit bench TARGET`` (:mod:`.retry`, :mod:`.timeout`,
  :mod:`.replay`, :mod:`.execution`, on the loopback server of :mod:`.loopback`).
- :mod:`.scale`: ``connector-kit bench --scale``, AgentBlock at hundreds in flight against the
  delayed stub of :mod:`.delay_stub`, each variant in a child process (:mod:`.scale_variants`).

The comparisons of the built-in connectors against raw httpx, raw Monty and the peer live in
the repo's ``benchmarks/`` (``python benchmarks/run.py``), on top of this package.
"""

from .._stats import p95
from ._environment import PACKAGES, current_command, environment, package_versions
from .render import draw_chart, make_console, markdown_table, print_report, render_table
from .report import BenchReport, Series, median, ms_since, ratio, rounded, time_calls
from .results import report_markdown, report_to_dict, write_index, write_results
from .runner import BenchRun, run_all, run_one
from .servers import server_process

__all__ = [
    "PACKAGES",
    "BenchReport",
    "BenchRun",
    "Series",
    "current_command",
    "draw_chart",
    "environment",
    "make_console",
    "markdown_table",
    "median",
    "ms_since",
    "p95",
    "package_versions",
    "print_report",
    "ratio",
    "render_table",
    "report_markdown",
    "report_to_dict",
    "rounded",
    "run_all",
    "run_one",
    "server_process",
    "time_calls",
    "write_index",
    "write_results",
]
