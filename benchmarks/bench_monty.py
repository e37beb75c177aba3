"""MontyConnector vs raw pydantic-monty, at concurrency 1/2/8/32, and a subprocess per call.

    .venv/bin/python benchmarks/bench_monty.py            # full counts (~15 s)
    .venv/bin/python benchmarks/bench_monty.py --quick    # CI smoke (< 5 s)
"""

from __future__ import annotations

import argparse
from typing import Any

from connector_kit.testkit.benchmarks.monty import run


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [column != "variant" for column in columns]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
        )

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out.extend(line(values) for values in cells)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (CI smoke)")
    args = parser.parse_args()
    report = run(quick=args.quick)
    print(report.title)
    print()
    print(format_table(report.rows))
    print()
    for note in report.notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
