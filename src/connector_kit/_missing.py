"""Record packages that are not installed as missing, so a dependency's repeated failed
``import`` of them costs ~1 us instead of a walk of ``sys.path``.

Two dependencies import optional packages again on every call: pydantic-monty 1.4 imports
``opentelemetry.context`` twice per run, and vcrpy 9.4 tries ``httpx_curl_cffi`` and
``pyreqwest.compatibility.httpx`` each time a cassette is entered (inside its httpx patcher,
which ``skip_patchers`` cannot leave out without leaving out httpx). A failed import finds
nothing and caches nothing: measured 132 us for vcrpy's two, a tenth of a replayed request.
Python's own way to say "not installed" is ``sys.modules[name] = None``; it is set only when
the top-level package cannot be found at all, for every dotted name the dependency imports
(with only the package cached, each import still takes the import lock and walks to the
parent: 5.5 us measured, against 1.4 us with the full name cached). A package installed later
in the same process would need those entries removed from ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence


def cache_missing(names: Sequence[str]) -> None:
    """Mark ``names`` (a package and dotted submodules of it) missing if the package is."""
    package = names[0].partition(".")[0]
    if package in sys.modules:
        return
    try:
        missing = importlib.util.find_spec(package) is None
    except (ImportError, ValueError):
        return
    if missing:
        for name in names:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
