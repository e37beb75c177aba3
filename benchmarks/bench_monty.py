"""MontyConnector vs raw pydantic-monty, at concurrency 1/2/8/32, and a subprocess per call.

    .venv/bin/python benchmarks/bench_monty.py [--quick] [--out DIR]

Same as `connector-kit bench monty`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("monty", __doc__))
