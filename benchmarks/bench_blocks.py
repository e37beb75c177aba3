"""Block throughput on loopback: AgentBlock by concurrency, a 100,000-row frame, code blocks vs raw Monty.

    .venv/bin/python benchmarks/bench_blocks.py [--quick] [--out DIR]

Same as `connector-kit bench blocks`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("blocks", __doc__))
