"""AgentBlock rows/s on loopback at max_concurrency 1, 8, 32 vs a per-request client.

    .venv/bin/python benchmarks/bench_blocks.py [--quick] [--out DIR]

Same as `connector-kit bench blocks`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("blocks", __doc__))
