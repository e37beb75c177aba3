"""Where and how the fuzzer runs Hypothesis: its cache home, and quiet logs while it runs."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from hypothesis.errors import HypothesisWarning


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Connectors log warnings on odd responses (thousands of fuzz inputs would flood the log),
    and Hypothesis warns about the repr of a huge input it will never print."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HypothesisWarning)
            yield
    finally:
        logging.disable(previous)


def private_hypothesis_home() -> None:
    """Outside pytest, keep Hypothesis' caches in a user cache folder, not the current one."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or "pytest" in sys.modules:
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    set_hypothesis_home_dir(base / "connector-kit" / "hypothesis")
