"""AgentBlock rows/s on loopback at max_concurrency 1, 8, 32 vs a per-request client.

    .venv/bin/python benchmarks/bench_blocks.py            # 1,000 rows (3 runs each)
    .venv/bin/python benchmarks/bench_blocks.py --quick    # 200 rows (1 run each)
"""

from __future__ import annotations

import argparse
from typing import Any

from connector_kit.testkit.benchmarks.blocks import run


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    columns = list(rows[0])
    cells = [[str(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    numeric = [all(isinstance(row.get(column), int | float) for row in rows) for column in columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric, strict=True))

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out.extend(line(values) for values in cells)
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 rows, one run per variant")
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
