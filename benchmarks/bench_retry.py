"""Retry benchmark: overhead per retry attempt, backoff accuracy, Retry-After honoured.

    .venv/bin/python benchmarks/bench_retry.py [--quick] [--out DIR]

Same as `connector-kit bench retry`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("retry", __doc__))
