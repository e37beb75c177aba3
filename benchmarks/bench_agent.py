"""Agent connector benchmark: send()/asend() vs raw pooled httpx on loopback, vs a client per request.

    .venv/bin/python benchmarks/bench_agent.py [--quick] [--out DIR]

Same as `connector-kit bench agent`: prints the table and writes JSON, Markdown and a PNG chart.
"""

import sys

from connector_kit.testkit.bench import script

if __name__ == "__main__":
    sys.exit(script("agent", __doc__))
