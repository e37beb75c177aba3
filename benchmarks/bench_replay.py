"""Replay benchmark: per-request replay cost vs a live loopback call; offline certification wall time.

    .venv/bin/python benchmarks/bench_replay.py [--quick] [--out DIR]

Same as `connector-kit bench replay`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("replay", __doc__))
