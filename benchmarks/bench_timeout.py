"""Timeout benchmark: how long after the timeout / overall deadline a call returns (sync and async).

    .venv/bin/python benchmarks/bench_timeout.py [--quick] [--out DIR]

Same as `connector-kit bench timeout`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("timeout", __doc__))
