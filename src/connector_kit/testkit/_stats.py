"""The one percentile the kit reports: p95 by the nearest-rank method.

Used by the benchmarks' figures and by the certification's timing check, so a p95 means the
same thing wherever the kit prints one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def p95(values: Sequence[float]) -> float:
    """The 95th percentile of ``values`` by nearest rank (the ceil(0.95 n)-th smallest); NaN if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
